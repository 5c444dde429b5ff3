# -*- coding: utf-8 -*-
"""A fault-injecting HTTP proxy in front of the sandbox: what sits between the collection and PISTE.

Real networks put gateways, corporate proxies and load balancers between the controller and the API.
They answer on the API's behalf (HTML pages, 407, 404), cut answers short, let them trickle in, or reset
connections. The sandbox plays the API; this proxy plays everything in between. A *scenario* decides,
per request, whether the request goes through untouched or what happens to it instead.

Decisions are reproducible: each comes from a ``random.Random`` seeded with the scenario's seed, the
request (method, path, a hash of the body and of ``cpro-account``) and ``n``, the number of identical
requests before it, so thread scheduling does not change which request meets which fault.

Standard library only.
"""

import hashlib
import http.client
import http.server
import json
import random
import threading
import time
from urllib.parse import urlsplit

TOKEN_PATH = '/api/oauth/token'
HOP_BY_HOP = {'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailers',
              'transfer-encoding', 'upgrade', 'content-length'}

HTML_404 = b'<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>'
HTML_403 = b'<html><head><title>403 Forbidden</title></head><body><h1>Forbidden</h1><p>Request blocked by gateway policy.</p></body></html>'
HTML_502 = b'<html><body><h1>502 Bad Gateway</h1><hr><center>nginx</center></body></html>'
HTML_503 = b'<html><body><h1>Maintenance</h1><p>Service momentanement indisponible.</p></body></html>'


class Request(object):
    """What a scenario sees of one request."""

    def __init__(self, method, path, headers, body, n, rng):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.n = n          # identical requests seen before this one
        self.rng = rng      # seeded for this request

    @property
    def is_token(self):
        return self.path.startswith(TOKEN_PATH)

    @property
    def is_api(self):
        return self.path.startswith('/cpro/')


# -- actions a scenario returns (None = pass through) --------------------------------------------------

def reply(status, body=b'', content_type='text/html', headers=None):
    return ('reply', status, dict({'Content-Type': content_type}, **(headers or {})), body)


def mutate(func):
    """Forward, then ``func(status, headers, body) -> (status, headers, body)`` on the real answer."""
    return ('mutate', func)


def trickle(delay):
    """Forward, then send the real answer's body one byte every ``delay`` seconds."""
    return ('trickle', delay)


def reset():
    """Close the connection without answering."""
    return ('reset',)


def json_mutation(func):
    """A mutation of the JSON answer (``func(obj) -> obj``); other answers go through."""
    def apply(status, headers, body):
        try:
            obj = json.loads(body.decode('utf-8'))
        except ValueError:
            return status, headers, body
        return status, headers, json.dumps(func(obj)).encode('utf-8')
    return mutate(apply)


class FaultProxy(object):
    """``FaultProxy(upstream, scenario, seed)``; ``.url`` is its base URL; use as a context manager."""

    def __init__(self, upstream, scenario=None, seed=0):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port or 80)
        self.scenario = scenario
        self.seed = seed
        self.injected = {}
        self.requests = 0
        self._seen = {}
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                proxy.handle(self)

            def do_POST(self):  # noqa: N802
                proxy.handle(self)

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.url = 'http://127.0.0.1:%d' % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def _request(self, handler, body):
        digest = hashlib.sha256()
        for part in (handler.command, handler.path, handler.headers.get('cpro-account') or ''):
            digest.update(part.encode('utf-8') + b'\0')
        digest.update(body)
        key = digest.hexdigest()
        with self._lock:
            n = self._seen.get(key, 0)
            self._seen[key] = n + 1
            self.requests += 1
        seed = int(hashlib.sha256(('%s|%s|%d' % (self.seed, key, n)).encode('ascii')).hexdigest()[:16], 16)
        return Request(handler.command, handler.path, handler.headers, body, n, random.Random(seed))

    def _count(self, kind):
        with self._lock:
            self.injected[kind] = self.injected.get(kind, 0) + 1

    def _forward(self, handler, body):
        conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            headers = dict((k, v) for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP | {'host'})
            conn.request(handler.command, handler.path, body=body or None, headers=headers)
            answer = conn.getresponse()
            return answer.status, [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP], answer.read()
        finally:
            conn.close()

    @staticmethod
    def _send(handler, status, headers, body, delay=None):
        handler.send_response(status)
        for name, value in (headers.items() if isinstance(headers, dict) else headers):
            handler.send_header(name, value)
        handler.send_header('Content-Length', str(len(body)))
        handler.end_headers()
        if delay is None:
            handler.wfile.write(body)
            return
        for index in range(len(body)):
            handler.wfile.write(body[index:index + 1])
            handler.wfile.flush()
            time.sleep(delay)

    def handle(self, handler):
        length = int(handler.headers.get('Content-Length') or 0)
        body = handler.rfile.read(length) if length else b''
        request = self._request(handler, body)
        action = self.scenario(request) if self.scenario else None
        try:
            if action is None:
                self._send(handler, *self._forward(handler, body))
                return
            self._count(action[0])
            if action[0] == 'reply':
                self._send(handler, action[1], action[2], action[3])
            elif action[0] == 'reset':
                handler.close_connection = True
                handler.connection.close()
            elif action[0] == 'mutate':
                status, headers, answer = self._forward(handler, body)
                self._send(handler, *action[1](status, headers, answer))
            elif action[0] == 'trickle':
                status, headers, answer = self._forward(handler, body)
                self._send(handler, status, headers, answer, delay=action[1])
        except (OSError, http.client.HTTPException):
            handler.close_connection = True  # the client gave up (deadline) or the sandbox went away
