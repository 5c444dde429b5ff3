# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

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
    assert [p for p in os.listdir(str(path.parent)) if p != 'chorus_accounts.yml'] == []  # no temp file left


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
