# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Chorus Pro client against the sandbox (tests/sandbox), not against HTTP mocks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import http.server
import json
import os
import random
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import chorus_world as cw  # noqa: E402  pylint: disable=wrong-import-position
from fixtures import running_sandbox  # noqa: E402  pylint: disable=wrong-import-position,import-error

from ansible_collections.chorus.corail.plugins.module_utils import _chorus_api as api  # noqa: E402

TOKEN_PATH = '/api/oauth/token'
TAUX = 'transverses/v1/recuperer/tauxtva'
ACTIVES = 'transverses/v1/recuperer/structures/actives/destinataire'


@pytest.fixture(autouse=True)
def no_env_proxy(monkeypatch):
    # The sandbox is on loopback: a proxy from the developer's environment must not get in the way.
    for name in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY',
                 'no_proxy', 'NO_PROXY'):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sandbox():
    with running_sandbox(cw.world()) as sb:
        yield sb


class Sleeps(list):
    """Records the delays the client asks for instead of sleeping them."""

    def __call__(self, seconds):
        self.append(seconds)


def make_client(sb, **kwargs):
    kwargs.setdefault('retries', 2)
    kwargs.setdefault('backoff_factor', 0.01)
    kwargs.setdefault('timeout', 5)
    return api.ChorusClient(oauth_url=sb.oauth_url, api_url=sb.api_url, **kwargs)


def app(name='corail'):
    spec = cw.piste_apps()[name]
    return api.PisteApp(name, spec['environment'], spec['client_id'], spec['client_secret'])


def account(login=cw.LOGIN_OK, password=None):
    return api.TechnicalAccount(login, password if password is not None else cw.accounts()[login]['password'])


def assert_no_secret(*texts):
    for text in texts:
        for secret in cw.all_secret_values():
            assert secret not in text


# -- pure helpers --------------------------------------------------------------------------------

def test_cpro_account_is_base64_of_login_colon_password_without_prefix():
    acct = api.TechnicalAccount('TECH_1_x@cpro.fr', 'p:ä{|')
    assert acct.cpro_account() == base64.b64encode('TECH_1_x@cpro.fr:p:ä{|'.encode('utf-8')).decode('ascii')
    assert not acct.cpro_account().startswith('Basic')


def test_reprs_hide_secrets():
    texts = [repr(app()), str(app()), repr(account()), str(account()), repr(api.ChorusClient())]
    assert_no_secret(*texts)
    assert 'corail' in repr(app()) and cw.LOGIN_OK in repr(account())


@pytest.mark.parametrize('expires_in, margin', [(3600, 240), (1800, 120), (600, 60), (100, 50), (1, 0.5)])
def test_token_margin_is_60_to_240_seconds_and_at_most_half_the_life(expires_in, margin):
    assert api.token_margin(expires_in) == pytest.approx(margin)


@pytest.mark.parametrize('header, seconds', [('3', 3.0), ('0.25', 0.25), (' 7 ', 7.0), ('-4', 0.0), ('', None),
                                             (None, None), ('soon', None)])
def test_retry_after_seconds(header, seconds):
    assert api.parse_retry_after(header) == seconds


def test_retry_after_http_date():
    now = time.time()
    header = datetime.datetime.fromtimestamp(now + 30, tz=datetime.timezone.utc).strftime('%a, %d %b %Y %H:%M:%S GMT')
    assert 28 <= api.parse_retry_after(header, now=now) <= 31


