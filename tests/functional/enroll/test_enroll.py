# -*- coding: utf-8 -*-
"""chorus.corail.enroll and chorus.corail.renew, run non-interactively (and once through a terminal)
against the sandbox, in a throwaway inventory protected by a vault password file."""

import datetime
import hashlib
import os
import re
import sys

import pytest

from conftest import REPO, ansible_env, run_ansible
from fixtures import running_sandbox

from ansible.parsing.vault import VaultLib, VaultSecret

S1, S2, S3, S4 = '21640000200012', '21640001000015', '21640002800017', '21640003600010'
LOGIN_A = 'TECH_0%s@cpp2017.fr' % S1       # serves S1 and S2, raccordements made
LOGIN_B = 'TECH_0%s@cpp2017.fr' % S3       # serves S3, no raccordement yet (HTTP 403)
LOGIN_OTHER = 'TECH_1_OTHER@cpro.fr'        # already in the accounts file, must stay untouched
# Characters that break naive quoting or templating: colon, braces, pipe, quotes, percent.
PASSWORD_A = 'Pa:ss{{w0rd}}|x"\'%'
PASSWORD_B = 'Bb-7;[k]q!Zr#2'
VAULT_PASSWORD = 'integrator-vault-pw'
CLIENT_ID, CLIENT_SECRET = 'cid-corail-q', 'csec-corail-q-very-secret'


def world(password_a=PASSWORD_A):
    return {
        'apps': [{'client_id': CLIENT_ID, 'client_secret': CLIENT_SECRET, 'environment': 'qualification'}],
        'structures': [{'siret': S1, 'id_structure_cpp': 101, 'designation': 'Commune de Lescar'},
                       {'siret': S2, 'id_structure_cpp': 102, 'designation': 'CCAS de Lescar'},
                       {'siret': S3, 'id_structure_cpp': 103, 'designation': 'Commune de Lons'},
                       {'siret': S4, 'id_structure_cpp': 104, 'designation': "Commune d'Oloron"}],
        'accounts': [{'login': LOGIN_A, 'password': password_a, 'environment': 'qualification',
                      'password_expires_on': '2099-01-01', 'structures': [S1, S2]},
                     {'login': LOGIN_B, 'password': PASSWORD_B, 'environment': 'qualification',
                      'password_expires_on': '2099-01-01', 'structures': [S3]}],
        'raccordements': [{'client_id': CLIENT_ID, 'siret': S1}, {'client_id': CLIENT_ID, 'siret': S2}],
    }


def encrypt(plaintext):
    return VaultLib().encrypt(plaintext.encode(), VaultSecret(VAULT_PASSWORD.encode()), 'default').decode()


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def _indent(text, pad):
    return ''.join(pad + line + '\n' for line in text.strip().splitlines())


OTHER_ENTRY = None


@pytest.fixture(scope='module')
def sandbox():
    with running_sandbox(world()) as sb:
        yield sb


@pytest.fixture
def inventory(tmp_path, sandbox):
    """A throwaway inventory: two servers, one PISTE app, an accounts file with another account."""
    inv = tmp_path / 'inventory'
    (inv / 'group_vars' / 'all').mkdir(parents=True)
    (inv / 'group_vars' / 'all' / 'chorus.yml').write_text(
        '---\nchorus_piste_app: corail_q\n'
        'chorus_piste_apps:\n  corail_q: {client_id: %s, client_secret: %s, environment: qualification}\n'
        'chorus_oauth_url: %s\nchorus_api_url: %s\nchorus_retries: 0\nchorus_timeout: 5\n'
        % (CLIENT_ID, CLIENT_SECRET, sandbox.oauth_url, sandbox.api_url))
    servers = tmp_path / 'servers'
    servers.mkdir()
    host = ('    %s:\n      ansible_connection: local\n      ansible_python_interpreter: "{{ ansible_playbook_python }}"\n'
            '      corail_config_path: ' + str(servers) + '/%s.ini\n      corail_structures:\n')
    (inv / 'hosts.yml').write_text(
        '---\nall:\n  hosts:\n'
        + host % ('corail-1', 'corail-1') + '        - {siret: "%s", name: Commune de Lescar, account: "%s"}\n' % (S1, LOGIN_A)
        + host % ('corail-2', 'corail-2') + '        - {siret: "%s", name: CCAS de Lescar, account: "%s"}\n' % (S2, LOGIN_A)
        + host % ('corail-3', 'corail-3') + '        - {siret: "%s", name: Commune de Lons, account: "%s"}\n'
        '        - {siret: "%s", name: "Commune d\'Oloron", account: "%s"}\n' % (S3, LOGIN_B, S4, LOGIN_OTHER))
    other = ('  # kept by hand: another gestionnaire principal\n'
             '  %s:\n    password: !vault |\n%s    password_changed_on: "2025-01-15"\n'
             '    environment: qualification\n' % (LOGIN_OTHER, _indent(encrypt('other-secret'), '          ')))
    accounts = inv / 'group_vars' / 'all' / 'chorus_accounts.yml'
    accounts.write_text('---\n# integrator comment\nchorus_accounts:\n' + other)
    os.chmod(str(accounts), 0o600)
    vault_file = tmp_path / 'vault_pass'
    vault_file.write_text(VAULT_PASSWORD + '\n')
    return {'dir': inv, 'accounts': accounts, 'other': other, 'vault_file': vault_file, 'tmp': tmp_path}


