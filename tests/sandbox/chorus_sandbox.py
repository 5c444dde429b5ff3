# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A PISTE + Chorus Pro stand-in that answers on loopback from a YAML world.

Usage: python tests/sandbox/chorus_sandbox.py --world FILE [--host 127.0.0.1] [--port 0] [--faults JSON]

The first stdout line is the base URL. OAuth is served at <base>/api/oauth/token, the API at
<base>/cpro/..., the control API (not part of the real one) at <base>/_sandbox/...
Behaviours and the sources they follow (or the assumptions made) are listed in README.md.
Standard library and PyYAML only, so that any Python that runs Ansible can run it.
"""

import argparse
import base64
import binascii
import collections
import datetime
import hashlib
import json
import math
import random
import secrets
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus, urlsplit

import yaml

OAUTH_PATH = '/api/oauth/token'
CONTROL_PREFIX = '/_sandbox/'
ENVIRONMENTS = ('qualification', 'production')

# Knob name -> default. Delays in milliseconds so tests stay fast; token_ttl_s may be fractional.
FAULT_DEFAULTS = {
    'latency_ms': 0.0,
    'jitter_ms': 0.0,
    'error_rate': 0.0,
    'rate_limit_per_s': 0.0,      # 0 = no limit
    'retry_after_s': 1.0,
    'hang_rate': 0.0,
    'hang_ms': 0.0,
    'token_ttl_s': 3600.0,
    'token_expires_in_s': 0.0,    # expires_in announced to clients; 0 = the real lifetime (token_ttl_s)
    'seed': 0,
    'empty_search_code': 0,       # codeRetour of an empty structures/v1/rechercher (0 or 20000)
    'expiry_format': 'date-time',  # dateExpirationMotPasseCompteTech: 'date-time' (Swagger) or 'date'
    'forbidden_body': 'empty',    # body of a 403 for a missing raccordement: 'empty' or 'echo' (of the request)
}
CHOICE_KNOBS = {'expiry_format': ('date-time', 'date'), 'forbidden_body': ('empty', 'echo')}
ERROR_STATUSES = (500, 502, 503, 504)

# codeRetour / libelle pairs. Only NO_RESULT is confirmed (Pastell); the others are assumed.
OK_TRA = (0, 'TRA_MSG_00.000')
OK_GCU = (0, 'GCU_MSG_01_000')
NO_RESULT = (20000, 'TRA_MSG_00.015')
UNKNOWN_STRUCTURE = 20001
NOT_ATTACHED = 20002

TOKEN_401 = 'Bearer realm="PISTE",error="invalid_token",error_description="%s"'
ACCOUNT_401 = 'Bearer realm="PISTE",error="Unauthorized",error_description="login or password incorrects"'

TAUX_TVA = [
    {'codeTauxTva': 'TVA1', 'libelleTauxTva': '20 %', 'valeurTauxTva': 20.0},
    {'codeTauxTva': 'TVA2', 'libelleTauxTva': '10 %', 'valeurTauxTva': 10.0},
    {'codeTauxTva': 'TVA3', 'libelleTauxTva': '5,5 %', 'valeurTauxTva': 5.5},
    {'codeTauxTva': 'TVA4', 'libelleTauxTva': '2,1 %', 'valeurTauxTva': 2.1},
    {'codeTauxTva': 'TVA5', 'libelleTauxTva': '0 %', 'valeurTauxTva': 0.0},
]


class WorldError(ValueError):
    """The world file does not have the documented shape."""


class BadRequest(Exception):
    """A malformed API request: HTTP 400 with {codeRetour, libelle}."""


def _date(value, where):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise WorldError('%s: %r is not a YYYY-MM-DD date' % (where, value)) from None


def _require(item, keys, where):
    if not isinstance(item, dict):
        raise WorldError('%s: must be a mapping, got %s' % (where, type(item).__name__))
    missing = [k for k in keys if k not in item]
    if missing:
        raise WorldError('%s: missing %s' % (where, ', '.join(missing)))


# The C parser when PyYAML has libyaml: about 3x faster than the pure-Python one.
_YAML_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)


def load_world_file(path):
    """The data of a world file. JSON (a subset of YAML, what make_world writes) loads in a
    fraction of a second at 20,000 structures, where PyYAML needs 8 s (C) to 25 s (pure Python)."""
    with open(path, encoding='utf-8') as handle:
        text = handle.read()
    if text.lstrip()[:1] == '{':
        try:
            return json.loads(text)
        except ValueError:
            pass  # YAML flow mapping rather than JSON: the YAML parser says what is wrong
    return yaml.load(text, Loader=_YAML_LOADER)  # nosec B506 - a safe loader, C or Python


class World:
    """The sandbox's view of PISTE and Chorus Pro, indexed for lookups. Read-only once built."""

    def __init__(self, data):
        if not isinstance(data, dict):
            raise WorldError('world: must be a mapping with apps, structures, accounts, raccordements')
        unknown = set(data) - {'apps', 'structures', 'accounts', 'raccordements', 'invoices', 'today'}
        if unknown:
            raise WorldError('world: unknown keys %s' % ', '.join(sorted(unknown)))
        self.today_override = _date(data['today'], 'today') if data.get('today') else None
        self.apps = {}
        for i, app in enumerate(data.get('apps') or []):
            where = 'apps[%d]' % i
            _require(app, ('client_id', 'client_secret', 'environment'), where)
            if app['environment'] not in ENVIRONMENTS:
                raise WorldError('%s.environment: must be qualification or production' % where)
            if app['client_id'] in self.apps:
                raise WorldError('%s.client_id: duplicate %s' % (where, app['client_id']))
            self.apps[str(app['client_id'])] = {'client_id': str(app['client_id']),
                                                'client_secret': str(app['client_secret']),
                                                'environment': app['environment']}
        self.structures = []
        self.by_siret = {}
        self.by_id = {}
        for i, st in enumerate(data.get('structures') or []):
            where = 'structures[%d]' % i
            _require(st, ('siret', 'id_structure_cpp', 'designation'), where)
            siret = str(st['siret'])
            ident = int(st['id_structure_cpp'])
            if siret in self.by_siret or ident in self.by_id:
                raise WorldError('%s: duplicate siret or id_structure_cpp (%s, %s)' % (where, siret, ident))
            kind = st.get('type', 'PUBLIQUE')
            if kind not in ('PUBLIQUE', 'PRIVEE'):
                raise WorldError('%s.type: must be PUBLIQUE or PRIVEE' % where)
            services = []
            for j, svc in enumerate(st.get('services') or []):
                _require(svc, ('code', 'libelle'), '%s.services[%d]' % (where, j))
                services.append({'code': str(svc['code']), 'libelle': str(svc['libelle']),
                                 'active': bool(svc.get('active', True)),
                                 'id': ident * 100 + j + 1})
            spaces = st.get('spaces', ['destinataire', 'fournisseur'])
            record = {'siret': siret, 'id': ident, 'designation': str(st['designation']),
                      'active': bool(st.get('active', True)), 'type': kind, 'services': services,
                      'spaces': set(spaces), 'email': st.get('email', '')}
            self.structures.append(record)
            self.by_siret[siret] = record
            self.by_id[ident] = record
        self.accounts = {}
        for i, acc in enumerate(data.get('accounts') or []):
            where = 'accounts[%d]' % i
            _require(acc, ('login', 'password', 'environment', 'password_expires_on'), where)
            if acc['environment'] not in ENVIRONMENTS:
                raise WorldError('%s.environment: must be qualification or production' % where)
            key = (acc['environment'], str(acc['login']))
            if key in self.accounts:
                raise WorldError('%s.login: duplicate %s in %s' % (where, acc['login'], acc['environment']))
            sirets = [str(s) for s in acc.get('structures') or []]
            for s in sirets:
                if s not in self.by_siret:
                    raise WorldError('%s.structures: %s is not in structures' % (where, s))
            self.accounts[key] = {'login': str(acc['login']), 'password': str(acc['password']),
                                  'environment': acc['environment'],
                                  'expires_on': _date(acc['password_expires_on'], where + '.password_expires_on'),
                                  'sirets': sirets}
        self.raccordements = set()
        for i, rac in enumerate(data.get('raccordements') or []):
            where = 'raccordements[%d]' % i
            _require(rac, ('client_id', 'siret'), where)
            if str(rac['client_id']) not in self.apps:
                raise WorldError('%s.client_id: %s is not in apps' % (where, rac['client_id']))
            if str(rac['siret']) not in self.by_siret:
                raise WorldError('%s.siret: %s is not in structures' % (where, rac['siret']))
            self.raccordements.add((str(rac['client_id']), str(rac['siret'])))
        self.invoices = collections.defaultdict(list)
        for i, inv in enumerate(data.get('invoices') or []):
            where = 'invoices[%d]' % i
            _require(inv, ('siret', 'numero', 'date_depot'), where)
            siret = str(inv['siret'])
            if siret not in self.by_siret:
                raise WorldError('%s.siret: %s is not in structures' % (where, siret))
            self.invoices[siret].append({'numero': str(inv['numero']),
                                         'date_depot': _date(inv['date_depot'], where + '.date_depot'),
                                         'id': 900000000 + i})

    @classmethod
    def load(cls, source):
        """Build from a dict, a World, or a YAML/JSON file path."""
        if isinstance(source, World):
            return source
        if isinstance(source, dict):
            return cls(source)
        return cls(load_world_file(source))

    def today(self):
        return self.today_override or datetime.date.today()


