# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import stat

import pytest


from ansible_collections.chorus.corail.plugins.module_utils import _writer as writer
from ansible_collections.chorus.corail.plugins.modules import corail_config

from .module_runner import run_module

PARIS, LYON = '21750001600019', '21690123100011'
PASSWORD = 'S3cret-Paris;pw'
CLIENT_SECRET = 'client-s3cret'
APPS = [dict(name='corail-prod', environment='production', client_id='cid-42', client_secret=CLIENT_SECRET)]
STRUCTURES = [
    dict(siret=PARIS, name='Ville de Paris', account='TECH_1_paris@cpro.fr', password=PASSWORD),
    dict(siret=LYON, name='Ville de Lyon', account='TECH_1_lyon@cpro.fr', password='Lyon-pw-2', service_code='FIN'),
]


def run(capsys, path, check_mode=False, diff=False, **options):
    args = dict(path=str(path), piste_apps=APPS, structures=STRUCTURES)
    args.update(options)
    result, out = run_module(corail_config, args, capsys, check_mode=check_mode, diff=diff)
    for secret in (PASSWORD, CLIENT_SECRET, 'Lyon-pw-2', 'new-password'):
        assert secret not in out, 'a secret reached the module output'
    return result


def warnings_of(result):
    # ansible-core 2.19 returns each warning as a WarningSummary, earlier cores as a string.
    return [w if isinstance(w, str) else w['event']['msg'] for w in result.get('warnings', [])]


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def listing(directory):
    return sorted(os.listdir(str(directory)))


def test_creates_the_file_0600_and_returns_structures_without_secrets(tmp_path, capsys):
    path = tmp_path / 'corail.ini'
    out = run(capsys, path, diff=True)
    assert out['changed'] is True and not out.get('failed')
    assert mode_of(path) == 0o600
    text = path.read_text()
    assert '[chorus.structure.%s]' % PARIS in text and 'password = "S3cret-Paris;pw"' in text
    assert out['structures'] == [
        {'siret': PARIS, 'name': 'Ville de Paris', 'account': 'TECH_1_paris@cpro.fr', 'piste_app': 'corail-prod'},
        {'siret': LYON, 'name': 'Ville de Lyon', 'account': 'TECH_1_lyon@cpro.fr', 'piste_app': 'corail-prod'},
    ]
    assert out['path'] == str(path) and out['pruned'] == [] and 'backup_file' not in out
    assert 'password = <secret>' in out['diff']['after'] and out['diff']['before'] == ''
    assert 'environment = production' in out['diff']['after']  # public values are not masked
    assert listing(tmp_path) == ['corail.ini']  # no temporary file left behind


