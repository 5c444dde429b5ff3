# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""Parse, merge and render the Chorus Pro settings of a Corail configuration file.

Corail's real format is not public, so this is a *model* (docs/corail-config-model.md): an INI
file with one section per PISTE application and per structure, or a .NET configuration file whose
``<appSettings>`` holds ``<add key=".." value=".."/>`` entries. The key layout is data
(``DEFAULT_LAYOUTS``, overridable). Edits are made on the text: every byte outside the keys the
collection owns stays as it was (comments, order, other sections, encoding and BOM, line endings).

Pure functions, importable without Ansible. Error messages never quote a value read from the
file or a secret: they name the field, the structure (SIRET) or the line.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import codecs
import copy
import re
import xml.etree.ElementTree as ET

from ansible_collections.chorus.corail.plugins.module_utils._identifiers import (
    InvalidIdentifier,
    check_environment,
    check_siret,
    login_problem,
    password_problem,
)

FORMATS = ('ini', 'xml')
APP = 'app'
STRUCTURE = 'structure'
KINDS = (APP, STRUCTURE)
APP_FIELDS = ('environment', 'client_id', 'client_secret', 'oauth_url', 'api_url')
STRUCTURE_FIELDS = ('name', 'account', 'password', 'piste_app', 'service_code', 'id_structure_cpp')
FIELDS = {APP: APP_FIELDS, STRUCTURE: STRUCTURE_FIELDS}
SECRET_FIELDS = frozenset(('client_secret', 'password'))
PLACEHOLDER = {APP: '{name}', STRUCTURE: '{siret}'}

# Diff markers: a secret is never shown, hashed or abbreviated, only said to exist or to change.
SECRET_MARK = '<secret>'
SECRET_CHANGED_MARK = '<secret changed>'

DEFAULT_LAYOUTS = {
    'ini': {
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
    },
    'xml': {
        APP: {
            'environment': 'Chorus.Piste.{name}.Environment',
            'client_id': 'Chorus.Piste.{name}.ClientId',
            'client_secret': 'Chorus.Piste.{name}.ClientSecret',
            'oauth_url': 'Chorus.Piste.{name}.OAuthUrl',
            'api_url': 'Chorus.Piste.{name}.ApiUrl',
        },
        STRUCTURE: {
            'name': 'Chorus.Structure.{siret}.Name',
            'account': 'Chorus.Structure.{siret}.Login',
            'password': 'Chorus.Structure.{siret}.Password',
            'piste_app': 'Chorus.Structure.{siret}.PisteApp',
            'service_code': 'Chorus.Structure.{siret}.ServiceCode',
            'id_structure_cpp': 'Chorus.Structure.{siret}.IdStructureCpp',
        },
    },
}

# PISTE application names become part of section names and keys: keep them plain.
APP_NAME_RE = re.compile(r'^[A-Za-z0-9](?:[A-Za-z0-9 _.@+-]*[A-Za-z0-9_.@+-])?$')
_APP_NAME_PATTERN = r'[A-Za-z0-9](?:[A-Za-z0-9 _.@+-]*[A-Za-z0-9_.@+-])?'
_ID_PATTERN = {APP: _APP_NAME_PATTERN, STRUCTURE: r'[0-9]{14}'}
_SECTION_CHARS_RE = re.compile(r'^[A-Za-z0-9 _.:/@+-]*$')
_INI_KEY_RE = re.compile(r'^[A-Za-z0-9_.-]+$')
_XML_KEY_CHARS_RE = re.compile(r'^[A-Za-z0-9_.:/@+-]*$')
_URL_RE = re.compile(r'^https?://[^\s"<>\\]+$', re.IGNORECASE)
# No setting of a Corail server is this long: a longer value is a pasted file or a template gone wrong.
MAX_VALUE_LENGTH = 4096

NEW_FILE_HEADER = {
    'ini': '; Chorus Pro connector settings, managed by Ansible (chorus.corail.corail_config).',
    'xml': '<!-- Chorus Pro connector settings, managed by Ansible (chorus.corail.corail_config). -->',
}


class LayoutError(ValueError):
    """The key layout is unusable; the message names the layout entry."""


class CorruptConfig(ValueError):
    """The existing file cannot be edited safely; the message names the line, never a value."""


# ---------------------------------------------------------------------------------------------
# Key layout


