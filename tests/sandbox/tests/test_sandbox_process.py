# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The sandbox as a process: command line, 200 concurrent connections, sandbox_ctl start/stop."""

import os
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests
import yaml

from sandbox_testlib import LOGIN, PASSWORD, SANDBOX_DIR, WORLD, cpro_account

SERVER = os.path.join(SANDBOX_DIR, 'chorus_sandbox.py')
CTL = os.path.join(SANDBOX_DIR, 'sandbox_ctl.py')


@pytest.fixture
def world_file(tmp_path):
    path = tmp_path / 'world.yml'
    path.write_text(yaml.safe_dump(WORLD), encoding='utf-8')
    return str(path)


@pytest.fixture
def server_process(world_file):
    proc = subprocess.Popen([sys.executable, SERVER, '--world', world_file, '--faults', '{"latency_ms": 50}'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    yield proc, url
    proc.terminate()
    proc.wait(timeout=5)


def test_command_line_prints_the_base_url_first(server_process):
    proc, url = server_process
    assert url.startswith('http://127.0.0.1:')
    assert int(url.rsplit(':', 1)[1]) > 0
    assert requests.get(url + '/_sandbox/health', timeout=5).status_code == 200
    assert requests.get(url + '/_sandbox/faults', timeout=5).json()['latency_ms'] == 50
    assert proc.poll() is None


def test_command_line_rejects_a_bad_world(tmp_path):
    bad = tmp_path / 'bad.yml'
    bad.write_text('apps: [{client_id: x}]\n', encoding='utf-8')
    proc = subprocess.run([sys.executable, SERVER, '--world', str(bad)], capture_output=True, text=True,
                          timeout=20, check=False)
    assert proc.returncode == 2
    assert 'apps[0]: missing client_secret' in proc.stderr
    assert proc.stdout == ''


def test_holds_200_concurrent_connections(server_process):
    _proc, url = server_process
    token = requests.post(url + '/api/oauth/token', data={
        'grant_type': 'client_credentials', 'client_id': 'app-q', 'client_secret': 'secret-q+/='},
        timeout=5).json()['access_token']
    parts = urlsplit(url)
    request = ('POST /cpro/transverses/v1/recuperer/tauxtva HTTP/1.1\r\nHost: %s\r\n'
               'Authorization: Bearer %s\r\ncpro-account: %s\r\nContent-Type: application/json\r\n'
               'Content-Length: 2\r\n\r\n{}' % (parts.netloc, token, cpro_account(LOGIN, PASSWORD))).encode()
    clients = 200
    start = time.monotonic()
    # Every connection is open before any request is sent: 200 at once, on loopback only.
    sockets = [socket.create_connection((parts.hostname, parts.port), timeout=20) for dummy in range(clients)]
    barrier = threading.Barrier(clients)
    results = [None] * clients

    def run(index):
        sock = sockets[index]
        barrier.wait()
        try:
            for dummy in range(2):  # two requests on the same connection: keep-alive under load
                sock.sendall(request)
                data = b''
                while b'\r\n\r\n' not in data:
                    data += sock.recv(65536)
                head, dummy, rest = data.partition(b'\r\n\r\n')
                length = int([h for h in head.split(b'\r\n') if h.lower().startswith(b'content-length')][0]
                             .split(b':')[1])
                while len(rest) < length:
                    rest += sock.recv(65536)
                results[index] = head.split(b'\r\n')[0]
                if not head.startswith(b'HTTP/1.1 200'):
                    return
        except OSError as exc:
            results[index] = repr(exc).encode()
        finally:
            sock.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    elapsed = time.monotonic() - start
    assert [r for r in results if r != b'HTTP/1.1 200 OK'] == []
    stats = requests.get(url + '/_sandbox/stats', timeout=5).json()
    assert stats['calls']['/cpro/transverses/v1/recuperer/tauxtva'] == {'app-q': 2 * clients}
    # A short listen backlog shows as SYN retries (1 s, 3 s, ...); serial serving as 200 x 2 x 50 ms.
    assert elapsed < 8, elapsed


def _ctl(*args, timeout=30):
    return subprocess.run([sys.executable, CTL] + list(args), capture_output=True, text=True, timeout=timeout,
                          check=False)


def test_sandbox_ctl_start_status_stop(world_file, tmp_path):
    state = str(tmp_path / 'state')
    started = _ctl('start', '--world', world_file, '--state-dir', state, '--faults', '{"seed": 4}')
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip()
    assert open(os.path.join(state, 'url'), encoding='utf-8').read().strip() == url
    pid = int(open(os.path.join(state, 'pid'), encoding='utf-8').read())
    assert requests.get(url + '/_sandbox/faults', timeout=5).json()['seed'] == 4
    assert _ctl('status', '--state-dir', state).stdout.strip() == url
    # Starting again replaces the running sandbox.
    again = _ctl('start', '--world', world_file, '--state-dir', state)
    assert again.returncode == 0, again.stderr
    new_pid = int(open(os.path.join(state, 'pid'), encoding='utf-8').read())
    assert new_pid != pid
    assert not os.path.exists('/proc/%d' % pid) or b'chorus_sandbox' not in open(
        '/proc/%d/cmdline' % pid, 'rb').read()
    stopped = _ctl('stop', '--state-dir', state)
    assert stopped.returncode == 0 and stopped.stdout.strip() == 'stopped'
    assert not os.path.exists(os.path.join(state, 'pid'))
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(again.stdout.strip() + '/_sandbox/health', timeout=2)
    assert _ctl('stop', '--state-dir', state).stdout.strip() == 'not running'
    status = _ctl('status', '--state-dir', state)
    assert status.returncode == 1


def test_sandbox_ctl_reports_failures(tmp_path, world_file):
    bad = tmp_path / 'bad.yml'
    bad.write_text('nope: 1\n', encoding='utf-8')
    failed = _ctl('start', '--world', str(bad), '--state-dir', str(tmp_path / 's1'))
    assert failed.returncode == 1
    assert 'unknown keys nope' in failed.stderr
    assert not os.path.exists(tmp_path / 's1' / 'pid')
    failed = _ctl('start', '--world', world_file, '--state-dir', str(tmp_path / 's2'), '--faults', '{x')
    assert failed.returncode == 2
    assert '--faults is not JSON' in failed.stderr
