# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""The one way the collection writes a file that may hold secrets (configuration, accounts, reports).

``read`` then ``write``: a temporary file in the same folder, the ``validate`` command run on it
without a shell, a check that nobody changed the file since it was read, a private backup, one
atomic rename. Symlinks are followed (the link stays a link, as with ``ansible.builtin.copy``),
special files are refused before they are opened, missing parent folders are made 0700 whatever
the umask, and no temporary file outlives a call. Pure Python, importable without Ansible;
messages name the path, never the content.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import re
import shlex
import stat
import subprocess
import tempfile

OTHERS = 0o007
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700

# 0.1.0 named backups as module.backup_local does (PATH.PID.YYYY-MM-DD@HH:MM:SS~); today's are
# PATH.YYYY-MM-DD@HH:MM:SS.ffffff~. Pruning knows both.
_BACKUP_RE = r'^%s\.(?:\d+\.)?(?P<stamp>\d{4}-\d{2}-\d{2}@\d{2}:\d{2}:\d{2}(?:\.\d{6})?)~$'


class WriteError(Exception):
    """Nothing was written; the message names the path and the reason."""


class ChangedMeanwhile(WriteError):
    """The file changed between ``read`` and ``write``: merge again on the new content."""


class Snapshot(object):
    """A file as read: ``path`` (symlinks resolved), ``content`` (bytes, None when absent), ``mode``."""

    def __init__(self, path, content, mode):
        self.path = path
        self.content = content
        self.mode = mode

    @property
    def exists(self):
        return self.content is not None


def target_of(path):
    """The file that is really written: the end of a symlink chain, even a dangling one."""
    return os.path.realpath(path) if os.path.islink(path) else path


def _refuse_special(path):
    try:
        info = os.stat(path)
    except OSError:
        return None
    if stat.S_ISDIR(info.st_mode):
        raise WriteError('%s: is a directory, not a file' % path)
    if not stat.S_ISREG(info.st_mode):
        # Checked before any open(): reading a FIFO would hang, a device would be replaced.
        raise WriteError('%s: is a special file (FIFO, socket or device), not a regular file; nothing was written' % path)
    return info


def read(path):
    """Read ``path`` (following symlinks). Raises WriteError for a special file or a read error."""
    real = target_of(path)
    info = _refuse_special(real)
    if info is None:
        return Snapshot(real, None, None)
    try:
        with open(real, 'rb') as handle:
            return Snapshot(real, handle.read(), stat.S_IMODE(info.st_mode))
    except (IOError, OSError) as exc:
        raise WriteError('%s: cannot read: %s' % (path, exc.strerror or exc))


def secured_mode(mode, secret=True):
    """The mode a file ends with: a secret-bearing file loses every bit for others."""
    if mode is None:
        return PRIVATE_FILE
    return mode & ~OTHERS if secret else mode


def make_parents(directory):
    """Create the missing folders of ``directory`` at 0700 (chmod after mkdir: the umask cannot widen it)."""
    missing = []
    while directory and not os.path.isdir(directory):
        missing.append(directory)
        directory = os.path.dirname(directory)
    for folder in reversed(missing):
        try:
            os.mkdir(folder, PRIVATE_DIR)
            os.chmod(folder, PRIVATE_DIR)
        except OSError as exc:
            raise WriteError('%s: cannot create the folder: %s; nothing was written' % (folder, exc.strerror or exc))


def validate_argv(command, tmp_path):
    """The validate command as an argument list, ``%s`` replaced by ``tmp_path``; other ``%`` kept."""
    argv = shlex.split(command)
    if not any('%s' in arg for arg in argv):
        raise WriteError('validate: must contain %s (the path of the file to check)')
    return [arg.replace('%s', tmp_path) for arg in argv]


def _run(argv):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return proc.returncode, proc.stdout.decode('utf-8', 'replace'), proc.stderr.decode('utf-8', 'replace')


class ValidateFailed(WriteError):
    def __init__(self, msg, rc, stdout, stderr):
        super(ValidateFailed, self).__init__(msg)
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr


def _backup_name(path):
    return '%s.%s~' % (path, datetime.datetime.now().strftime('%Y-%m-%d@%H:%M:%S.%f'))


def _stamp_time(stamp):
    """The local time a backup name carries (both naming schemes); None for an impossible date."""
    try:
        return datetime.datetime.strptime(stamp, '%Y-%m-%d@%H:%M:%S.%f' if '.' in stamp else '%Y-%m-%d@%H:%M:%S')
    except ValueError:
        return None  # looks like a backup name but is not one of ours: left alone


def _dated_backups(path):
    """(time, path) of each backup of ``path`` (both naming schemes), oldest first."""
    directory = os.path.dirname(path) or '.'
    pattern = re.compile(_BACKUP_RE % re.escape(os.path.basename(path)))
    found = []
    for name in os.listdir(directory):
        match = pattern.match(name)
        if match and _stamp_time(match.group('stamp')):
            found.append((match.group('stamp'), name))
    return [(_stamp_time(stamp), os.path.join(directory, name)) for stamp, name in sorted(found)]


def backups_of(path):
    """Backups of ``path`` (both naming schemes), oldest first."""
    return [full for _when, full in _dated_backups(path)]