class Layout(object):
    """Where each setting lives, for one format. Built by ``resolve_layout``."""

    def __init__(self, fmt, data):
        self.format = fmt
        self.data = data
        self._regexes = {}
        self._build()

    def field_key(self, kind, field):
        """The key name (ini) or key pattern (xml) of a field, or None when the field is not written."""
        return self.data[kind].get(field) or None

    def group(self, kind, ident):
        """The ini section name of an application or structure (None for xml)."""
        if self.format != 'ini':
            return None
        return self.data['%s_section' % kind].replace(PLACEHOLDER[kind], ident)

    def key(self, kind, ident, field):
        pattern = self.field_key(kind, field)
        if pattern is None:
            return None
        return pattern.replace(PLACEHOLDER[kind], ident)

    def owned_fields(self, kind):
        return [f for f in FIELDS[kind] if self.field_key(kind, f)]

    def classify_section(self, name):
        """(kind, ident) of an ini section name the collection owns, else None."""
        for kind in (STRUCTURE, APP):  # a 14-digit name is a structure first
            match = self._regexes[kind].match(name.strip())
            if match:
                return kind, match.group('id')
        return None

    def field_of_key(self, kind, key):
        """Field an ini key stands for in an owned section (keys compare case-insensitively)."""
        lowered = key.strip().lower()
        for field in self.owned_fields(kind):
            if self.field_key(kind, field).lower() == lowered:
                return field
        return None

    def classify_key(self, key):
        """(kind, ident, field) of an xml appSettings key the collection owns, else None."""
        for kind in (STRUCTURE, APP):
            for field, regex in self._regexes[kind]:
                match = regex.match(key)
                if match:
                    return kind, match.group('id'), field
        return None

    def _build(self):
        if self.format == 'ini':
            for kind in KINDS:
                self._regexes[kind] = _pattern_regex(self.data['%s_section' % kind], kind)
        else:
            for kind in KINDS:
                self._regexes[kind] = [(field, _pattern_regex(self.field_key(kind, field), kind))
                                       for field in self.owned_fields(kind)]


def _pattern_regex(pattern, kind):
    before, after = pattern.split(PLACEHOLDER[kind])
    return re.compile('^%s(?P<id>%s)%s$' % (re.escape(before), _ID_PATTERN[kind], re.escape(after)), re.IGNORECASE)


def resolve_layout(fmt, override=None):
    """Merge ``override`` over the default layout of ``fmt`` and check it. Raises LayoutError.

    ``override`` may set ``app_section`` / ``structure_section`` (ini) and, under ``app`` and
    ``structure``, the key of any field; a field set to null or '' is not written at all.
    """
    if fmt not in FORMATS:
        raise LayoutError('format must be one of %s, got %r' % (', '.join(FORMATS), fmt))
    data = copy.deepcopy(DEFAULT_LAYOUTS[fmt])
    override = override or {}
    if not isinstance(override, dict):
        raise LayoutError('key_layout must be a dictionary')
    allowed = ('app_section', 'structure_section', APP, STRUCTURE) if fmt == 'ini' else (APP, STRUCTURE)
    for name, value in override.items():
        if name not in allowed:
            raise LayoutError('key_layout.%s is not a setting of the %s layout (allowed: %s)' % (name, fmt, ', '.join(allowed)))
        if name in KINDS:
            if not isinstance(value, dict):
                raise LayoutError('key_layout.%s must be a dictionary of field: key' % name)
            for field, key in value.items():
                if field not in FIELDS[name]:
                    raise LayoutError('key_layout.%s.%s is not a field (fields: %s)' % (name, field, ', '.join(FIELDS[name])))
                if key is not None and not isinstance(key, str):
                    raise LayoutError('key_layout.%s.%s must be a string or null' % (name, field))
                data[name][field] = key or None
        else:
            if not isinstance(value, str):
                raise LayoutError('key_layout.%s must be a string' % name)
            data[name] = value
    _check_layout(fmt, data)
    return Layout(fmt, data)


def _check_layout(fmt, data):
    for kind in KINDS:
        placeholder = PLACEHOLDER[kind]
        if fmt == 'ini':
            name = '%s_section' % kind
            section = data[name]
            if section.count(placeholder) != 1 or '{' in section.replace(placeholder, '') or '}' in section.replace(placeholder, ''):
                raise LayoutError('key_layout.%s must contain %s exactly once and no other braces' % (name, placeholder))
            if not _SECTION_CHARS_RE.match(section.replace(placeholder, '')) or section != section.strip():
                raise LayoutError('key_layout.%s may only use letters, digits and " _.:/@+-" (no "]", "=" or ";")' % name)
        keys = {}
        for field in FIELDS[kind]:
            key = data[kind].get(field)
            if not key:
                continue
            where = 'key_layout.%s.%s' % (kind, field)
            if fmt == 'ini':
                if not _INI_KEY_RE.match(key):
                    raise LayoutError('%s must be a plain ini key (letters, digits, "_", "." or "-")' % where)
            else:
                if key.count(placeholder) != 1 or not _XML_KEY_CHARS_RE.match(key.replace(placeholder, '')):
                    raise LayoutError('%s must contain %s exactly once and otherwise only letters, digits and "_.:/@+-"' % (where, placeholder))
            if key.lower() in keys:
                raise LayoutError('%s uses the same key as key_layout.%s.%s' % (where, kind, keys[key.lower()]))
            keys[key.lower()] = field
    if fmt == 'ini' and data['app_section'].lower().replace('{name}', '') == data['structure_section'].lower().replace('{siret}', ''):
        raise LayoutError('key_layout.app_section and key_layout.structure_section must differ')


