# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Start and stop a background sandbox for playbooks and shell scripts.

    python tests/sandbox/sandbox_ctl.py start --world W --state-dir D [--faults JSON] [--port 0]
    python tests/sandbox/sandbox_ctl.py stop --state-dir D
    python tests/sandbox/sandbox_ctl.py status --state-dir D

`start` runs the server in its own session (it outlives the calling task), waits until
/_sandbox/health answers, writes D/url and D/pid and prints the URL. Starting again with the same
state dir replaces the previous sandbox. `stop` is a no-op when nothing runs. From Ansible:

    - ansible.builtin.command: >-
        {{ ansible_playbook_python }} tests/sandbox/sandbox_ctl.py start --world w.yml --state-dir /tmp/sb
      register: sandbox   # sandbox.stdout is the base URL
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, 'chorus_sandbox.py')


def _read(path):
    try:
        with open(path, encoding='utf-8') as handle:
            return handle.read().strip()
    except OSError:
        return ''


# Loopback only: never through an http_proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _healthy(url, timeout=1.0):
    try:
        with _OPENER.open(url + '/_sandbox/health', timeout=timeout) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _is_our_server(pid):
    """True when pid is alive and runs chorus_sandbox.py (a recycled pid is left alone)."""
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            return b'chorus_sandbox.py' in handle.read()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (macOS): trust the pid file


def stop(state_dir, quiet=False):
    pid_text = _read(os.path.join(state_dir, 'pid'))
    stopped = False
    if pid_text.isdigit() and _is_our_server(int(pid_text)):
        pid = int(pid_text)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _is_our_server(pid):
            time.sleep(0.05)
        if _is_our_server(pid):
            os.kill(pid, signal.SIGKILL)
        stopped = True
    for name in ('pid', 'url'):
        try:
            os.unlink(os.path.join(state_dir, name))
        except OSError:
            pass
    if not quiet:
        print('stopped' if stopped else 'not running')
    return 0


def health_timeout(world):
    """Seconds to wait for health: 20 s plus 5 s per MB of world file (a 20,000-structure world is
    7 to 8 MB; YAML written by hand loads at about 1 s per MB in PyYAML's C parser, 3 s in Python)."""
    try:
        size_mb = os.path.getsize(world) / 1048576.0
    except OSError:
        size_mb = 0.0
    return 20.0 + 5.0 * size_mb


def start(world, state_dir, faults='', host='127.0.0.1', port=0, timeout=None, verbose=False):
    os.makedirs(state_dir, exist_ok=True)
    if timeout is None:
        timeout = health_timeout(world)
    stop(state_dir, quiet=True)
    if faults:
        json.loads(faults)  # fail here, with a clear message, rather than in the background
    out_path = os.path.join(state_dir, 'stdout.log')
    err_path = os.path.join(state_dir, 'stderr.log')
    cmd = [sys.executable, SERVER, '--world', os.path.abspath(world), '--host', host, '--port', str(port)]
    if faults:
        cmd += ['--faults', faults]
    if verbose:
        cmd.append('--verbose')
    with open(out_path, 'wb') as out, open(err_path, 'wb') as err, open(os.devnull, 'rb') as nul:
        proc = subprocess.Popen(cmd, stdin=nul, stdout=out, stderr=err, start_new_session=True,
                                close_fds=True)
    deadline = time.monotonic() + timeout
    url = ''
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.stderr.write('sandbox exited with %s:\n%s\n' % (proc.returncode, _read(err_path)))
            return 1
        first = _read(out_path).splitlines()
        url = first[0].strip() if first else ''
        if url and _healthy(url):
            break
        time.sleep(0.05)
    else:
        proc.kill()
        sys.stderr.write('sandbox not healthy after %ss; stderr:\n%s\n' % (timeout, _read(err_path)))
        return 1
    with open(os.path.join(state_dir, 'pid'), 'w', encoding='utf-8') as handle:
        handle.write('%d\n' % proc.pid)
    with open(os.path.join(state_dir, 'url'), 'w', encoding='utf-8') as handle:
        handle.write(url + '\n')
    print(url)
    return 0


def status(state_dir):
    url = _read(os.path.join(state_dir, 'url'))
    if url and _healthy(url):
        print(url)
        return 0
    print('not running')
    return 1


def main(argv=None):
    parser = argparse.ArgumentParser(description='start/stop a background Chorus Pro sandbox')
    sub = parser.add_subparsers(dest='action', required=True)
    p_start = sub.add_parser('start')
    p_start.add_argument('--world', required=True)
    p_start.add_argument('--state-dir', required=True)
    p_start.add_argument('--faults', default='', help='JSON object of fault knobs')
    p_start.add_argument('--host', default='127.0.0.1')
    p_start.add_argument('--port', type=int, default=0)
    p_start.add_argument('--timeout', type=float, default=None,
                         help='seconds to wait for health (default: 20 plus 5 per MB of world file)')
    p_start.add_argument('--verbose', action='store_true')
    for name in ('stop', 'status'):
        sub.add_parser(name).add_argument('--state-dir', required=True)
    args = parser.parse_args(argv)
    if args.action == 'start':
        try:
            return start(args.world, args.state_dir, args.faults, args.host, args.port, args.timeout, args.verbose)
        except ValueError as exc:
            sys.stderr.write('sandbox_ctl: --faults is not JSON: %s\n' % exc)
            return 2
    if args.action == 'stop':
        return stop(args.state_dir)
    return status(args.state_dir)


if __name__ == '__main__':
    sys.exit(main())
