# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import signal
import stat
import sys

import pytest

from ansible_collections.chorus.corail.plugins.module_utils import _writer as writer

SECRET = b'password = S3cret;pw\n'


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def names(directory):
    return sorted(os.listdir(str(directory)))


@pytest.fixture
def umask_000():
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.fixture
def alarm():
    """Fail instead of hanging (a FIFO opened for reading blocks until a writer comes)."""
    def expired(signum, frame):
        raise AssertionError('blocked: the call did not return at once')
    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(5)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def test_a_new_file_is_private_whatever_the_umask(tmp_path, umask_000):
    path = tmp_path / 'c.ini'
    assert writer.write(writer.read(str(path)), SECRET) is None
    assert path.read_bytes() == SECRET and mode_of(path) == 0o600
    assert names(tmp_path) == ['c.ini']


def test_missing_parents_are_created_0700_whatever_the_umask(tmp_path, umask_000):
    path = tmp_path / 'a' / 'b' / 'report.html'
    writer.write(writer.read(str(path)), SECRET, create_parents=True)
    assert mode_of(tmp_path / 'a') == 0o700 and mode_of(tmp_path / 'a' / 'b') == 0o700
    assert mode_of(path) == 0o600


def test_without_create_parents_a_missing_folder_is_an_error(tmp_path):
    path = tmp_path / 'missing' / 'c.ini'
    with pytest.raises(writer.WriteError, match='the directory .* does not exist; nothing was written'):
        writer.write(writer.read(str(path)), SECRET)
    assert names(tmp_path) == []


def test_an_existing_0666_file_and_its_backups_end_without_access_for_others(tmp_path):
    path = tmp_path / 'c.ini'
    path.write_bytes(b'old\n')
    os.chmod(str(path), 0o666)
    old_backup = tmp_path / 'c.ini.4242.2024-01-01@00:00:00~'  # named by 0.1.0 (backup_local), its mode copied
    old_backup.write_bytes(b'older\n')
    os.chmod(str(old_backup), 0o666)
    warnings = []
    backup = writer.write(writer.read(str(path)), SECRET, backup=True, warn=warnings.append)
    assert mode_of(path) == 0o660
    assert warnings == ['%s: was readable or writable by others (mode 0666); now 0660' % path]
    assert mode_of(backup) == 0o600 and open(backup, 'rb').read() == b'old\n'
    assert mode_of(old_backup) == 0o660
    assert not any(mode_of(tmp_path / n) & 0o007 for n in names(tmp_path))


def test_keep_mode_leaves_the_mode_to_the_caller(tmp_path):
    path = tmp_path / 'c.ini'
    path.write_bytes(b'old\n')
    os.chmod(str(path), 0o644)
    writer.write(writer.read(str(path)), SECRET, keep_mode=True)
    assert mode_of(path) == 0o644


def test_secure_existing_tightens_an_unchanged_file(tmp_path):
    path = tmp_path / 'c.ini'
    path.write_bytes(SECRET)
    os.chmod(str(path), 0o604)
    warnings = []
    assert writer.secure_existing(writer.read(str(path)), warn=warnings.append) is True
    assert mode_of(path) == 0o600 and len(warnings) == 1
    assert writer.secure_existing(writer.read(str(path))) is False


def test_a_symlink_keeps_its_link_and_its_target_is_written(tmp_path):
    real = tmp_path / 'real'
    real.mkdir()
    (real / 'c.ini').write_bytes(b'old\n')
    os.chmod(str(real / 'c.ini'), 0o640)
    link = tmp_path / 'c.ini'
    os.symlink(os.path.join('real', 'c.ini'), str(link))
    backup = writer.write(writer.read(str(link)), SECRET, backup=True)
    assert os.path.islink(str(link)) and os.readlink(str(link)) == os.path.join('real', 'c.ini')
    assert (real / 'c.ini').read_bytes() == SECRET and mode_of(real / 'c.ini') == 0o640
    assert os.path.dirname(backup) == str(real)  # next to the file, not to the link
    assert names(tmp_path) == ['c.ini', 'real']


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / 'c.ini'
    os.symlink('target.ini', str(link))
    writer.write(writer.read(str(link)), SECRET)
    assert os.path.islink(str(link)) and (tmp_path / 'target.ini').read_bytes() == SECRET


def test_a_fifo_is_refused_at_once(tmp_path, alarm):
    fifo = tmp_path / 'c.ini'
    os.mkfifo(str(fifo))
    with pytest.raises(writer.WriteError, match='is a special file'):
        writer.read(str(fifo))
    assert stat.S_ISFIFO(os.lstat(str(fifo)).st_mode)


