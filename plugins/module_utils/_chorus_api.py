# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""HTTP client for PISTE OAuth and the Chorus Pro API (chorus-pro-api.md sections 1 to 4).

One pooled ``requests.Session`` per run, one token per (token URL, client_id) reused until
shortly before it expires, one fresh token and one retry on any 401 (more, up to ``retries``, while
the 401 blames the token itself: ``error="invalid_token"``), bounded retries with
exponential backoff and jitter on 429 / 500 / 502 / 503 / 504, timeouts and connection errors.

Secrets (client secrets, technical passwords, tokens, the ``cpro-account`` value) never reach an
exception, a repr or a message: error messages are built from HTTP status codes, URL paths and a
few short fields of the answer (``codeRetour``, ``libelle``, OAuth ``error``), and every message
is scrubbed of the secrets the client knows before it leaves this module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import email.utils
import json
import math
import random
import threading
import time
import traceback

from urllib.parse import urlsplit

from ansible_collections.chorus.corail.plugins.module_utils._connection import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    urls_for,
)
from ansible_collections.chorus.corail.plugins.module_utils._rate_limit import RateLimiter
from ansible_collections.chorus.corail.plugins.module_utils._secrets import SecretMask

_REQUESTS = {}


def import_requests():
    """``(True, None)`` once requests is imported, ``(False, traceback)`` when it cannot be.

    requests is imported on first use, not with this file: the filter plugins import this file
    (through _check) for the offline checks in every Ansible worker process, one per host and task,
    where importing requests would be most of the task's cost (docs/performance.md).
    """
    if not _REQUESTS:
        try:
            import requests  # pylint: disable=import-outside-toplevel
            from requests.adapters import HTTPAdapter  # pylint: disable=import-outside-toplevel
        except ImportError:
            _REQUESTS.update(module=None, adapter=None, error=traceback.format_exc())
        else:
            _REQUESTS.update(module=requests, adapter=HTTPAdapter, error=None)
    return _REQUESTS['module'] is not None, _REQUESTS['error']


JSON_CONTENT_TYPE = 'application/json;charset=utf-8'
RETRY_STATUS_CODES = (429, 500, 502, 503, 504)  # read-only calls: a 500 during maintenance is worth one more try
EMPTY_RESULT_CODES = (20000,)  # "La recherche n'a retourné aucun résultat" is an empty list, not an error

# Refresh a token this long before PISTE says it expires (OCA uses 240 s on the 3600 s tokens).
TOKEN_MARGIN_MIN = 60.0
TOKEN_MARGIN_MAX = 240.0

_MASK = '********'
_MAX_FIELD = 160


class ChorusError(Exception):
    """Base of every error the client raises. ``status`` is the status-vocabulary name it maps to.

    The message only holds status codes, URL paths and short fields of the answer.
    """

    status = 'api_unavailable'
    token_failure = False  # set when the token could not be obtained for a reason other than PISTE's refusal

    def __init__(self, message, http_status=None, path=None, code_retour=None, libelle=None, cause=None, retries=0):
        super(ChorusError, self).__init__(message)
        self.message = message
        self.http_status = http_status
        self.path = path
        self.code_retour = code_retour
        self.libelle = libelle
        self.cause = cause
        self.retries = retries  # transient errors retried before this one was final

    def __str__(self):
        return self.message

    def __repr__(self):
        return '%s(%r)' % (type(self).__name__, self.message)


class PisteAuthError(ChorusError):
    """The token endpoint refused the PISTE application (client_id / client_secret / environment)."""

    status = 'piste_auth_failed'


class AccountRejected(ChorusError):
    """HTTP 401 on the technical account, again after a fresh token."""

    status = 'account_rejected'


class AccessForbidden(ChorusError):
    """HTTP 403: no raccordement, API not subscribed on the PISTE application, wrong environment."""

    status = 'access_forbidden'


class ApiUnavailable(ChorusError):
    """5xx, timeouts, connection errors, 429 after the retries, unexpected HTTP status."""

    status = 'api_unavailable'