def _params(params):
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise BadRequest('parametres de pagination : objet JSON attendu')
    return params


def paginate(items, params, default_per_page=10):
    """Slice a list as the API does; raise BadRequest on nonsense values."""
    params = _params(params)
    per_page, page = params.get('nbResultatsParPage'), params.get('pageResultatDemandee')
    try:
        per_page = default_per_page if per_page in (None, '') else int(per_page)
        page = 1 if page in (None, '') else int(page)
    except (TypeError, ValueError):
        raise BadRequest('nbResultatsParPage / pageResultatDemandee: entier attendu') from None
    if per_page < 1 or page < 1:
        raise BadRequest('nbResultatsParPage / pageResultatDemandee: doit être >= 1')
    total = len(items)
    pages = int(math.ceil(total / float(per_page))) if total else 0
    start = (page - 1) * per_page
    return items[start:start + per_page], {'pageCourante': page, 'pages': pages,
                                           'nbResultatsParPage': per_page, 'total': total}


def sort_items(items, params, columns):
    """Apply triColonne / triSens when the column is one we know; unknown columns keep world order."""
    params = _params(params)
    column = str(params.get('triColonne') or '').strip()
    # go-choruspro sends the key as "triSense" and the value "Ascendant " with a trailing space.
    direction = str(params.get('triSens') or params.get('triSense') or 'Ascendant').strip()
    if column in columns:
        items = sorted(items, key=columns[column])
    if direction == 'Descendant':
        items = list(reversed(items))
    return items


