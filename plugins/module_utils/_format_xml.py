# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""The xml format: a .NET configuration file whose ``<appSettings>`` holds ``<add key=".." value=".."/>``.

The entries are edited as text, so the rest of the document stays byte for byte; the result is
read back before it is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import codecs
import re
import xml.etree.ElementTree as ET

from ansible_collections.chorus.corail.plugins.module_utils._config_model import (
    APP,
    NEWLINE_RE,
    MANAGED_BY,
    STRUCTURE,
    CorruptConfig,
    LayoutError,
    decode_bom,
    line_end as _line_end,
    line_start as _line_start,
    newline_of,
)

NAME = 'xml'
HEADER = '<!-- %s -->' % MANAGED_BY
DEFAULT_LAYOUT = {
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
}
SETTINGS = ()
# A character the encoding lacks becomes a character reference (&#N;).
ESCAPES_UNENCODABLE = True

_XML_KEY_CHARS_RE = re.compile(r'^[A-Za-z0-9_.:/@+-]*$')
_XML_DECL_ENCODING_RE = re.compile(br'^<\?xml[^>]*?encoding\s*=\s*["\']([A-Za-z0-9._-]+)["\']')


def check_layout(data):
    """Every check is per key (check_key)."""


def check_key(where, key, placeholder):
    if key.count(placeholder) != 1 or not _XML_KEY_CHARS_RE.match(key.replace(placeholder, '')):
        raise LayoutError('%s must contain %s exactly once and otherwise only letters, digits and "_.:/@+-"' % (where, placeholder))


def names_of(layout, block):
    """[(what, name, reads back as itself)] a block takes in a file: one appSettings key per field."""
    out = []
    for field in layout.owned_fields(block.kind):
        key = layout.key(block.kind, block.ident, field)
        out.append(('key %s' % key, key, layout.classify_key(key) == (block.kind, block.ident, field)))
    return out


def decode(data):
    """Return (bom, codec, text) such that ``bom + text.encode(codec) == data``."""
    found = decode_bom(data)
    if found:
        return found
    match = _XML_DECL_ENCODING_RE.match(data)
    codec = match.group(1).decode('ascii').lower() if match else 'utf-8'
    try:
        codec = codecs.lookup(codec).name
        return b'', codec, data.decode(codec)
    except (LookupError, UnicodeDecodeError):
        raise CorruptConfig('the file is not valid %s (the encoding its XML declaration names, or UTF-8)' % codec)


def parse(data, text, layout, codec):
    return XmlDocument(data, text, layout, codec)


def render_new(layout, blocks):
    return render_new_xml(layout, blocks)


def verify(content, layout, after):
    """Read the result back: owned entries must be exactly what was meant (guards the text edits)."""
    _bom, codec, text = decode(content)
    try:
        got = XmlDocument(content, text, layout, codec).current()
    except CorruptConfig:  # pragma: no cover (would be a bug in the renderer)
        raise CorruptConfig('the updated document would not read back; nothing was written')
    if _present(got) != _present(after):  # pragma: no cover
        raise CorruptConfig('the updated document does not read back as intended; nothing was written')


def _present(settings):
    """Drop absent values (and blocks left empty) so that two readings compare equal."""
    out = {}
    for owner, values in settings.items():
        values = dict((f, v) for f, v in values.items() if v is not None)
        if values:
            out[owner] = values
    return out


def diff_lines(layout, owner, lines):
    return ['%s = %s' % (layout.key(owner[0], owner[1], f), v) for f, v in lines]


# ---------------------------------------------------------------------------------------------
# The document

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
        for attribute in ('configSource', 'file'):
            if found and found[0].get(attribute) is not None:
                # .NET takes the entries from that other file (configSource: only from it, so it
                # refuses to start with entries here): point path at that file instead.
                raise CorruptConfig('the appSettings element has a %s attribute: its settings live in another file; '
                                    'set path to that file' % attribute)
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
        return len(NEWLINE_RE.findall(self.text[:pos])) + 1

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
                '  </appSettings>%(nl)s</configuration>%(nl)s' % {'nl': newline, 'header': HEADER})
    doc = XmlDocument(skeleton.encode('utf-8'), skeleton, layout, 'utf-8')
    text, _pruned = doc.render(blocks, False)
    return text