def test_a_character_device_is_refused_and_kept(tmp_path, alarm):
    link = tmp_path / 'c.ini'
    os.symlink(os.devnull, str(link))
    with pytest.raises(writer.WriteError, match='is a special file'):
        writer.read(str(link))
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(writer.WriteError, match='is a directory'):
        writer.read(str(tmp_path))


def test_validate_runs_without_a_shell_with_spaces_and_percent_signs(tmp_path):
    folder = tmp_path / 'with spaces'
    folder.mkdir()
    seen = folder / 'seen by validate'
    script = 'import sys; open(sys.argv[1], "w").write("|".join(sys.argv[2:]) + "|" + open(sys.argv[-1]).read())'
    command = "%s -c '%s' '%s' 100%% '50%%d $HOME;x' %%s" % (sys.executable, script, seen)
    path = folder / 'c.ini'
    writer.write(writer.read(str(path)), SECRET, validate=command)
    args = seen.read_text().split('|')
    assert args[0] == '100%' and args[1] == '50%d $HOME;x'  # no shell: nothing expanded
    assert args[2].startswith(str(folder) + os.sep + '.c.ini.') and args[3] == SECRET.decode()
    assert path.read_bytes() == SECRET and names(folder) == ['c.ini', 'seen by validate']


def test_validate_needs_percent_s():
    with pytest.raises(writer.WriteError, match='must contain %s'):
        writer.validate_argv('/bin/true 100%', '/tmp/x')


def test_a_failed_validate_writes_nothing_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / 'c.ini'
    path.write_bytes(b'old\n')
    with pytest.raises(writer.ValidateFailed) as info:
        writer.write(writer.read(str(path)), SECRET, backup=True, validate='/bin/sh -c "exit 3" x %s')
    assert info.value.rc == 3
    assert path.read_bytes() == b'old\n' and names(tmp_path) == ['c.ini']


def test_a_change_made_while_validate_runs_is_detected(tmp_path):
    path = tmp_path / 'c.ini'
    path.write_bytes(b'old\n')
    snapshot = writer.read(str(path))

    def someone_appends(argv):
        with open(str(path), 'ab') as handle:
            handle.write(b'added meanwhile\n')
        return 0, '', ''
    with pytest.raises(writer.ChangedMeanwhile):
        writer.write(snapshot, SECRET, backup=True, validate='check %s', run=someone_appends)
    assert path.read_bytes() == b'old\nadded meanwhile\n' and names(tmp_path) == ['c.ini']


@pytest.mark.parametrize('broken', ['mkstemp', 'replace', 'chmod'])
def test_no_temporary_file_is_left_on_a_system_error(tmp_path, monkeypatch, broken):
    path = tmp_path / 'c.ini'
    path.write_bytes(b'old\n')
    snapshot = writer.read(str(path))

    def refuse(*args, **kwargs):
        raise OSError(13, 'Permission denied')
    target = writer.tempfile if broken == 'mkstemp' else writer.os
    monkeypatch.setattr(target, broken, refuse)
    with pytest.raises(writer.WriteError, match='Permission denied; nothing was written'):
        writer.write(snapshot, SECRET)
    monkeypatch.undo()
    assert path.read_bytes() == b'old\n' and names(tmp_path) == ['c.ini']


def test_pruning_knows_both_backup_names_and_orders_by_timestamp(tmp_path):
    path = tmp_path / 'c.ini'
    for name in ('c.ini.9.2021-05-01@00:00:00~', 'c.ini.2023-01-01@00:00:00.000001~', 'c.ini.5.2022-01-01@00:00:00~',
                 'c.ini.other~', 'd.ini.2020-01-01@00:00:00.000001~'):
        (tmp_path / name).write_text('x')
    deleted = writer.prune_backups(str(path), 2)
    assert [os.path.basename(d) for d in deleted] == ['c.ini.9.2021-05-01@00:00:00~']
    assert names(tmp_path) == ['c.ini.2023-01-01@00:00:00.000001~', 'c.ini.5.2022-01-01@00:00:00~', 'c.ini.other~',
                               'd.ini.2020-01-01@00:00:00.000001~']


def _day(day):
    return datetime.datetime(2024, 1, day, 12, 0, 0)


@pytest.mark.parametrize('keep, keep_days, expired', [
    (None, None, []),
    (2, None, ['d1', 'd5']),
    (None, 10, ['d1', 'd5']),  # older than 10 days on 20/01: the 1st and the 5th
    (None, 1, ['d1', 'd5', 'd15']),  # all too old: the newest one stays anyway
    (1, 10, ['d1', 'd5', 'd15']),
    (3, 3, ['d1', 'd5', 'd15']),  # both limits apply, newest kept
])
def test_select_expired_by_count_and_age(keep, keep_days, expired):
    dated = [(_day(15), 'd15'), (_day(1), 'd1'), (_day(18), 'd18'), (_day(5), 'd5')]
    assert writer.select_expired(dated, keep, keep_days, now=_day(20)) == expired