# ---------------------------------------------------------------------------------------------
# Input


class Block(object):
    """The owned settings of one PISTE application or one structure: ``values`` maps field -> str or None."""

    def __init__(self, kind, ident, values):
        self.kind = kind
        self.ident = ident
        self.values = values


def _text(value, field, siret=None, required=False, app=None):
    """Normalise a scalar to str and refuse what would break a file. Never quotes the value."""
    where = field if app is None else '%s of PISTE application %s' % (field, app)
    if value is None or value == '':
        if required:
            raise InvalidIdentifier(where, 'is required and empty', siret)
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidIdentifier(where, 'must be a string, got %s' % type(value).__name__, siret)
    value = str(value)
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidIdentifier(where, 'is longer than %d characters (%d)' % (MAX_VALUE_LENGTH, len(value)), siret)
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidIdentifier(where, 'contains control characters (newline, tab...), which would break the file', siret)
    if any(0xD800 <= ord(c) <= 0xDFFF or ord(c) in (0xFFFE, 0xFFFF) for c in value):
        raise InvalidIdentifier(where, 'contains characters that a configuration file cannot hold', siret)
    if required and not value.strip():
        raise InvalidIdentifier(where, 'is only white space', siret)
    return value


def build_blocks(piste_apps, structures):
    """Check and normalise the module input. Returns (app blocks, structure blocks) in input order.

    Raises InvalidIdentifier naming the field and the SIRET (or application) at the first problem.
    """
    apps = []
    by_name = {}
    for index, app in enumerate(piste_apps or []):
        name = app.get('name')
        if not isinstance(name, str) or not APP_NAME_RE.match(name):
            raise InvalidIdentifier('name of piste_apps[%d]' % index,
                                    'must be letters, digits, " _.@+-" (no leading or trailing space)')
        if name in by_name:
            raise InvalidIdentifier('name of piste_apps[%d]' % index, 'PISTE application %s is listed twice' % name)
        env = _text(app.get('environment'), 'environment', required=True, app=name)
        check_environment(env, 'environment of PISTE application %s' % name)
        values = {
            'environment': env,
            'client_id': _text(app.get('client_id'), 'client_id', required=True, app=name),
            'client_secret': _text(app.get('client_secret'), 'client_secret', required=True, app=name),
        }
        for field in ('oauth_url', 'api_url'):
            url = _text(app.get(field), field, app=name)
            if url is not None and not _URL_RE.match(url):
                raise InvalidIdentifier('%s of PISTE application %s' % (field, name), 'must be an http(s) URL without spaces or quotes')
            values[field] = url
        block = Block(APP, name, values)
        by_name[name] = block
        apps.append(block)

    blocks = []
    seen = set()
    for index, item in enumerate(structures or []):
        siret = item.get('siret')
        if isinstance(siret, int) and not isinstance(siret, bool):
            siret = '%014d' % siret
        check_siret(siret, field='siret' if isinstance(siret, str) and siret else 'siret of structures[%d]' % index)
        if siret in seen:
            raise InvalidIdentifier('siret', 'is listed twice', siret)
        seen.add(siret)
        account = _text(item.get('account'), 'account', siret, required=True)
        problem = login_problem(account)
        if problem:
            raise InvalidIdentifier('account', problem, siret)
        password = item.get('password')
        problem = password_problem(password) if password not in (None, '') else 'is required and empty'
        if problem:
            raise InvalidIdentifier('password', problem, siret)
        password = _text(password, 'password', siret, required=True)
        app_name = item.get('piste_app')
        if app_name in (None, ''):
            if len(apps) != 1:
                raise InvalidIdentifier('piste_app', 'is required when piste_apps does not list exactly one application', siret)
            app_name = apps[0].ident
        if app_name not in by_name:
            raise InvalidIdentifier('piste_app', 'names no application of piste_apps', siret)
        cpp = item.get('id_structure_cpp')
        cpp = _text(cpp, 'id_structure_cpp', siret)
        if cpp is not None and not cpp.isdigit():
            raise InvalidIdentifier('id_structure_cpp', 'must be a number', siret)
        blocks.append(Block(STRUCTURE, siret, {
            'name': _text(item.get('name'), 'name', siret),
            'account': account,
            'password': password,
            'piste_app': app_name,
            'service_code': _text(item.get('service_code'), 'service_code', siret),
            'id_structure_cpp': cpp,
        }))
    return apps, blocks


