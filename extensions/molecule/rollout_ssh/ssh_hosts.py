# -*- coding: utf-8 -*-
# Copyright: (c) 2025, chorus.corail contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Several SSH servers on loopback for the rollout_ssh scenario: one sshd per "Corail server".

    python ssh_hosts.py start  --dir DIR --hosts a,b,c [--inventory FILE]
                                                         # key pair, host keys, sshd per host, inventory
    python ssh_hosts.py kill   --dir DIR --host b        # the server goes down (listener killed)
    python ssh_hosts.py revive --dir DIR --host b        # and comes back on the same port
    python ssh_hosts.py kill-on-connect --dir DIR --host b [--timeout S]
                                                         # background: kill b as soon as a client
                                                         # has logged in (a server lost mid-rollout)
    python ssh_hosts.py stop   --dir DIR                 # every sshd of DIR

Every sshd listens on 127.0.0.1 only, on a free high port, with its own host key; root logs in
with a key pair generated in DIR (`PermitRootLogin prohibit-password`). DIR/ssh_hosts.yml (or FILE)
is an inventory that reaches them over real SSH with ControlPersist disabled, so that killing a
listener really cuts the host off (no master connection keeps it alive).
"""
from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

SSHD = os.environ.get('CHORUS_SSHD', '/usr/sbin/sshd')
# ssh keeps the first value it reads for an option: these replace Ansible's default ssh_args
# (ControlMaster=auto, ControlPersist=60s), they are not appended to them.
SSH_ARGS = '-o ControlMaster=no -o ControlPersist=no -o ConnectTimeout=5'
SSH_COMMON_ARGS = '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR'

SSHD_CONFIG = """\
ListenAddress 127.0.0.1
Port {port}
HostKey {host_key}
PidFile {pid_file}
AuthorizedKeysFile {authorized_keys}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# the key files live in a temporary folder, not in a home directory
StrictModes no
LogLevel VERBOSE
Subsystem sftp internal-sftp
"""


def _free_port():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]
    finally:
        sock.close()


def _state_path(folder):
    return os.path.join(folder, 'ssh_hosts.json')


def _load(folder):
    with open(_state_path(folder)) as handle:
        return json.load(handle)


def _pid(entry):
    try:
        with open(entry['pid_file']) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def _alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _wait_listening(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit('sshd did not start listening on 127.0.0.1:%d' % port)


def _start_one(entry):
    if _alive(_pid(entry)):
        return
    # sshd refuses to start without its privilege separation directory
    if not os.path.isdir('/run/sshd'):
        os.makedirs('/run/sshd', 0o755)
    subprocess.check_call([SSHD, '-f', entry['config'], '-E', entry['log']])
    _wait_listening(entry['port'])


def _keygen(path, comment):
    if not os.path.exists(path):
        subprocess.check_call(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path])


def start(folder, hosts, inventory=None):
    folder = os.path.abspath(folder)
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o700)
    client_key = os.path.join(folder, 'id_ed25519')
    _keygen(client_key, 'chorus-rollout-ssh')
    authorized_keys = os.path.join(folder, 'authorized_keys')
    with open(client_key + '.pub') as src, open(authorized_keys, 'w') as dst:
        dst.write(src.read())
    os.chmod(authorized_keys, 0o600)
    state = _load(folder) if os.path.exists(_state_path(folder)) else {}
    for host in hosts:
        hdir = os.path.join(folder, 'sshd', host)
        os.makedirs(hdir, exist_ok=True)
        entry = state.get(host) or {
            'port': _free_port(),
            'config': os.path.join(hdir, 'sshd_config'),
            'pid_file': os.path.join(hdir, 'sshd.pid'),
            'log': os.path.join(hdir, 'sshd.log'),
            'host_key': os.path.join(hdir, 'ssh_host_ed25519_key'),
        }
        _keygen(entry['host_key'], host)
        with open(entry['config'], 'w') as handle:
            handle.write(SSHD_CONFIG.format(authorized_keys=authorized_keys, **entry))
        state[host] = entry
        _start_one(entry)
    with open(_state_path(folder), 'w') as handle:
        json.dump(state, handle, indent=2, sort_keys=True)
    inventory = inventory or os.path.join(folder, 'ssh_hosts.yml')
    with open(inventory, 'w') as handle:
        # JSON is YAML: no dependency on PyYAML here
        json.dump({'all': {'hosts': dict(
            (host, {'ansible_host': '127.0.0.1', 'ansible_port': state[host]['port'], 'ansible_user': 'root',
                    'ansible_connection': 'ssh', 'ansible_ssh_private_key_file': client_key,
                    'ansible_ssh_args': SSH_ARGS, 'ansible_ssh_common_args': SSH_COMMON_ARGS, 'ansible_ssh_pipelining': True,
                    'ansible_python_interpreter': sys.executable})
            for host in hosts)}}, handle, indent=2, sort_keys=True)
    print(json.dumps({'inventory': inventory, 'ports': dict((h, state[h]['port']) for h in hosts)}))


def kill(folder, host):
    entry = _load(folder)[host]
    pid = _pid(entry)
    if _alive(pid):
        # the listener only: sessions already open end on their own, new connections are refused
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 5
        while _alive(pid) and time.time() < deadline:
            time.sleep(0.02)
    return pid


def revive(folder, host):
    _start_one(_load(folder)[host])


def kill_on_connect(folder, host, timeout):
    """Wait until a client has logged in on HOST, then take HOST down (run in the background)."""
    entry = _load(folder)[host]
    deadline = time.time() + timeout
    offset = os.path.getsize(entry['log']) if os.path.exists(entry['log']) else 0
    while time.time() < deadline:
        if os.path.exists(entry['log']):
            with open(entry['log']) as handle:
                handle.seek(offset)
                if 'Accepted publickey' in handle.read():
                    kill(folder, host)
                    return 0
        time.sleep(0.02)
    return 1


def stop(folder):
    if not os.path.exists(_state_path(folder)):
        return
    for host in _load(folder):
        kill(folder, host)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('action', choices=['start', 'kill', 'revive', 'kill-on-connect', 'stop'])
    parser.add_argument('--dir', required=True)
    parser.add_argument('--hosts', default='')
    parser.add_argument('--host', default='')
    parser.add_argument('--inventory', default=None, help='where start writes the inventory')
    parser.add_argument('--timeout', type=float, default=300.0)
    args = parser.parse_args(argv)
    if args.action == 'start':
        start(args.dir, [h for h in args.hosts.split(',') if h], args.inventory)
    elif args.action == 'kill':
        kill(args.dir, args.host)
    elif args.action == 'revive':
        revive(args.dir, args.host)
    elif args.action == 'kill-on-connect':
        return kill_on_connect(args.dir, args.host, args.timeout)
    else:
        stop(args.dir)
    return 0


if __name__ == '__main__':
    sys.exit(main())
