# -*- coding: utf-8 -*-
"""Issue 14, end to end against the sandbox: the rollout's online gate keeps back a password the API has
just refused, the structures left out are named in the summary and the report, a server with one
structure lacking an account gets the others, and renew of another login on it redeploys it."""
import datetime
import json
import os

import pytest

from conftest import run_ansible
from fixtures import running_sandbox

from ansible.parsing.vault import VaultLib, VaultSecret

S1, S2, S3 = '21640000200012', '21640001000015', '21640002800017'
LOGIN_A = 'TECH_0%s@cpp2017.fr' % S1    # S1 on srv1: renewed below
LOGIN_B = 'TECH_0%s@cpp2017.fr' % S3    # S3 on srv1 and srv2: no raccordement (access_forbidden)
GHOST = 'TECH_1_ghost@cpro.fr'          # S2 on srv1: no such account in the inventory
OLD_A, NEW_A, PASSWORD_B = 'Old-pass-A-1', 'New-pass-A-2', 'Pass-B-3;x'
VAULT_PASSWORD = 'vault-pw-gate'
CLIENT_ID, CLIENT_SECRET = 'cid-gate', 'csec-gate-secret'
# Recent enough that a refused password reads account_rejected, not password_expired (424 days).
CHANGED_ON = (datetime.date.today() - datetime.timedelta(days=30)).isoformat()


def world(password_a):
    return {
        'apps': [{'client_id': CLIENT_ID, 'client_secret': CLIENT_SECRET, 'environment': 'qualification'}],
        'structures': [{'siret': s, 'id_structure_cpp': 300 + i, 'designation': 'Structure %d' % i}
                       for i, s in enumerate((S1, S2, S3))],
        'accounts': [{'login': LOGIN_A, 'password': password_a, 'environment': 'qualification',
                      'password_expires_on': '2099-01-01', 'structures': [S1]},
                     {'login': LOGIN_B, 'password': PASSWORD_B, 'environment': 'qualification',
                      'password_expires_on': '2099-01-01', 'structures': [S3]}],
        'raccordements': [{'client_id': CLIENT_ID, 'siret': S1}],
    }


def vaulted(secret):
    text = VaultLib().encrypt(secret.encode(), VaultSecret(VAULT_PASSWORD.encode()), 'default').decode()
    return ''.join('      ' + line + '\n' for line in text.strip().splitlines())


@pytest.fixture
def env(tmp_path):
    with running_sandbox(world(OLD_A)) as sandbox:
        inv = tmp_path / 'inventory'
        (inv / 'group_vars' / 'all').mkdir(parents=True)
        (inv / 'group_vars' / 'all' / 'chorus.yml').write_text(json.dumps({
            'chorus_piste_app': 'corail_q',
            'chorus_piste_apps': {'corail_q': {'client_id': CLIENT_ID, 'client_secret': CLIENT_SECRET,
                                               'environment': 'qualification'}},
            'chorus_oauth_url': sandbox.oauth_url, 'chorus_api_url': sandbox.api_url,
            'chorus_retries': 0, 'chorus_timeout': 5, 'chorus_check_report_dir': str(tmp_path / 'reports')}))
        accounts = inv / 'group_vars' / 'all' / 'chorus_accounts.yml'
        accounts.write_text('---\nchorus_accounts:\n' + ''.join(
            '  %s:\n    password: !vault |\n%s    password_changed_on: "%s"\n    environment: qualification\n'
            % (login, vaulted(password), CHANGED_ON) for login, password in ((LOGIN_A, OLD_A), (LOGIN_B, PASSWORD_B))))
        os.chmod(str(accounts), 0o600)
        hosts = {}
        for name, structures in (('srv1', [(S1, LOGIN_A), (S2, GHOST), (S3, LOGIN_B)]), ('srv2', [(S3, LOGIN_B)])):
            hosts[name] = {'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}',
                           'corail_config_path': str(tmp_path / ('%s.ini' % name)),
                           'corail_structures': [{'siret': s, 'account': a} for s, a in structures]}
        (inv / 'hosts.yml').write_text(json.dumps({'all': {'hosts': hosts}}))
        vault_file = tmp_path / 'vault_pass'
        vault_file.write_text(VAULT_PASSWORD + '\n')
        yield {'tmp': tmp_path, 'inv': inv, 'sandbox': sandbox, 'vault_file': vault_file,
               'srv1': tmp_path / 'srv1.ini', 'srv2': tmp_path / 'srv2.ini'}