class UnreadableAnswer(ApiUnavailable):
    """An answer the client cannot read (not JSON, missing fields)."""


class Unrouted(ApiUnavailable):
    """Every try answered the shape of a path the gateway does not route (403 ``{}``, 404): a URL or a subscription."""


class BusinessError(ApiUnavailable):
    """HTTP 400 with a ``codeRetour`` / ``libelle`` body: a refusal the caller may interpret."""


def status_of(error):
    """The status-vocabulary name for an exception raised by this client (or anything else)."""
    if isinstance(error, ChorusError):
        return error.status
    return 'api_unavailable'


class PisteApp(object):
    """A PISTE application. The secret is kept out of repr and str."""

    __slots__ = ('name', 'environment', 'client_id', '_client_secret')

    def __init__(self, name, environment, client_id, client_secret):
        self.name = name
        self.environment = environment
        self.client_id = client_id
        self._client_secret = client_secret

    @property
    def client_secret(self):
        return self._client_secret

    def __repr__(self):
        return 'PisteApp(name=%r, environment=%r)' % (self.name, self.environment)

    __str__ = __repr__


class TechnicalAccount(object):
    """A Chorus Pro technical account. The password is kept out of repr and str."""

    __slots__ = ('login', '_password')

    def __init__(self, login, password):
        self.login = login
        self._password = password

    @property
    def password(self):
        return self._password

    def cpro_account(self):
        """``base64(utf-8 "login:password")`` with no prefix (chorus-pro-api.md section 1)."""
        raw = ('%s:%s' % (self.login, self._password)).encode('utf-8')
        return base64.b64encode(raw).decode('ascii')

    def __repr__(self):
        return 'TechnicalAccount(login=%r)' % (self.login,)

    __str__ = __repr__


class Trace(object):
    """What happened during the calls made for one group or structure: retries and their causes."""

    def __init__(self):
        self.retries = 0
        self.causes = []

    def retried(self, cause):
        self.retries += 1
        if cause not in self.causes:
            self.causes.append(cause)


class _Token(object):
    __slots__ = ('value', 'expires_at')

    def __init__(self, value, expires_at):
        self.value = value
        self.expires_at = expires_at

    def __repr__(self):
        return '_Token(expires_at=%r)' % (self.expires_at,)


def token_margin(expires_in):
    """Seconds before expiry at which a token is renewed: 60 to 240 s, at most half its life."""
    margin = min(TOKEN_MARGIN_MAX, max(TOKEN_MARGIN_MIN, expires_in / 15.0))
    return min(margin, expires_in / 2.0)


def parse_retry_after(value, now=None):
    """Seconds asked by a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _short(value):
    """A server-supplied text field, cut short and on one line."""
    if value is None:
        return None
    text = ' '.join(str(value).split())
    if len(text) > _MAX_FIELD:
        text = text[:_MAX_FIELD - 3] + '...'
    return text


def _path_of(url):
    """The path of a URL: never the host's user-info, query string or fragment."""
    try:
        return urlsplit(url).path or '/'
    except ValueError:
        return '(invalid URL)'