def _check_blocks_fit(layout, blocks):
    """Each block must map back to itself through the layout, and no two may share a key."""
    taken = {}
    for block in blocks:
        label = 'structure' if block.kind == STRUCTURE else 'PISTE application'
        if layout.format == 'ini':
            name = layout.group(block.kind, block.ident)
            if layout.classify_section(name) != (block.kind, block.ident):
                raise InvalidIdentifier('name of %s %s' % (label, block.ident),
                                        'its section [%s] would be read back as another entry of the layout' % name)
            names = [name.lower()]
        else:
            names = []
            for field in layout.owned_fields(block.kind):
                key = layout.key(block.kind, block.ident, field)
                if layout.classify_key(key) != (block.kind, block.ident, field):
                    raise InvalidIdentifier('name of %s %s' % (label, block.ident),
                                            'its key %s would be read back as another entry of the layout' % key)
                names.append(key.lower())
        for name in names:
            if name in taken:
                raise InvalidIdentifier('name of %s %s' % (label, block.ident), 'uses the same key or section as %s' % taken[name])
            taken[name] = '%s %s' % (label, block.ident)


# ---------------------------------------------------------------------------------------------
# Encoding and lines

_BOMS = (
    (codecs.BOM_UTF32_LE, 'utf-32-le'),
    (codecs.BOM_UTF32_BE, 'utf-32-be'),
    (codecs.BOM_UTF8, 'utf-8'),
    (codecs.BOM_UTF16_LE, 'utf-16-le'),
    (codecs.BOM_UTF16_BE, 'utf-16-be'),
)
_XML_DECL_ENCODING_RE = re.compile(br'^<\?xml[^>]*?encoding\s*=\s*["\']([A-Za-z0-9._-]+)["\']')


def decode(data, fmt):
    """Return (bom, codec, text) such that ``bom + text.encode(codec) == data``."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return bom, codec, data[len(bom):].decode(codec)
            except UnicodeDecodeError:
                raise CorruptConfig('the file starts with a %s byte order mark but is not valid %s' % (codec, codec))
    if fmt == 'xml':
        match = _XML_DECL_ENCODING_RE.match(data)
        codec = match.group(1).decode('ascii').lower() if match else 'utf-8'
        try:
            codec = codecs.lookup(codec).name
            return b'', codec, data.decode(codec)
        except (LookupError, UnicodeDecodeError):
            raise CorruptConfig('the file is not valid %s (the encoding its XML declaration names, or UTF-8)' % codec)
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


_NEWLINE_RE = re.compile(r'\r\n|\n|\r')


def newline_of(text):
    match = _NEWLINE_RE.search(text)
    return match.group(0) if match else '\n'


def split_lines(text):
    """Lines with their own endings (only \\r\\n, \\n and \\r end a line, unlike str.splitlines)."""
    lines = []
    pos = 0
    for match in _NEWLINE_RE.finditer(text):
        lines.append(text[pos:match.end()])
        pos = match.end()
    if pos < len(text):
        lines.append(text[pos:])
    return lines


def _body(line):
    return line.rstrip('\r\n')


def _line_end(text, pos):
    """Index of the end of the line holding ``pos`` (before its newline) and the newline itself."""
    match = _NEWLINE_RE.search(text, pos)
    if not match:
        return len(text), ''
    return match.start(), match.group(0)


def _line_start(text, pos):
    return max(text.rfind('\n', 0, pos), text.rfind('\r', 0, pos)) + 1


# ---------------------------------------------------------------------------------------------
# INI

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
    return NEW_FILE_HEADER['ini'] + newline + (newline if text else '') + text


# ---------------------------------------------------------------------------------------------
# XML (.NET appSettings)

_MASK_RE = re.compile(r'<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>', re.DOTALL)
_ADD_START_RE = re.compile(r'<(?:[\w.-]+:)?add(?=[\s/>])')
_ADD_RE = re.compile(r'<(?:[\w.-]+:)?add(?P<attrs>(?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|\'[^\'<]*\'))*)\s*/>')
_ATTR_RE = re.compile(r'([\w:.-]+)\s*=\s*(?:"([^"<]*)"|\'([^\'<]*)\')')
_APPSETTINGS_OPEN_RE = re.compile(r'<(?P<prefix>[\w.-]+:)?appSettings(?P<attrs>(?:\s[^>]*?)?)(?P<selfclose>/?)>')
_ENTITY_RE = re.compile(r'&(#x[0-9A-Fa-f]+|#[0-9]+|amp|lt|gt|quot|apos);')
_ENTITIES = {'amp': '&', 'lt': '<', 'gt': '>', 'quot': '"', 'apos': "'"}


def xml_unescape(raw):
    def one(match):
        name = match.group(1)
        if name.startswith('#x'):
            return chr(int(name[2:], 16))
        if name.startswith('#'):
            return chr(int(name[1:]))
        return _ENTITIES[name]
    return _ENTITY_RE.sub(one, raw)


def xml_escape(value, codec='utf-8'):
    """Escape for a double- or single-quoted attribute; characters the encoding lacks become &#N;."""
    value = (value.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
             .replace('"', '&quot;').replace("'", '&apos;'))
    return value.encode(codec, 'xmlcharrefreplace').decode(codec)