def check_retention(keep=None, keep_days=None):
    """Raise WriteError naming the option when a retention limit is not a whole number of at least 1."""
    for option, value in (('backup_keep', keep), ('backup_keep_days', keep_days)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise WriteError('%s: must be 1 or more, got %r' % (option, value))


def select_expired(dated, keep=None, keep_days=None, now=None):
    """The paths of ``dated`` ((time, path) pairs) beyond the ``keep`` newest or older than ``keep_days`` days.

    The newest one always stays, so that the last change can be undone however old it is.
    Pure: shared by backups and by any other dated file set (reports).
    """
    check_retention(keep, keep_days)
    ordered = sorted(dated, key=lambda pair: pair[0])
    survivors = ordered[max(0, len(ordered) - keep):] if keep else ordered
    if keep_days:
        limit = (now or datetime.datetime.now()) - datetime.timedelta(days=keep_days)
        survivors = [pair for pair in survivors if pair[0] >= limit] or ordered[-1:]
    kept = set(full for _when, full in survivors)
    return [full for _when, full in ordered if full not in kept]


def _is_live(full, live):
    try:
        return os.path.samefile(full, live)
    except OSError:
        return False


def prune_backups(path, keep=None, keep_days=None, secret=True, now=None):
    """Delete the backups of ``path`` beyond the ``keep`` newest or older than ``keep_days`` days.

    Only regular files named as backups go; never the live file (nor what a link points to), never the
    newest backup. The kept ones lose any access for others. Returns the deleted paths, oldest first.
    """
    live = target_of(path)
    dated = [(when, full) for when, full in _dated_backups(path)
             if stat.S_ISREG(os.lstat(full).st_mode) and not _is_live(full, live)]
    doomed = select_expired(dated, keep, keep_days, now)
    for full in doomed:
        os.unlink(full)
    if secret:
        for _when, full in dated:
            if full in doomed:
                continue
            mode = stat.S_IMODE(os.lstat(full).st_mode)
            if mode & OTHERS:
                os.chmod(full, mode & ~OTHERS)
    return doomed


def _private_copy(data, directory, base, suffix):
    """A 0600 temporary file in ``directory`` holding ``data``, fsynced; returns its path."""
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % base, suffix=suffix, dir=directory)
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def write(snapshot, content, secret=True, keep_mode=False, backup=False, backup_keep=3, validate=None,
          run=None, warn=None, create_parents=False, backup_keep_days=None):
    """Replace the file ``snapshot`` was read from by ``content``, atomically. Returns the backup path or None.

    ``keep_mode``: the caller applies an explicit mode afterwards, so the current one is kept as is.
    ``create_parents``: make missing folders (0700); without it a missing folder is an error.
    ``backup_keep`` / ``backup_keep_days``: after a new backup, keep that many / that recent (see prune_backups).
    ``run(argv) -> (rc, stdout, stderr)`` runs ``validate`` (default: subprocess, no shell).
    ``warn(text)`` hears about a mode tightened. Raises WriteError (ChangedMeanwhile, ValidateFailed);
    on any error the file is as it was and no temporary file is left.
    """
    path = snapshot.path
    directory = os.path.dirname(path) or '.'
    base = os.path.basename(path)
    if backup:
        check_retention(backup_keep, backup_keep_days)
    if create_parents:
        make_parents(directory)
    elif not os.path.isdir(directory):
        raise WriteError('%s: the directory %s does not exist; nothing was written' % (path, directory))
    if keep_mode:
        mode = snapshot.mode if snapshot.mode is not None else PRIVATE_FILE
    else:
        mode = secured_mode(snapshot.mode, secret)
        if snapshot.mode is not None and mode != snapshot.mode and warn:
            warn('%s: was readable or writable by others (mode %04o); now %04o' % (path, snapshot.mode, mode))
    tmp = None
    try:
        try:
            tmp = _private_copy(content, directory, base, '.tmp')
        except (IOError, OSError) as exc:
            raise WriteError('%s: cannot write in %s: %s; nothing was written' % (path, directory, exc.strerror or exc))
        if snapshot.exists:
            info = os.stat(path)
            try:
                os.chown(tmp, info.st_uid, info.st_gid)
            except OSError:
                pass  # not root: the file becomes ours, as with atomic_move
        os.chmod(tmp, mode)
        if validate:
            rc, out, err = (run or _run)(validate_argv(validate, tmp))
            if rc != 0:
                raise ValidateFailed('%s: the validate command failed (rc=%d); nothing was written' % (path, rc), rc, out, err)
        if read(path).content != snapshot.content:
            raise ChangedMeanwhile('%s: changed while it was being updated; nothing was written' % path)
        backup_file = None
        if backup and snapshot.exists:
            backup_file = _backup(snapshot, directory, base)
            prune_backups(path, backup_keep, backup_keep_days, secret)
        os.replace(tmp, path)
        tmp = None
        _fsync_dir(directory)
        return backup_file
    except (IOError, OSError) as exc:
        raise WriteError('%s: cannot replace the file: %s; nothing was written' % (path, exc.strerror or exc))
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def _backup(snapshot, directory, base):
    """Keep the old content as ``<file>.<timestamp>~``, 0600, appearing only once complete."""
    tmp = _private_copy(snapshot.content, directory, base, '.bak')
    try:
        name = _backup_name(snapshot.path)
        os.rename(tmp, name)
    except BaseException:
        os.unlink(tmp)
        raise
    return name


def secure_existing(snapshot, secret=True, warn=None):
    """Remove others' access from an unchanged secret-bearing file; True when its mode changed."""
    if not snapshot.exists:
        return False
    mode = secured_mode(snapshot.mode, secret)
    if mode == snapshot.mode:
        return False
    os.chmod(snapshot.path, mode)
    if warn:
        warn('%s: was readable or writable by others (mode %04o); now %04o' % (snapshot.path, snapshot.mode, mode))
    return True


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