class ChorusClient(object):
    """Calls PISTE and Chorus Pro for any number of applications, accounts and environments.

    ``oauth_url`` / ``api_url`` override the environment's URLs (sandbox, reverse proxy).
    ``proxy`` is used for every call when given; otherwise the environment proxies
    (``HTTPS_PROXY``, ``NO_PROXY``...) are honoured by requests.
    """

    def __init__(self, oauth_url=None, api_url=None, validate_certs=True, ca_path=None, proxy=None,
                 timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES, concurrency=8,
                 backoff_factor=0.5, backoff_max=30.0, retry_after_max=60.0,
                 sleep=None, clock=None, rng=None, rate_limit=None):
        if not import_requests()[0]:
            raise RuntimeError('the Python library "requests" is required')
        requests = self._requests = _REQUESTS['module']
        self.oauth_url = oauth_url or None
        self.api_url = api_url or None
        self.timeout = float(timeout if timeout is not None else DEFAULT_TIMEOUT)
        self.retries = max(0, int(retries if retries is not None else DEFAULT_RETRIES))
        self.backoff_factor = float(backoff_factor)
        self.backoff_max = float(backoff_max)
        self.retry_after_max = float(retry_after_max)
        self._sleep = sleep if sleep is not None else time.sleep
        self._clock = clock if clock is not None else time.monotonic
        self._rng = rng if rng is not None else random.Random()
        self.rate_limiter = RateLimiter(rate_limit, clock=self._clock, sleep=self._sleep)  # _rate_limit.py

        self.session = requests.Session()
        pool = max(1, int(concurrency or 1))
        # A few hosts (token + API, two environments at most); each pool as wide as the thread pool.
        adapter = _REQUESTS['adapter'](pool_connections=4, pool_maxsize=pool, max_retries=0)
        self.session.mount('https://', adapter)
        self.session.mount('http://', adapter)
        # Passed on each request: requests lets REQUESTS_CA_BUNDLE and the *_PROXY variables override
        # session-level settings (psf/requests#3829), which would silently ignore these options.
        if not validate_certs:
            self.verify = False
            try:
                requests.packages.urllib3.disable_warnings(  # pylint: disable=no-member
                    requests.packages.urllib3.exceptions.InsecureRequestWarning)  # pylint: disable=no-member
            except AttributeError:
                pass
        else:
            self.verify = ca_path or True
        self.proxies = {'http': proxy, 'https': proxy} if proxy else None

        self._lock = threading.Lock()
        self._tokens = {}
        self._token_locks = {}
        self._secrets = set()
        self._pairs = set()
        self._mask = None  # SecretMask of the secrets known so far, made again when one is added
        self.calls = {}

    def __repr__(self):
        return 'ChorusClient(oauth_url=%r, api_url=%r)' % (self.oauth_url, self.api_url)

    def close(self):
        self.session.close()

    # -- secrets and messages ---------------------------------------------------------------

    def _register_secret(self, *values, **pair):
        with self._lock:
            for value in values:
                if value and value not in self._secrets:
                    self._secrets.add(value)
                    self._mask = None
            if pair and pair['pair'] not in self._pairs:
                self._pairs.add(pair['pair'])
                self._mask = None

    def scrub(self, text):
        """Mask every secret the client knows in ``text`` (defence in depth for server texts).

        In every form a server may echo it (raw, URL-encoded as in a form body, JSON-, XML- and
        HTML-escaped, base64, and HTTP Basic's base64 of client_id:secret): _secrets.SecretMask.
        """
        if not text:
            return text
        with self._lock:
            if self._mask is None:
                self._mask = SecretMask(self._secrets, pairs=self._pairs, mask=_MASK)
            mask = self._mask
        return mask.text(text)

    def _error(self, cls, message, **kwargs):
        for key in ('libelle', 'cause'):
            if kwargs.get(key) is not None:
                kwargs[key] = self.scrub(_short(kwargs[key]))
        return cls(self.scrub(message), **kwargs)

    # -- transport ------------------------------------------------------------------------------

    def _count(self, path):
        with self._lock:
            self.calls[path] = self.calls.get(path, 0) + 1

    def _delay(self, attempt, retry_after=None):
        if retry_after is not None:
            delay = min(self.retry_after_max, retry_after)
            return delay + self._rng.uniform(0, min(1.0, self.backoff_factor))
        ceiling = min(self.backoff_max, self.backoff_factor * (2 ** attempt))
        # "equal jitter": at least half the exponential step, so retries still spread out
        return ceiling / 2.0 + self._rng.uniform(0, ceiling / 2.0)

    def _send_once(self, method, url, **kwargs):
        """One HTTP exchange, bounded by one deadline of ``timeout`` seconds from connect to the body's last byte.

        Returns an ``_Answer`` (the body fully read). Raises ``_Transient`` for what deserves another
        try (timeouts, connection and proxy errors) and ``ApiUnavailable`` for what does not (TLS).
        """
        path = _path_of(url)
        requests = self._requests
        deadline = time.monotonic() + self.timeout
        if self.verify is not True:
            kwargs['verify'] = self.verify
        if self.proxies:
            kwargs['proxies'] = self.proxies
        self.rate_limiter.acquire()
        self._count(path)
        try:
            # total=: the wait for the headers gets what the connection left of the deadline.
            response = self.session.request(method, url, stream=True, timeout=_total_timeout(self.timeout), **kwargs)
        except requests.exceptions.SSLError:
            raise self._error(ApiUnavailable, 'TLS error on %s (certificate not trusted? see validate_certs and ca_path)'
                              % path, path=path, cause='tls') from None
        except requests.exceptions.Timeout as exc:
            cause = 'connect timeout' if isinstance(exc, requests.exceptions.ConnectTimeout) else 'timeout'
            raise _Transient(cause, '%s on %s (timeout %ss)' % (cause, path, _num(self.timeout))) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            cause = 'proxy error' if isinstance(exc, requests.exceptions.ProxyError) else 'connection error'
            raise _Transient(cause, '%s on %s' % (cause, path)) from None
        except requests.exceptions.RequestException as exc:
            raise self._error(ApiUnavailable, 'request to %s failed (%s)' % (path, type(exc).__name__),
                              path=path, cause=type(exc).__name__) from None
        try:
            content = self._read_body(response, deadline, path)
        finally:
            response.close()
        return _Answer(response.status_code, response.headers, content)

    def _read_body(self, response, deadline, path):
        """The body, read chunk by chunk against the deadline: an answer that trickles in cannot hold the run."""
        raw = response.raw
        read = getattr(raw, 'read1', None) or raw.read
        chunks = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Transient('timeout', 'timeout on %s: the answer was not complete within %ss'
                                 % (path, _num(self.timeout)))
            _socket_timeout(raw, remaining)
            try:
                chunk = read(_CHUNK, decode_content=True)
            except Exception as exc:  # pylint: disable=broad-except  # urllib3, socket and decoder errors alike
                timed_out = 'timeout' in type(exc).__name__.lower() or time.monotonic() >= deadline
                cause = 'timeout' if timed_out else 'connection error'
                raise _Transient(cause, '%s on %s while reading the answer' % (cause, path)) from None
            if not chunk:
                return b''.join(chunks)
            size += len(chunk)
            if size > _MAX_BODY:
                raise _Transient('answer too large', 'answer on %s larger than %d bytes' % (path, _MAX_BODY))
            chunks.append(chunk)

    def _attempts(self, path, trace, once):
        """Call ``once()`` until it returns, retrying each ``_Transient`` with backoff, ``retries`` times at most.

        The one retry rule of the client: 5xx, 429, timeouts, connection errors and every answer that is
        not recognisably PISTE's or Chorus Pro's (HTML, a proxy's status, truncated or unexpected JSON).
        """
        attempt = 0
        while True:
            try:
                result = once()
            except _Transient as exc:
                if exc.http_status == 429:
                    self.rate_limiter.defer(exc.retry_after)  # the whole run slows down, not only this call
                if attempt < self.retries:
                    if trace is not None:
                        trace.retried(exc.cause)
                    self._sleep(self._delay(attempt, exc.retry_after))
                    attempt += 1
                    continue
                cls = Unrouted if exc.cause == 'unrouted' else UnreadableAnswer if exc.unreadable else ApiUnavailable
                raise self._error(cls, '%s after %d retries' % (exc.message, attempt), http_status=exc.http_status,
                                  path=path, code_retour=exc.code_retour, libelle=exc.libelle, cause=exc.cause,
                                  retries=attempt) from None
            return result

    # -- PISTE token ----------------------------------------------------------------------------

    def urls(self, environment):
        return urls_for(environment, self.oauth_url, self.api_url)

    def _token_lock(self, key):
        with self._lock:
            lock = self._token_locks.get(key)
            if lock is None:
                lock = self._token_locks[key] = threading.Lock()
            return lock

    def token(self, app, trace=None, stale=None):
        """A valid access token for ``app``; a new one when the cached one is ``stale``.

        Only PISTE's own refusal of the application (its OAuth error JSON) is cached, so that a refused
        application is asked once per run. Any other failure (a proxy's page, a timeout, a truncated
        answer) is not: the next use asks again.
        """
        oauth_url = self.urls(app.environment)[0]
        key = (oauth_url, app.client_id)
        # Fast path without the lock: while one thread fetches a fresh token after a 401, the other
        # threads of the application keep using the current one instead of queueing behind it.
        entry = self._tokens.get(key)
        if isinstance(entry, _Token) and entry.value != stale and self._clock() < entry.expires_at:
            return entry.value
        with self._token_lock(key):
            entry = self._tokens.get(key)
            if isinstance(entry, PisteAuthError):
                raise PisteAuthError(entry.message, http_status=entry.http_status, path=entry.path,
                                     libelle=entry.libelle, cause=entry.cause, retries=entry.retries)
            if entry is not None and entry.value != stale and self._clock() < entry.expires_at:
                return entry.value
            try:
                entry = self._fetch_token(app, oauth_url, trace)
            except PisteAuthError as exc:
                self._tokens[key] = exc
                raise
            except ChorusError as exc:
                exc.token_failure = True  # the application could not get a token: not the account's fault
                raise
            self._tokens[key] = entry
            return entry.value

    def _fetch_token(self, app, oauth_url, trace):
        self._register_secret(app.client_secret, pair=(app.client_id, app.client_secret))
        path = _path_of(oauth_url)
        data = {
            'grant_type': 'client_credentials',
            'client_id': app.client_id,
            'client_secret': app.client_secret,
            'scope': 'openid',
        }

        def once():
            started = self._clock()
            answer = self._send_once('POST', oauth_url, data=data, headers={'Accept': 'application/json'})
            code = answer.status
            body = answer.json()
            if code == 200:
                return self._read_token(body, path, started)
            if code in RETRY_STATUS_CODES:
                raise _Transient('HTTP %d' % code, 'HTTP %d on token endpoint %s' % (code, path), http_status=code,
                                 retry_after=parse_retry_after(answer.headers.get('Retry-After')))
            # A verdict on the application only from PISTE's own OAuth error JSON (RFC 6749 section 5.2).
            if 400 <= code < 500 and isinstance(body, dict) and isinstance(body.get('error'), str) and body['error']:
                error, description = _short(body.get('error')), _short(body.get('error_description'))
                why = ', '.join(x for x in (error, description) if x)
                raise self._error(PisteAuthError, 'token endpoint %s refused PISTE application %s: HTTP %d (%s)'
                                  % (path, app.name, code, why), http_status=code, path=path, libelle=why)
            raise _Transient('token endpoint answer not from PISTE',
                             'token endpoint %s answered HTTP %d without an OAuth error (%s)'
                             % (path, code, answer.describe()), http_status=code, unreadable=True)

        return self._attempts(path, trace, once)

    def _read_token(self, body, path, started):
        if not isinstance(body, dict):
            raise _Transient('unreadable token answer', 'token endpoint %s answered HTTP 200 without a JSON object'
                             % path, http_status=200, unreadable=True)
        value = body.get('access_token')
        problems = []
        if not isinstance(value, str) or not value:
            problems.append('access_token')
        if not isinstance(body.get('token_type'), str) or not body.get('token_type'):
            problems.append('token_type')
        if problems:
            raise _Transient('unreadable token answer', 'token endpoint %s answered without a valid %s'
                             % (path, ', '.join(problems)), http_status=200, unreadable=True)
        self._register_secret(value)
        lifetime = token_lifetime(body.get('expires_in'))
        return _Token(value, started + lifetime - token_margin(lifetime))

    # -- Chorus Pro -----------------------------------------------------------------------------

    def call(self, app, account, operation, body=None, trace=None, expect=None, codes=None):
        """``POST <api>/cpro/<operation>`` with a JSON body; returns the JSON object of the answer.

        A verdict comes only from an answer recognisably Chorus Pro's: HTTP 200 with a ``codeRetour`` among
        ``codes`` (default 0 and the "no result" codes) and, when ``expect`` names a field, that field present
        (a list or, as some clients see, one object; it may be absent with a "no result" code). 401 with
        PISTE's ``WWW-Authenticate`` (or Chorus Pro's JSON): one fresh token, then AccountRejected.
        403 with an empty body, an echo of the request or Chorus Pro's JSON: AccessForbidden. 400 with a
        ``codeRetour``: BusinessError. Everything else is retried like a 5xx, then ApiUnavailable (Unrouted
        for the unrouted shapes, 403 ``{}`` and 404, which a wrong ``chorus_api_url`` gives on every call).
        """
        api_url = self.urls(app.environment)[1]
        url = '%s/cpro/%s' % (api_url, operation.lstrip('/'))
        path = _path_of(url)
        cpro_account = account.cpro_account()
        self._register_secret(account.password, cpro_account)
        request = body if body is not None else {}
        payload = json.dumps(request).encode('utf-8')
        codes = tuple(codes) if codes is not None else (0,) + EMPTY_RESULT_CODES

        def once():
            token = self.token(app, trace)
            answer = self._post_api(url, token, cpro_account, payload)
            fresh_tokens = 0
            first = None
            while answer.status == 401 and _is_piste_401(answer):
                reason = _www_authenticate_reason(answer)
                first = first or reason
                # One fresh token after any 401 (design.md). A 401 that names the token itself
                # (RFC 6750 invalid_token) again, e.g. a token that expired during a retry's backoff,
                # is not the account's fault: more fresh tokens, then api_unavailable, never account_rejected.
                if fresh_tokens >= 1 and not _token_refused(answer):
                    raise self._error(AccountRejected, 'HTTP 401 on %s for technical account %s, again with a fresh token%s'
                                      % (path, account.login, ' (%s)' % (reason or first) if (reason or first) else ''),
                                      http_status=401, path=path, libelle=reason or first)
                if fresh_tokens > self.retries:
                    raise self._error(ApiUnavailable, 'HTTP 401 on %s: the access token was refused (%s) again with %d '
                                      'fresh tokens' % (path, reason or 'invalid_token', fresh_tokens),
                                      http_status=401, path=path, libelle=reason, cause='token refused',
                                      retries=fresh_tokens)
                if fresh_tokens >= 1 and trace is not None:
                    trace.retried('token refused')
                token = self.token(app, trace, stale=token)
                fresh_tokens += 1
                answer = self._post_api(url, token, cpro_account, payload)
            return self._read_answer(answer, path, request, expect, codes)

        return self._attempts(path, trace, once)

    def _post_api(self, url, token, cpro_account, payload):
        headers = {
            'Authorization': 'Bearer %s' % token,
            'cpro-account': cpro_account,
            'Content-Type': JSON_CONTENT_TYPE,
            'Accept': JSON_CONTENT_TYPE,
        }
        return self._send_once('POST', url, data=payload, headers=headers)

    def _read_answer(self, answer, path, request, expect, codes):
        code = answer.status
        body = answer.json()
        fields = _business_fields(body)
        if code in RETRY_STATUS_CODES:
            what = 'rate limited (HTTP 429)' if code == 429 else 'HTTP %d' % code
            raise _Transient('HTTP %d' % code, '%s on %s' % (what, path), http_status=code,
                             retry_after=parse_retry_after(answer.headers.get('Retry-After')))
        if code == 200:
            problem = _unrecognised(body, expect, codes)
            if problem:
                raise _Transient('unreadable answer', 'HTTP 200 on %s %s' % (path, problem), http_status=code,
                                 code_retour=fields[0], libelle=self.scrub(fields[1]), unreadable=True)
            return body
        if code == 403:
            shape = _forbidden_shape(answer, body, request)
            if shape == 'unrouted':
                raise _Transient('unrouted', 'HTTP 403 with {} on %s (the shape of a path the gateway does not route: '
                                 'check chorus_api_url and the APIs the PISTE application subscribed)' % path,
                                 http_status=code)
            if shape is None:
                raise _Transient('HTTP 403 not from Chorus Pro', 'HTTP 403 on %s that is not Chorus Pro\'s (%s)'
                                 % (path, answer.describe()), http_status=code, unreadable=True)
            raise self._error(AccessForbidden, 'HTTP 403 on %s (%s)' % (path, shape),
                              http_status=code, path=path, code_retour=fields[0], libelle=fields[1])
        if code == 404 and not answer.is_html():
            raise _Transient('unrouted', 'HTTP 404 on %s (no such API: check chorus_api_url)' % path, http_status=code)
        if code in (400, 415) and fields[0] is not None:
            raise self._error(BusinessError, 'HTTP %d on %s: codeRetour %s%s'
                              % (code, path, fields[0], ' (%s)' % fields[1] if fields[1] else ''),
                              http_status=code, path=path, code_retour=fields[0], libelle=fields[1])
        why = 'a 401 without PISTE\'s WWW-Authenticate' if code == 401 else answer.describe()
        raise _Transient('HTTP %d' % code, 'unexpected HTTP %d on %s (%s)' % (code, path, why), http_status=code,
                         code_retour=fields[0], libelle=self.scrub(fields[1]), unreadable=code in (200, 401, 403))