def _mask(text):
    """Blank out comments, CDATA and processing instructions, keeping every offset."""
    return _MASK_RE.sub(lambda m: re.sub(r'[^\r\n]', ' ', m.group(0)), text)


def _local(tag):
    return tag.rsplit('}', 1)[-1] if isinstance(tag, str) else ''


class _XmlEntry(object):
    def __init__(self, start, end, key, value, value_span):
        self.start = start
        self.end = end
        self.key = key
        self.value = value
        self.value_span = value_span  # (start, end) of the value attribute's text, or None
        self.owner = None             # (kind, ident, field)


class XmlDocument(object):
    def __init__(self, data, text, layout, codec):
        self.layout = layout
        self.text = text
        self.codec = codec
        self.newline = newline_of(text)
        self.masked = _mask(text)
        self.entries = []
        self.owned = {}  # (kind, ident) -> {field: _XmlEntry}
        self._parse(data)

    def _parse(self, data):
        if re.search(r'<!DOCTYPE', self.masked):
            raise CorruptConfig('the XML document has a DOCTYPE; a .NET configuration file has none and it is not edited')
        try:
            root = ET.fromstring(data)
        except ET.ParseError as exc:
            line, column = getattr(exc, 'position', (0, 0))
            raise CorruptConfig('the file is not well-formed XML (line %d, column %d)' % (line, column))
        self.root_name = _local(root.tag)
        found = [el for el in root.iter() if _local(el.tag) == 'appSettings']
        if len(found) > 1:
            raise CorruptConfig('the document has %d appSettings elements; expected at most one' % len(found))
        if found and not any(child is found[0] for child in root):
            raise CorruptConfig('appSettings is not a child of the root element <%s>' % self.root_name)
        if found and (found[0].get('configSource') is not None or found[0].get('file') is not None):
            # .NET then reads (configSource) or overlays (file) the entries from another file: editing
            # this one would not change what Corail uses.
            raise CorruptConfig('appSettings takes its entries from another file (attribute %s); point the path '
                                'at that file instead' % ('configSource' if found[0].get('configSource') is not None else 'file'))
        opens = list(_APPSETTINGS_OPEN_RE.finditer(self.masked))
        if len(opens) != len(found):
            raise CorruptConfig('the appSettings element could not be located in the text')
        self.settings = None
        parsed = []
        if found:
            parsed = [el.get('key') for el in found[0] if _local(el.tag) == 'add']
            self._locate_settings(opens[0])
        keys = [entry.key for entry in self.entries]
        if keys != parsed:
            raise CorruptConfig('the <add> entries of appSettings could not be read reliably '
                                '(expected the form <add key="..." value="..."/>)')
        if found:
            values = [el.get('value') for el in found[0] if _local(el.tag) == 'add']
            for entry, value in zip(self.entries, values):
                entry.value = value
        for entry in self.entries:
            if entry.key is None:
                continue
            owner = self.layout.classify_key(entry.key)
            if owner is None:
                continue
            fields = self.owned.setdefault(owner[:2], {})
            if owner[2] in fields:
                raise CorruptConfig('key %s appears twice in appSettings (lines %d and %d): the file cannot be updated safely'
                                    % (entry.key, self._line_no(fields[owner[2]].start), self._line_no(entry.start)))
            entry.owner = owner
            fields[owner[2]] = entry

    def _line_no(self, pos):
        return len(_NEWLINE_RE.findall(self.text[:pos])) + 1

    def _locate_settings(self, match):
        prefix = match.group('prefix') or ''
        if match.group('selfclose'):
            self.settings = {'open': match, 'close': None, 'prefix': prefix}
            return
        close = re.compile(r'</%sappSettings\s*>' % re.escape(prefix)).search(self.masked, match.end())
        if not close:
            raise CorruptConfig('the appSettings element has no closing tag')
        self.settings = {'open': match, 'close': close, 'prefix': prefix}
        region = self.masked[match.end():close.start()]
        starts = [m.start() for m in _ADD_START_RE.finditer(region)]
        adds = list(_ADD_RE.finditer(region))
        if [m.start() for m in adds] != starts:
            raise CorruptConfig('an <add> entry of appSettings is not of the form <add key="..." value="..."/>')
        base = match.end()
        for add in adds:
            key = value_span = None
            for attr in _ATTR_RE.finditer(add.group('attrs')):
                group = 2 if attr.group(2) is not None else 3
                offset = base + add.start('attrs')
                if attr.group(1) == 'key':
                    key = xml_unescape(attr.group(group))
                elif attr.group(1) == 'value':
                    value_span = (offset + attr.start(group), offset + attr.end(group))
            self.entries.append(_XmlEntry(base + add.start(), base + add.end(), key, None, value_span))

    def current(self):
        return dict((owner, dict((f, e.value) for f, e in fields.items())) for owner, fields in self.owned.items())

    # -- rendering

    def _indent_of(self, pos):
        start = _line_start(self.text, pos)
        lead = self.text[start:pos]
        return lead if not lead.strip() else re.match(r'\s*', lead).group(0)

    def _alone_on_line(self, start, end):
        line_start = _line_start(self.text, start)
        line_end, newline = _line_end(self.text, end)
        return not self.text[line_start:start].strip() and not self.text[end:line_end].strip(), line_start, line_end, newline

    def _unit(self):
        match = re.search(r'(?:\r\n|\n|\r)([ \t]+)<', self.text)
        return match.group(1) if match else '  '

    def _element(self, key, value):
        style = ' />'
        if self.entries:
            style = ' />' if self.text[self.entries[-1].end - 3:self.entries[-1].end] == ' />' else '/>'
        return '<%sadd key="%s" value="%s"%s' % (self.settings['prefix'] if self.settings else '', xml_escape(key, self.codec),
                                                 xml_escape(value, self.codec), style)

    def render(self, blocks, prune):
        edits = []  # (start, end, replacement), applied from the end
        listed = set((b.kind, b.ident) for b in blocks)
        pruned = [owner for owner in self.owned if owner not in listed] if prune else []
        removed = set()
        for owner in pruned:
            for entry in self.owned[owner].values():
                removed.add(id(entry))
        additions = []  # (block, [elements]) in input order
        for block in blocks:
            fields = self.owned.get((block.kind, block.ident), {})
            elements = []
            for field in self.layout.owned_fields(block.kind):
                value = block.values.get(field)
                entry = fields.get(field)
                if entry is None:
                    if value is not None:
                        elements.append(self._element(self.layout.key(block.kind, block.ident, field), value))
                elif value is None:
                    removed.add(id(entry))
                elif entry.value != value:
                    if entry.value_span:
                        edits.append((entry.value_span[0], entry.value_span[1], xml_escape(value, self.codec)))
                    else:
                        close = self.text.rindex('/', entry.start, entry.end)
                        edits.append((close, close, ' value="%s"' % xml_escape(value, self.codec)))
            if elements:
                additions.append((block, elements))
        for entry in self.entries:
            if id(entry) in removed:
                alone, line_start, line_end, newline = self._alone_on_line(entry.start, entry.end)
                edits.append((line_start, line_end + len(newline), '') if alone else (entry.start, entry.end, ''))
        edits.extend(self._insertions(additions, removed))
        text = self.text
        for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
            text = text[:start] + replacement + text[end:]
        return text, pruned

    def _insertions(self, additions, removed):
        """Edits adding new entries: after the block's own entries, else after the last entry of its
        kind, else after the last owned entry, else before </appSettings>."""
        if not additions:
            return []
        if self.settings is None:
            return [self._new_settings_block(additions)]
        if self.settings['close'] is None:
            return [self._expand_self_closed(additions)]
        kept = [e for e in self.entries if e.owner and id(e) not in removed]
        # anchor entry id (None: before </appSettings>) -> [elements of existing blocks, elements of new blocks]
        anchors = {}
        order = []
        for block, elements in additions:
            own = [e for e in kept if e.owner[:2] == (block.kind, block.ident)]
            same_kind = [e for e in kept if e.owner[0] == block.kind]
            anchor = (own or same_kind or kept or [None])[-1]
            key = id(anchor) if anchor is not None else None
            if key not in anchors:
                anchors[key] = (anchor, [], [])
                order.append(key)
            anchors[key][1 if own else 2].extend(elements)
        nl = self.newline
        edits = []
        for key in order:
            anchor, first, then = anchors[key]
            elements = first + then
            if anchor is not None:
                alone, _start, line_end, newline = self._alone_on_line(anchor.start, anchor.end)
                indent = self._indent_of(anchor.start)
                if alone and newline:
                    edits.append((line_end + len(newline), line_end + len(newline), ''.join(indent + el + nl for el in elements)))
                else:
                    edits.append((anchor.end, anchor.end, ''.join(nl + indent + el for el in elements)))
                continue
            close = self.settings['close']
            indent = self._indent_of(self.entries[-1].start) if self.entries else (
                self._indent_of(close.start()) + self._unit())
            alone, line_start, _end, _newline = self._alone_on_line(close.start(), close.end())
            if alone:
                edits.append((line_start, line_start, ''.join(indent + el + nl for el in elements)))
            else:
                edits.append((close.start(), close.start(),
                              ''.join(nl + indent + el for el in elements) + nl + self._indent_of(close.start())))
        return edits

    @staticmethod
    def _elements(additions):
        return [el for _block, elements in additions for el in elements]

    def _expand_self_closed(self, new):
        match = self.settings['open']
        nl = self.newline
        indent = self._indent_of(match.start())
        unit = self._unit()
        tag = match.group(0)
        opening = tag[:-2].rstrip() + '>'
        body = ''.join(nl + indent + unit + el for el in self._elements(new))
        return (match.start(), match.end(), '%s%s%s%s</%sappSettings>' % (opening, body, nl, indent, self.settings['prefix']))

    def _new_settings_block(self, new):
        nl = self.newline
        unit = self._unit()
        close = None
        for match in re.finditer(r'</(?:[\w.-]+:)?%s\s*>' % re.escape(self.root_name), self.masked):
            close = match
        if close is None:
            raise CorruptConfig('the root element <%s> has no closing tag to add appSettings into' % self.root_name)
        root_indent = self._indent_of(close.start())
        inner = root_indent + unit
        block = inner + '<appSettings>' + nl + ''.join(inner + unit + el + nl for el in self._elements(new)) + inner + '</appSettings>' + nl
        alone, line_start, _end, _newline = self._alone_on_line(close.start(), close.end())
        if alone:
            return (line_start, line_start, block)
        return (close.start(), close.start(), nl + block + root_indent)