def run(env, *args):
    proc = run_ansible(['-i', str(env['inv']), '--vault-password-file', str(env['vault_file'])] + list(args),
                       cwd=str(env['tmp']))
    for secret in (OLD_A, NEW_A, PASSWORD_B, CLIENT_SECRET, VAULT_PASSWORD):
        assert secret not in proc.stdout + proc.stderr, 'a secret reached the output'
    return proc


def report_rows(env):
    with open(str(env['tmp'] / 'reports' / 'latest' / 'report.json'), encoding='utf-8') as handle:
        return dict(((r['host'], r['siret']), r) for r in json.load(handle)['structures'])


def section(text, siret):
    """The lines of one structure's section of a deployed INI file."""
    return text.split('[chorus.structure.%s]' % siret, 1)[1].split('\n[', 1)[0]


def test_gate_left_out_structures_and_renew_of_another_login(env):
    # 1. First rollout: S2 has no account, S1 and S3 are deployed (S3's access_forbidden does not
    #    say the password is wrong: not kept back); the summary and the report name S2.
    proc = run(env, 'chorus.corail.rollout')
    assert proc.returncode == 0, proc.stdout[-4000:]
    srv1 = env['srv1'].read_text()
    assert OLD_A in section(srv1, S1) and PASSWORD_B in section(srv1, S3) and S2 not in srv1
    assert 'Rollout: 2 of 2 server(s) deployed' in proc.stdout
    assert '1 structure(s) left out of deployed servers' in proc.stdout
    assert 'srv1 | %s | structure %s: account %s is not in chorus_accounts' % (S2, S2, GHOST) in proc.stdout
    rows = report_rows(env)
    assert rows[('srv1', S2)]['status'] == 'missing_account' and GHOST in rows[('srv1', S2)]['left_out']
    assert rows[('srv1', S3)]['status'] == 'access_forbidden' and rows[('srv1', S3)]['left_out'] is None
    assert rows[('srv1', S1)]['status'] == 'ok' and rows[('srv1', S1)]['left_out'] is None

    # 2. The gestionnaire resets LOGIN_A's password in Chorus Pro: the inventory's is now refused.
    #    The gate keeps it back on srv1 (its file keeps the old one), the rest is deployed.
    env['sandbox'].set_world(world(NEW_A))
    before = env['srv1'].read_text()
    env['srv2'].unlink()
    proc = run(env, 'chorus.corail.rollout')
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert env['srv1'].read_text() == before and PASSWORD_B in env['srv2'].read_text()
    assert '2 structure(s) left out of deployed servers' in proc.stdout
    kept_back = ('structure %s: password kept back, the API refused it just before the deployment (account_rejected)'
                 % S1)
    assert 'srv1 | %s | %s' % (S1, kept_back) in proc.stdout
    rows = report_rows(env)
    assert rows[('srv1', S1)]['status'] == 'account_rejected' and rows[('srv1', S1)]['left_out'] == kept_back
    assert 'LEFT OUT %s on srv1: %s' % (S1, kept_back) in proc.stdout

    # 3. renew of LOGIN_A: validated, and srv1 is redeployed although S2 still has no account;
    #    srv2 (no structure of LOGIN_A) is not touched.
    secret = env['tmp'] / 'secret.yml'
    secret.write_text("---\nchorus_renew_password: !unsafe '%s'\n" % NEW_A)
    run_ansible(['encrypt', '--vault-password-file', str(env['vault_file']), str(secret)], program='ansible-vault',
                check=True)
    srv2_before = env['srv2'].read_bytes()
    proc = run(env, 'chorus.corail.renew', '-e', 'chorus_renew_login=%s' % LOGIN_A, '-e', '@%s' % secret,
               '-e', 'chorus_vault_password_file=%s' % env['vault_file'])
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert 'Redeploying srv1' in proc.stdout
    srv1 = env['srv1'].read_text()
    assert NEW_A in section(srv1, S1) and OLD_A not in srv1 and PASSWORD_B in section(srv1, S3) and S2 not in srv1
    assert env['srv2'].read_bytes() == srv2_before
    recap = proc.stdout[proc.stdout.rindex('PLAY RECAP'):]
    assert 'srv2' not in recap


def test_the_gate_can_be_turned_off(env):
    env['sandbox'].set_world(world(NEW_A))  # the inventory's password of LOGIN_A is refused
    proc = run(env, 'chorus.corail.rollout', '-e', 'chorus_rollout_gate=false', '-e', 'chorus_rollout_check=false')
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert OLD_A in section(env['srv1'].read_text(), S1)  # deployed all the same
    assert env['sandbox'].stats()['total'] == 0  # neither gate nor check called the API
