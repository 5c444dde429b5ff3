# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import subprocess
import sys
import textwrap

import yaml

from ansible_collections.chorus.corail.plugins.modules import accounts_file

from .module_runner import run_module

LOGIN = 'TECH_021640000200012@cpp2017.fr'


def vaulted(text):
    """Vault-shaped ciphertext (module tests run without controller code; the module never decrypts)."""
    body = text.encode().hex().ljust(80, '0')
    return '$ANSIBLE_VAULT;1.1;AES256\n%s\n%s\n' % (body[:80], body[80:] or '3434')


def run(capsys, path, check_mode=False, diff=False, **options):
    args = dict(path=str(path), login=LOGIN)
    args.update(options)
    result, out = run_module(accounts_file, args, capsys, check_mode=check_mode, diff=diff)
    assert '$ANSIBLE_VAULT;1.1' not in out, 'ciphertext reached the module output'
    assert 'did not set no_log' not in out
    return result


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_creates_file_and_directory_0600(tmp_path, capsys):
    path = tmp_path / 'group_vars' / 'all' / 'chorus_accounts.yml'
    out = run(capsys, path, diff=True, vaulted_password=vaulted('pw'), environment='production',
              password_changed_on='2025-06-01', validated=True, last_check_status='ok')
    assert out['changed'] is True and out['action'] == 'added'
    assert out['entry'] == {'password': '<vault-encrypted>', 'password_changed_on': '2025-06-01',
                            'environment': 'production', 'validated': True, 'last_check_status': 'ok'}
    assert mode_of(path) == 0o600
    assert '<vault-encrypted>' in out['diff']['after'] and out['diff']['before'] == ''
    # No temporary file left, nor the lock file.
    assert sorted(os.listdir(str(path.parent))) == ['chorus_accounts.yml']


def test_check_mode_writes_nothing(tmp_path, capsys):
    path = tmp_path / 'chorus_accounts.yml'
    out = run(capsys, path, check_mode=True, vaulted_password=vaulted('pw'))
    assert out['changed'] is True and not path.exists()


def test_backup_and_idempotent_metadata(tmp_path, capsys):
    path = tmp_path / 'chorus_accounts.yml'
    run(capsys, path, vaulted_password=vaulted('pw'))
    first = path.read_text()
    out = run(capsys, path, backup=True, last_check_status='access_forbidden')
    assert out['changed'] and out['backup_file'].endswith('~')
    with open(out['backup_file']) as handle:
        assert handle.read() == first
    out = run(capsys, path, last_check_status='access_forbidden')
    assert out['changed'] is False and out['action'] == 'unchanged'


def test_mode_is_corrected_even_without_content_change(tmp_path, capsys):
    path = tmp_path / 'chorus_accounts.yml'
    run(capsys, path, vaulted_password=vaulted('pw'))
    os.chmod(str(path), 0o644)
    out = run(capsys, path, check_mode=True)
    assert out['changed'] is True and mode_of(path) == 0o644
    out = run(capsys, path)
    assert out['changed'] is True and mode_of(path) == 0o600


def test_refuses_plaintext_and_unsafe_files(tmp_path, capsys):
    path = tmp_path / 'chorus_accounts.yml'
    out = run(capsys, path, vaulted_password='clear-password-1')
    assert out['failed'] and 'not vault-encrypted' in out['msg'] and 'clear-password-1' not in json.dumps(out)
    path.write_text('chorus_accounts: {a: 1}\n')
    out = run(capsys, path, vaulted_password=vaulted('pw'))
    assert out['failed'] and 'flow style' in out['msg'] and path.read_text() == 'chorus_accounts: {a: 1}\n'


def test_absent(tmp_path, capsys):
    path = tmp_path / 'chorus_accounts.yml'
    run(capsys, path, vaulted_password=vaulted('pw'))
    out = run(capsys, path, state='absent')
    assert out['changed'] and out['action'] == 'removed' and out['entry'] is None
    assert LOGIN not in path.read_text()


def test_check_mode_creates_no_folder_and_no_lock(tmp_path, capsys):
    path = tmp_path / 'group_vars' / 'all' / 'chorus_accounts.yml'
    out = run(capsys, path, check_mode=True, vaulted_password=vaulted('pw'))
    assert out['changed'] is True and not (tmp_path / 'group_vars').exists()


