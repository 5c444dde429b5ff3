# -*- coding: utf-8 -*-
"""Secret leak scan: every playbook and role, at -vvvv, successes and failures, scanned for secrets.

Known, distinctive secrets (technical passwords, PISTE client secrets, the vault password, every
token the sandbox issued during the runs) and their derivatives (base64 of login:password as in
cpro-account, base64 of client_id:secret as in HTTP Basic, sha1/sha256/md5 hex, URL/JSON/HTML
escapes, first and last 8 characters) are searched in all output (stdout, stderr, the Ansible log
file), diffs, registered results, report files, accounts files and every other file the runs left
in the test folder. Only the files whose job is to hold a secret are not scanned: the Corail
configuration files, their backups and the test's own clear-text inventory input. Those must be
mode 0600 (backups: 0600 whatever their file's mode).
"""

import os
import re

import pytest

from reliability_helpers import SecretSet, assert_no_leak, mode_of, record

from conftest import ansible_env, run_ansible
from fixtures import running_sandbox

from ansible.parsing.vault import VaultLib, VaultSecret

S1, S2, S3, S4, S5 = '21640000200012', '21640001000015', '21640002800017', '21640003600010', '21640004400014'
BAD_SIRET = '2164000020001'  # 13 digits: refused in every environment
L1 = 'TECH_0%s@cpp2017.fr' % S1     # S1, S2 attached, raccordements made
L2 = 'TECH_0%s@cpp2017.fr' % S3     # the inventory holds a wrong password: account_rejected
L3 = 'TECH_1_LEAKNEW01@cpro.fr'     # enrolled during the test (S5)
L4 = 'TECH_1_LEAKBAD02@cpro.fr'     # enrolled with a wrong password
CID, CID2 = 'cid-leak-q', 'cid-leak-bad'
# Distinctive values: long, random-looking, with characters that get escaped on the way.
SECRETS = {
    'client_secret corail_q': 'cs-Q7vLk2pZ9xWq4mTb8nR3&<"x',
    'client_secret corail_bad (inventory, wrong)': 'cs-WRONG-h5Jd8sKe2Lq9Vb3N',
    'client_secret corail_bad (world)': 'cs-REAL-t6Yp1Mx4Rz8Cw2Hg',
    'password L1': "P1-Zk3#qW8:vN2;xL5'b{{r}}",
    'password L1 renewed': 'P1new-Hy7$eR4!tU9@oP2%sD',
    'password L2 (world)': 'P2-Fg6^jK1&lM8*nB3(vC',
    'password L2 (inventory, wrong)': 'P2wrong-Qa5)zX7_wS2+eD',
    'password L3': 'P3-Rt8|yU3~iO6`pA1=sF',
    'password L4 (world)': 'P4-Gh2[jK9]lZ4{xC7}vB',
    'password L4 (typed, wrong)': 'P4typed-Nm5<qW1>eR8?tY',
    'vault password': 'vault-Ui4/oP7\\aS2.dF9',
}


def world(l1_password):
    return {
        'apps': [{'client_id': CID, 'client_secret': SECRETS['client_secret corail_q'], 'environment': 'qualification'},
                 {'client_id': CID2, 'client_secret': SECRETS['client_secret corail_bad (world)'],
                  'environment': 'qualification'}],
        'structures': [{'siret': s, 'id_structure_cpp': 500 + i, 'designation': 'Commune %d' % i}
                       for i, s in enumerate((S1, S2, S3, S4, S5))],
        'accounts': [
            {'login': L1, 'password': l1_password, 'environment': 'qualification',
             'password_expires_on': '2099-01-01', 'structures': [S1, S2]},
            {'login': L2, 'password': SECRETS['password L2 (world)'], 'environment': 'qualification',
             'password_expires_on': '2099-01-01', 'structures': [S3]},
            {'login': L3, 'password': SECRETS['password L3'], 'environment': 'qualification',
             'password_expires_on': '2099-01-01', 'structures': [S5]},
            {'login': L4, 'password': SECRETS['password L4 (world)'], 'environment': 'qualification',
             'password_expires_on': '2099-01-01', 'structures': [S4]},
        ],
        'raccordements': [{'client_id': CID, 'siret': s} for s in (S1, S2, S3, S4, S5)],
    }


def encrypt(plaintext):
    return VaultLib().encrypt(plaintext.encode(), VaultSecret(SECRETS['vault password'].encode()), 'default').decode()


def vaulted(text, pad):
    return ''.join(pad + line + '\n' for line in encrypt(text).strip().splitlines())