def run_playbook(inv, playbook, extra, secret=None, verbosity='-vvvv', cwd=None):
    args = ['-i', str(inv['dir']), 'chorus.corail.%s' % playbook, '-e', 'chorus_vault_password_file=%s' % inv['vault_file']]
    for key, value in extra.items():
        args += ['-e', '%s=%s' % (key, value)]
    if secret is not None:
        # As documented: the password in a vault-encrypted vars file, marked !unsafe inside.
        secret_file = inv['tmp'] / ('secret-%s.yml' % playbook)
        secret_file.write_text('---\n%s_password: !unsafe %s\n' % (
            'chorus_enroll' if playbook == 'enroll' else 'chorus_renew', _yaml_single(secret)))
        run_ansible(['encrypt', '--vault-password-file', str(inv['vault_file']), str(secret_file)],
                    program='ansible-vault', check=True)
        args += ['-e', '@%s' % secret_file, '--vault-password-file', str(inv['vault_file'])]
    if verbosity:
        args.append(verbosity)
    return run_ansible(args, cwd=cwd or str(inv['tmp']))


def _yaml_single(text):
    return "'%s'" % text.replace("'", "''")


def entry_text(text, login):
    """The lines of one login's entry in the accounts file."""
    lines = text.splitlines(True)
    start = next(i for i, line in enumerate(lines) if line.strip() == login + ':')
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    return ''.join(lines[start:end])


def vault_block(entry):
    match = re.search(r'password: !vault \|\n((?:\s+.*\n)+?)\s+password_changed_on', entry)
    return '\n'.join(line.strip() for line in match.group(1).splitlines()) + '\n'


def vault_view(inv, ciphertext):
    """The plaintext as `ansible-vault view` shows it, checked against an exact decryption."""
    path = inv['tmp'] / 'one-secret.vault'
    path.write_text(ciphertext)
    proc = run_ansible(['view', '--vault-password-file', str(inv['vault_file']), str(path)],
                       program='ansible-vault', check=True)
    exact = VaultLib([('default', VaultSecret(VAULT_PASSWORD.encode()))]).decrypt(ciphertext).decode()
    assert proc.stdout == exact + '\n'  # view adds the final newline
    return exact


def field(entry, name):
    match = re.search(r'^\s+%s: (.*)$' % name, entry, re.M)
    return match.group(1).strip().strip("'\"") if match else None


def assert_no_secret(proc, *secrets):
    for secret in secrets + (CLIENT_SECRET, VAULT_PASSWORD):
        assert secret not in proc.stdout, 'secret leaked to stdout'
        assert secret not in proc.stderr, 'secret leaked to stderr'


TODAY = datetime.date.today().isoformat()


