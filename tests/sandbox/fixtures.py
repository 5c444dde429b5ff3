# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the sandbox inside a test process.

    from fixtures import running_sandbox
    with running_sandbox(world, latency_ms=5) as sb:
        client(oauth_url=sb.oauth_url, api_url=sb.api_url)
        assert sb.stats()['calls']['/api/oauth/token'] == {'my-client-id': 1}

`world` is a dict in the world shape (README.md) or a path to a world YAML file. The server runs
in a daemon thread on a free loopback port, so tests can run in parallel (pytest -n).
"""

import contextlib
import os
import sys
import threading

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import chorus_sandbox  # noqa: E402  pylint: disable=wrong-import-position


class RunningSandbox:
    """Handle on an in-process sandbox. Control calls go straight to its state (never counted)."""

    def __init__(self, world, host='127.0.0.1', port=0, faults=None, verbose=False):
        self.server = chorus_sandbox.make_server(world, host, port, faults or None, verbose)
        self.sandbox = self.server.sandbox
        self.url = self.server.url
        self.api_url = self.url
        self.oauth_url = self.url + chorus_sandbox.OAUTH_PATH
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05},
                                        name='chorus-sandbox', daemon=True)
        self._thread.start()
        self._stopped = False

    def stats(self):
        """{"calls": {path: {client_id or '-': n}}, "total": n, "max_in_flight": n, "responses": {status: n}}"""
        return self.sandbox.stats()

    def calls(self, path, client_id=None):
        """Calls served on one path (a suffix such as 'recuperer/tauxtva' is enough)."""
        total = 0
        for served, by_client in self.stats()['calls'].items():
            if served == path or served.endswith('/' + path.lstrip('/')):
                total += sum(n for c, n in by_client.items() if client_id is None or c == client_id)
        return total

    def reset(self, tokens=False):
        """Zero the counters (and revoke every token when tokens=True)."""
        self.sandbox.reset(tokens=tokens)

    def set_faults(self, **knobs):
        """Merge knobs into the current faults (see FAULT_DEFAULTS); returns the faults now active."""
        return self.sandbox.set_faults(knobs)

    def clear_faults(self):
        return self.sandbox.set_faults({}, replace=True)

    def set_world(self, world):
        """Replace the world (dict or path); tokens already issued stay valid."""
        self.sandbox.set_world(world)

    def stop(self):
        if not self._stopped:
            self._stopped = True
            self.server.stop()
            self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


@contextlib.contextmanager
def running_sandbox(world, host='127.0.0.1', **faults):
    """Context manager yielding a RunningSandbox with the given fault knobs already set."""
    sandbox = RunningSandbox(world, host=host, faults=faults)
    try:
        yield sandbox
    finally:
        sandbox.stop()
