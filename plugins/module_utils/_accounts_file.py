# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""Edit one login of a ``chorus_accounts`` vars file without decrypting the others.

The file holds one mapping, ``chorus_accounts``, keyed by technical login; each password is an inline
``!vault`` value. An edit replaces (or appends) the text of one login's entry and leaves every other
byte of the file as it was: other accounts' ciphertexts, comments, other variables. Ansible's own YAML
round trip would need the vault secrets loaded to re-emit ``!vault`` values and would drop comments, so
the edit is textual, then checked by parsing the result: every other entry must parse to the same
values as before, the edited one to the intended values, or nothing is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import os
import re
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - the module runs on a POSIX controller
    fcntl = None

try:
    import yaml
    HAS_YAML = True
    YAML_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - PyYAML ships with ansible-core on the controller
    yaml = None
    HAS_YAML = False
    YAML_IMPORT_ERROR = exc

VARIABLE = 'chorus_accounts'
VAULT_HEADER = '$ANSIBLE_VAULT;'
# Order of the keys in an entry the collection writes; unknown keys a person added are kept after them.
ENTRY_KEYS = ('password', 'password_changed_on', 'environment', 'structures', 'validated',
              'last_check_status', 'last_check_detail', 'last_check_on')
# Lists an update adds to rather than replaces: the SIRETs an account serves (enroll fills them in).
MERGED_KEYS = ('structures',)

NEW_FILE_HEADER = (
    '---\n'
    '# Chorus Pro technical accounts, keyed by technical login (compte technique).\n'
    '# Written by the chorus.corail enroll and renew playbooks: each password is vault-encrypted on its\n'
    '# own, so that recording or renewing one account never decrypts the others. Structures name their\n'
    '# account in corail_structures (or in the register of collectivités).\n'
)

_TOP_KEY = re.compile(r'''^(?P<key>chorus_accounts|'chorus_accounts'|"chorus_accounts")[ \t]*:(?P<rest>.*)$''')
_KEY_LINE = re.compile(r'''^(?P<key>'(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|[^\s#'"\-?:,\[\]{}&*!|>%@`][^#]*?)[ \t]*:(?:[ \t]|$)''')


# Long enough for another enrolment to validate online and write; short enough not to hang a run.
LOCK_TIMEOUT = 120


class AccountsFileError(Exception):
    """The file cannot be edited safely; the message says why and never quotes a secret."""


class Vaulted(object):
    """An inline ``!vault`` value, kept as its ciphertext text (never decrypted here)."""

    __slots__ = ('text',)

    def __init__(self, text):
        self.text = normalise_vaulttext(text)

    def __eq__(self, other):
        return isinstance(other, Vaulted) and other.text == self.text

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.text)

    def __repr__(self):
        return 'Vaulted(<%d characters>)' % len(self.text)


def normalise_vaulttext(text):
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return '\n'.join(lines) + '\n'


def is_vaulttext(text):
    return isinstance(text, str) and text.lstrip().startswith(VAULT_HEADER)


if HAS_YAML:
    class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
        """Safe loader that keeps ``!vault`` values as ciphertext and reads ``!unsafe`` as text."""

    def _construct_vault(loader, node):
        return Vaulted(loader.construct_scalar(node))

    def _construct_unsafe(loader, node):
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_mapping(node, deep=True)

    _Loader.add_constructor('!vault', _construct_vault)
    _Loader.add_constructor('!unsafe', _construct_unsafe)

    class _Dumper(yaml.SafeDumper):  # pylint: disable=too-many-ancestors
        """Safe dumper that writes Vaulted values as ``!vault |`` blocks, as ansible-vault does."""

        def ignore_aliases(self, data):
            return True

    def _represent_vault(dumper, data):
        return dumper.represent_scalar('!vault', data.text, style='|')

    _Dumper.add_representer(Vaulted, _represent_vault)


def load(text):
    """Parse the file's text; returns the chorus_accounts mapping (empty when absent)."""
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))  # nosec B506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = ' (line %d)' % (mark.line + 1) if mark is not None else ''
        raise AccountsFileError('is not valid YAML%s: %s' % (where, getattr(exc, 'problem', None) or 'parse error'))
    documents = [doc for doc in documents if doc is not None]
    if not documents:
        return {}
    if len(documents) > 1:
        raise AccountsFileError('holds several YAML documents; a vars file holds one')
    data = documents[0]
    if not isinstance(data, dict):
        raise AccountsFileError('must hold a mapping of variables, got %s' % type(data).__name__)
    accounts = data.get(VARIABLE)
    if accounts is None:
        return {}
    if not isinstance(accounts, dict):
        raise AccountsFileError('%s must be a mapping keyed by login, got %s' % (VARIABLE, type(accounts).__name__))
    return accounts


def lock_path(path):
    """The lock of ``path``: a hidden file next to it, which Ansible does not load as vars."""
    return os.path.join(os.path.dirname(path), '.%s.lock' % os.path.basename(path))