def test_enroll_stores_validated_password_and_keeps_other_accounts(inventory, sandbox):
    before = inventory['accounts'].read_text()
    proc = run_playbook(inventory, 'enroll', {'chorus_enroll_login': LOGIN_A, 'chorus_enroll_environment': 'qualification',
                                              'chorus_enroll_sirets': '%s,%s' % (S1, S2)}, secret=PASSWORD_A)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert_no_secret(proc, PASSWORD_A)

    after = inventory['accounts'].read_text()
    # The other account, its comment and the file's head are untouched, byte for byte.
    assert after.startswith('---\n# integrator comment\nchorus_accounts:\n' + inventory['other'])
    entry = entry_text(after, LOGIN_A)
    assert PASSWORD_A not in after
    assert vault_view(inventory, vault_block(entry)) == PASSWORD_A
    assert field(entry, 'password_changed_on') == TODAY
    assert field(entry, 'environment') == 'qualification'
    assert field(entry, 'validated') == 'true'
    assert field(entry, 'last_check_status') == 'ok'
    assert oct(os.stat(str(inventory['accounts'])).st_mode & 0o777) == '0o600'
    # The backup keeps the previous file, under a name Ansible does not load as vars.
    backups = [p for p in inventory['accounts'].parent.iterdir() if p.name.endswith('~')]
    assert len(backups) == 1 and backups[0].read_text() == before

    # Ansible itself reads the result: both accounts decrypt with the integrator's vault password.
    check = run_ansible(['-i', str(inventory['dir']), 'localhost', '-m', 'ansible.builtin.debug', '-a',
                         'msg={{ chorus_accounts | dict2items | map(attribute="value.password") | map("hash", "sha256") | join(",") }}',
                         '--vault-password-file', str(inventory['vault_file'])], program='ansible', check=True)
    assert '%s,%s' % (sha256('other-secret'), sha256(PASSWORD_A)) in check.stdout


def test_rejected_password_is_stored_unvalidated(inventory, sandbox):
    sandbox.reset()
    wrong = 'not-the-password-42'
    proc = run_playbook(inventory, 'enroll', {'chorus_enroll_login': LOGIN_A, 'chorus_enroll_environment': 'qualification',
                                              'chorus_enroll_sirets': S1}, secret=wrong)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert_no_secret(proc, wrong)
    # No terminal to ask again on: one try, then stored as given.
    assert 'not waiting for response to prompt' in (proc.stdout + proc.stderr).lower()
    # One validation run: credentials_info retries a 401 once with a fresh token, nothing more.
    assert sandbox.calls('recuperer/structures/actives/destinataire', CLIENT_ID) == 2
    after = inventory['accounts'].read_text()
    assert after.startswith('---\n# integrator comment\nchorus_accounts:\n' + inventory['other'])
    entry = entry_text(after, LOGIN_A)
    assert vault_view(inventory, vault_block(entry)) == wrong
    assert field(entry, 'validated') == 'false'
    assert field(entry, 'last_check_status') == 'account_rejected'
    assert 'NOT validated' in proc.stdout


def test_missing_raccordement_is_recorded_next_to_the_password(inventory, sandbox):
    proc = run_playbook(inventory, 'enroll', {'chorus_enroll_login': LOGIN_B, 'chorus_enroll_environment': 'qualification',
                                              'chorus_enroll_sirets': ''}, secret=PASSWORD_B)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert_no_secret(proc, PASSWORD_B)
    entry = entry_text(inventory['accounts'].read_text(), LOGIN_B)
    assert vault_view(inventory, vault_block(entry)) == PASSWORD_B
    assert field(entry, 'validated') == 'false'
    assert field(entry, 'last_check_status') == 'access_forbidden'
    assert S3 in field(entry, 'last_check_detail')  # SIRET taken from the inventory (empty answer)
    assert 'raccordement' in proc.stdout.lower()  # the French remediation is shown


def test_failed_offline_checks_store_nothing_and_call_nothing(inventory, sandbox):
    sandbox.reset()
    before = inventory['accounts'].read_text()
    proc = run_playbook(inventory, 'enroll', {'chorus_enroll_login': LOGIN_A, 'chorus_enroll_environment': 'qualification',
                                              'chorus_enroll_sirets': '2164000020001'}, secret=PASSWORD_A)
    assert proc.returncode != 0
    assert 'Nothing was stored' in proc.stdout
    assert '2164000020001' in proc.stdout and 'siret' in proc.stdout.lower()
    assert_no_secret(proc, PASSWORD_A)
    assert inventory['accounts'].read_text() == before
    assert sandbox.stats()['total'] == 0