class _Transient(Exception):
    """Internal: an outcome worth another try (never leaves the client: ``_attempts`` turns it into ApiUnavailable)."""

    def __init__(self, cause, message, http_status=None, retry_after=None, code_retour=None, libelle=None,
                 unreadable=False):
        super(_Transient, self).__init__(message)
        self.cause = cause
        self.message = message
        self.http_status = http_status
        self.retry_after = retry_after
        self.code_retour = code_retour
        self.libelle = libelle
        self.unreadable = unreadable


class _Answer(object):
    """A fully read HTTP answer: status, headers and body bytes."""

    __slots__ = ('status', 'headers', 'content', '_json')

    def __init__(self, status, headers, content):
        self.status = status
        self.headers = headers
        self.content = content
        self._json = False

    def json(self):
        """The decoded JSON body, or None when the body is empty or not JSON."""
        if self._json is False:
            try:
                self._json = json.loads(self.content.decode('utf-8')) if self.content else None
            except ValueError:
                self._json = None
        return self._json

    def is_html(self):
        ctype = (self.headers.get('Content-Type') or '').lower()
        head = self.content[:200].lstrip().lower()
        return 'html' in ctype or head.startswith(b'<!doctype') or head.startswith(b'<html')

    def describe(self):
        """What the body looks like, never what it says (it may echo a secret)."""
        if not self.content:
            return 'empty body'
        if self.is_html():
            return 'an HTML page, not the API\'s answer'
        body = self.json()
        if body is None:
            return 'a body that is not JSON (%d bytes, truncated?)' % len(self.content)
        return 'unexpected JSON %s' % type(body).__name__