@contextlib.contextmanager
def locked(path, timeout=LOCK_TIMEOUT, poll=0.05):
    """Hold an exclusive lock on ``path`` (the real file, symlinks resolved) for a read-modify-write.

    Every enrolment reads, edits and writes the file under this lock, so that two runs at once each
    add their entry instead of the last writer dropping the other's. The lock file is removed on the
    way out, while still held; a run that was waiting on it then finds another (or no) file at its
    name and locks again, so that two runs never hold two different lock files at once.
    """
    if fcntl is None:  # pragma: no cover
        raise AccountsFileError('cannot be locked on this platform (no fcntl); nothing was written')
    name = lock_path(path)
    deadline = time.monotonic() + timeout
    while True:
        fd = _acquire(name, deadline, timeout, poll)
        try:
            same = os.stat(name).st_ino == os.fstat(fd).st_ino
        except OSError:
            same = False
        if same:
            break
        os.close(fd)  # the holder before us removed it: lock the new one
    try:
        yield
    finally:
        try:
            os.unlink(name)
        except OSError:
            pass
        os.close(fd)  # releases the lock


def _acquire(name, deadline, timeout, poll):
    try:
        fd = os.open(name, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise AccountsFileError('cannot be locked: %s: %s; nothing was written' % (name, exc.strerror or exc))
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except (IOError, OSError) as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                os.close(fd)
                raise AccountsFileError('cannot be locked: %s; nothing was written' % (exc.strerror or exc))
            if time.monotonic() >= deadline:
                os.close(fd)
                raise AccountsFileError('is locked by another enrolment or renewal since more than %d s (%s); '
                                        'nothing was written, run again once it ended' % (timeout, name))
            time.sleep(poll)


def render_entry(login, entry, indent):
    """Text of one ``login:`` entry at ``indent`` spaces, keys in ENTRY_KEYS order."""
    ordered = {}
    for key in ENTRY_KEYS:
        if entry.get(key) is not None:
            ordered[key] = entry[key]
    for key in entry:
        if key not in ordered and entry[key] is not None:
            ordered[key] = entry[key]
    text = yaml.dump({login: ordered}, Dumper=_Dumper, default_flow_style=False, sort_keys=False,
                     allow_unicode=True, width=100000, indent=2)
    pad = ' ' * indent
    return ''.join(pad + line if line.strip() else line for line in text.splitlines(True))


def _indent(line):
    return len(line) - len(line.lstrip(' '))


def _is_content(line):
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith('#')


def _locate(lines):
    """Find the chorus_accounts block: (key line index, end index, child indent or None, inline rest)."""
    start = None
    for index, line in enumerate(lines):
        match = _TOP_KEY.match(line.rstrip('\r\n'))
        if match:
            if start is not None:
                raise AccountsFileError('defines %s twice' % VARIABLE)
            start = index
            rest = match.group('rest').strip()
    if start is None:
        return None
    end = len(lines)
    for index in range(start + 1, len(lines)):
        if _is_content(lines[index]) and _indent(lines[index]) == 0:
            end = index
            break
    child = None
    for index in range(start + 1, end):
        if _is_content(lines[index]):
            child = _indent(lines[index])
            break
    return start, end, child, rest


def _entries(lines, start, end, child):
    """Map each login of the block to its (first, last + 1) line span, trailing comments excluded."""
    spans = {}
    order = []
    current = None
    for index in range(start + 1, end):
        line = lines[index]
        if not _is_content(line):
            continue
        indent = _indent(line)
        if indent < child:
            raise AccountsFileError('line %d is indented less than the entries of %s' % (index + 1, VARIABLE))
        if indent == child:
            match = _KEY_LINE.match(line[child:].rstrip('\r\n'))
            if not match:
                raise AccountsFileError('line %d: %s must be a block mapping keyed by login (one "login:" line per '
                                        'account, its values indented below)' % (index + 1, VARIABLE))
            try:
                key = yaml.load(match.group('key'), Loader=_Loader)  # nosec B506 - SafeLoader subclass
            except yaml.YAMLError:
                raise AccountsFileError('line %d: cannot read the login key' % (index + 1))
            current = str(key)
            spans[current] = [index, index + 1]
            order.append(current)
        elif current is None:
            raise AccountsFileError('line %d is not under a login of %s' % (index + 1, VARIABLE))
        else:
            spans[current][1] = index + 1
    return spans, order


def _public(entry):
    """An entry as results and diffs may show it: the password replaced by a marker."""
    if entry is None:
        return None
    shown = {}
    for key, value in entry.items():
        if isinstance(value, Vaulted):
            shown[key] = '<vault-encrypted>'
        elif key == 'password':
            shown[key] = '<NOT ENCRYPTED>' if value else value
        else:
            shown[key] = value
    return shown


def plan(text, login, state='present', updates=None, vaulted_password=None, replace_validated=True):
    """Compute the edit.

    ``replace_validated``: when false, a new password that is not itself validated (``updates``
    without ``validated: true``) never replaces a password marked ``validated: true``: a password
    Chorus Pro accepted is shown once and must not be lost to a typo.

    Returns ``(new_text, before_entry, after_entry, action)``: entries as the file holds them (Vaulted
    passwords), ``action`` one of added, updated, removed, unchanged. ``text`` is the current file (None or
    '' when it does not exist). Raises AccountsFileError when the file cannot be edited safely.
    """
    if not HAS_YAML:  # pragma: no cover
        raise AccountsFileError('needs PyYAML')
    if vaulted_password is not None and not is_vaulttext(vaulted_password):
        # A plaintext password must never reach the file.
        raise AccountsFileError('the password given is not vault-encrypted ciphertext (it must start with %s)' % VAULT_HEADER)
    text = text or ''
    before_accounts = load(text)
    before = before_accounts.get(login)
    if before is not None and not isinstance(before, dict):
        raise AccountsFileError('%s entry %s must be a mapping, got %s' % (VARIABLE, login, type(before).__name__))

    if state == 'absent':
        if before is None:
            return text, None, None, 'unchanged'
        after = None
    else:
        after = dict(before or {})
        if (vaulted_password is not None and not replace_validated and before is not None
                and before.get('validated') is True and (updates or {}).get('validated') is not True):
            raise AccountsFileError(
                'already holds a validated password for %s (last check %s on %s) and the new one is not validated; '
                'nothing was written. Check the new password, or replace the validated one anyway with '
                '-e chorus_enroll_replace=true' % (login, before.get('last_check_status') or 'ok',
                                                   before.get('last_check_on') or 'an unknown day'))
        if vaulted_password is not None:
            after['password'] = Vaulted(vaulted_password)
        for key, value in (updates or {}).items():
            if value is not None and key in MERGED_KEYS:
                known = [str(item) for item in (after.get(key) or []) if item is not None]
                value = known + [str(item) for item in value if str(item) not in known]
            if value is not None:
                after[key] = value
        if not isinstance(after.get('password'), Vaulted):
            if before is None:
                raise AccountsFileError('%s has no entry for %s yet: a vault-encrypted password is needed to add one'
                                        % (VARIABLE, login))
            raise AccountsFileError('the password of %s in %s is not vault-encrypted; give a new vault-encrypted '
                                    'password to replace it' % (login, VARIABLE))
        if before is not None and after == before:
            return text, before, after, 'unchanged'

    new_text = _splice(text, login, after)
    _verify(new_text, before_accounts, login, after)
    action = 'removed' if after is None else ('added' if before is None else 'updated')
    return new_text, before, after, action


def _splice(text, login, after):
    if text and not text.endswith('\n'):
        text += '\n'
    lines = text.splitlines(True)
    located = _locate(lines) if lines else None

    if located is None:
        if after is None:
            return text
        if not any(_is_content(line) for line in lines):
            head = NEW_FILE_HEADER if not lines else ''.join(lines)
            return head + VARIABLE + ':\n' + render_entry(login, after, 2)
        return ''.join(lines) + VARIABLE + ':\n' + render_entry(login, after, 2)

    start, end, child, rest = located
    rest_value = rest.split(' #', 1)[0].strip() if not rest.startswith('#') else ''
    if rest_value:
        if rest_value not in ('{}', 'null', '~') or child is not None:
            raise AccountsFileError('%s is written in flow style on one line; write it as a block mapping '
                                    '(one "login:" line per account) so that it can be edited safely' % VARIABLE)
        if after is None:
            return text
        lines[start] = VARIABLE + ':\n'
        return ''.join(lines[:start + 1]) + render_entry(login, after, 2) + ''.join(lines[start + 1:])

    if child is None:
        if after is None:
            return text
        return ''.join(lines[:start + 1]) + render_entry(login, after, 2) + ''.join(lines[start + 1:])
    if child == 0:
        raise AccountsFileError('the entries of %s must be indented below it' % VARIABLE)

    spans, order = _entries(lines, start, end, child)
    if login in spans:
        first, last = spans[login]
        replacement = render_entry(login, after, child) if after is not None else ''
        return ''.join(lines[:first]) + replacement + ''.join(lines[last:])
    if after is None:
        return text
    # Append after the last entry's content, before any trailing comments of the block.
    last = max(span[1] for span in spans.values())
    return ''.join(lines[:last]) + render_entry(login, after, child) + ''.join(lines[last:])


def _verify(new_text, before_accounts, login, after):
    """Parse the result; anything but the intended change means the splice went wrong."""
    try:
        accounts = load(new_text)
    except AccountsFileError as exc:
        raise AccountsFileError('the edit would produce an unreadable file (%s); nothing was written' % exc)
    expected = dict(before_accounts)
    if after is None:
        expected.pop(login, None)
    else:
        expected[login] = after
    if accounts != expected:
        raise AccountsFileError('the edit would change other entries than %s; nothing was written. Rewrite the file '
                                'in block style, one "login:" line per account' % login)


def public_entry(entry):
    return _public(entry)


def diff_text(login, entry):
    """YAML text of an entry for diffs, the password masked."""
    if entry is None:
        return ''
    return yaml.safe_dump({VARIABLE: {login: _public(entry)}}, default_flow_style=False, sort_keys=False,
                          allow_unicode=True, width=100000)