def test_backups_are_private_and_pruned(tmp_path, capsys):
    path = tmp_path / 'chorus_accounts.yml'
    run(capsys, path, vaulted_password=vaulted('pw'))
    for day in range(1, 6):
        out = run(capsys, path, backup=True, backup_keep=3, last_check_on='2025-06-%02d' % day)
        assert mode_of(out['backup_file']) == 0o600
    backups = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith('~'))
    assert len(backups) == 3


def test_symlink_stays_a_link(tmp_path, capsys):
    real = tmp_path / 'secrets' / 'accounts.yml'
    real.parent.mkdir()
    run(capsys, real, vaulted_password=vaulted('pw'))
    link = tmp_path / 'chorus_accounts.yml'
    link.symlink_to(real)
    out = run(capsys, link, login='TECH_1_other@cpro.fr', vaulted_password=vaulted('other'))
    assert out['action'] == 'added' and link.is_symlink()
    assert 'TECH_1_other@cpro.fr' in real.read_text() and LOGIN in real.read_text()
    assert sorted(os.listdir(str(real.parent))) == ['accounts.yml']


def test_unvalidated_password_never_replaces_a_validated_one(tmp_path, capsys):
    path = tmp_path / 'chorus_accounts.yml'
    run(capsys, path, vaulted_password=vaulted('good'), validated=True, last_check_status='ok', last_check_on='2025-06-01')
    before = path.read_text()
    for validated in (False, None):
        options = dict(vaulted_password=vaulted('typo'), last_check_status='account_rejected')
        if validated is not None:
            options['validated'] = validated
        out = run(capsys, path, **options)
        assert out['failed'] and 'validated password' in out['msg'] and 'chorus_enroll_replace=true' in out['msg']
        assert LOGIN in out['msg'] and path.read_text() == before
    # A validated new password replaces it; so does an unvalidated one when asked explicitly.
    assert run(capsys, path, vaulted_password=vaulted('new'), validated=True)['action'] == 'updated'
    out = run(capsys, path, vaulted_password=vaulted('forced'), validated=False, replace_validated=True)
    assert out['action'] == 'updated' and out['entry']['validated'] is False
    # Metadata without a new password is no replacement.
    assert run(capsys, path, last_check_status='ok', validated=True)['changed']


RUNNER = textwrap.dedent("""
    import sys
    from ansible_collections.chorus.corail.plugins.modules import accounts_file
    sys.argv = ['accounts_file', sys.argv[1]]
    accounts_file.main()
""")


def test_twenty_parallel_enrolments_keep_twenty_entries(tmp_path):
    """The read-modify-write of each run is serialised by the lock: no run drops another's entry."""
    path = tmp_path / 'group_vars' / 'all' / 'chorus_accounts.yml'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    logins = ['TECH_1_agent%02d@cpro.fr' % index for index in range(20)]
    procs = []
    for index, login in enumerate(logins):
        args = tmp_path / ('args%02d.json' % index)
        args.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': dict(
            path=str(path), login=login, vaulted_password=vaulted('pw%d' % index), environment='production',
            validated=True, backup=True, backup_keep=30)}))
        procs.append(subprocess.Popen([sys.executable, '-c', RUNNER, str(args)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        results.append(json.loads(out.decode()))
    assert sorted(r['action'] for r in results) == ['added'] * 20
    with open(str(path)) as handle:
        text = handle.read()
    loaded = yaml.safe_load(text.replace('!vault', ''))
    assert sorted(loaded['chorus_accounts']) == logins
    # Each run but the first backed up the file it found: 19 backups, each one entry shorter than the next.
    assert len([p for p in path.parent.iterdir() if p.name.endswith('~')]) == 19
    assert not [p for p in path.parent.iterdir() if p.name.endswith(('.tmp', '.lock'))]


def test_the_lock_is_exclusive_and_waits(tmp_path):
    """While one run holds the lock, another waits; past the timeout it fails, naming the lock."""
    from ansible_collections.chorus.corail.plugins.module_utils import _accounts_file as accounts
    import pytest
    path = str(tmp_path / 'chorus_accounts.yml')
    with accounts.locked(path):
        assert os.path.exists(accounts.lock_path(path))
        with pytest.raises(accounts.AccountsFileError) as info:
            with accounts.locked(path, timeout=0.3):
                pass
        assert 'locked by another enrolment' in str(info.value)
    assert not os.path.exists(accounts.lock_path(path))
    with accounts.locked(path):  # free again
        pass