def test_missing_vault_password_file_stores_nothing(inventory, sandbox):
    before = inventory['accounts'].read_text()
    proc = run_playbook(inventory, 'enroll', {'chorus_enroll_login': LOGIN_A, 'chorus_enroll_environment': 'qualification',
                                              'chorus_enroll_sirets': S1, 'chorus_enroll_password': 'x',
                                              'chorus_vault_password_file': str(inventory['tmp'] / 'nope')},
                        verbosity=None)
    assert proc.returncode != 0
    assert 'No vault password' in proc.stdout
    assert inventory['accounts'].read_text() == before


def test_renew_replaces_the_password_and_redeploys_only_its_servers(inventory, sandbox):
    new_password = 'N3w:{{pass}}%s' % 'word'
    sandbox.set_world(world(password_a=new_password))
    try:
        # An older password of LOGIN_A recorded in the file (and used by the inventory).
        text = inventory['accounts'].read_text() + (
            '  %s:\n    password: !vault |\n%s    password_changed_on: "2024-01-01"\n    environment: qualification\n'
            % (LOGIN_A, _indent(encrypt('old-password'), '      ')))
        inventory['accounts'].write_text(text)
        have_deploy = os.path.isdir(os.path.join(REPO, 'roles', 'deploy'))
        proc = run_playbook(inventory, 'renew', {'chorus_renew_login': LOGIN_A,
                                                 'chorus_renew_redeploy': str(have_deploy).lower()},
                            secret=new_password)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        assert_no_secret(proc, new_password, 'old-password')
        after = inventory['accounts'].read_text()
        assert after.startswith('---\n# integrator comment\nchorus_accounts:\n' + inventory['other'])
        entry = entry_text(after, LOGIN_A)
        assert vault_view(inventory, vault_block(entry)) == new_password
        assert field(entry, 'password_changed_on') == TODAY
        assert field(entry, 'validated') == 'true'
        # Validated against every structure of the inventory that uses the login.
        assert S1 in proc.stdout and S2 in proc.stdout
        if have_deploy:
            recap = proc.stdout[proc.stdout.rindex('PLAY RECAP'):]
            assert 'corail-1' in recap and 'corail-2' in recap
            assert 'corail-3' not in recap
            servers = inventory['tmp'] / 'servers'
            assert sorted(p.name for p in servers.iterdir() if p.name.endswith('.ini')) == ['corail-1.ini', 'corail-2.ini']
            deployed = (servers / 'corail-1.ini').read_text()
            assert LOGIN_A in deployed and LOGIN_B not in deployed
        else:
            assert 'Redeploying' not in proc.stdout
    finally:
        sandbox.set_world(world())


def test_renew_of_a_rejected_password_does_not_redeploy(inventory, sandbox):
    wrong = 'still-wrong-123'
    proc = run_playbook(inventory, 'renew', {'chorus_renew_login': LOGIN_OTHER, 'chorus_renew_redeploy': 'true'},
                        secret=wrong)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert_no_secret(proc, wrong)
    assert 'No server redeployed' in proc.stdout and 'not validated' in proc.stdout
    entry = entry_text(inventory['accounts'].read_text(), LOGIN_OTHER)
    assert field(entry, 'validated') == 'false'
    assert vault_view(inventory, vault_block(entry)) == wrong


def test_renew_refuses_an_unknown_login(inventory, sandbox):
    proc = run_playbook(inventory, 'renew', {'chorus_renew_login': 'TECH_1_NOBODY@cpro.fr', 'chorus_renew_password': 'x'},
                        verbosity=None)
    assert proc.returncode != 0
    assert 'chorus.corail.enroll' in proc.stdout