def test_backoff_is_exponential_with_jitter_and_bounded():
    client = api.ChorusClient(backoff_factor=1.0, backoff_max=8.0, rng=random.Random(1))
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (6, 8.0)]:
        delays = [client._delay(attempt) for dummy in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jitter


def test_retry_after_is_clamped():
    client = api.ChorusClient(backoff_factor=0.5, retry_after_max=10.0, rng=random.Random(1))
    assert 10.0 <= client._delay(0, retry_after=3600) <= 10.5
    assert 2.0 <= client._delay(5, retry_after=2) <= 2.5


def test_pool_is_sized_for_the_concurrency():
    client = api.ChorusClient(concurrency=13)
    adapter = client.session.get_adapter('https://api.piste.gouv.fr/cpro/x')
    assert adapter._pool_maxsize == 13


def test_environment_urls_and_overrides():
    client = api.ChorusClient()
    assert client.urls('production') == ('https://oauth.piste.gouv.fr/api/oauth/token', 'https://api.piste.gouv.fr')
    assert client.urls('qualification') == ('https://sandbox-oauth.piste.gouv.fr/api/oauth/token',
                                            'https://sandbox-api.piste.gouv.fr')
    client = api.ChorusClient(oauth_url='http://h/t', api_url='http://h/base/')
    assert client.urls('production') == ('http://h/t', 'http://h/base')


def test_status_mapping():
    assert api.status_of(api.PisteAuthError('x')) == 'piste_auth_failed'
    assert api.status_of(api.AccountRejected('x')) == 'account_rejected'
    assert api.status_of(api.AccessForbidden('x')) == 'access_forbidden'
    assert api.status_of(api.ApiUnavailable('x')) == 'api_unavailable'
    assert api.status_of(api.UnreadableAnswer('x')) == 'api_unavailable'
    assert api.status_of(api.BusinessError('x')) == 'api_unavailable'
    assert api.status_of(ValueError('x')) == 'api_unavailable'


# -- against the sandbox ---------------------------------------------------------------------------

def test_call_sends_the_documented_requests(sandbox):
    client = make_client(sandbox)
    answer = client.call(app(), account(), TAUX, {})
    assert answer['codeRetour'] == 0 and answer['listeTauxTva']
    answer = client.call(app(), account(), ACTIVES)
    assert {s['identifiant'] for s in answer['listeStructures']} == {cw.S_PARIS, cw.S_LYON}
    # The password contains ':' and '{|[;': the sandbox accepted the header, so it was encoded right.
    assert client.calls == {TOKEN_PATH: 1, '/cpro/' + TAUX: 1, '/cpro/' + ACTIVES: 1}


def test_token_is_fetched_once_per_application_and_reused(sandbox):
    client = make_client(sandbox, concurrency=4)
    pairs = [(app('corail'), account(cw.LOGIN_OK)), (app('corail'), account(cw.LOGIN_SOON))] * 5

    def run(pair):
        return client.call(pair[0], pair[1], TAUX, {})

    threads = [threading.Thread(target=run, args=(p,)) for p in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sandbox.stats()['calls'][TOKEN_PATH] == {'cid-corail': 1}
    assert sandbox.calls(TAUX) == 10


def test_token_expiry_mid_run_gets_a_new_token_and_one_retry(sandbox):
    # The sandbox says expires_in=3600 but really expires tokens after 0.3 s: the client still trusts
    # its cached token, gets a 401, fetches a new token once and retries once.
    sandbox.set_faults(token_ttl_s=0.3, token_expires_in_s=3600)
    client = make_client(sandbox)
    client.call(app(), account(), TAUX, {})
    time.sleep(0.4)
    trace = api.Trace()
    answer = client.call(app(), account(), TAUX, {}, trace)
    assert answer['codeRetour'] == 0
    assert sandbox.calls(TOKEN_PATH) == 2
    assert sandbox.calls(TAUX) == 3
    assert sandbox.stats()['responses'].get('401') == 1


def test_revoked_tokens_are_replaced(sandbox):
    client = make_client(sandbox)
    client.call(app(), account(), TAUX, {})
    sandbox.reset(tokens=True)
    assert client.call(app(), account(), ACTIVES, {})['codeRetour'] == 0
    assert sandbox.calls(TOKEN_PATH) == 1 and sandbox.calls(ACTIVES) == 2


def test_token_is_renewed_before_it_expires():
    # A fake clock moved past expires_in - 240 s: a new token without any 401.
    now = [1000.0]
    with running_sandbox(cw.world()) as sandbox:
        client = make_client(sandbox, clock=lambda: now[0])
        client.call(app(), account(), TAUX, {})
        now[0] += 3600 - 250
        client.call(app(), account(), TAUX, {})
        assert sandbox.calls(TOKEN_PATH) == 1
        now[0] += 20
        client.call(app(), account(), TAUX, {})
        assert sandbox.calls(TOKEN_PATH) == 2
        assert sandbox.calls(TAUX) == 3
        assert '401' not in sandbox.stats()['responses']


def test_refused_application_is_piste_auth_failed_and_asked_once(sandbox):
    client = make_client(sandbox)
    with pytest.raises(api.PisteAuthError) as first:
        client.call(app('refused'), account(), TAUX, {})
    with pytest.raises(api.PisteAuthError):
        client.call(app('refused'), account(cw.LOGIN_SOON), TAUX, {})
    assert sandbox.calls(TOKEN_PATH) == 1
    assert sandbox.calls(TAUX) == 0
    error = first.value
    assert error.http_status == 401 and error.path == TOKEN_PATH
    assert 'invalid_client' in str(error) and 'refused' in str(error)
    assert_no_secret(str(error), repr(error), error.libelle or '')


def test_wrong_password_is_rejected_after_one_new_token_and_one_retry(sandbox):
    client = make_client(sandbox)
    with pytest.raises(api.AccountRejected) as info:
        client.call(app(), account(cw.LOGIN_REJECTED), TAUX, {})
    assert sandbox.calls(TAUX) == 2
    assert sandbox.calls(TOKEN_PATH) == 2
    assert 'login or password incorrects' in str(info.value)
    assert cw.LOGIN_REJECTED in str(info.value)
    assert_no_secret(str(info.value), repr(info.value))
    # the token and the cpro-account value are not in the message either
    cpro = account(cw.LOGIN_REJECTED).cpro_account()
    assert cpro not in str(info.value)


def test_forbidden_is_access_forbidden(sandbox):
    client = make_client(sandbox)
    with pytest.raises(api.AccessForbidden) as info:
        client.call(app('noracc'), account(cw.LOGIN_NORACC), TAUX, {})
    assert info.value.http_status == 403
    assert 'raccordement' in str(info.value)
    assert sandbox.calls(TAUX) == 1


def test_unrouted_path_is_a_403_with_empty_json_retried_then_unrouted(sandbox):
    # 403 {} is the gateway's answer for a path it does not route: no verdict on any raccordement.
    client = make_client(sandbox, sleep=Sleeps())
    with pytest.raises(api.Unrouted) as info:
        client.call(app(), account(), 'transverses/v1/nothing/here', {})
    assert api.status_of(info.value) == 'api_unavailable'
    assert info.value.cause == 'unrouted' and info.value.retries == 2
    assert 'chorus_api_url' in str(info.value)
    assert sandbox.calls('transverses/v1/nothing/here') == 3


def test_bad_request_is_a_business_error(sandbox):
    client = make_client(sandbox)
    with pytest.raises(api.BusinessError) as info:
        client.call(app(), account(), 'structures/v1/consulter', {'idStructureCPP': 'abc'})
    assert info.value.code_retour == 400 and info.value.http_status == 400
    assert api.status_of(info.value) == 'api_unavailable'


def test_5xx_are_retried_then_api_unavailable(sandbox):
    sandbox.set_faults(error_rate=1.0)
    sleeps = Sleeps()
    client = make_client(sandbox, retries=3, sleep=sleeps)
    trace = api.Trace()
    with pytest.raises(api.ApiUnavailable) as info:
        client.call(app(), account(), TAUX, {}, trace)
    assert sandbox.calls(TOKEN_PATH) == 4  # 1 + 3 retries, then no API call at all
    assert sandbox.calls(TAUX) == 0
    assert 'after 3 retries' in str(info.value) and TOKEN_PATH in str(info.value)
    assert trace.retries == 3 and len(sleeps) == 3
    assert sleeps[0] < sleeps[2]  # exponential


def test_transient_5xx_are_retried_until_success(sandbox):
    sandbox.set_faults(error_rate=0.5, seed=11)
    client = make_client(sandbox, retries=8, sleep=Sleeps())
    traces = []
    for dummy in range(10):
        trace = api.Trace()
        assert client.call(app(), account(), TAUX, {}, trace)['codeRetour'] == 0
        traces.append(trace)
    assert sum(t.retries for t in traces) > 0
    errors = sum(n for code, n in sandbox.stats()['responses'].items() if code.startswith('5'))
    assert errors == sum(t.retries for t in traces)


def test_429_honours_retry_after(sandbox):
    sandbox.set_faults(rate_limit_per_s=2, retry_after_s=0.2)
    client = make_client(sandbox, retries=5, backoff_factor=0.001)
    start = time.monotonic()
    trace = api.Trace()
    for dummy in range(2):
        client.call(app(), account(), TAUX, {}, trace)
    assert trace.retries >= 1 and 'HTTP 429' in trace.causes
    assert time.monotonic() - start >= 0.2
    assert sandbox.stats()['responses']['429'] == trace.retries


def test_429_after_the_retries_is_api_unavailable(sandbox):
    sandbox.set_faults(rate_limit_per_s=1, retry_after_s=0.01)
    sleeps = Sleeps()
    client = make_client(sandbox, retries=1, sleep=sleeps)
    with pytest.raises(api.ApiUnavailable) as info:
        for dummy in range(5):
            client.call(app(), account(), TAUX, {})
    assert 'rate limited (HTTP 429)' in str(info.value)
    assert all(s >= 0.01 for s in sleeps)


def test_timeouts_are_retried_then_api_unavailable(sandbox):
    sandbox.set_faults(hang_rate=1.0, hang_ms=1500)
    client = make_client(sandbox, retries=1, timeout=0.2, sleep=Sleeps())
    trace = api.Trace()
    start = time.monotonic()
    with pytest.raises(api.ApiUnavailable) as info:
        client.call(app(), account(), TAUX, {}, trace)
    assert time.monotonic() - start < 1.4
    assert 'timeout' in str(info.value)
    assert trace.retries == 1 and sandbox.calls(TOKEN_PATH) == 2


def test_connection_refused_is_api_unavailable():
    port = _free_port()
    client = api.ChorusClient(oauth_url='http://127.0.0.1:%d/api/oauth/token' % port,
                              api_url='http://127.0.0.1:%d' % port, retries=2, sleep=Sleeps())
    trace = api.Trace()
    with pytest.raises(api.ApiUnavailable) as info:
        client.call(app(), account(), TAUX, {}, trace)
    assert 'connection error' in str(info.value) and trace.retries == 2
    assert client.calls == {TOKEN_PATH: 3}


def test_explicit_proxy_is_used_for_every_call(sandbox, monkeypatch):
    # The sandbox serves absolute-form requests too, so it can stand in for the proxy.
    monkeypatch.setenv('HTTP_PROXY', 'http://127.0.0.1:%d' % _free_port())  # explicit option wins
    client = api.ChorusClient(oauth_url='http://chorus.invalid/api/oauth/token', api_url='http://chorus.invalid',
                              proxy=sandbox.url, retries=0)
    assert client.call(app(), account(), TAUX, {})['codeRetour'] == 0
    assert sandbox.calls(TOKEN_PATH) == 1 and sandbox.calls(TAUX) == 1


def test_environment_proxy_is_honoured(sandbox, monkeypatch):
    monkeypatch.setenv('HTTP_PROXY', sandbox.url)
    client = api.ChorusClient(oauth_url='http://chorus.invalid/api/oauth/token', api_url='http://chorus.invalid',
                              retries=0)
    assert client.call(app(), account(), TAUX, {})['codeRetour'] == 0
    assert sandbox.calls(TAUX) == 1


def test_dead_proxy_is_api_unavailable(sandbox):
    client = make_client(sandbox, proxy='http://127.0.0.1:%d' % _free_port(), retries=0)
    with pytest.raises(api.ApiUnavailable) as info:
        client.call(app(), account(), TAUX, {})
    assert 'proxy error' in str(info.value)


def test_unreadable_answers_are_api_unavailable(tiny_server):
    tiny_server.replies[TOKEN_PATH] = (200, 'text/html', b'<html>maintenance</html>')
    client = api.ChorusClient(oauth_url=tiny_server.url + TOKEN_PATH, api_url=tiny_server.url, retries=0)
    with pytest.raises(api.UnreadableAnswer) as info:
        client.call(app(), account(), TAUX, {})
    assert 'without a JSON object' in str(info.value)
    client = api.ChorusClient(oauth_url=tiny_server.url + TOKEN_PATH, api_url=tiny_server.url, retries=0)
    tiny_server.replies[TOKEN_PATH] = (200, 'application/json', json.dumps({'access_token': 'abcdefgh'}).encode())
    with pytest.raises(api.UnreadableAnswer) as info:
        client.call(app(), account(), TAUX, {})
    assert 'valid token_type' in str(info.value)
    client = api.ChorusClient(oauth_url=tiny_server.url + TOKEN_PATH, api_url=tiny_server.url, retries=0)
    tiny_server.replies[TOKEN_PATH] = (200, 'application/json', json.dumps(
        {'access_token': 'tok-123456', 'token_type': 'Bearer', 'expires_in': 3600}).encode())
    tiny_server.replies['/cpro/' + TAUX] = (200, 'text/plain', b'not json')
    with pytest.raises(api.UnreadableAnswer):
        client.call(app(), account(), TAUX, {})


def test_server_texts_are_scrubbed_of_secrets(tiny_server):
    # A (bad) server that echoes the client secret in its error must not leak it through the client.
    tiny_server.replies[TOKEN_PATH] = (401, 'application/json', json.dumps(
        {'error': 'invalid_client', 'error_description': 'bad secret %s' % cw.SECRETS['app_secret']}).encode())
    client = api.ChorusClient(oauth_url=tiny_server.url + TOKEN_PATH, api_url=tiny_server.url, retries=0)
    with pytest.raises(api.PisteAuthError) as info:
        client.call(app(), account(), TAUX, {})
    assert 'bad secret ********' in str(info.value)
    assert_no_secret(str(info.value), repr(info.value), info.value.libelle)


def test_headers_of_api_calls(tiny_server):
    tiny_server.replies[TOKEN_PATH] = (200, 'application/json', json.dumps(
        {'access_token': 'tok-123456', 'token_type': 'Bearer', 'expires_in': 3600}).encode())
    tiny_server.replies['/cpro/' + TAUX] = (200, 'application/json', b'{"codeRetour": 0}')
    client = api.ChorusClient(oauth_url=tiny_server.url + TOKEN_PATH, api_url=tiny_server.url, retries=0)
    client.call(app(), account(), TAUX, {'a': 'é'})
    tiny_server.seen = tiny_server.seen[:2]
    token_request, api_request = tiny_server.seen
    assert token_request['form'] == {'grant_type': 'client_credentials', 'client_id': 'cid-corail',
                                     'client_secret': cw.SECRETS['app_secret'], 'scope': 'openid'}
    headers = api_request['headers']
    assert headers['Authorization'] == 'Bearer tok-123456'
    assert headers['cpro-account'] == account().cpro_account()
    assert headers['Content-Type'] == 'application/json;charset=utf-8'
    assert json.loads(api_request['body'].decode('utf-8')) == {'a': 'é'}


# -- TLS options -------------------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which('openssl') is None, reason='needs the openssl command')
def test_validate_certs_and_ca_path(tmp_path, monkeypatch):
    monkeypatch.delenv('REQUESTS_CA_BUNDLE', raising=False)
    monkeypatch.delenv('CURL_CA_BUNDLE', raising=False)
    cert, key = str(tmp_path / 'cert.pem'), str(tmp_path / 'key.pem')
    subprocess.check_call(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
                           '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = _TinyServer(tls=(cert, key))
    try:
        server.replies[TOKEN_PATH] = (200, 'application/json', json.dumps(
            {'access_token': 'tok-123456', 'token_type': 'Bearer', 'expires_in': 3600}).encode())
        server.replies['/cpro/' + TAUX] = (200, 'application/json', b'{"codeRetour": 0}')
        urls = dict(oauth_url=server.url + TOKEN_PATH, api_url=server.url, retries=0)
        with pytest.raises(api.ApiUnavailable) as info:
            api.ChorusClient(**urls).call(app(), account(), TAUX, {})
        assert 'TLS error' in str(info.value)
        assert api.ChorusClient(ca_path=cert, **urls).call(app(), account(), TAUX, {}) == {'codeRetour': 0}
        assert api.ChorusClient(validate_certs=False, **urls).call(app(), account(), TAUX, {}) == {'codeRetour': 0}
        # ca_path wins over REQUESTS_CA_BUNDLE (requests would otherwise let the environment override it)
        monkeypatch.setenv('REQUESTS_CA_BUNDLE', key)
        assert api.ChorusClient(ca_path=cert, **urls).call(app(), account(), TAUX, {}) == {'codeRetour': 0}
    finally:
        server.stop()


# -- helpers -------------------------------------------------------------------------------------------

def _free_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class _TinyServer(object):
    """Answers canned replies per path and records requests: for answers the sandbox never gives."""

    def __init__(self, tls=None):
        outer = self
        self.replies = {}
        self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length)
                form = None
                if self.headers.get('Content-Type', '').startswith('application/x-www-form-urlencoded'):
                    from urllib.parse import parse_qsl
                    form = dict(parse_qsl(body.decode('utf-8')))
                outer.seen.append({'path': self.path, 'headers': dict(self.headers), 'body': body, 'form': form})
                reply = outer.replies.get(self.path, (404, 'text/plain', b'no'))
                if isinstance(reply, list):  # a sequence: one reply per request, the last one repeats
                    reply = reply.pop(0) if len(reply) > 1 else reply[0]
                status, ctype, payload = reply[:3]
                headers = reply[3] if len(reply) > 3 else {}
                self.send_response(status)
                self.send_header('Content-Type', ctype)
                self.send_header('Content-Length', str(len(payload)))
                for name, value in headers.items():
                    if name != 'trickle':
                        self.send_header(name, value)
                self.end_headers()
                if headers.get('trickle'):  # one byte every `trickle` seconds: each read is quick, the whole is not
                    for index in range(len(payload)):
                        try:
                            self.wfile.write(payload[index:index + 1])
                            self.wfile.flush()
                        except OSError:
                            return
                        time.sleep(headers['trickle'])
                    return
                self.wfile.write(payload)

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        scheme = 'http'
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = 'https'
        self.url = '%s://127.0.0.1:%d' % (scheme, self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def tiny_server():
    server = _TinyServer()
    yield server
    server.stop()


# -- the client rule: a verdict only on an answer that is recognisably the API's own -------------------

GOOD_TOKEN = (200, 'application/json', json.dumps(
    {'access_token': 'tok-123456', 'token_type': 'Bearer', 'expires_in': 3600}).encode())
HTML_404 = (404, 'text/html', b'<html><body><h1>404 Not Found</h1>nginx</body></html>')
PROXY_407 = (407, 'text/plain', b'', {'Proxy-Authenticate': 'Basic realm="proxy"'})
ACTIVE_OK = (200, 'application/json', json.dumps(
    {'codeRetour': 0, 'libelle': 'TRA_MSG_00.000', 'listeStructures': []}).encode())
PISTE_401 = (401, 'application/json', b'', {
    'WWW-Authenticate': 'Bearer realm="PISTE",error="Unauthorized",error_description="login or password incorrects"'})


def tiny_client(server, **kwargs):
    kwargs.setdefault('retries', 2)
    kwargs.setdefault('sleep', Sleeps())
    return api.ChorusClient(oauth_url=server.url + TOKEN_PATH, api_url=server.url, **kwargs)


@pytest.mark.parametrize('bad', [HTML_404, PROXY_407, (200, 'application/json', b'{"access_tok'),
                                 (401, 'text/html', b'<html>Unauthorized</html>'),
                                 (200, 'application/json', b'{"token_type": "Bearer", "expires_in": 3600}')],
                         ids=['html-404', 'bare-407', 'truncated', 'html-401', 'no-access-token'])
def test_token_failures_that_are_not_pistes_refusal_are_retried_and_not_cached(tiny_server, bad):
    tiny_server.replies[TOKEN_PATH] = [bad, GOOD_TOKEN]
    tiny_server.replies['/cpro/' + ACTIVES] = ACTIVE_OK
    client = tiny_client(tiny_server, retries=1)
    trace = api.Trace()
    assert client.call(app(), account(), ACTIVES, {}, trace, expect='listeStructures')['codeRetour'] == 0
    assert client.calls['/api/oauth/token'] == 2 and trace.retries == 1
    # Without retries, the failure is api_unavailable, and the next use asks again (nothing cached).
    tiny_server.replies[TOKEN_PATH] = [bad, GOOD_TOKEN]
    client = tiny_client(tiny_server, retries=0)
    with pytest.raises(api.ApiUnavailable) as info:
        client.call(app(), account(), ACTIVES, {})
    assert not isinstance(info.value, api.PisteAuthError) and info.value.token_failure
    assert client.call(app(), account(), ACTIVES, {})['codeRetour'] == 0


def test_only_pistes_oauth_error_json_is_a_refusal_and_it_is_cached(tiny_server):
    tiny_server.replies[TOKEN_PATH] = [(400, 'application/json', b'{"error": "invalid_client"}'), GOOD_TOKEN]
    client = tiny_client(tiny_server)
    for dummy in range(2):
        with pytest.raises(api.PisteAuthError):
            client.call(app(), account(), ACTIVES, {})
    assert client.calls == {TOKEN_PATH: 1}


@pytest.mark.parametrize('expires_in, lifetime', [(None, 300), (0, 300), (3600.0, 3600), ('3600', 3600), (-5, 300),
                                                  ('soon', 300), (True, 300), (1800.5, 1800.5), (float('nan'), 300)])
def test_token_lifetime_handles_missing_zero_and_float_expires_in(expires_in, lifetime):
    assert api.token_lifetime(expires_in) == lifetime


@pytest.mark.parametrize('expires_in', [None, 0, 3600.0])
def test_a_token_without_usable_expires_in_is_used_and_reused(tiny_server, expires_in):
    token = {'access_token': 'tok-123456', 'token_type': 'Bearer'}
    if expires_in is not None:
        token['expires_in'] = expires_in
    tiny_server.replies[TOKEN_PATH] = (200, 'application/json', json.dumps(token).encode())
    tiny_server.replies['/cpro/' + ACTIVES] = ACTIVE_OK
    client = tiny_client(tiny_server)
    for dummy in range(3):
        client.call(app(), account(), ACTIVES, {}, expect='listeStructures')
    assert client.calls == {TOKEN_PATH: 1, '/cpro/' + ACTIVES: 3}


@pytest.mark.parametrize('bad, cls', [
    ((401, 'text/plain', b'Unauthorized'), api.UnreadableAnswer),               # a 401 without WWW-Authenticate
    ((401, 'text/plain', b'', {'WWW-Authenticate': 'Basic realm="corp"'}), api.UnreadableAnswer),
    ((403, 'text/html', b'<html><h1>403 Forbidden</h1> nginx</html>'), api.UnreadableAnswer),
    ((403, 'application/json', b'{}'), api.Unrouted),
    ((404, 'application/json', b'{"message": "API non trouvee"}'), api.Unrouted),
    (HTML_404, api.ApiUnavailable),
    (PROXY_407, api.ApiUnavailable),
    ((200, 'application/json', b'{"codeRetour": 0, "libelle": "ok", "listeStruc'), api.UnreadableAnswer),
    ((200, 'application/json', b'{"codeRetour": 99999, "libelle": "?"}'), api.UnreadableAnswer),
    ((200, 'application/json', b'{}'), api.UnreadableAnswer),
    ((200, 'application/json', b'{"codeRetour": 0}'), api.UnreadableAnswer),    # the list field is missing
    ((200, 'text/html', b'<html>maintenance</html>'), api.UnreadableAnswer),
], ids=['401-bare', '401-basic', '403-html', '403-{}', '404-json', '404-html', '407', '200-truncated',
        '200-unknown-code', '200-{}', '200-no-list', '200-html'])
def test_answers_that_are_not_the_apis_own_are_retried_then_api_unavailable(tiny_server, bad, cls):
    tiny_server.replies[TOKEN_PATH] = GOOD_TOKEN
    tiny_server.replies['/cpro/' + ACTIVES] = [bad, bad, ACTIVE_OK]
    trace = api.Trace()
    client = tiny_client(tiny_server, retries=2)
    assert client.call(app(), account(), ACTIVES, {}, trace, expect='listeStructures')['listeStructures'] == []
    assert trace.retries == 2
    tiny_server.replies['/cpro/' + ACTIVES] = [bad]
    client = tiny_client(tiny_server, retries=1)
    with pytest.raises(api.ApiUnavailable) as info:
        client.call(app(), account(), ACTIVES, {}, expect='listeStructures')
    assert type(info.value).__name__ == cls.__name__ and api.status_of(info.value) == 'api_unavailable'
    assert 'after 1 retries' in str(info.value) and info.value.retries == 1
    assert not info.value.token_failure
    assert 'nginx' not in str(info.value) and 'Forbidden<' not in str(info.value)  # bodies are never quoted


@pytest.mark.parametrize('body', [b'', b'{"idUtilisateurCourant": 0, "parametres": null}',
                                  b'{"codeRetour": 403, "libelle": "acces refuse"}'],
                         ids=['empty', 'echo', 'chorus-json'])
def test_chorus_pros_own_403_is_a_verdict_at_once(tiny_server, body):
    tiny_server.replies[TOKEN_PATH] = GOOD_TOKEN
    tiny_server.replies['/cpro/' + ACTIVES] = (403, 'application/json', body)
    client = tiny_client(tiny_server)
    with pytest.raises(api.AccessForbidden):
        client.call(app(), account(), ACTIVES, {'parametres': {}}, expect='listeStructures')
    assert client.calls['/cpro/' + ACTIVES] == 1


def test_pistes_401_is_account_rejected_after_one_fresh_token(tiny_server):
    tiny_server.replies[TOKEN_PATH] = GOOD_TOKEN
    tiny_server.replies['/cpro/' + ACTIVES] = PISTE_401
    client = tiny_client(tiny_server)
    with pytest.raises(api.AccountRejected):
        client.call(app(), account(), ACTIVES, {})
    assert client.calls == {TOKEN_PATH: 2, '/cpro/' + ACTIVES: 2}


def test_a_no_result_code_may_come_without_the_list(tiny_server):
    tiny_server.replies[TOKEN_PATH] = GOOD_TOKEN
    tiny_server.replies['/cpro/' + ACTIVES] = (200, 'application/json', b'{"codeRetour": 20000}')
    assert tiny_client(tiny_server).call(app(), account(), ACTIVES, {}, expect='listeStructures')['codeRetour'] == 20000


def test_timeout_is_a_deadline_for_the_whole_call(tiny_server):
    # 40 bytes at one every 0.1 s: every read is quicker than the timeout, the answer takes 4 s.
    tiny_server.replies[TOKEN_PATH] = GOOD_TOKEN
    body = json.dumps({'codeRetour': 0, 'listeStructures': [], 'x': 'y' * 10}).encode()
    tiny_server.replies['/cpro/' + ACTIVES] = (200, 'application/json', body, {'trickle': 0.1})
    client = tiny_client(tiny_server, retries=1, timeout=0.5)
    start = time.monotonic()
    with pytest.raises(api.ApiUnavailable) as info:
        client.call(app(), account(), ACTIVES, {}, expect='listeStructures')
    elapsed = time.monotonic() - start
    assert info.value.cause == 'timeout' and 'not complete within 0.5s' in str(info.value)
    assert elapsed < 4, elapsed  # two tries cut at 0.5 s, not 2 x 4 s (slack for a loaded machine)


def test_server_texts_are_scrubbed_of_every_form_of_a_secret(tiny_server):
    """A server echoing the form body (URL-encoded), JSON-escaped text or the HTTP Basic header."""
    from urllib.parse import quote_plus
    import base64
    secret = cw.SECRETS['app_secret']
    basic = base64.b64encode(('cid-corail:%s' % secret).encode()).decode()
    echo = 'client_secret=%s; json "%s"; basic %s' % (quote_plus(secret), json.dumps(secret)[1:-1], basic)
    tiny_server.replies[TOKEN_PATH] = (401, 'application/json', json.dumps(
        {'error': 'invalid_client', 'error_description': echo}).encode())
    client = api.ChorusClient(oauth_url=tiny_server.url + TOKEN_PATH, api_url=tiny_server.url, retries=0)
    with pytest.raises(api.PisteAuthError) as info:
        client.call(app(), account(), TAUX, {})
    text = str(info.value) + repr(info.value) + (info.value.libelle or '')
    assert quote_plus(secret) not in text and basic not in text and json.dumps(secret)[1:-1] not in text
    assert 'client_secret=********' in text
    assert_no_secret(str(info.value), repr(info.value), info.value.libelle)