def render_new_xml(layout, blocks, newline='\n'):
    skeleton = ('<?xml version="1.0" encoding="utf-8"?>%(nl)s%(header)s%(nl)s<configuration>%(nl)s  <appSettings>%(nl)s'
                '  </appSettings>%(nl)s</configuration>%(nl)s' % {'nl': newline, 'header': NEW_FILE_HEADER['xml']})
    doc = XmlDocument(skeleton.encode('utf-8'), skeleton, layout, 'utf-8')
    text, _pruned = doc.render(blocks, False)
    return text


# ---------------------------------------------------------------------------------------------
# Plan: what to write and what changes


class Plan(object):
    """The outcome of merging the wanted settings into a file's content (bytes or None)."""

    def __init__(self, content, original, before, after, pruned, blocks):
        self.content = content
        self.original = original
        self.before = before
        self.after = after
        self.pruned = pruned
        self.blocks = blocks

    @property
    def changed(self):
        return self.content != self.original

    @property
    def pruned_structures(self):
        return [ident for kind, ident in self.pruned if kind == STRUCTURE]


def _check_encodable(blocks, codec, fmt):
    if fmt == 'xml':
        return  # xml_escape turns what the encoding lacks into character references
    for block in blocks:
        for field, value in block.values.items():
            if value is None:
                continue
            try:
                value.encode(codec)
            except UnicodeEncodeError:
                if block.kind == STRUCTURE:
                    raise InvalidIdentifier(field, 'has characters the file encoding (%s) cannot hold' % codec, block.ident)
                raise InvalidIdentifier('%s of PISTE application %s' % (field, block.ident),
                                        'has characters the file encoding (%s) cannot hold' % codec)


