# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault knobs (seeded, reproducible), call counters and the control API."""

import time

import pytest
import requests

from sandbox_testlib import LOGIN, WORLD, Client
from fixtures import running_sandbox

TAUX = 'transverses/v1/recuperer/tauxtva'
TAUX_PATH = '/cpro/' + TAUX


def statuses(sb, count=40, seed=0):
    sb.clear_faults()
    client = Client(sb)
    client.token  # pylint: disable=pointless-statement
    sb.set_faults(error_rate=0.5, seed=seed)
    return [client.post(TAUX).status_code for dummy in range(count)]


def test_latency_and_jitter_in_milliseconds(sandbox):
    client = Client(sandbox)
    client.post(TAUX)
    sandbox.set_faults(latency_ms=120, jitter_ms=40)
    start = time.monotonic()
    assert client.post(TAUX).status_code == 200
    assert 0.12 <= time.monotonic() - start < 1.0


def test_error_rate_gives_seeded_5xx_reproducibly():
    with running_sandbox(WORLD) as one, running_sandbox(WORLD) as two:
        first = statuses(one, seed=11)
        again = statuses(two, seed=11)  # another server, same seed: same fates
        other = statuses(two, seed=12)
        assert first == again
        assert first != other
        assert set(first) <= {200, 500, 502, 503, 504}
        assert 8 < sum(1 for s in first if s != 200) < 32
        assert len(set(first) - {200}) >= 2  # several 5xx codes, chosen by the seeded draw
        assert statuses(one, seed=11) == first  # setting the seed again restarts the same sequence


def test_error_rate_one_fails_everything_but_control_calls(sandbox):
    sandbox.set_faults(error_rate=1.0)
    answer = Client(sandbox).token_response()
    assert answer.status_code in (500, 502, 503, 504)
    assert answer.headers['Content-Type'].startswith('text/html')
    for path in ('health', 'stats', 'faults'):
        assert requests.get(sandbox.url + '/_sandbox/' + path, timeout=5).status_code == 200
    assert sandbox.stats()['calls'] == {'/api/oauth/token': {'app-q': 1}}


def test_rate_limit_per_client_id_with_retry_after(sandbox):
    q, p = Client(sandbox), Client(sandbox, 'app-p', 'secret-p', password='other-prod-password')
    q.token, p.token  # pylint: disable=pointless-statement
    sandbox.set_faults(rate_limit_per_s=3, retry_after_s=2)
    codes = [q.post(TAUX) for dummy in range(4)]
    assert [a.status_code for a in codes] == [200, 200, 200, 429]
    assert codes[-1].headers['Retry-After'] == '2'
    assert p.post(TAUX).status_code == 200  # another application has its own budget
    time.sleep(1.05)
    assert q.post(TAUX).status_code == 200
    sandbox.set_faults(rate_limit_per_s=0)
    assert all(q.post(TAUX).status_code == 200 for dummy in range(10))


def test_fractional_retry_after_for_fast_tests(sandbox):
    client = Client(sandbox)
    client.token  # pylint: disable=pointless-statement
    sandbox.set_faults(rate_limit_per_s=1, retry_after_s=0.05)
    client.post(TAUX)
    assert client.post(TAUX).headers['Retry-After'] == '0.05'


def test_hang_outlasts_a_client_timeout_and_server_survives(sandbox):
    client = Client(sandbox)
    client.token  # pylint: disable=pointless-statement
    sandbox.set_faults(hang_rate=1.0, hang_ms=600)
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.http.post(sandbox.api_url + TAUX_PATH, json={}, headers=client.headers(), timeout=0.15)
    sandbox.set_faults(hang_rate=0.0)
    assert Client(sandbox).post(TAUX).status_code == 200


def test_hang_share_is_seeded():
    with running_sandbox(WORLD, hang_rate=0.3, hang_ms=1, seed=5) as one:
        with running_sandbox(WORLD, hang_rate=0.3, hang_ms=1, seed=5) as two:
            draws_one = [one.sandbox.draw('k') for dummy in range(30)]
            draws_two = [two.sandbox.draw('k') for dummy in range(30)]
    assert draws_one == draws_two
    assert 0 < sum(1 for d in draws_one if d['hang_s']) < 30


