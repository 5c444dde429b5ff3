# -*- coding: utf-8 -*-
"""Secrets are never templated: whatever a password or client secret holds ({#, {{, {%, quotes, %),
the rollout deploys it byte for byte and the check sends it as it is, or the offline checks refuse it
naming its login; its value is never printed, even at -vvvv with --diff and ANSIBLE_LOG_PATH."""

import json
import os

import pytest

from conftest import ansible_env, run_ansible
from fixtures import running_sandbox

from ansible.parsing.vault import VaultLib, VaultSecret

S1, S2, S3, S4, S5 = '21640000200012', '21640001000015', '21640002800017', '21640003600010', '21640004400014'
L1 = 'TECH_1_CLEAR@cpro.fr'      # clear-text password with Jinja delimiters: refused
L2 = 'TECH_1_UNSAFE@cpro.fr'     # the same shape marked !unsafe: literal
L3 = 'TECH_1_VAULT@cpro.fr'      # inline !vault: literal
L4 = 'TECH_1_INDIRECT@cpro.fr'   # "{{ vault_l4 }}" pointing at an !unsafe value: literal
L5 = 'TECH_1_LOOKUP@cpro.fr'     # one expression (a lookup): its result, literal
CID = 'cid-literal-q'
PASSWORDS = {
    L1: 'Ab1{#x#}Zz{{ y }}',
    L2: 'Ab2{#x#}Zz{{ y }}%q"\'s',
    L3: 'Ab3{%x%}{#y#}Zz{{ z }}',
    L4: 'Ab4{{ z }}Zz{#w#}\\n',
    L5: 'Ab5{%q%}Zz{{ r }}\'é',
}
CLIENT_SECRET = 'cs-{#q#}{{ p }}-Lk2pZ9xWq4'
VAULT_PASSWORD = 'vault-literal-Ui4oP7'
# What templating would have left of L1's password: must not appear anywhere either.
MANGLED = ['Ab1Zz', 'Ab2Zz', 'Ab3Zz', 'Ab4Zz', 'cs--Lk2pZ9xWq4']
LOOKUP_ENV = 'CHORUS_TEST_L5_PASSWORD'


def world():
    return {
        'apps': [{'client_id': CID, 'client_secret': CLIENT_SECRET, 'environment': 'qualification'}],
        'structures': [{'siret': s, 'id_structure_cpp': 700 + i, 'designation': 'Commune %d' % i}
                       for i, s in enumerate((S1, S2, S3, S4, S5))],
        'accounts': [{'login': login, 'password': PASSWORDS[login], 'environment': 'qualification',
                      'password_expires_on': '2099-01-01', 'structures': [siret]}
                     for login, siret in ((L1, S1), (L2, S2), (L3, S3), (L4, S4), (L5, S5))],
        'raccordements': [{'client_id': CID, 'siret': s} for s in (S1, S2, S3, S4, S5)],
    }


def single(text):
    return "'%s'" % text.replace("'", "''")


def vaulted(text, pad):
    cipher = VaultLib().encrypt(text.encode(), VaultSecret(VAULT_PASSWORD.encode()), 'default').decode()
    return ''.join(pad + line + '\n' for line in cipher.strip().splitlines())


@pytest.fixture(scope='module')
def sandbox():
    with running_sandbox(world()) as sb:
        yield sb


@pytest.fixture
def inventory(tmp_path, sandbox):
    inv = tmp_path / 'inventory'
    (inv / 'group_vars' / 'all').mkdir(parents=True)
    servers = tmp_path / 'servers'
    servers.mkdir()
    (inv / 'group_vars' / 'all' / 'chorus.yml').write_text(
        '---\nchorus_piste_app: corail_q\nchorus_piste_apps:\n'
        '  corail_q: {client_id: %s, client_secret: !unsafe %s, environment: qualification}\n'
        'chorus_oauth_url: %s\nchorus_api_url: %s\nchorus_retries: 0\nchorus_timeout: 5\n'
        'chorus_check_report_dir: %s\n'
        % (CID, single(CLIENT_SECRET), sandbox.oauth_url, sandbox.api_url, tmp_path / 'reports'))
    # As an integrator writes test values by hand: one clear-text, the others kept literal.
    (inv / 'group_vars' / 'all' / 'chorus_accounts.yml').write_text(
        '---\nchorus_accounts:\n'
        '  %s:\n    password: %s\n    environment: qualification\n' % (L1, single(PASSWORDS[L1]))
        + '  %s:\n    password: !unsafe %s\n    environment: qualification\n' % (L2, single(PASSWORDS[L2]))
        + '  %s:\n    password: !vault |\n%s    environment: qualification\n' % (L3, vaulted(PASSWORDS[L3], '      '))
        + '  %s:\n    password: "{{ vault_l4 }}"\n    environment: qualification\n' % L4
        + '  %s:\n    password: "{{ lookup(\'ansible.builtin.env\', \'%s\') }}"\n    environment: qualification\n'
        % (L5, LOOKUP_ENV)
        + 'vault_l4: !unsafe %s\n' % single(PASSWORDS[L4]))
    host = ('    %s:\n      ansible_connection: local\n      ansible_python_interpreter: "{{ ansible_playbook_python }}"\n'
            '      corail_config_path: ' + str(servers) + '/%s.ini\n      corail_structures:\n')
    (inv / 'hosts.yml').write_text(
        '---\nall:\n  hosts:\n'
        + host % ('corail-1', 'corail-1')
        + '        - {siret: "%s", name: Commune de Lescar, account: "%s"}\n' % (S1, L1)
        + '        - {siret: "%s", name: CCAS de Lescar, account: "%s"}\n' % (S2, L2)
        + host % ('corail-2', 'corail-2')
        + '        - {siret: "%s", name: Commune de Lons, account: "%s"}\n' % (S3, L3)
        + '        - {siret: "%s", name: Commune de Gan, account: "%s"}\n' % (S4, L4)
        + '        - {siret: "%s", name: Commune de Nay, account: "%s"}\n' % (S5, L5))
    vault_file = tmp_path / 'vault_pass'
    vault_file.write_text(VAULT_PASSWORD + '\n')
    return {'dir': inv, 'servers': servers, 'tmp': tmp_path, 'vault_file': vault_file, 'log': tmp_path / 'ansible.log'}


