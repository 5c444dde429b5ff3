# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""The ini format: one section per PISTE application and per structure, ``key = value`` lines.

Edits are made on the lines: every byte outside the owned keys stays as it was (comments, order,
other sections, encoding and byte order mark, line endings).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.chorus.corail.plugins.module_utils._config_model import (
    APP,
    KINDS,
    MANAGED_BY,
    PLACEHOLDER,
    STRUCTURE,
    CorruptConfig,
    LayoutError,
    decode_bom,
    line_body as _body,
    newline_of,
    split_lines,
)

NAME = 'ini'
HEADER = '; ' + MANAGED_BY
DEFAULT_LAYOUT = {
    'app_section': 'chorus.piste.{name}',
    'structure_section': 'chorus.structure.{siret}',
    APP: {
        'environment': 'environment',
        'client_id': 'client_id',
        'client_secret': 'client_secret',
        'oauth_url': 'oauth_url',
        'api_url': 'api_url',
    },
    STRUCTURE: {
        'name': 'name',
        'account': 'login',
        'password': 'password',
        'piste_app': 'piste_app',
        'service_code': 'service_code',
        'id_structure_cpp': 'id_structure_cpp',
    },
}
SETTINGS = ('app_section', 'structure_section')
# Values are written in the file's own encoding: a character it lacks is refused, not replaced.
ESCAPES_UNENCODABLE = False

_SECTION_CHARS_RE = re.compile(r'^[A-Za-z0-9 _.:/@+-]*$')
_INI_KEY_RE = re.compile(r'^[A-Za-z0-9_.-]+$')


def check_layout(data):
    for kind in KINDS:
        placeholder = PLACEHOLDER[kind]
        name = '%s_section' % kind
        section = data[name]
        if section.count(placeholder) != 1 or '{' in section.replace(placeholder, '') or '}' in section.replace(placeholder, ''):
            raise LayoutError('key_layout.%s must contain %s exactly once and no other braces' % (name, placeholder))
        if not _SECTION_CHARS_RE.match(section.replace(placeholder, '')) or section != section.strip():
            raise LayoutError('key_layout.%s may only use letters, digits and " _.:/@+-" (no "]", "=" or ";")' % name)
    if data['app_section'].lower().replace('{name}', '') == data['structure_section'].lower().replace('{siret}', ''):
        raise LayoutError('key_layout.app_section and key_layout.structure_section must differ')


def check_key(where, key, placeholder):
    if not _INI_KEY_RE.match(key):
        raise LayoutError('%s must be a plain ini key (letters, digits, "_", "." or "-")' % where)


def names_of(layout, block):
    """[(what, name, reads back as itself)] a block takes in a file: its section."""
    name = layout.group(block.kind, block.ident)
    return [('section [%s]' % name, name, layout.classify_section(name) == (block.kind, block.ident))]


def decode(data):
    """Return (bom, codec, text) such that ``bom + text.encode(codec) == data``."""
    found = decode_bom(data)
    if found:
        return found
    try:
        return b'', 'utf-8', data.decode('utf-8')
    except UnicodeDecodeError:
        pass
    # Windows ini files are often ANSI: cp1252 when it reads, latin-1 (which reads anything) otherwise.
    for codec in ('cp1252', 'latin-1'):
        try:
            return b'', codec, data.decode(codec)
        except UnicodeDecodeError:
            continue
    raise CorruptConfig('the file could not be decoded')  # pragma: no cover (latin-1 decodes all bytes)


def parse(data, text, layout, codec):
    return IniDocument(text, layout)


def render_new(layout, blocks):
    return render_new_ini(layout, blocks)


def verify(content, layout, after):
    """Nothing to read back: the line edits cannot reach outside the owned keys."""


def diff_lines(layout, owner, lines):
    return ['[%s]' % layout.group(*owner)] + ['%s = %s' % (layout.field_key(owner[0], f), v) for f, v in lines]


# ---------------------------------------------------------------------------------------------
# The document

_SECTION_RE = re.compile(r'^\s*\[([^\]\r\n]*)\]\s*(?:[;#].*)?$')
_KEY_LINE_RE = re.compile(r'^(?P<lead>\s*)(?P<key>[^=\s;#\[][^=]*?)(?P<sep>\s*=\s*)(?P<value>.*?)\s*$')
_COMMENT_RE = re.compile(r'^\s*[;#]')
_INI_QUOTE_TRIGGERS = frozenset(';#"\'\\')


def encode_ini_value(value):
    """Render a value for ``key = value``; quoted (with \\\\ and \\" escapes) when it could be misread.

    Quoting applies to an empty value, leading or trailing white space, and any of ; # " ' \\
    (inline comments and quotes are where ini readers disagree).
    """
    if value and value == value.strip() and not (_INI_QUOTE_TRIGGERS & set(value)):
        return value
    return '"%s"' % value.replace('\\', '\\\\').replace('"', '\\"')


def decode_ini_value(raw):
    """Inverse of ``encode_ini_value``; a value not in double quotes is taken literally."""
    if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
        return re.sub(r'\\(.)', r'\1', raw[1:-1])
    return raw


class _IniSection(object):
    def __init__(self, name, header):
        self.name = name
        self.header = header          # line index of [name]
        self.end = header + 1         # first line index after the section
        self.owner = None             # (kind, ident) when owned
        self.keys = {}                # field -> line index
        self.values = {}              # field -> decoded value
        self.content_end = header + 1  # after the last line that is neither blank nor comment