class Sandbox:
    """Shared state: world, tokens, faults, counters. All mutation under one lock."""

    def __init__(self, world, faults=None):
        self.world = World.load(world)
        self.lock = threading.Lock()
        self.tokens = {}                  # token -> (client_id, expires_at monotonic)
        self.faults = dict(FAULT_DEFAULTS)
        self.calls = collections.defaultdict(lambda: collections.defaultdict(int))
        self.responses = collections.defaultdict(int)
        self.total = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.occurrences = collections.defaultdict(int)
        self.windows = collections.defaultdict(collections.deque)
        if faults:
            self.set_faults(faults)

    # -- control ---------------------------------------------------------------------------
    def set_faults(self, knobs, replace=False):
        if not isinstance(knobs, dict):
            raise ValueError('faults: a JSON object of knobs is expected')
        unknown = set(knobs) - set(FAULT_DEFAULTS)
        if unknown:
            raise ValueError('faults: unknown knob(s) %s; known: %s'
                             % (', '.join(sorted(unknown)), ', '.join(sorted(FAULT_DEFAULTS))))
        new = dict(FAULT_DEFAULTS) if replace else dict(self.faults)
        for name, value in knobs.items():
            if name == 'seed':
                if value is None:
                    value = 0
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ValueError('faults: seed must be an integer')
                new[name] = value
                continue
            if name == 'empty_search_code':
                if value not in (0, 20000):
                    raise ValueError('faults: empty_search_code must be 0 or 20000')
                new[name] = value
                continue
            if name in CHOICE_KNOBS:
                if value not in CHOICE_KNOBS[name]:
                    raise ValueError('faults: %s must be one of %s' % (name, ', '.join(CHOICE_KNOBS[name])))
                new[name] = value
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError('faults: %s must be a number >= 0' % name)
            if name in ('error_rate', 'hang_rate') and value > 1:
                raise ValueError('faults: %s is a share between 0 and 1' % name)
            if name == 'token_ttl_s' and value <= 0:
                raise ValueError('faults: token_ttl_s must be > 0')
            new[name] = float(value)
        with self.lock:
            self.faults = new
            # Same seed again = same sequence of fault decisions from here on.
            self.occurrences.clear()
        return dict(new)

    def set_world(self, world):
        world = World.load(world)
        with self.lock:
            self.world = world

    def reset(self, tokens=False):
        with self.lock:
            self.calls.clear()
            self.responses.clear()
            self.total = 0
            self.max_in_flight = 0
            self.occurrences.clear()
            self.windows.clear()
            if tokens:
                self.tokens.clear()

    def enter(self):
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self):
        with self.lock:
            self.in_flight -= 1

    def stats(self):
        with self.lock:
            return {'calls': {path: dict(by_client) for path, by_client in self.calls.items()},
                    'total': self.total,
                    'max_in_flight': self.max_in_flight,
                    'responses': {str(code): n for code, n in sorted(self.responses.items())}}

    # -- per request -----------------------------------------------------------------------
    def count(self, path, client_id):
        with self.lock:
            self.calls[path][client_id or '-'] += 1
            self.total += 1

    def count_response(self, status):
        with self.lock:
            self.responses[status] += 1

    def draw(self, key):
        """Seeded fault decisions for the n-th occurrence of one request key.

        Keyed by request rather than by arrival order, so concurrent runs get the same fates."""
        with self.lock:
            n = self.occurrences[key]
            self.occurrences[key] = n + 1
            faults = dict(self.faults)
        rnd = random.Random('%s|%s|%d' % (faults['seed'], key, n))
        # Always the same number of draws in the same order, whatever the knobs.
        jitter, err, err_code, hang = rnd.random(), rnd.random(), rnd.choice(ERROR_STATUSES), rnd.random()
        return {
            'delay_s': (faults['latency_ms'] + jitter * faults['jitter_ms']) / 1000.0,
            'error': err_code if err < faults['error_rate'] else None,
            'hang_s': faults['hang_ms'] / 1000.0 if hang < faults['hang_rate'] else 0.0,
        }

    def rate_limited(self, client_id):
        """Sliding one-second window per client_id; True when this call is over the limit."""
        with self.lock:
            limit = self.faults['rate_limit_per_s']
            if not limit:
                return False
            now = time.monotonic()
            window = self.windows[client_id or '-']
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limit:
                return True
            window.append(now)
            return False

    def issue_token(self, client_id):
        token = secrets.token_urlsafe(32)
        with self.lock:
            ttl = self.faults['token_ttl_s']
            now = time.monotonic()
            if len(self.tokens) > 10000:
                self.tokens = {t: v for t, v in self.tokens.items() if v[1] > now}
            self.tokens[token] = (client_id, now + ttl)
        return token, ttl

    def token_client(self, token):
        """Return (client_id, problem); problem is None for a valid token."""
        with self.lock:
            entry = self.tokens.get(token)
        if entry is None:
            return None, 'invalid access token'
        if time.monotonic() >= entry[1]:
            return entry[0], 'access token expired'
        return entry[0], None


class SandboxServer(ThreadingHTTPServer):
    """Threaded HTTP server with a deep listen backlog and closable keep-alive connections."""

    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address, sandbox, verbose=False):
        self.sandbox = sandbox
        self.verbose = verbose
        self._conns = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, Handler)

    @property
    def url(self):
        host, port = self.server_address[:2]
        if ':' in host:
            host = '[%s]' % host
        return 'http://%s:%d' % (host, port)

    def process_request_thread(self, request, client_address):
        with self._conns_lock:
            self._conns.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._conns_lock:
                self._conns.discard(request)

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, TimeoutError)):
            return  # a client that hung up (its timeout fired): not a sandbox error
        super().handle_error(request, client_address)

    def close_connections(self):
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        self.shutdown()
        self.close_connections()
        self.server_close()