def _drive_terminal(argv, env, cwd, answers, timeout=120):
    """Run argv on a pseudo-terminal; answer each (prompt regex, text) in turn. Returns the transcript."""
    import pty
    import select
    import time
    pid, fd = pty.fork()
    if pid == 0:  # child: the pty is its controlling terminal, as for a person at a shell
        try:
            os.chdir(cwd)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    transcript = b''
    pending = list(answers)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            ready = select.select([fd], [], [], 0.2)[0]
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                transcript += chunk
            if pending and re.search(pending[0][0], transcript.decode('utf-8', 'replace').split('\x00')[-1]):
                text = pending.pop(0)[1]
                transcript += b'\x00'  # later prompts are searched after this mark only
                time.sleep(0.2)
                os.write(fd, text.encode() + b'\r')
        else:
            raise AssertionError('timed out; transcript:\n' + transcript.decode('utf-8', 'replace'))
    finally:
        status = os.waitpid(pid, 0)[1]
        os.close(fd)
    return os.waitstatus_to_exitcode(status), transcript.decode('utf-8', 'replace')


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='pseudo-terminal test')
def test_prompts_hide_the_password_and_ask_again_after_a_rejection(inventory, sandbox):
    """At a terminal: the password is not echoed; after a 401 it is asked again, and the good one stored."""
    wrong = 'typo-in-the-password-7'
    exe = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    argv = [exe, '-i', str(inventory['dir']), 'chorus.corail.enroll',
            '-e', 'chorus_vault_password_file=%s' % inventory['vault_file']]
    code, transcript = _drive_terminal(argv, ansible_env(), str(inventory['tmp']), [
        (r'Technical login', LOGIN_A),
        (r'environment', 'qualification'),
        (r'SIRET', S1),
        (r'Its password', wrong),
        (r'rejected the password', PASSWORD_A),
    ])
    assert code == 0, transcript[-4000:]
    assert wrong not in transcript and PASSWORD_A not in transcript
    assert LOGIN_A in transcript  # the login is echoed, so that typos show
    entry = entry_text(inventory['accounts'].read_text(), LOGIN_A)
    assert vault_view(inventory, vault_block(entry)) == PASSWORD_A
    assert field(entry, 'validated') == 'true'


def test_vault_password_script_and_vault_id(inventory, sandbox):
    """An executable vault password file is run, as Ansible does; chorus_vault_id labels the ciphertext."""
    script = inventory['tmp'] / 'vault_pass.sh'
    script.write_text('#!/bin/sh\necho "%s"\n' % VAULT_PASSWORD)
    os.chmod(str(script), 0o700)
    inventory['vault_file'] = script
    proc = run_playbook(inventory, 'enroll', {'chorus_enroll_login': LOGIN_A, 'chorus_enroll_environment': 'qualification',
                                              'chorus_enroll_sirets': S1, 'chorus_vault_id': 'integrator'},
                        secret=PASSWORD_A)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert_no_secret(proc, PASSWORD_A)
    block = vault_block(entry_text(inventory['accounts'].read_text(), LOGIN_A))
    assert block.startswith('$ANSIBLE_VAULT;1.2;AES256;integrator\n')
    assert vault_view(inventory, block) == PASSWORD_A


def test_sirets_typed_with_spaces_and_dots_are_read(inventory, sandbox):
    proc = run_playbook(inventory, 'enroll', {'chorus_enroll_login': LOGIN_A, 'chorus_enroll_environment': 'qualification',
                                              'chorus_enroll_sirets': '"216 400 002 00012 , 216.400.010.00015"'},
                        secret=PASSWORD_A, verbosity=None)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    entry = entry_text(inventory['accounts'].read_text(), LOGIN_A)
    assert field(entry, 'validated') == 'true'
    assert '%s ok' % S1 in proc.stdout and '%s ok' % S2 in proc.stdout


@pytest.mark.parametrize('answers, expected', [
    ({'chorus_enroll_environment': 'prod', 'chorus_enroll_sirets': S1}, 'The environment must be qualification or production'),
    ({'chorus_enroll_environment': 'qualification', 'chorus_enroll_sirets': '216 400 002 00013'},
     'siret 21640000200013: checksum'),
])
def test_answers_are_checked_before_the_password_is_asked(inventory, sandbox, answers, expected):
    sandbox.reset()
    before = inventory['accounts'].read_text()
    answers = dict(answers, chorus_enroll_login=LOGIN_A)
    answers['chorus_enroll_sirets'] = '"%s"' % answers['chorus_enroll_sirets']
    proc = run_playbook(inventory, 'enroll', answers, verbosity=None)  # no password given: it would be asked
    assert proc.returncode != 0
    assert 'Nothing was stored' in proc.stdout and expected in proc.stdout
    assert 'Ask for the password' not in proc.stdout  # the prompt was never reached
    assert inventory['accounts'].read_text() == before and sandbox.stats()['total'] == 0