def run(inv, args, **extra_env):
    env = ansible_env(ANSIBLE_LOG_PATH=str(inv['log']), ANSIBLE_VAULT_PASSWORD_FILE=str(inv['vault_file']),
                      **dict({LOOKUP_ENV: PASSWORDS[L5]}, **extra_env))
    return run_ansible(['-i', str(inv['dir'])] + args + ['-vvvv'], cwd=str(inv['tmp']), env=env)


def config_secrets(path):
    """The passwords and client secrets of a written Corail configuration, decoded as Corail reads them."""
    from ansible_collections.chorus.corail.plugins.module_utils._format_ini import decode_ini_value
    found = []
    for line in path.read_text().splitlines():
        key, sep, value = line.partition(' = ')
        if sep and key.strip() in ('password', 'client_secret'):
            found.append(decode_ini_value(value.strip()))
    return found


def assert_nothing_leaked(inv, *texts):
    everything = list(texts)
    for top, _dirs, names in os.walk(str(inv['tmp'])):
        for name in names:
            path = os.path.join(top, name)
            if top.startswith(str(inv['servers'])) or top.startswith(str(inv['dir'])) or name == 'vault_pass':
                continue  # the files whose job is to hold the secrets
            with open(path, 'rb') as handle:
                everything.append(handle.read().decode('utf-8', 'replace'))
    blob = '\n'.join(everything)
    for secret in list(PASSWORDS.values()) + [CLIENT_SECRET, VAULT_PASSWORD] + MANGLED:
        assert secret not in blob, 'a secret (or what templating makes of it) leaked'
        assert json.dumps(secret)[1:-1] not in blob


def test_rollout_deploys_literal_secrets_and_refuses_the_templated_one(inventory, sandbox):
    proc = run(inventory, ['chorus.corail.rollout', '--diff'])
    out = proc.stdout + proc.stderr
    report = json.loads((inventory['tmp'] / 'reports' / 'latest' / 'report.json').read_text()) \
        if (inventory['tmp'] / 'reports' / 'latest' / 'report.json').exists() else None
    # The clear-text password with {# and {{ is refused, naming its login, and its structure left out.
    assert L1 in out and 'Jinja delimiters' in out, out[-5000:]
    first = (inventory['servers'] / 'corail-1.ini').read_text()
    assert S1 not in first and S2 in first
    # The others are deployed byte for byte (the check then proves it: the sandbox accepts them).
    assert config_secrets(inventory['servers'] / 'corail-1.ini') == [CLIENT_SECRET, PASSWORDS[L2]]
    assert config_secrets(inventory['servers'] / 'corail-2.ini') == [CLIENT_SECRET, PASSWORDS[L3], PASSWORDS[L4],
                                                                     PASSWORDS[L5]]
    assert report is not None, out[-5000:]
    statuses = dict((s['siret'], s) for s in report['structures'])
    assert statuses[S1]['status'] == 'invalid_input' and L1 in statuses[S1]['detail']
    assert 'Jinja delimiters' in statuses[S1]['detail']
    assert [statuses[s]['status'] for s in (S2, S3, S4, S5)] == ['ok', 'ok', 'ok', 'ok']
    assert_nothing_leaked(inventory, proc.stdout, proc.stderr)


def test_check_sends_literal_secrets_and_no_output_holds_them(inventory, sandbox):
    # Core's result-dumping callbacks (minimal on stdout, tree and junit to files; json lives in
    # ansible.posix), and a fact cache on disk: literal_secrets sets facts, never cached.
    tmp = inventory['tmp']
    proc = run(inventory, ['chorus.corail.check'], ANSIBLE_STDOUT_CALLBACK='ansible.builtin.minimal',
               ANSIBLE_CALLBACKS_ENABLED='ansible.builtin.tree,ansible.builtin.junit',
               ANSIBLE_CALLBACK_TREE_DIR=str(tmp / 'tree'), JUNIT_OUTPUT_DIR=str(tmp / 'junit'),
               ANSIBLE_LOAD_CALLBACK_PLUGINS='true', ANSIBLE_CACHE_PLUGIN='ansible.builtin.jsonfile',
               ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp / 'facts'), ANSIBLE_GATHERING='explicit')
    assert (tmp / 'reports' / 'latest' / 'report.json').exists(), proc.stdout[-6000:] + proc.stderr[-3000:]
    report = json.loads((tmp / 'reports' / 'latest' / 'report.json').read_text())
    statuses = dict((s['siret'], s['status']) for s in report['structures'])
    assert statuses == {S1: 'invalid_input', S2: 'ok', S3: 'ok', S4: 'ok', S5: 'ok'}, proc.stdout[-4000:]
    assert '| SUCCESS =>' in proc.stdout or '| CHANGED =>' in proc.stdout  # minimal dumped the results
    assert os.listdir(str(tmp / 'tree')) and os.listdir(str(tmp / 'junit'))
    assert_nothing_leaked(inventory, proc.stdout, proc.stderr)