def test_the_invocation_masks_only_the_secrets(tmp_path, capsys):
    out = run(capsys, tmp_path / 'corail.ini')
    args = out['invocation']['module_args']
    assert args['structures'][0]['password'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    assert args['structures'][0]['siret'] == PARIS
    assert args['piste_apps'][0]['client_secret'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    assert args['piste_apps'][0]['environment'] == 'production'


def test_check_mode_writes_nothing_then_apply_then_idempotent(tmp_path, capsys):
    path = tmp_path / 'corail.xml'
    out = run(capsys, path, check_mode=True, diff=True, format='xml')
    assert out['changed'] is True and not path.exists()
    assert 'Chorus.Structure.%s.Password = <secret>' % PARIS in out['diff']['after']
    assert run(capsys, path, format='xml')['changed'] is True
    content = path.read_bytes()
    assert run(capsys, path, format='xml', check_mode=True)['changed'] is False
    again = run(capsys, path, format='xml', diff=True)
    assert again['changed'] is False and again['diff'] == {
        'before': '', 'after': '', 'before_header': '%s (Chorus settings only)' % path,
        'after_header': '%s (Chorus settings only)' % path}
    assert path.read_bytes() == content


def test_changed_password_in_check_mode_reports_it_masked_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / 'corail.ini'
    run(capsys, path)
    content = path.read_bytes()
    structures = [dict(STRUCTURES[0], password='new-password'), STRUCTURES[1]]
    out = run(capsys, path, check_mode=True, diff=True, structures=structures)
    assert out['changed'] is True and path.read_bytes() == content
    assert out['diff']['before'] == '[chorus.structure.%s]\npassword = <secret>\n' % PARIS
    assert out['diff']['after'] == '[chorus.structure.%s]\npassword = <secret changed>\n' % PARIS
    out = run(capsys, path, structures=structures)
    assert out['changed'] is True and b'password = new-password' in path.read_bytes()


def test_existing_mode_is_kept_and_a_given_mode_is_applied(tmp_path, capsys):
    path = tmp_path / 'corail.ini'
    path.write_text('[other]\nx = 1\n')
    os.chmod(str(path), 0o640)
    run(capsys, path)
    assert mode_of(path) == 0o640
    out = run(capsys, path, mode='0600')
    assert out['changed'] is True and mode_of(path) == 0o600  # only the mode changed
    assert run(capsys, path, mode='0600')['changed'] is False


def test_backup_is_private_and_only_backup_keep_copies(tmp_path, capsys):
    path = tmp_path / 'corail.ini'
    path.write_text('[other]\nx = 1\n')
    os.chmod(str(path), 0o640)
    old = []
    for day in range(1, 5):  # older backups from earlier runs
        name = tmp_path / ('corail.ini.1%d.2020-01-0%d@10:00:00~' % (day, day))
        name.write_text('old password inside')
        old.append(name.name)
    (tmp_path / 'corail.ini.other~').write_text('not a backup of ours')
    out = run(capsys, path, backup=True, backup_keep=3)
    backup = out['backup_file']
    assert os.path.basename(backup) not in old and os.path.exists(backup)
    assert open(backup).read() == '[other]\nx = 1\n' and mode_of(backup) == 0o600
    assert listing(tmp_path) == sorted(['corail.ini', 'corail.ini.other~', os.path.basename(backup)] + old[-2:])
    # No change, no backup.
    assert 'backup_file' not in run(capsys, path, backup=True, backup_keep=3)


def test_backup_keep_days_prunes_old_backups_but_never_the_file_nor_the_newest(tmp_path, capsys):
    path = tmp_path / 'corail.ini'
    path.write_text('[other]\nx = 1\n')
    old = tmp_path / 'corail.ini.7.2001-01-01@10:00:00~'
    old.write_text('old password inside')
    recent = tmp_path / ('corail.ini.%s~' % __import__('datetime').datetime.now().strftime('%Y-%m-%d@%H:%M:%S.%f'))
    recent.write_text('recent password inside')
    os.chmod(str(recent), 0o644)
    out = run(capsys, path, backup=True, backup_keep=10, backup_keep_days=30)
    assert listing(tmp_path) == sorted(['corail.ini', recent.name, os.path.basename(out['backup_file'])])
    assert mode_of(recent) == 0o640 and mode_of(out["backup_file"]) == 0o600  # others lose access
    assert 'S3cret-Paris' in path.read_text()


def test_failed_validate_writes_nothing(tmp_path, capsys):
    path = tmp_path / 'corail.ini'
    path.write_text('[other]\nx = 1\n')
    out = run(capsys, path, validate='/bin/false %s', backup=True)
    assert out['failed'] is True and 'validate command failed' in out['msg'] and 'nothing was written' in out['msg']
    assert path.read_text() == '[other]\nx = 1\n'
    assert listing(tmp_path) == ['corail.ini']  # neither the temporary file nor a backup


def test_validate_sees_the_new_content(tmp_path, capsys):
    path = tmp_path / 'corail.ini'
    out = run(capsys, path, validate='grep -q chorus.structure.%s %%s' % LYON)
    assert out['changed'] is True and path.exists()
    out = run(capsys, path, validate='grep -q nowhere')
    assert out['failed'] is True and 'must contain %s' in out['msg']


def test_invalid_input_names_siret_and_field_and_creates_nothing(tmp_path, capsys):
    path = tmp_path / 'corail.ini'
    out = run(capsys, path, structures=[STRUCTURES[0], dict(STRUCTURES[1], password='new-password\nx')])
    assert out['failed'] is True
    assert out['msg'] == 'password of structure %s: contains control characters (newline, tab...); nothing was written' % LYON
    missing = dict(STRUCTURES[0])
    del missing['account']
    out = run(capsys, path, structures=[missing])
    assert out['msg'].startswith('account of structure %s: is required' % PARIS)
    app = dict(APPS[0])
    del app['client_secret']
    out = run(capsys, path, piste_apps=[app])
    assert out['msg'].startswith('client_secret of PISTE application corail-prod: is required')
    assert listing(tmp_path) == []


def test_a_corrupt_file_is_left_untouched(tmp_path, capsys):
    path = tmp_path / 'corail.xml'
    path.write_bytes(b'<configuration><appSettings><add key="Db" value="DbSecret"></configuration>')
    out = run(capsys, path, format='xml', backup=True)
    assert out['failed'] is True and out['msg'].startswith('%s: the file is not well-formed XML' % path)
    assert 'left untouched' in out['msg'] and 'DbSecret' not in out['msg']
    assert path.read_bytes() == b'<configuration><appSettings><add key="Db" value="DbSecret"></configuration>'
    assert listing(tmp_path) == ['corail.xml']


@pytest.mark.parametrize('options, words', [
    (dict(create=False), 'does not exist (create=false)'),
    (dict(backup_keep=0), 'backup_keep: must be 1 or more'),
    (dict(backup_keep_days=0), 'backup_keep_days: must be 1 or more'),
    (dict(key_layout={'structure': {'password': 'pass word'}}), 'key_layout.structure.password'),
])
def test_option_errors(tmp_path, capsys, options, words):
    out = run(capsys, tmp_path / 'corail.ini', **options)
    assert out['failed'] is True and words in out['msg']
    assert listing(tmp_path) == []


def test_unwritable_places(tmp_path, capsys):
    out = run(capsys, tmp_path / 'missing' / 'corail.ini')
    assert out['failed'] is True and 'does not exist; nothing was written' in out['msg']
    out = run(capsys, tmp_path)
    assert out['failed'] is True and 'is a directory' in out['msg']
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    out = run(capsys, blocker / 'corail.ini')
    assert out['failed'] is True and 'nothing was written' in out['msg']


@pytest.mark.skipif(os.geteuid() == 0, reason='root writes anywhere')
def test_read_only_directory(tmp_path, capsys):
    directory = tmp_path / 'ro'
    directory.mkdir()
    os.chmod(str(directory), 0o500)
    try:
        out = run(capsys, directory / 'corail.ini')
    finally:
        os.chmod(str(directory), 0o700)
    assert out['failed'] is True and 'cannot write in' in out['msg']


def test_prune_reports_the_removed_sirets(tmp_path, capsys):
    path = tmp_path / 'corail.ini'
    run(capsys, path)
    out = run(capsys, path, structures=STRUCTURES[:1], prune=True, diff=True)
    assert out['changed'] is True and out['pruned'] == [LYON]
    assert LYON not in path.read_text()
    assert out['diff']['before'].startswith('[chorus.structure.%s]' % LYON)


def test_a_directory_that_refuses_the_temporary_file(tmp_path, capsys, monkeypatch):
    def refuse(**kwargs):
        raise OSError(13, 'Permission denied')
    monkeypatch.setattr(writer.tempfile, 'mkstemp', refuse)
    out = run(capsys, tmp_path / 'corail.ini')
    assert out['failed'] is True
    assert out['msg'] == '%s: cannot write in %s: Permission denied; nothing was written' % (tmp_path / 'corail.ini', tmp_path)
    assert listing(tmp_path) == []


def test_a_failed_move_leaves_no_empty_file_behind(tmp_path, capsys, monkeypatch):
    def fail_replace(src, dest):
        raise OSError(13, 'Permission denied')
    monkeypatch.setattr(writer.os, 'replace', fail_replace)
    out = run(capsys, tmp_path / 'corail.ini')
    monkeypatch.undo()
    assert out['failed'] is True and 'cannot replace the file: Permission denied; nothing was written' in out['msg']
    assert listing(tmp_path) == []


def test_an_unchanged_0666_file_loses_access_for_others_with_a_warning(tmp_path, capsys):
    path = tmp_path / 'corail.ini'
    run(capsys, path)
    os.chmod(str(path), 0o666)
    content = path.read_bytes()
    out = run(capsys, path, check_mode=True)
    assert out['changed'] is True and mode_of(path) == 0o666 and 'would remove that access' in warnings_of(out)[0]
    out = run(capsys, path)
    assert out['changed'] is True and mode_of(path) == 0o660 and path.read_bytes() == content
    # Warnings pile up in this process (one per run in Ansible): the last one is this run's.
    seen = warnings_of(out)
    assert seen[-1] == '%s: was readable or writable by others (mode 0666); now 0660' % path
    out = run(capsys, path)
    assert out['changed'] is False and len(warnings_of(out)) == len(seen)


def test_an_explicit_mode_wins(tmp_path, capsys):
    path = tmp_path / 'corail.ini'
    out = run(capsys, path, mode='0644')
    assert out['changed'] is True and mode_of(path) == 0o644 and not any('others' in w for w in warnings_of(out))
    out = run(capsys, path, mode='0644')
    assert out['changed'] is False and mode_of(path) == 0o644


def test_a_symlinked_file_keeps_its_link(tmp_path, capsys):
    (tmp_path / 'real').mkdir()
    target = tmp_path / 'real' / 'corail.ini'
    target.write_text('[other]\nkeep = 1\n')
    os.symlink(str(target), str(tmp_path / 'corail.ini'))
    out = run(capsys, tmp_path / 'corail.ini', backup=True, mode='0640')
    assert out['changed'] is True and os.path.islink(str(tmp_path / 'corail.ini'))
    assert PARIS in target.read_text() and mode_of(target) == 0o640
    assert os.path.dirname(out['backup_file']) == str(tmp_path / 'real')
    assert run(capsys, tmp_path / 'corail.ini', mode='0640')['changed'] is False


def test_a_fifo_is_refused_at_once(tmp_path, capsys):
    fifo = tmp_path / 'corail.ini'
    os.mkfifo(str(fifo))
    signal.alarm(10)  # a read would block for ever
    try:
        out = run(capsys, fifo)
    finally:
        signal.alarm(0)
    assert out['failed'] is True
    assert out['msg'] == '%s: is a special file (FIFO, socket or device), not a regular file; nothing was written' % fifo
    assert stat.S_ISFIFO(os.lstat(str(fifo)).st_mode)


def test_validate_keeps_other_percent_signs_and_spaces(tmp_path, capsys):
    folder = tmp_path / 'dossier Corail'
    folder.mkdir()
    out = run(capsys, folder / 'corail.ini', validate="/bin/sh -c 'test \"$0\" = 100% && test -s \"$1\"' 100% %s")
    assert out['changed'] is True, out
    out = run(capsys, folder / 'other.ini', validate="/bin/sh -c 'test \"$0\" = 100' 100% %s")
    assert out['failed'] is True and 'the validate command failed (rc=1); nothing was written' in out['msg']
    assert listing(folder) == ['corail.ini']


def test_a_line_added_while_validate_runs_is_kept(tmp_path, capsys):
    path = tmp_path / 'corail.ini'
    path.write_text('[other]\nkeep = 1\n')
    marker = tmp_path / 'edited'
    # The first validate run edits the live file, as a person or another tool could: the module
    # must merge again on that content instead of erasing the line.
    edit = "/bin/sh -c 'test -e \"$0\" || { touch \"$0\"; echo \"added = meanwhile\" >> \"$1\"; }' '%s' '%s' %%s"
    out = run(capsys, path, validate=edit % (marker, path))
    assert out['changed'] is True, out
    text = path.read_text()
    assert text.startswith('[other]\nkeep = 1\nadded = meanwhile\n') and PARIS in text


def test_drift_names_the_fields_that_differ_never_a_value(tmp_path, capsys):
    path = tmp_path / 'corail.ini'
    assert run(capsys, path, check_mode=True)['drift'] == {PARIS: ['not_deployed'], LYON: ['not_deployed']}
    run(capsys, path)
    assert run(capsys, path, check_mode=True)['drift'] == {}
    # By hand: Paris's password and the application's client secret, Lyon's service code removed.
    text = path.read_text().replace('S3cret-Paris;pw', 'typed-by-hand').replace(CLIENT_SECRET, 'other-secret')
    path.write_text(text.replace('service_code = FIN\n', ''))
    out = run(capsys, path, check_mode=True)
    assert out['changed'] is True and 'typed-by-hand' in path.read_text()  # check mode wrote nothing
    assert out['drift'] == {PARIS: ['password', 'piste_app.client_secret'],
                            LYON: ['service_code', 'piste_app.client_secret']}
    assert 'typed-by-hand' not in repr(out) and 'other-secret' not in repr(out)
    # A real run reports what it found before writing, and the file is back in sync.
    assert run(capsys, path)['drift'][PARIS] == ['password', 'piste_app.client_secret']
    assert run(capsys, path, check_mode=True)['drift'] == {}