def test_an_unvalidated_password_never_replaces_a_validated_one(inventory, sandbox):
    answers = {'chorus_enroll_login': LOGIN_A, 'chorus_enroll_environment': 'qualification', 'chorus_enroll_sirets': S1}
    assert run_playbook(inventory, 'enroll', answers, secret=PASSWORD_A, verbosity=None).returncode == 0
    before = inventory['accounts'].read_text()
    typo = PASSWORD_A + 'x'
    # No terminal to ask again on: the typo would be stored unvalidated, over the password that works.
    proc = run_playbook(inventory, 'enroll', answers, secret=typo, verbosity='-vvv')
    assert proc.returncode != 0
    assert 'Nothing was stored' in proc.stdout and 'chorus_enroll_replace=true' in proc.stdout and LOGIN_A in proc.stdout
    assert_no_secret(proc, PASSWORD_A, typo)
    assert inventory['accounts'].read_text() == before
    # Asked explicitly, it replaces it, marked unvalidated.
    proc = run_playbook(inventory, 'enroll', dict(answers, chorus_enroll_replace='true'), secret=typo, verbosity=None)
    assert proc.returncode == 0, proc.stdout[-4000:]
    entry = entry_text(inventory['accounts'].read_text(), LOGIN_A)
    assert field(entry, 'validated') == 'false' and vault_view(inventory, vault_block(entry)) == typo


def _valid_sirets(count):
    """``count`` SIRETs of one SIREN that pass both Luhn checks."""
    from ansible_collections.chorus.corail.plugins.module_utils._identifiers import siret_valid
    found = []
    nic = 0
    while len(found) < count:
        nic += 1
        candidate = '216400002%05d' % nic
        if siret_valid(candidate):
            found.append(candidate)
    return found


@pytest.mark.parametrize('where', ['group_vars/all/accounts.yml', 'group_vars/all/vaulted.yml'])
def test_accounts_file_shadowed_by_another_definition_is_refused(tmp_path, sandbox, where):
    """40 structures, 39 of their accounts defined in another file: enroll must not shadow them."""
    sirets = _valid_sirets(40)
    logins = ['TECH_1_AGENT%02d@cpro.fr' % index for index in range(40)]
    inv = tmp_path / 'inventory'
    (inv / 'group_vars' / 'all').mkdir(parents=True)
    (inv / 'group_vars' / 'all' / 'chorus.yml').write_text(
        '---\nchorus_piste_app: corail_q\nchorus_piste_apps:\n  corail_q: {client_id: %s, client_secret: %s, '
        'environment: qualification}\n' % (CLIENT_ID, CLIENT_SECRET))
    hosts = ['---\nall:\n  hosts:\n']
    for index in range(10):
        hosts.append('    corail-%d:\n      ansible_connection: local\n      corail_config_path: /nonexistent\n'
                     '      corail_structures:\n' % index)
        for siret, login in list(zip(sirets, logins))[index * 4:index * 4 + 4]:
            hosts.append('        - {siret: "%s", account: "%s"}\n' % (siret, login))
    (inv / 'hosts.yml').write_text(''.join(hosts))
    other = inv / where
    other.write_text('---\nchorus_accounts:\n' + ''.join(
        '  %s:\n    password: !unsafe "pw-%02d-long-enough"\n    environment: qualification\n' % (login, index)
        for index, login in enumerate(logins[:39])))
    vault_file = tmp_path / 'vault_pass'
    vault_file.write_text(VAULT_PASSWORD + '\n')
    if where.endswith('vaulted.yml'):  # a whole-file vault: the text scan cannot read it, the hosts' view tells
        run_ansible(['encrypt', '--vault-password-file', str(vault_file), str(other)], program='ansible-vault', check=True)
    proc = run_ansible(['-i', str(inv), 'chorus.corail.enroll', '-e', 'chorus_vault_password_file=%s' % vault_file,
                        '--vault-password-file', str(vault_file), '-e', 'chorus_enroll_login=%s' % logins[39],
                        '-e', 'chorus_enroll_environment=qualification', '-e', 'chorus_enroll_sirets=%s' % sirets[39]],
                       cwd=str(tmp_path))
    assert proc.returncode != 0, proc.stdout[-3000:]
    accounts = inv / 'group_vars' / 'all' / 'chorus_accounts.yml'
    assert 'Nothing was stored' in proc.stdout and str(accounts) in proc.stdout
    if where.endswith('accounts.yml'):
        assert str(other) in proc.stdout  # both places named
    else:
        assert 'sees a chorus_accounts' in proc.stdout and 'vault-encrypted' in proc.stdout
    assert 'Ask for the password' not in proc.stdout
    assert not accounts.exists()
