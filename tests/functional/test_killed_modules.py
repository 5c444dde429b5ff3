# -*- coding: utf-8 -*-
"""A run killed with SIGKILL while a secret-bearing module runs leaves no file holding a secret in
the controller's or the target's temporary folders: the collection runs these modules with
pipelining (module and arguments through stdin). A control run without pipelining shows that the
search finds the AnsiballZ file when there is one."""

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ansible_env
from fixtures import running_sandbox

S1, S2 = '21640000200012', '21640001000015'
L1 = 'TECH_1_KILLED@cpro.fr'
PASSWORD = 'Kp9-zW4{#q#}vB7%x"Lm2'
CID, CLIENT_SECRET = 'cid-killed-q', 'cs-Kd8sLq2Vb3NmT7xR'

WORLD = {
    'apps': [{'client_id': CID, 'client_secret': CLIENT_SECRET, 'environment': 'qualification'}],
    'structures': [{'siret': S1, 'id_structure_cpp': 801, 'designation': 'Commune de Pau'},
                   {'siret': S2, 'id_structure_cpp': 802, 'designation': 'CCAS de Pau'}],
    'accounts': [{'login': L1, 'password': PASSWORD, 'environment': 'qualification',
                  'password_expires_on': '2099-01-01', 'structures': [S1, S2]}],
    'raccordements': [{'client_id': CID, 'siret': S1}, {'client_id': CID, 'siret': S2}],
}


def single(text):
    return "'%s'" % text.replace("'", "''")


def make_inventory(tmp, sandbox):
    inv = tmp / 'inventory'
    (inv / 'group_vars' / 'all').mkdir(parents=True)
    (inv / 'group_vars' / 'all' / 'chorus.yml').write_text(
        '---\nchorus_piste_app: corail_q\nchorus_piste_apps:\n'
        '  corail_q: {client_id: %s, client_secret: !unsafe %s, environment: qualification}\n'
        'chorus_accounts:\n  %s: {password: !unsafe %s, environment: qualification}\n'
        'chorus_oauth_url: %s\nchorus_api_url: %s\nchorus_retries: 0\nchorus_timeout: 30\n'
        'chorus_check_report_dir: %s\n'
        % (CID, single(CLIENT_SECRET), L1, single(PASSWORD), sandbox.oauth_url, sandbox.api_url, tmp / 'reports'))
    (inv / 'hosts.yml').write_text(
        '---\nall:\n  hosts:\n    corail-1:\n      ansible_connection: local\n'
        '      ansible_python_interpreter: "{{ ansible_playbook_python }}"\n'
        '      corail_config_path: %s/corail-1.ini\n      corail_structures:\n'
        '        - {siret: "%s", account: "%s"}\n        - {siret: "%s", account: "%s"}\n' % (tmp, S1, L1, S2, L1))
    return inv


def kill_during_the_check(tmp, sandbox, args, extra_env=None):
    """Start ``args``, SIGKILL its whole process group once the module is talking to the API."""
    folders = [tmp / name for name in ('home', 'systmp', 'controller', 'target')]
    for folder in folders:
        folder.mkdir()
    # The controller and the (local) target share this machine. Each temporary folder Ansible may use
    # is moved into the test's: the controller's (local_tmp), the target's (remote_tmp, else the
    # account's ~/.ansible/tmp from the password database), HOME, and TMPDIR that Python falls back to.
    env = ansible_env(HOME=str(folders[0]), TMPDIR=str(folders[1]), ANSIBLE_LOCAL_TEMP=str(folders[2]),
                      ANSIBLE_REMOTE_TEMP=str(folders[3]), **(extra_env or {}))
    exe = os.path.join(os.path.dirname(sys.executable), args[0])
    sandbox.reset()
    proc = subprocess.Popen([exe] + args[1:], cwd=str(tmp), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 120
    try:
        while sandbox.stats()['total'] == 0:
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            assert time.time() < deadline, 'the module never called the sandbox'
            time.sleep(0.05)
        time.sleep(0.3)  # the module is waiting on the (slow) sandbox
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stdout.close()
    return folders


def files_holding_secrets(folders):
    found = []
    needles = [s.encode() for s in (PASSWORD, CLIENT_SECRET)]
    needles += [s.replace('"', '\\"').encode() for s in (PASSWORD,)]
    for folder in folders:
        for top, _dirs, names in os.walk(str(folder)):
            for name in names:
                path = os.path.join(top, name)
                try:
                    with open(path, 'rb') as handle:
                        data = handle.read()
                except OSError:
                    continue
                if any(needle in data for needle in needles):
                    found.append(path)
    return found


@pytest.fixture
def slow_sandbox():
    with running_sandbox(WORLD, latency_ms=4000) as sb:
        yield sb


def test_sigkill_during_the_check_leaves_no_secret_on_disk(tmp_path, slow_sandbox):
    inv = make_inventory(tmp_path, slow_sandbox)
    folders = kill_during_the_check(tmp_path, slow_sandbox, ['ansible-playbook', '-i', str(inv), 'chorus.corail.check'])
    assert files_holding_secrets(folders) == []
    # The folders were used: the controller's holds Ansible's module cache.
    assert os.listdir(str(tmp_path / 'controller'))


def test_control_without_pipelining_the_search_finds_the_module_file(tmp_path, slow_sandbox):
    inv = make_inventory(tmp_path, slow_sandbox)
    args = ['ansible', '-i', str(inv), 'corail-1', '-m', 'chorus.corail.credentials_info', '-a',
            '{"structures": [{"siret": "%s", "account": "%s", "piste_app": "corail_q"}], '
            '"accounts": "{{ chorus_accounts }}", "piste_apps": "{{ chorus_piste_apps }}", '
            '"oauth_url": "{{ chorus_oauth_url }}", "api_url": "{{ chorus_api_url }}"}' % (S1, L1)]
    folders = kill_during_the_check(tmp_path, slow_sandbox, args, extra_env={'ANSIBLE_PIPELINING': 'false'})
    found = files_holding_secrets(folders)
    assert found and all('AnsiballZ_credentials_info' in path for path in found), found


@pytest.mark.parametrize('pipelining, warned', [('false', True), ('true', False)])
def test_a_secret_bearing_module_without_pipelining_warns(tmp_path, pipelining, warned):
    from conftest import run_ansible
    args = ['-i', 'localhost,', 'localhost', '-c', 'local', '-m', 'chorus.corail.credentials_info',
            '-a', '{"structures": [], "accounts": {}, "piste_apps": {}, "online": false}',
            '-e', 'ansible_python_interpreter=%s' % sys.executable]
    proc = run_ansible(args, cwd=str(tmp_path), env=ansible_env(ANSIBLE_PIPELINING=pipelining), program='ansible')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ('runs without pipelining' in proc.stdout + proc.stderr) == warned