def yaml_single(text):
    return "'%s'" % text.replace("'", "''")


class Env(object):
    """A throwaway inventory of four Corail servers on this machine, one sandbox, one log file."""

    def __init__(self, tmp, sandbox):
        self.tmp = tmp
        self.sandbox = sandbox
        self.inv = tmp / 'inventory'
        self.servers = tmp / 'servers'
        self.reports = tmp / 'reports'
        self.log = tmp / 'ansible.log'
        self.vault_file = tmp / 'vault_pass'
        self.outputs = []  # (label, text)
        (self.inv / 'group_vars' / 'all').mkdir(parents=True)
        self.servers.mkdir()
        self.vault_file.write_text(SECRETS['vault password'] + '\n')
        os.chmod(str(self.vault_file), 0o600)
        self.clear_input = self.inv / 'group_vars' / 'all' / 'chorus.yml'
        self.clear_input.write_text(
            '---\nchorus_piste_app: corail_q\nchorus_piste_apps:\n'
            '  corail_q: {client_id: %s, client_secret: %s, environment: qualification}\n'
            '  corail_bad: {client_id: %s, client_secret: %s, environment: qualification}\n'
            'chorus_oauth_url: %s\nchorus_api_url: %s\nchorus_retries: 1\nchorus_timeout: 5\n'
            'chorus_check_report_dir: %s\n'
            % (CID, yaml_single(SECRETS['client_secret corail_q']), CID2,
               yaml_single(SECRETS['client_secret corail_bad (inventory, wrong)']), sandbox.oauth_url,
               sandbox.api_url, self.reports))
        self.accounts = self.inv / 'group_vars' / 'all' / 'chorus_accounts.yml'
        self.accounts.write_text(
            '---\nchorus_accounts:\n'
            '  %s:\n    password: !vault |\n%s    password_changed_on: "2025-01-15"\n    environment: qualification\n'
            '  %s:\n    password: !vault |\n%s    password_changed_on: "2025-01-15"\n    environment: qualification\n'
            % (L1, vaulted(SECRETS['password L1'], '      '), L2, vaulted(SECRETS['password L2 (inventory, wrong)'], '      ')))
        os.chmod(str(self.accounts), 0o600)
        host = ('    %s:\n      ansible_connection: local\n      ansible_python_interpreter: "{{ ansible_playbook_python }}"\n'
                '      corail_config_path: %s\n      corail_config_format: %s\n      corail_structures:\n')
        self.configs = {'corail-1': self.servers / 'corail-1.ini', 'corail-2': self.servers / 'corail-2.config'}
        (self.inv / 'hosts.yml').write_text(
            '---\nall:\n  hosts:\n'
            + host % ('corail-1', self.configs['corail-1'], 'ini')
            + '        - {siret: "%s", name: Commune de Lescar, account: "%s"}\n' % (S1, L1)
            + host % ('corail-2', self.configs['corail-2'], 'xml')
            + '        - {siret: "%s", name: CCAS de Lescar, account: "%s"}\n' % (S2, L1)
            + '        - {siret: "%s", name: Commune de Lons, account: "%s", piste_app: corail_bad}\n' % (S3, L2)
            # unwritable (even for root: sysfs refuses new files)
            + host % ('corail-3', '/sys/chorus-corail-leak-test.ini', 'ini')
            + '        - {siret: "%s", name: Commune de Gan, account: "%s"}\n' % (S4, L1)
            # invalid SIRET: the deploy role refuses the host before writing
            + host % ('corail-4', self.servers / 'corail-4.ini', 'ini')
            + '        - {siret: "%s", name: Commune de Nay, account: "%s"}\n' % (BAD_SIRET, L2))

    def run(self, label, args, expect_rc=None):
        env = ansible_env(ANSIBLE_LOG_PATH=str(self.log), ANSIBLE_VAULT_PASSWORD_FILE=str(self.vault_file))
        proc = run_ansible(['-i', str(self.inv)] + list(args) + ['-vvvv'], cwd=str(self.tmp), env=env)
        self.outputs.append(('%s: stdout' % label, proc.stdout))
        self.outputs.append(('%s: stderr' % label, proc.stderr))
        if expect_rc is not None:
            assert (proc.returncode == 0) == (expect_rc == 0), '%s: rc %s\n%s\n%s' % (
                label, proc.returncode, proc.stdout[-4000:], proc.stderr[-2000:])
        return proc

    def secret_file(self, name, variable, value):
        path = self.tmp / name
        path.write_text('---\n%s: !unsafe %s\n' % (variable, yaml_single(value)))
        run_ansible(['encrypt', '--vault-password-file', str(self.vault_file), str(path)],
                    program='ansible-vault', check=True)
        return path

    def secrets(self):
        found = SecretSet()
        for name, value in SECRETS.items():
            found.add(name, value)
        for login, name in ((L1, 'password L1'), (L1, 'password L1 renewed'), (L2, 'password L2 (world)'),
                            (L2, 'password L2 (inventory, wrong)'), (L3, 'password L3'), (L4, 'password L4 (world)'),
                            (L4, 'password L4 (typed, wrong)')):
            found.add_pair('cpro-account of %s' % name, login, SECRETS[name])
        found.add_pair('HTTP Basic of corail_q', CID, SECRETS['client_secret corail_q'])
        tokens = list(self.sandbox.sandbox.tokens)  # every token issued to the runs, expired ones included
        assert tokens, 'the sandbox issued no token: the runs did not reach the API'
        for index, token in enumerate(tokens):
            found.add('sandbox token #%d' % index, token)
        return found, len(tokens)

    def holders(self):
        """Files whose job is to hold secrets (not scanned, modes checked): configs, backups, clear input."""
        held = [str(p) for p in self.servers.iterdir()]
        return held + [str(self.clear_input), str(self.vault_file)]

    def scan_everything(self, what):
        secrets, tokens = self.secrets()
        holders = set(self.holders())
        files = []
        for top, dirs, names in os.walk(str(self.tmp)):
            for name in names:
                path = os.path.join(top, name)
                if path not in holders and os.path.isfile(path):
                    files.append(path)
        assert str(self.log) in files, 'ANSIBLE_LOG_PATH was not written'
        needles = assert_no_leak(self.outputs + sorted(files), secrets, what)
        return dict(secrets=len(SECRETS), tokens=tokens, derivatives=needles, texts=len(self.outputs),
                    files=len(files))