def plan(fmt, original, layout, piste_apps, structures, prune=False):
    """Merge the settings into ``original`` (file bytes, or None for a new file). Pure: writes nothing.

    Raises InvalidIdentifier (input), LayoutError or CorruptConfig (existing file).
    """
    if layout.format != fmt:
        raise LayoutError('the layout is for %s, the file is %s' % (layout.format, fmt))
    apps, structure_blocks = build_blocks(piste_apps, structures)
    blocks = apps + structure_blocks
    _check_blocks_fit(layout, blocks)
    wanted = dict(((b.kind, b.ident), dict((f, b.values.get(f)) for f in layout.owned_fields(b.kind)
                                           if b.values.get(f) is not None)) for b in blocks)
    if original is None or not original.strip():  # a missing or empty (touched) file starts afresh
        _check_encodable(blocks, 'utf-8', fmt)
        render = render_new_ini if fmt == 'ini' else render_new_xml
        content = render(layout, blocks).encode('utf-8')
        return Plan(content, original, {}, wanted, [], blocks)
    bom, codec, text = decode(original, fmt)
    _check_encodable(blocks, codec, fmt)
    if fmt == 'ini':
        doc = IniDocument(text, layout)
    else:
        doc = XmlDocument(original, text, layout, codec)
    before = doc.current()
    new_text, pruned = doc.render(blocks, prune)
    after = dict((owner, values) for owner, values in before.items() if owner not in pruned)
    after.update(wanted)
    content = bom + new_text.encode(codec)
    if fmt == 'xml' and content != original:
        _verify_xml(content, layout, after)
    return Plan(content, original, before, after, pruned, blocks)