_CHUNK = 65536
_MAX_BODY = 64 * 1024 * 1024
DEFAULT_TOKEN_LIFETIME = 300  # when PISTE gives no usable expires_in: short, and a 401 renews it anyway


def token_lifetime(expires_in):
    """Seconds a token may be used: ``expires_in`` as PISTE sent it (int, float or digits), else a short default.

    Missing, zero, negative or unreadable values give ``DEFAULT_TOKEN_LIFETIME`` rather than a token
    renewed on every call (zero) or refused outright: an invalid_token 401 renews it if it was wrong.
    """
    if isinstance(expires_in, bool):
        return DEFAULT_TOKEN_LIFETIME
    if isinstance(expires_in, str):
        try:
            expires_in = float(expires_in.strip())
        except ValueError:
            return DEFAULT_TOKEN_LIFETIME
    if not isinstance(expires_in, (int, float)) or math.isnan(expires_in) or expires_in <= 0:
        return DEFAULT_TOKEN_LIFETIME
    return float(min(expires_in, 86400))


def _total_timeout(seconds):
    from urllib3.util.timeout import Timeout  # pylint: disable=import-outside-toplevel  # comes with requests
    return Timeout(total=seconds, connect=seconds, read=seconds)


def _socket_timeout(raw, seconds):
    """Bound the next socket read by what is left of the deadline (best effort: urllib3 internals)."""
    sock = getattr(getattr(raw, 'connection', None), 'sock', None)
    if sock is not None:
        try:
            sock.settimeout(max(0.001, seconds))
        except (OSError, ValueError):
            pass