@pytest.fixture
def env(tmp_path):
    with running_sandbox(world(SECRETS['password L1'])) as sandbox:
        yield Env(tmp_path, sandbox)


def backups_of(path):
    directory = os.path.dirname(str(path))
    name = os.path.basename(str(path))
    return [os.path.join(directory, n) for n in os.listdir(directory) if n.startswith(name + '.') and n.endswith('~')]


def test_rollout_and_check_leak_nothing(env):
    # Deploy role in check + diff mode first: nothing may be written. corail-4's bad SIRET is left
    # out (partial deploy) and corail-3's unwritable file is not tried in check mode: rc 0.
    env.run('rollout --check --diff', ['chorus.corail.rollout', '--check', '--diff'], expect_rc=0)
    assert not any(p.exists() for p in env.configs.values())
    # Real rollout with diff: two servers written, corail-3 (unwritable) and corail-4 (bad SIRET) fail.
    proc = env.run('rollout --diff', ['chorus.corail.rollout', '--diff'], expect_rc=2)
    assert '<secret>' in proc.stdout  # the masked diff was shown
    assert 'corail-3' in proc.stdout and BAD_SIRET in proc.stdout
    for config in env.configs.values():
        assert SECRETS['password L1'].replace("'", '&apos;').replace('"', '&quot;') in config.read_text() \
            or SECRETS['password L1'] in config.read_text().replace('\\"', '"')
        assert mode_of(str(config)) == 0o600
    # Drift by hand, then roll out again: backups are made and the diff says <secret changed>.
    for config in env.configs.values():
        config.write_text(config.read_text().replace('Lescar', 'Lescar (old)'))
    os.chmod(str(env.configs['corail-1']), 0o640)  # a stricter or looser mode set by the integrator is kept
    proc = env.run('rollout --diff (drift)', ['chorus.corail.rollout', '--diff'], expect_rc=2)
    for config in env.configs.values():
        backups = backups_of(config)
        assert backups, 'no backup of %s' % config
        for backup in backups:
            assert mode_of(backup) == 0o600, '%s: mode %o, its file %o' % (
                backup, mode_of(backup), mode_of(str(config)))
    # The check playbook on its own (account_rejected, piste_auth_failed, not_attached, invalid_input).
    proc = env.run('check', ['chorus.corail.check'], expect_rc=0)
    assert 'account_rejected' in proc.stdout and 'piste_auth_failed' in proc.stdout
    reports = [os.path.join(top, n) for top, _d, names in os.walk(str(env.reports)) for n in names]
    assert any(r.endswith('report.json') for r in reports)
    for report in reports:
        if not os.path.islink(report):
            assert mode_of(report) == 0o600, report
    figures = env.scan_everything('rollout and check runs')
    record('leaks', scenario='rollout (check+diff, diff, drift) and check', runs=4, leaks=0, **figures)