@pytest.mark.parametrize('keep, keep_days, option', [(0, None, 'backup_keep'), (None, -1, 'backup_keep_days'),
                                                     (True, None, 'backup_keep'), (None, '3', 'backup_keep_days')])
def test_retention_limits_must_be_whole_numbers(tmp_path, keep, keep_days, option):
    with pytest.raises(writer.WriteError, match='^%s: must be 1 or more' % option):
        writer.select_expired([], keep, keep_days)
    path = tmp_path / 'c.ini'
    path.write_bytes(b'old\n')
    with pytest.raises(writer.WriteError, match='^%s: must be 1 or more' % option):
        writer.write(writer.read(str(path)), b'new\n', backup=True, backup_keep=3 if keep is None else keep,
                     backup_keep_days=keep_days)
    assert path.read_bytes() == b'old\n' and names(tmp_path) == ['c.ini']


def test_pruning_by_age_keeps_recent_ones_and_tightens_them(tmp_path):
    path = tmp_path / 'c.ini'
    path.write_text('live')
    for name in ('c.ini.1.2024-01-01@00:00:00~', 'c.ini.2024-01-18@00:00:00.000001~', 'c.ini.2024-01-19@00:00:00.5~',
                 'c.ini.2024-13-40@00:00:00.000001~'):
        (tmp_path / name).write_text('x')
        os.chmod(str(tmp_path / name), 0o666)
    deleted = writer.prune_backups(str(path), keep_days=7, now=datetime.datetime(2024, 1, 20))
    assert [os.path.basename(d) for d in deleted] == ['c.ini.1.2024-01-01@00:00:00~']
    # '.5' is not six digits and 13/40 is no date: not ours, left alone (mode too)
    assert names(tmp_path) == ['c.ini', 'c.ini.2024-01-18@00:00:00.000001~', 'c.ini.2024-01-19@00:00:00.5~',
                               'c.ini.2024-13-40@00:00:00.000001~']
    assert mode_of(tmp_path / 'c.ini.2024-01-18@00:00:00.000001~') == 0o660
    assert mode_of(tmp_path / 'c.ini.2024-13-40@00:00:00.000001~') == 0o666


def test_pruning_never_deletes_the_live_file_nor_links_nor_folders(tmp_path):
    # The live file is itself named like a backup (a symlink points there): pruning leaves it.
    live = tmp_path / 'c.ini.2000-01-01@00:00:00.000001~'
    live.write_text('live')
    link = tmp_path / 'c.ini'
    os.symlink(live.name, str(link))
    os.mkdir(str(tmp_path / 'c.ini.2000-01-02@00:00:00.000001~'))
    os.symlink('/etc/hostname', str(tmp_path / 'c.ini.2000-01-03@00:00:00.000001~'))
    (tmp_path / 'c.ini.2000-01-04@00:00:00.000001~').write_text('old')
    (tmp_path / 'c.ini.2000-01-05@00:00:00.000001~').write_text('newest')
    deleted = writer.prune_backups(str(link), keep=1, keep_days=1)
    assert [os.path.basename(d) for d in deleted] == ['c.ini.2000-01-04@00:00:00.000001~']
    assert live.read_text() == 'live' and os.path.islink(str(link))
    assert 'c.ini.2000-01-05@00:00:00.000001~' in names(tmp_path)
    assert os.path.isdir(str(tmp_path / 'c.ini.2000-01-02@00:00:00.000001~'))


def test_backups_are_pruned_by_age_after_a_new_one(tmp_path):
    path = tmp_path / 'c.ini'
    path.write_bytes(b'v1\n')
    (tmp_path / 'c.ini.2001-01-01@00:00:00.000001~').write_bytes(b'v0\n')
    made = writer.write(writer.read(str(path)), b'new\n', backup=True, backup_keep=5, backup_keep_days=1)
    assert writer.backups_of(str(path)) == [made] and open(made, 'rb').read() == b'v1\n'


def test_backups_are_pruned_after_a_new_one(tmp_path):
    path = tmp_path / 'c.ini'
    for round_ in range(4):
        path.write_bytes(b'v%d\n' % round_)
        writer.write(writer.read(str(path)), b'new\n', backup=True, backup_keep=2)
    backups = writer.backups_of(str(path))
    assert [open(b, 'rb').read() for b in backups] == [b'v2\n', b'v3\n']
