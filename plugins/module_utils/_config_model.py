# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""What every configuration format shares: the owned settings, the key layout, the errors, text lines.

The formats themselves (``_format_ini``, ``_format_xml``) are registered in ``_corail_config``,
which is the facade the modules and the Windows action plugin call.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import codecs
import re

APP = 'app'
STRUCTURE = 'structure'
KINDS = (APP, STRUCTURE)
APP_FIELDS = ('environment', 'client_id', 'client_secret', 'oauth_url', 'api_url')
STRUCTURE_FIELDS = ('name', 'account', 'password', 'piste_app', 'service_code', 'id_structure_cpp')
FIELDS = {APP: APP_FIELDS, STRUCTURE: STRUCTURE_FIELDS}
SECRET_FIELDS = frozenset(('client_secret', 'password'))
PLACEHOLDER = {APP: '{name}', STRUCTURE: '{siret}'}
MANAGED_BY = 'Chorus Pro connector settings, managed by Ansible (chorus.corail.corail_config).'

# PISTE application names become part of section names and keys: keep them plain.
APP_NAME_PATTERN = r'[A-Za-z0-9](?:[A-Za-z0-9 _.@+-]*[A-Za-z0-9_.@+-])?'
_ID_PATTERN = {APP: APP_NAME_PATTERN, STRUCTURE: r'[0-9]{14}'}


class LayoutError(ValueError):
    """The key layout is unusable; the message names the layout entry."""


class CorruptConfig(ValueError):
    """The existing file cannot be edited safely; the message names the line, never a value."""


class Block(object):
    """The owned settings of one PISTE application or one structure: ``values`` maps field -> str or None."""

    def __init__(self, kind, ident, values):
        self.kind = kind
        self.ident = ident
        self.values = values


class Layout(object):
    """Where each setting lives, for one format. Built by ``_corail_config.resolve_layout``.

    A layout may name a group per owner (``app_section``: ini sections) and gives each field a key,
    either plain (inside the group) or holding the owner's placeholder (xml appSettings keys).
    """

    def __init__(self, fmt, data):
        self.format = fmt
        self.data = data
        self._group_regexes = dict((kind, pattern_regex(data['%s_section' % kind], kind))
                                   for kind in KINDS if data.get('%s_section' % kind))
        self._key_regexes = dict((kind, [(field, pattern_regex(self.field_key(kind, field), kind))
                                         for field in self.owned_fields(kind)
                                         if PLACEHOLDER[kind] in self.field_key(kind, field)])
                                 for kind in KINDS)

    def field_key(self, kind, field):
        """The key name (in a group) or key pattern (with a placeholder) of a field, or None when not written."""
        return self.data[kind].get(field) or None

    def group(self, kind, ident):
        """The group (ini section) name of an application or structure, None when the format has none."""
        pattern = self.data.get('%s_section' % kind)
        return pattern.replace(PLACEHOLDER[kind], ident) if pattern else None

    def key(self, kind, ident, field):
        pattern = self.field_key(kind, field)
        if pattern is None:
            return None
        return pattern.replace(PLACEHOLDER[kind], ident)

    def owned_fields(self, kind):
        return [f for f in FIELDS[kind] if self.field_key(kind, f)]

    def classify_section(self, name):
        """(kind, ident) of a group name the collection owns, else None."""
        for kind in (STRUCTURE, APP):  # a 14-digit name is a structure first
            regex = self._group_regexes.get(kind)
            match = regex.match(name.strip()) if regex else None
            if match:
                return kind, match.group('id')
        return None

    def field_of_key(self, kind, key):
        """Field a key stands for in an owned group (keys compare case-insensitively)."""
        lowered = key.strip().lower()
        for field in self.owned_fields(kind):
            if self.field_key(kind, field).lower() == lowered:
                return field
        return None

    def classify_key(self, key):
        """(kind, ident, field) of a full key (with the owner in it) the collection owns, else None."""
        for kind in (STRUCTURE, APP):
            for field, regex in self._key_regexes[kind]:
                match = regex.match(key)
                if match:
                    return kind, match.group('id'), field
        return None


def pattern_regex(pattern, kind):
    before, after = pattern.split(PLACEHOLDER[kind])
    return re.compile('^%s(?P<id>%s)%s$' % (re.escape(before), _ID_PATTERN[kind], re.escape(after)), re.IGNORECASE)


def encodable_problem(blocks, codec):
    """(block, field) of the first value ``codec`` cannot encode, else None."""
    for block in blocks:
        for field, value in block.values.items():
            if value is None:
                continue
            try:
                value.encode(codec)
            except UnicodeEncodeError:
                return block, field
    return None


# ---------------------------------------------------------------------------------------------
# Byte forms and lines

BOMS = (
    (codecs.BOM_UTF32_LE, 'utf-32-le'),
    (codecs.BOM_UTF32_BE, 'utf-32-be'),
    (codecs.BOM_UTF8, 'utf-8'),
    (codecs.BOM_UTF16_LE, 'utf-16-le'),
    (codecs.BOM_UTF16_BE, 'utf-16-be'),
)


def decode_bom(data):
    """(bom, codec, text) when ``data`` starts with a byte order mark, else None."""
    for bom, codec in BOMS:
        if data.startswith(bom):
            try:
                return bom, codec, data[len(bom):].decode(codec)
            except UnicodeDecodeError:
                raise CorruptConfig('the file starts with a %s byte order mark but is not valid %s' % (codec, codec))
    return None


NEWLINE_RE = re.compile(r'\r\n|\n|\r')


def newline_of(text):
    match = NEWLINE_RE.search(text)
    return match.group(0) if match else '\n'


def split_lines(text):
    """Lines with their own endings (only \\r\\n, \\n and \\r end a line, unlike str.splitlines)."""
    lines = []
    pos = 0
    for match in NEWLINE_RE.finditer(text):
        lines.append(text[pos:match.end()])
        pos = match.end()
    if pos < len(text):
        lines.append(text[pos:])
    return lines


def line_body(line):
    return line.rstrip('\r\n')


def line_end(text, pos):
    """Index of the end of the line holding ``pos`` (before its newline) and the newline itself."""
    match = NEWLINE_RE.search(text, pos)
    if not match:
        return len(text), ''
    return match.start(), match.group(0)


def line_start(text, pos):
    return max(text.rfind('\n', 0, pos), text.rfind('\r', 0, pos)) + 1