def _json_bytes(payload):
    return json.dumps(payload, ensure_ascii=False).encode('utf-8')


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'PISTE-sandbox'
    sys_version = ''
    timeout = 120  # idle keep-alive connections give their thread back after this
    wbufsize = -1  # headers and body leave in one segment (with TCP_NODELAY: no 40 ms delayed-ACK stall)
    _control = False

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # -- plumbing ----------------------------------------------------------------------------
    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        if self.server.verbose:
            sys.stderr.write('%s %s\n' % (self.address_string(), format % args))

    def _read_body(self):
        if 'chunked' in self.headers.get('Transfer-Encoding', '').lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b''.join(chunks)
        length = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(length) if length > 0 else b''

    def _send(self, status, body=b'', content_type=None, headers=None):
        if not self._control:
            # Counted before the answer leaves, so a client that reads stats next sees it.
            self.server.sandbox.count_response(status)
        try:
            self.send_response(status)
            if content_type:
                self.send_header('Content-Type', content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            if body and self.command != 'HEAD':
                self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            # The client gave up (e.g. its timeout fired during a hang): nothing to answer.
            self.close_connection = True

    def _json(self, status, payload, headers=None):
        self._send(status, _json_bytes(payload), 'application/json;charset=utf-8', headers)

    def do_GET(self):  # noqa: N802 (http.server naming)
        self._counted_dispatch()

    def do_POST(self):  # noqa: N802
        self._counted_dispatch()

    def _counted_dispatch(self):
        """Dispatch, keeping the most requests ever handled at once (stats()['max_in_flight'])."""
        self.server.sandbox.enter()
        try:
            self._dispatch()
        finally:
            self.server.sandbox.leave()

    def do_PUT(self):  # noqa: N802
        self._dispatch()

    def do_DELETE(self):  # noqa: N802
        self._dispatch()

    def do_PATCH(self):  # noqa: N802
        self._dispatch()

    def _dispatch(self):
        self._control = False
        path = urlsplit(self.path).path
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self._send(400, b'', None)
            return
        try:
            if path.startswith(CONTROL_PREFIX):
                self._control = True
                self._handle_control(path, body)
            else:
                self._handle_piste(path, body)
        except Exception:  # pylint: disable=broad-except
            # A sandbox bug must show as a 500 in the test, with the traceback on stderr.
            traceback.print_exc()
            self._json(500, {'codeRetour': 500, 'libelle': 'Erreur interne du bac à sable'})

    # -- control API ---------------------------------------------------------------------------
    def _handle_control(self, path, body):
        box = self.server.sandbox
        name = path[len(CONTROL_PREFIX):].strip('/')
        try:
            data = json.loads(body.decode('utf-8')) if body.strip() else {}
        except ValueError:
            self._json(400, {'error': 'body must be JSON'})
            return
        if name == 'health' and self.command == 'GET':
            self._json(200, {'status': 'ok'})
        elif name == 'stats' and self.command == 'GET':
            self._json(200, box.stats())
        elif name == 'reset' and self.command == 'POST':
            box.reset(tokens=bool(isinstance(data, dict) and data.get('tokens')))
            self._json(200, {'status': 'reset'})
        elif name == 'faults' and self.command == 'GET':
            self._json(200, dict(box.faults))
        elif name == 'faults' and self.command in ('POST', 'DELETE'):
            try:
                faults = box.set_faults(data if self.command == 'POST' else {}, replace=self.command == 'DELETE')
            except ValueError as exc:
                self._json(400, {'error': str(exc)})
                return
            self._json(200, faults)
        elif name == 'world' and self.command in ('POST', 'PUT'):
            try:
                box.set_world(data)
            except (WorldError, ValueError, TypeError) as exc:
                self._json(400, {'error': str(exc)})
                return
            self._json(200, {'status': 'world replaced'})
        else:
            self._json(404, {'error': 'unknown control endpoint %s %s' % (self.command, path)})

    # -- PISTE + Chorus Pro --------------------------------------------------------------------
    def _handle_piste(self, path, body):
        box = self.server.sandbox
        route = ROUTES.get(path)
        if path == OAUTH_PATH:
            client_id = self._oauth_client_id(body)
        elif route is not None:
            client_id = self._api_client_id()
        else:
            client_id = None
        box.count(path, client_id)
        auth = self.headers.get('cpro-account', '')
        key = '%s|%s|%s|%s|%s' % (self.command, path, client_id or '-',
                                  hashlib.sha256(auth.encode('utf-8', 'replace')).hexdigest()[:16],
                                  hashlib.sha256(body).hexdigest()[:16])
        fate = box.draw(key)
        if fate['delay_s']:
            time.sleep(fate['delay_s'])
        if box.rate_limited(client_id):
            retry = box.faults['retry_after_s']
            shown = str(int(retry)) if float(retry).is_integer() else ('%g' % retry)
            self._json(429, {'error': 'too_many_requests', 'error_description': 'Quota exceeded'},
                       {'Retry-After': shown})
            return
        if fate['error']:
            status = fate['error']
            page = '<html><body><h1>%d</h1>Service momentanément indisponible</body></html>' % status
            self._send(status, page.encode('utf-8'), 'text/html;charset=utf-8')
            return
        if fate['hang_s']:
            time.sleep(fate['hang_s'])
        if path == OAUTH_PATH:
            self._oauth(body)
        elif route is None:
            # One team saw 403 + "{}" for URLs the gateway does not route (chorus-pro-api.md section 4).
            self._send(403, b'{}', 'application/json')
        else:
            self._api(path, route, body)

    # OAuth ---------------------------------------------------------------------------------
    def _basic_credentials(self):
        header = self.headers.get('Authorization', '')
        if not header[:6].lower() == 'basic ':
            return None
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode('utf-8')
        except (binascii.Error, UnicodeDecodeError):
            return ('', '')
        client_id, dummy, secret = decoded.partition(':')
        return client_id, secret

    def _oauth_client_id(self, body):
        basic = self._basic_credentials()
        if basic:
            return unquote_plus(basic[0]) or None
        try:
            form = parse_qs(body.decode('utf-8'), keep_blank_values=True)
        except UnicodeDecodeError:
            return None
        return (form.get('client_id') or [None])[0] or None

    def _oauth_error(self, status, error, description, basic=False):
        headers = {'Cache-Control': 'no-store', 'Pragma': 'no-cache'}
        if status == 401:
            headers['WWW-Authenticate'] = 'Basic realm="PISTE"' if basic else 'Bearer realm="PISTE"'
        self._json(status, {'error': error, 'error_description': description}, headers)

    def _oauth(self, body):
        box = self.server.sandbox
        if self.command != 'POST':
            self._send(405, b'', None, {'Allow': 'POST'})
            return
        ctype = self.headers.get('Content-Type', '').split(';')[0].strip().lower()
        if ctype != 'application/x-www-form-urlencoded':
            self._oauth_error(400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded')
            return
        try:
            form = parse_qs(body.decode('utf-8'), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            self._oauth_error(400, 'invalid_request', 'body is not UTF-8')
            return
        if any(len(v) > 1 for v in form.values()):
            self._oauth_error(400, 'invalid_request', 'repeated parameter')
            return
        form = {k: v[0] for k, v in form.items()}
        grant = form.get('grant_type')
        if not grant:
            self._oauth_error(400, 'invalid_request', 'grant_type is missing')
            return
        basic = self._basic_credentials()
        if basic is not None:
            # RFC 6749 2.3.1 wants id and secret form-encoded inside Basic; many clients do not.
            ids = {basic[0], unquote_plus(basic[0])}
            secrets_given = {basic[1], unquote_plus(basic[1])}
            if form.get('client_id') and form['client_id'] not in ids:
                self._oauth_error(400, 'invalid_request', 'client_id differs between Basic and body')
                return
        elif form.get('client_id'):
            ids = {form['client_id']}
            secrets_given = {form.get('client_secret', '')}
        else:
            self._oauth_error(401, 'invalid_client', 'client authentication is missing')
            return
        app = next((box.world.apps[i] for i in ids if i in box.world.apps), None)
        if app is None or app['client_secret'] not in secrets_given:
            self._oauth_error(401, 'invalid_client', 'Client authentication failed', basic=basic is not None)
            return
        if grant != 'client_credentials':
            self._oauth_error(400, 'unsupported_grant_type', 'only client_credentials is supported')
            return
        token, ttl = box.issue_token(app['client_id'])
        announced = box.faults['token_expires_in_s'] or ttl  # a lie, to test a token revoked early
        self._json(200, {'access_token': token, 'token_type': 'Bearer',
                         'expires_in': max(1, int(math.ceil(announced))),
                         'scope': form.get('scope') or 'openid'},
                   {'Cache-Control': 'no-store', 'Pragma': 'no-cache'})

    # API -----------------------------------------------------------------------------------------
    def _bearer(self):
        header = self.headers.get('Authorization', '')
        if header[:7].lower() != 'bearer ':
            return None
        return header[7:].strip() or None

    def _api_client_id(self):
        token = self._bearer()
        if not token:
            return None
        client_id, problem = self.server.sandbox.token_client(token)
        return client_id if problem is None else None

    def _api(self, path, route, body):
        box = self.server.sandbox
        method, handler, scoped = route
        if self.command != method:
            self._send(405, b'', None, {'Allow': method})
            return
        token = self._bearer()
        if not token:
            self._send(401, b'', None, {'WWW-Authenticate': TOKEN_401 % 'access token is missing'})
            return
        client_id, problem = box.token_client(token)
        world = box.world
        app = world.apps.get(client_id) if client_id else None
        if problem or app is None:
            self._send(401, b'', None, {'WWW-Authenticate': TOKEN_401 % (problem or 'invalid access token')})
            return
        if method == 'GET':
            # Assumed: the health check proves OAuth and network only, not cpro-account.
            self._json(*handler(self, None, None, app))
            return
        ctype = self.headers.get('Content-Type', '').split(';')[0].strip().lower()
        if ctype != 'application/json':
            self._json(415, {'codeRetour': 415, 'libelle': 'Content-Type application/json attendu'})
            return
        account = self._account(app)
        if account is None:
            self._send(401, b'', None, {'WWW-Authenticate': ACCOUNT_401})
            return
        try:
            payload = json.loads(body.decode('utf-8')) if body.strip() else None
        except (UnicodeDecodeError, ValueError):
            payload = ValueError
        if not any((app['client_id'], s) in world.raccordements for s in account['sirets']):
            # No raccordement at all between this application and the account's structures.
            self._forbidden(payload)
            return
        if payload is ValueError:
            self._json(400, {'codeRetour': 400, 'libelle': 'Le corps de la requête doit être du JSON'})
            return
        if not isinstance(payload, dict):
            self._json(400, {'codeRetour': 400, 'libelle': 'Le corps de la requête doit être un objet JSON'})
            return
        try:
            if scoped:
                target = scoped(payload, world)
                if (target is not None and target['siret'] in account['sirets']
                        and (app['client_id'], target['siret']) not in world.raccordements):
                    self._forbidden(payload)
                    return
            status, answer = handler(self, payload, account, app)
        except BadRequest as exc:
            self._json(400, {'codeRetour': 400, 'libelle': str(exc)})
            return
        self._json(status, answer)

    def _forbidden(self, payload):
        """403 for a missing raccordement: empty, or the request echoed back re-serialised with defaults."""
        if self.server.sandbox.faults['forbidden_body'] == 'echo' and isinstance(payload, dict):
            echo = dict(payload)
            echo.setdefault('idUtilisateurCourant', 0)
            self._json(403, echo)
        else:
            self._send(403)

    def _account(self, app):
        """The world account named by cpro-account, or None when unknown, wrong or expired."""
        raw = self.headers.get('cpro-account', '').strip()
        if not raw:
            return None
        try:
            login, sep, password = base64.b64decode(raw, validate=True).decode('utf-8').partition(':')
        except (binascii.Error, UnicodeDecodeError):
            return None
        if not sep:
            return None
        world = self.server.sandbox.world
        # The qualification and production platforms have separate users.
        account = world.accounts.get((app['environment'], login))
        if account is None or not secrets.compare_digest(account['password'].encode('utf-8'),
                                                         password.encode('utf-8')):
            return None
        if account['expires_on'] < world.today():
            return None  # assumed: an expired password gets the same 401 as a wrong one
        return account


# -- API operations: (handler, payload, account, app) -> (status, answer) ---------------------------

def _structure_by_id(payload, world, field):
    if field not in payload:
        raise BadRequest('%s est obligatoire' % field)
    try:
        ident = int(payload[field])
    except (TypeError, ValueError):
        raise BadRequest('%s doit être un entier' % field) from None
    return world.by_id.get(ident), ident


def _scope_id(field):
    def scope(payload, world):
        if payload.get(field) in (None, ''):
            return None
        try:
            return world.by_id.get(int(payload[field]))
        except (TypeError, ValueError):
            return None
    return scope


def _visible(structure, account):
    """Public structures answer to everyone; private ones only to their attached users."""
    return structure['type'] == 'PUBLIQUE' or structure['siret'] in account['sirets']


def _err(code, libelle):
    return 200, {'codeRetour': code, 'libelle': libelle}


def op_health(_handler, _payload, _account, _app):
    # Shape of a serialised Spring ResponseEntity, as cnfilms models it (assumed body).
    return 200, {'headers': {}, 'body': 'OK', 'statusCode': 'OK', 'statusCodeValue': 200}


def op_tauxtva(_handler, _payload, _account, _app):
    code, libelle = OK_TRA
    return 200, {'codeRetour': code, 'libelle': libelle, 'listeTauxTva': TAUX_TVA}


def _actives(space):
    def op(handler, _payload, account, _app):
        world = handler.server.sandbox.world
        items = []
        for siret in account['sirets']:
            st = world.by_siret[siret]
            if st['active'] and space in st['spaces']:
                items.append({'idStructureCPP': st['id'], 'identifiant': st['siret'],
                              'designationStructure': st['designation']})
        code, libelle = OK_TRA
        # Pagination fields at the root (API brief section 8: one PHP client models them there).
        return 200, {'codeRetour': code, 'libelle': libelle, 'listeStructures': items, 'pageCourante': 1, 'pages': 1,
                     'nbResultatsParPage': len(items), 'total': len(items)}
    return op


def _structure_row(st):
    return {'idStructureCPP': st['id'], 'identifiantStructure': st['siret'], 'typeIdentifiantStructure': 'SIRET',
            'designationStructure': st['designation'], 'statut': 'ACTIVE' if st['active'] else 'INACTIVE'}


def op_rechercher(handler, payload, account, _app):
    box = handler.server.sandbox
    world = box.world
    criteria = payload.get('structure') or {}
    if not isinstance(criteria, dict):
        raise BadRequest('structure: objet attendu')
    restrict = payload.get('restreindreStructuresPrivees')
    ident = criteria.get('identifiantStructure')
    # Some clients send the identifier as a JSON number: leading zeros are lost, put them back.
    ident = '%014d' % ident if isinstance(ident, int) and not isinstance(ident, bool) else str(ident or '').strip()
    id_type = str(criteria.get('typeIdentifiantStructure') or '').strip()
    name = str(criteria.get('raisonSocialeStructure') or criteria.get('libelleStructure') or '').strip().lower()
    kind = str(criteria.get('typeStructure') or '').strip()
    found = []
    for st in world.structures:
        if ident and st['siret'] != ident:
            continue
        if id_type and id_type != 'SIRET':
            continue
        if name and name not in st['designation'].lower():
            continue
        if kind and kind != st['type']:
            continue
        if st['type'] == 'PRIVEE' and restrict in (None, True) and st['siret'] not in account['sirets']:
            continue
        found.append(st)
    found = sort_items(found, payload.get('parametres'), {
        'IdStructure': lambda s: s['id'], 'IdentifiantStructure': lambda s: s['siret'],
        'DesignationStructure': lambda s: s['designation']})
    page, meta = paginate(found, payload.get('parametres'))
    code, libelle = OK_TRA  # TRA_MSG_00.000 on structures/v1/rechercher (API brief section 8)
    if not found and box.faults['empty_search_code']:
        code, libelle = NO_RESULT
    return 200, {'codeRetour': code, 'libelle': libelle, 'listeStructures': [_structure_row(s) for s in page],
                 'parametresRetour': meta}


def op_consulter(handler, payload, account, _app):
    world = handler.server.sandbox.world
    st, ident = _structure_by_id(payload, world, 'idStructureCPP')
    lang = str(payload.get('codeLangue') or 'fr')
    if lang.lower() not in ('fr', 'en'):
        raise BadRequest('codeLangue doit valoir fr ou en')
    if st is None:
        return _err(UNKNOWN_STRUCTURE, "La structure %s n'existe pas" % ident)
    if not _visible(st, account):
        return _err(NOT_ATTACHED, "L'utilisateur n'est pas rattaché à la structure %s" % ident)
    info = {
        'idStructureCPP': st['id'], 'identifiantStructure': st['siret'], 'typeIdentifiantStructure': 'SIRET',
        'libelleStructure': st['designation'], 'raisonSocialeStructure': st['designation'],
        'nomStructure': None, 'prenomStructure': None, 'emailStructure': st['email'] or None,
        'numeroTVA': None, 'structurePriveePublique': st['type'], 'estValideurDeleguee': False,
        'idStructureOrigine': None, 'numeroRcsStructure': None, 'listeStructureDupliquees': [],
    }
    if st['siret'] in account['sirets']:
        # Assumed: only filled for a structure the calling technical account manages. A date-time in the
        # Swagger (API brief section 8): midnight in Paris with its offset, which read as UTC is the day before.
        info['dateExpirationMotPasseCompteTech'] = _expiry_value(account['expires_on'],
                                                                 handler.server.sandbox.faults['expiry_format'])
    code, libelle = OK_GCU
    return 200, {
        'codeRetour': code, 'libelle': libelle,
        'adressePostaleDuSiege': {'adresse': '1 place de la Mairie', 'codePostal': '64000', 'ville': 'Pau',
                                  'pays': 'FR', 'complementAdresse1': None, 'complementAdresse2': None,
                                  'telephone': None, 'indicatifTelephone': None, 'fax': None,
                                  'indicatifFax': None},
        'informationGenerales': info,
        'parametres': {'codeServiceDoitEtreRenseigne': bool(st['services']), 'numeroEJDoitEtreRenseigne': False,
                       'gestionNumeroEJOuCodeService': False, 'connexionEDI': False,
                       'recevoirDonneesViaEDI': False, 'statutMiseEnPaiementNestPasRemonte': False,
                       'estMoaUniquement': False, 'estValideurDelegue': False, 'getaMoa': False,
                       'nonDiffusibleInsee': False},
    }


def _paris_offset(day):
    """'+01:00' or '+02:00': Europe/Paris at midnight of ``day`` (EU rule: last Sundays of March and October)."""
    def last_sunday(month):
        last = datetime.date(day.year, month, 31)
        return last - datetime.timedelta(days=(last.weekday() + 1) % 7)
    return '+02:00' if last_sunday(3) < day <= last_sunday(10) else '+01:00'


def _expiry_value(day, form):
    if form == 'date':
        return day.isoformat()
    return '%sT00:00:00.000%s' % (day.isoformat(), _paris_offset(day))


DEVISES = [{'codeDevise': 'EUR', 'libelleDevise': 'Euro'}, {'codeDevise': 'USD', 'libelleDevise': 'Dollar US'},
           {'codeDevise': 'CHF', 'libelleDevise': 'Franc suisse'}]
IDENTIFIER_TYPES = ['SIRET', 'UE_HORS_FRANCE', 'HORS_UE', 'RIDET', 'TAHITI', 'AUTRE', 'PARTICULIER']


def op_devises(_handler, payload, _account, _app):
    lang = str(payload.get('codeLangue') or 'FR')
    if lang.lower() not in ('fr', 'en'):
        raise BadRequest('codeLangue doit valoir FR ou EN')
    code, libelle = OK_TRA
    return 200, {'codeRetour': code, 'libelle': libelle, 'listeDevises': DEVISES}


def op_identifier_types(_handler, _payload, _account, _app):
    code, libelle = OK_TRA
    return 200, {'codeRetour': code, 'libelle': libelle,
                 'listeTypeIdentifiant': [{'typeIdentifiantStructure': t} for t in IDENTIFIER_TYPES]}


def op_destinataire(handler, payload, _account, _app):
    world = handler.server.sandbox.world
    ident = payload.get('identifiant')
    ident = '%014d' % ident if isinstance(ident, int) and not isinstance(ident, bool) else str(ident or '').strip()
    found = [st for st in world.structures if st['siret'] == ident and st['type'] == 'PUBLIQUE' and st['active']]
    code, libelle = OK_TRA if found else NO_RESULT
    return 200, {'codeRetour': code, 'libelle': libelle, 'listeDestinataires': [
        {'idDestinataire': st['id'], 'identifiant': st['siret'], 'nomDestinataire': st['designation'],
         'adresseCodePostal': '64000', 'adresseVille': 'Pau'} for st in found]}


def op_services(handler, payload, account, _app):
    world = handler.server.sandbox.world
    st, ident = _structure_by_id(payload, world, 'idStructure')
    params = payload.get('parametresRechercherServicesStructure')
    if st is None:
        return _err(UNKNOWN_STRUCTURE, "La structure %s n'existe pas" % ident)
    if not _visible(st, account):
        return _err(NOT_ATTACHED, "L'utilisateur n'est pas rattaché à la structure %s" % ident)
    services = sort_items(st['services'], params, {
        'CodeService': lambda s: s['code'], 'LibelleService': lambda s: s['libelle'], 'IdService': lambda s: s['id']})
    page, meta = paginate(services, params)
    code, libelle = OK_TRA  # TRA_MSG_00.000 on rechercher/services (API brief section 8)
    return 200, {'codeRetour': code, 'libelle': libelle, 'parametresRetour': meta, 'listeServices': [
        {'idService': s['id'], 'codeService': s['code'], 'libelleService': s['libelle'], 'estActif': s['active'],
         'statutService': 'ACTIF' if s['active'] else 'INACTIF'} for s in page]}


def op_rattachements(handler, payload, account, _app):
    world = handler.server.sandbox.world
    params = payload.get('parametresRecherche')
    rows = [world.by_siret[s] for s in account['sirets']]
    rows = sort_items(rows, params, {'IdStructure': lambda s: s['id'], 'IdentifiantStructure': lambda s: s['siret']})
    page, meta = paginate(rows, params)
    items = []
    for st in page:
        items.append({
            'idStructure': st['id'], 'identifiantStructure': st['siret'], 'typeIdentifiantStructure': 'SIRET',
            'designationStructure': st['designation'], 'idRattachementStructure': st['id'] * 10 + 1,
            'roleUtilisateur': 'GESTIONNAIRE', 'statutRattachementStructure': 'ACTIF',
            'statutUtilisateur': 'ACTIF',
            'listeServicesRattache': [
                {'codeService': s['code'], 'idService': s['id'], 'libelleService': s['libelle'],
                 'estActif': s['active'], 'idRattachementService': s['id'] * 10 + 1,
                 'statutRattachementService': 'ACTIF', 'statutService': 'ACTIF' if s['active'] else 'INACTIF',
                 'dateDbtService': None, 'dateFinService': None}
                for s in st['services']],
        })
    code, libelle = OK_GCU
    return 200, {'codeRetour': code, 'libelle': libelle, 'listeStructureRattachement': items,
                 'parametresRetour': meta}


def op_recipiendaire(handler, payload, account, app):
    world = handler.server.sandbox.world
    if payload.get('idDestinataire') not in (None, ''):
        st, ident = _structure_by_id(payload, world, 'idDestinataire')
        if st is None:
            return _err(UNKNOWN_STRUCTURE, "La structure %s n'existe pas" % ident)
        if st['siret'] not in account['sirets']:
            return _err(NOT_ATTACHED, "L'utilisateur n'est pas rattaché à la structure %s" % ident)
        targets = [st]
    else:
        targets = [world.by_siret[s] for s in account['sirets']
                   if (app['client_id'], s) in world.raccordements]
    since = payload.get('periodeDateDepotDu')
    until = payload.get('periodeDateDepotAu')
    try:
        since = datetime.date.fromisoformat(str(since)[:10]) if since else None
        until = datetime.date.fromisoformat(str(until)[:10]) if until else None
    except ValueError:
        raise BadRequest('periodeDateDepotDu / periodeDateDepotAu : date AAAA-MM-JJ attendue') from None
    rows = []
    for st in targets:
        for inv in world.invoices.get(st['siret'], []):
            if (since and inv['date_depot'] < since) or (until and inv['date_depot'] > until):
                continue
            rows.append((st, inv))
    params = payload.get('paramRecherche')
    rows = sort_items(rows, params, {'DateDepot': lambda r: r[1]['date_depot'],
                                     'NumeroFacture': lambda r: r[1]['numero']})
    page, meta = paginate(rows, params)
    if not rows:
        code, libelle = NO_RESULT
    else:
        code, libelle = OK_TRA
    answer = {'codeRetour': code, 'libelle': libelle, 'listeFactures': [
        {'idFacture': inv['id'], 'numeroFacture': inv['numero'], 'dateDepot': inv['date_depot'].isoformat(),
         'dateFacture': inv['date_depot'].isoformat(), 'statut': 'MISE_A_DISPOSITION',
         'idDestinataire': st['id'], 'codeDestinataire': st['siret'], 'designationDestinataire': st['designation'],
         'typeDemandePaiement': 'FACTURE', 'typeFacture': 'FACTURE', 'devise': 'EUR',
         'montantHT': 100.0, 'montantTTC': 120.0, 'montantAPayer': 120.0,
         'factureTelechargeeParDestinataire': False} for st, inv in page]}
    answer.update(meta)  # pagination at the root on this operation (Pastell, go-choruspro)
    return 200, answer


# path -> (method, operation, scope). scope(payload, world) returns the structure a call acts on,
# which gets a 403 when it is one of the account's structures without a raccordement.
ROUTES = {
    '/cpro/transverses/v1/health-check': ('GET', op_health, None),
    '/cpro/transverses/v1/recuperer/tauxtva': ('POST', op_tauxtva, None),
    '/cpro/transverses/v1/recuperer/devises': ('POST', op_devises, None),
    '/cpro/transverses/v1/recuperer/typeidentifiant/structure': ('POST', op_identifier_types, None),
    '/cpro/transverses/v1/rechercher/destinataire': ('POST', op_destinataire, None),
    '/cpro/transverses/v1/recuperer/structures/actives/destinataire': ('POST', _actives('destinataire'), None),
    '/cpro/transverses/v1/recuperer/structures/actives/fournisseur': ('POST', _actives('fournisseur'), None),
    '/cpro/structures/v1/rechercher': ('POST', op_rechercher, None),
    '/cpro/structures/v1/consulter': ('POST', op_consulter, _scope_id('idStructureCPP')),
    '/cpro/structures/v1/rechercher/services': ('POST', op_services, _scope_id('idStructure')),
    '/cpro/utilisateurs/v1/monCompte/recuperer/rattachements': ('POST', op_rattachements, None),
    '/cpro/factures/v1/rechercher/recipiendaire': ('POST', op_recipiendaire, _scope_id('idDestinataire')),
}


def make_server(world, host='127.0.0.1', port=0, faults=None, verbose=False):
    """Build (not start) a server; call serve_forever() in a thread, stop() to end it."""
    return SandboxServer((host, port), Sandbox(world, faults), verbose=verbose)


def main(argv=None):
    parser = argparse.ArgumentParser(description='PISTE + Chorus Pro sandbox (tests/sandbox/README.md)')
    parser.add_argument('--world', required=True, help='world YAML file')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=0, help='0 = any free port')
    parser.add_argument('--faults', default='', help='JSON object of fault knobs')
    parser.add_argument('--verbose', action='store_true', help='log each request on stderr')
    args = parser.parse_args(argv)
    try:
        faults = json.loads(args.faults) if args.faults else None
        server = make_server(args.world, args.host, args.port, faults, args.verbose)
    except (OSError, WorldError, ValueError, yaml.YAMLError) as exc:
        sys.stderr.write('chorus_sandbox: %s\n' % exc)
        return 2
    sys.stdout.write(server.url + '\n')
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.close_connections()
        server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