class IniDocument(object):
    def __init__(self, text, layout):
        self.layout = layout
        self.lines = split_lines(text)
        self.newline = newline_of(text)
        self.sections = []
        self.owned = {}  # (kind, ident) -> _IniSection
        self._parse()

    def _parse(self):
        current = None
        for index, line in enumerate(self.lines):
            body = _body(line)
            match = _SECTION_RE.match(body)
            if match:
                current = _IniSection(match.group(1).strip(), index)
                self.sections.append(current)
                continue
            if current is None:
                continue
            current.end = index + 1
            if body.strip() and not _COMMENT_RE.match(body):
                current.content_end = index + 1
        seen = {}
        for section in self.sections:
            owner = self.layout.classify_section(section.name)
            if owner is None:
                continue
            if owner in seen:
                raise CorruptConfig('section [%s] appears twice (lines %d and %d): the file cannot be updated safely'
                                    % (section.name, seen[owner].header + 1, section.header + 1))
            seen[owner] = section
            section.owner = owner
            self._read_keys(section)
        self.owned = seen

    def _read_keys(self, section):
        kind = section.owner[0]
        for index in range(section.header + 1, section.end):
            body = _body(self.lines[index])
            if not body.strip() or _COMMENT_RE.match(body):
                continue
            match = _KEY_LINE_RE.match(body)
            if not match:
                raise CorruptConfig('line %d of section [%s] is neither "key = value" nor a comment' % (index + 1, section.name))
            field = self.layout.field_of_key(kind, match.group('key'))
            if field is None:
                continue
            if field in section.keys:
                raise CorruptConfig('key %s appears twice in section [%s] (lines %d and %d)'
                                    % (match.group('key').strip(), section.name, section.keys[field] + 1, index + 1))
            section.keys[field] = index
            section.values[field] = decode_ini_value(match.group('value'))

    def current(self):
        return dict((owner, dict(section.values)) for owner, section in self.owned.items())

    def _key_line(self, kind, field, value, sep=' = '):
        return '%s%s%s%s' % (self.layout.field_key(kind, field), sep, encode_ini_value(value), self.newline)

    def render(self, blocks, prune):
        nl = self.newline
        replace = {}
        delete = set()
        # Line index -> lines to insert after it (-1: at the start). Keys added to an existing
        # section go before any new section anchored at the same line.
        key_inserts = {}
        section_inserts = {}
        listed = set((b.kind, b.ident) for b in blocks)
        pruned = [owner for owner in self.owned if owner not in listed] if prune else []

        for owner in pruned:
            section = self.owned[owner]
            gone = set(range(section.header, section.content_end))
            before = section.header - 1
            after = section.content_end
            # Appending writes "blank line + section": take the blank line away with it.
            if before >= 0 and not _body(self.lines[before]).strip() and before not in delete and (
                    after >= len(self.lines) or not _body(self.lines[after]).strip()):
                gone.add(before)
            delete |= gone

        kept = [s for s in self.sections if s.owner and s.owner not in pruned]
        for block in blocks:
            section = self.owned.get((block.kind, block.ident))
            fields = self.layout.owned_fields(block.kind)
            if section is None:
                anchor = self._anchor(block.kind, kept)
                new = ['[%s]%s' % (self.layout.group(block.kind, block.ident), nl)]
                new += [self._key_line(block.kind, f, block.values[f]) for f in fields if block.values.get(f) is not None]
                first_at_anchor = anchor not in section_inserts
                at_start = anchor == -1 and not self.lines
                after_blank = anchor >= 0 and anchor == len(self.lines) - 1 and not _body(self.lines[anchor]).strip()
                if not (first_at_anchor and (at_start or after_blank)):
                    new.insert(0, nl)
                section_inserts.setdefault(anchor, []).extend(new)
                continue
            key_lines = [i for i in range(section.header + 1, section.end) if _KEY_LINE_RE.match(_body(self.lines[i]))]
            last_key = key_lines[-1] if key_lines else section.header
            sep = _KEY_LINE_RE.match(_body(self.lines[last_key])).group('sep') if key_lines else ' = '
            for field in fields:
                value = block.values.get(field)
                index = section.keys.get(field)
                if index is None:
                    if value is not None:
                        key_inserts.setdefault(last_key, []).append(self._key_line(block.kind, field, value, sep))
                elif value is None:
                    delete.add(index)
                elif section.values[field] != value:
                    line = self.lines[index]
                    match = _KEY_LINE_RE.match(_body(line))
                    replace[index] = ''.join((match.group('lead'), match.group('key'), match.group('sep'),
                                              encode_ini_value(value), line[len(_body(line)):]))
        return self._join(replace, delete, key_inserts, section_inserts), pruned

    def _anchor(self, kind, kept):
        """Line after which a new section of ``kind`` goes: after the last one of its kind, else at the end."""
        for candidates in ([s for s in kept if s.owner[0] == kind], kept):
            if candidates:
                return candidates[-1].content_end - 1
        return len(self.lines) - 1

    def _join(self, replace, delete, key_inserts, section_inserts):
        out = []

        def emit_inserts(index):
            for inserts in (key_inserts, section_inserts):
                if index in inserts:
                    if out and not out[-1].endswith(('\n', '\r')):
                        out[-1] += self.newline
                    out.extend(inserts[index])

        emit_inserts(-1)
        for index, line in enumerate(self.lines):
            if index not in delete:
                out.append(replace.get(index, line))
            emit_inserts(index)
        return ''.join(out)


def render_new_ini(layout, blocks, newline='\n'):
    doc = IniDocument('', layout)
    text, _pruned = doc.render(blocks, False)
    return HEADER + newline + (newline if text else '') + text