def _present(settings):
    """Drop absent values (and blocks left empty) so that two readings compare equal."""
    out = {}
    for owner, values in settings.items():
        values = dict((f, v) for f, v in values.items() if v is not None)
        if values:
            out[owner] = values
    return out


def _verify_xml(content, layout, after):
    """Read the result back: owned entries must be exactly what was meant (guards the text edits)."""
    _bom, codec, text = decode(content, 'xml')
    try:
        got = XmlDocument(content, text, layout, codec).current()
    except CorruptConfig:  # pragma: no cover (would be a bug in the renderer)
        raise CorruptConfig('the updated document would not read back; nothing was written')
    if _present(got) != _present(after):  # pragma: no cover
        raise CorruptConfig('the updated document does not read back as intended; nothing was written')


# ---------------------------------------------------------------------------------------------
# Diff (owned keys only, secrets masked)


def _diff_lines(layout, owner, values, other):
    """Lines for the changed fields of one block; ``other`` holds the values on the other side."""
    kind, ident = owner
    lines = []
    for field in layout.owned_fields(kind):
        if field not in values or values[field] is None or other.get(field) == values[field]:
            continue
        value = values[field]
        if field in SECRET_FIELDS:
            value = SECRET_MARK
        lines.append((field, value))
    return lines


def masked_diff(layout, before, after, path=''):
    """before/after texts listing only the owned keys that change; a secret reads <secret> / <secret changed>."""
    owners = list(after) + [o for o in before if o not in after]
    owners.sort(key=lambda o: (KINDS.index(o[0]), o[1]))
    out = {'before': [], 'after': []}
    for owner in owners:
        old = before.get(owner, {})
        new = after.get(owner, {})
        old_lines = _diff_lines(layout, owner, old, new)
        new_lines = _diff_lines(layout, owner, new, old)
        changed_secrets = set(f for f in SECRET_FIELDS if old.get(f) is not None and new.get(f) is not None and old.get(f) != new.get(f))
        new_lines = [(f, SECRET_CHANGED_MARK if f in changed_secrets else v) for f, v in new_lines]
        for side, lines in (('before', old_lines), ('after', new_lines)):
            if not lines:
                continue
            if layout.format == 'ini':
                out[side].append('[%s]' % layout.group(*owner))
                out[side].extend('%s = %s' % (layout.field_key(owner[0], f), v) for f, v in lines)
            else:
                out[side].extend('%s = %s' % (layout.key(owner[0], owner[1], f), v) for f, v in lines)
    result = {
        'before': '\n'.join(out['before']) + ('\n' if out['before'] else ''),
        'after': '\n'.join(out['after']) + ('\n' if out['after'] else ''),
    }
    if path:
        result['before_header'] = '%s (Chorus settings only)' % path
        result['after_header'] = '%s (Chorus settings only)' % path
    return result


def written_structures(blocks):
    """What the module returns about the structures: never a secret."""
    return [dict(siret=b.ident, name=b.values.get('name'), account=b.values['account'], piste_app=b.values['piste_app'])
            for b in blocks if b.kind == STRUCTURE]