def test_fault_knobs_over_http(sandbox):
    url = sandbox.url + '/_sandbox/faults'
    answer = requests.post(url, json={'latency_ms': 1, 'seed': 3}, timeout=5)
    assert answer.status_code == 200
    assert answer.json()['latency_ms'] == 1 and answer.json()['seed'] == 3
    assert requests.post(url, json={'error_rate': 0.2}, timeout=5).json()['latency_ms'] == 1  # merged
    for bad in ({'latency': 1}, {'error_rate': 2}, {'latency_ms': -1}, {'seed': 'x'}, {'token_ttl_s': 0},
                {'empty_search_code': 1}, {'hang_ms': True}, [1]):
        answer = requests.post(url, json=bad, timeout=5)
        assert answer.status_code == 400, bad
        assert 'error' in answer.json()
    assert requests.delete(url, timeout=5).json()['latency_ms'] == 0  # back to defaults
    assert requests.get(url, timeout=5).json()['token_ttl_s'] == 3600


def test_token_ttl_knob(sandbox):
    sandbox.set_faults(token_ttl_s=120)
    assert Client(sandbox).token_response().json()['expires_in'] == 120


def test_stats_count_per_path_and_client_and_ignore_control_calls(sandbox):
    client = Client(sandbox)
    client.post(TAUX)
    client.post(TAUX)
    client.post('structures/v1/consulter', {'idStructureCPP': 1001})
    requests.post(sandbox.api_url + TAUX_PATH, json={}, timeout=5)  # no token: client '-'
    requests.post(sandbox.api_url + '/cpro/nowhere', json={}, timeout=5)
    for dummy in range(3):
        requests.get(sandbox.url + '/_sandbox/stats', timeout=5)
    stats = requests.get(sandbox.url + '/_sandbox/stats', timeout=5).json()
    assert stats['calls'] == {
        '/api/oauth/token': {'app-q': 1},
        TAUX_PATH: {'app-q': 2, '-': 1},
        '/cpro/structures/v1/consulter': {'app-q': 1},
        '/cpro/nowhere': {'-': 1},
    }
    assert stats['total'] == 6
    assert stats['responses'] == {'200': 4, '401': 1, '403': 1}
    assert sandbox.calls('recuperer/tauxtva') == 3
    assert sandbox.calls('recuperer/tauxtva', client_id='app-q') == 2


def test_reset_zeroes_counters_and_optionally_revokes_tokens(sandbox):
    client = Client(sandbox)
    client.post(TAUX)
    assert requests.post(sandbox.url + '/_sandbox/reset', timeout=5).status_code == 200
    assert sandbox.stats() == {'calls': {}, 'total': 0, 'max_in_flight': 0, 'responses': {}}
    assert client.post(TAUX).status_code == 200  # token kept
    requests.post(sandbox.url + '/_sandbox/reset', json={'tokens': True}, timeout=5)
    answer = client.post(TAUX)
    assert answer.status_code == 401 and 'invalid_token' in answer.headers['WWW-Authenticate']


def test_control_api_health_and_unknown_endpoints(sandbox):
    assert requests.get(sandbox.url + '/_sandbox/health', timeout=5).json() == {'status': 'ok'}
    assert requests.get(sandbox.url + '/_sandbox/nothing', timeout=5).status_code == 404
    assert requests.post(sandbox.url + '/_sandbox/stats', timeout=5).status_code == 404
    assert requests.post(sandbox.url + '/_sandbox/faults', data=b'{oops', timeout=5).status_code == 400


def test_faults_apply_to_failures_too_and_each_request_gets_its_own_fate(sandbox):
    sandbox.set_faults(error_rate=0.5, seed=2)
    bad = Client(sandbox, password='wrong')
    bad.token_response()
    codes = {bad.post(TAUX).status_code for dummy in range(30)}
    assert 401 in codes and codes & {500, 502, 503, 504}
    assert LOGIN  # the account exists: the 401s come from the wrong password