def _is_piste_401(answer):
    """A 401 that is PISTE's (``WWW-Authenticate: Bearer ... error=``) or Chorus Pro's JSON, not a proxy's."""
    header = (answer.headers.get('WWW-Authenticate') or '').strip().lower()
    if header.startswith('bearer') and 'error=' in header.replace(' ', ''):
        return True
    code = _business_fields(answer.json())[0]
    return code is not None and str(code).strip() == '401'


def _unrecognised(body, expect, codes):
    """Why an HTTP 200 body is not a Chorus Pro answer the caller can trust, or None."""
    if not isinstance(body, dict):
        return 'without a JSON object'
    if 'codeRetour' not in body:
        return 'without codeRetour'
    code = code_retour(body)
    if code not in codes:
        return 'with an unexpected codeRetour %s' % _short(body.get('codeRetour'))
    if expect is not None:
        value = body.get(expect)
        if value is None and code in EMPTY_RESULT_CODES:
            return None
        if not isinstance(value, (list, dict)) or (isinstance(value, dict) and not value and expect.startswith('liste')):
            return 'without %s' % expect
    return None


def _forbidden_shape(answer, body, request):
    """What a 403 body says: a sentence for Chorus Pro's refusals, 'unrouted' for ``{}``, None for anything else.

    An empty body and an echo of the request (re-serialised with defaults) are how Chorus Pro refuses a
    call without raccordement; ``{}`` is what the gateway answers for a path it does not route; an HTML
    page is a proxy's or a gateway's, never the API's answer.
    """
    if not answer.content.strip():
        return 'empty body: no API raccordement for this application and structure, API not subscribed ' \
               'on the PISTE application, or wrong environment'
    if answer.is_html():
        return None
    if body == {}:
        return 'unrouted'
    if not isinstance(body, dict):
        return None
    code, libelle = _business_fields(body)
    if code is not None:
        return 'codeRetour %s%s' % (code, ', %s' % libelle if libelle else '')
    keys = set(body)
    if 'idUtilisateurCourant' in keys or (isinstance(request, dict) and keys & set(request)):
        return 'request refused (echoed back): no API raccordement for this application and structure, ' \
               'or API not subscribed'
    return None


def code_retour(answer):
    """``codeRetour`` of an answer as an int (0 when absent), or None when it is not a number."""
    value = answer.get('codeRetour', 0) if isinstance(answer, dict) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip('-').isdigit():
        return int(value)
    return None


def _num(value):
    return int(value) if float(value).is_integer() else value


def _business_fields(body):
    if not isinstance(body, dict):
        return None, None
    code = body.get('codeRetour')
    if isinstance(code, bool) or not isinstance(code, (int, str)):
        code = None
    return code, _short(body.get('libelle'))


def _token_refused(answer):
    """True when a 401 blames the access token (RFC 6750 ``error="invalid_token"``), not the account."""
    header = (answer.headers.get('WWW-Authenticate') or '').lower().replace(' ', '')
    return 'error="invalid_token"' in header


def _www_authenticate_reason(answer):
    """``error_description`` of a PISTE ``WWW-Authenticate`` header, or the ``libelle`` of the body."""
    header = answer.headers.get('WWW-Authenticate') or ''
    marker = 'error_description="'
    if marker in header:
        return _short(header.split(marker, 1)[1].split('"', 1)[0])
    return _business_fields(answer.json())[1]