def test_enroll_and_renew_leak_nothing(env):
    base = ['-e', 'chorus_vault_password_file=%s' % env.vault_file, '-e', 'chorus_enroll_retries=1']
    good = env.secret_file('secret-l3.yml', 'chorus_enroll_password', SECRETS['password L3'])
    proc = env.run('enroll', ['chorus.corail.enroll'] + base + [
        '-e', 'chorus_enroll_login=%s' % L3, '-e', 'chorus_enroll_environment=qualification',
        '-e', 'chorus_enroll_sirets=%s' % S5, '-e', '@%s' % good], expect_rc=0)
    assert 'validated true' in proc.stdout
    wrong = env.secret_file('secret-l4.yml', 'chorus_enroll_password', SECRETS['password L4 (typed, wrong)'])
    proc = env.run('enroll (wrong password)', ['chorus.corail.enroll'] + base + [
        '-e', 'chorus_enroll_login=%s' % L4, '-e', 'chorus_enroll_environment=qualification',
        '-e', 'chorus_enroll_sirets=%s' % S4, '-e', '@%s' % wrong], expect_rc=0)
    assert 'account_rejected' in proc.stdout
    before = env.accounts.read_bytes()
    proc = env.run('enroll (invalid SIRET)', ['chorus.corail.enroll'] + base + [
        '-e', 'chorus_enroll_login=%s' % L3, '-e', 'chorus_enroll_environment=qualification',
        '-e', 'chorus_enroll_sirets=%s' % BAD_SIRET, '-e', '@%s' % good], expect_rc=2)
    assert 'Nothing was stored' in proc.stdout and env.accounts.read_bytes() == before
    # Renewal: Chorus Pro now knows the new password; the servers using L1 are redeployed
    # (corail-3 and corail-4 fail there, on purpose).
    env.sandbox.set_world(world(SECRETS['password L1 renewed']))
    renewed = env.secret_file('secret-renew.yml', 'chorus_renew_password', SECRETS['password L1 renewed'])
    proc = env.run('renew', ['chorus.corail.renew'] + base + ['-e', 'chorus_renew_login=%s' % L1,
                                                              '-e', '@%s' % renewed])
    assert 'Redeploying' in proc.stdout, proc.stdout[-3000:]
    assert env.configs['corail-1'].exists()
    assert mode_of(str(env.accounts)) == 0o600
    for backup in backups_of(env.accounts):
        assert mode_of(backup) == 0o600, backup
    figures = env.scan_everything('enroll and renew runs')
    record('leaks', scenario='enroll (ok, wrong password, invalid SIRET) and renew with redeploy', runs=4, leaks=0,
           **figures)


def test_the_scanner_finds_every_derivative(tmp_path):
    """The scan itself: a planted secret is found in each form, and named without being printed."""
    import base64
    import hashlib
    import json
    import urllib.parse

    secret = 'S3cr3t-"<&>\'-value'
    forms = [secret, json.dumps(secret)[1:-1], urllib.parse.quote_plus(secret),
             hashlib.sha1(secret.encode()).hexdigest().upper(), hashlib.sha256(secret.encode()).hexdigest(),
             hashlib.md5(secret.encode()).hexdigest(), secret[:8] + 'xx', base64.b64encode(secret.encode()).decode(),
             base64.b64encode(('TECH_1_X@cpro.fr:' + secret).encode()).decode()]
    secrets = SecretSet().add('planted', secret).add_pair('planted pair', 'TECH_1_X@cpro.fr', secret)
    for index, form in enumerate(forms):
        path = tmp_path / ('f%d.log' % index)
        path.write_text('line one\nvalue=%s;\n' % form)
        with pytest.raises(AssertionError) as failure:
            assert_no_leak([str(tmp_path)], secrets)
        message = str(failure.value)
        assert '%s:2' % path in message, message
        assert secret not in message and form not in message
        path.unlink()
    assert assert_no_leak([('clean', 'nothing to see')], secrets) > 10
    assert re.search(r'does not exist', _raises(lambda: assert_no_leak([str(tmp_path / 'nope')], secrets)))


def _raises(func):
    try:
        func()
    except AssertionError as exc:
        return str(exc)
    raise AssertionError('expected a failure')
