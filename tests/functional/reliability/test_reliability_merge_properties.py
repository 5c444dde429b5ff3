# -*- coding: utf-8 -*-
"""Property-based tests of the config merge (module_utils/_corail_config.plan) over a written grammar.

The grammar of what an existing Corail file may contain is in docs/reliability.md ("Merge grammar");
the strategies below are that grammar, rule for rule. For every generated file and every generated
set of wanted settings:

- byte-for-byte round trip outside the owned keys: every byte that is not an owned key, an owned
  section header (ini) or an owned <add> entry (xml) comes out unchanged and in the same order,
  BOM and line endings included, and the file up to the first owned entry is an exact prefix;
- the owned keys read back as exactly the wanted values;
- idempotence: merge(merge(x)) == merge(x), byte for byte.

Deterministic in CI: derandomize=True (the examples derive from the test itself), fixed counts.
"""

import codecs
import re
import xml.etree.ElementTree as ET

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reliability_helpers import record

from ansible_collections.chorus.corail.plugins.module_utils import _corail_config as cc

EXAMPLES = 1000
PROFILE = settings(derandomize=True, max_examples=EXAMPLES, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SIRETS = ('21640000200012', '21640001000015', '21640002800017')
APP_NAMES = ('corail_q', 'corail-prod')
LAYOUT = {'ini': cc.resolve_layout('ini'), 'xml': cc.resolve_layout('xml')}
SEEN = {'ini': 0, 'xml': 0}

# -- wanted settings ------------------------------------------------------------------------------

value_text = (st.text(alphabet=st.sampled_from('abcXYZ09 -_.;#"\'\\<>&=[]éÀ€'), min_size=1, max_size=12)
              .map(lambda v: v if v.strip() else v + 'x'))
password = (st.text(alphabet=st.sampled_from('aZ9:;#"\'\\<>&=[]{}%!é '), min_size=1, max_size=16)
            .filter(lambda v: v.strip()))


@st.composite
def wanted(draw):
    apps = [dict(name=name, environment=draw(st.sampled_from(('qualification', 'production'))),
                 client_id=draw(value_text).strip() or 'cid', client_secret=draw(password))
            for name in draw(st.lists(st.sampled_from(APP_NAMES), min_size=1, max_size=2, unique=True))]
    structures = []
    for siret in draw(st.lists(st.sampled_from(SIRETS), min_size=0, max_size=3, unique=True)):
        item = dict(siret=siret, account='TECH_1_%s@cpro.fr' % siret[-4:], password=draw(password),
                    piste_app=draw(st.sampled_from([a['name'] for a in apps])))
        if draw(st.booleans()):
            item['name'] = draw(value_text)
        if draw(st.booleans()):
            item['service_code'] = draw(value_text)
        structures.append(item)
    return apps, structures


# -- ini grammar ------------------------------------------------------------------------------------

ws = st.sampled_from(('', ' ', '  ', '\t'))
word = st.text(alphabet=st.sampled_from('abcdefgxyzABC0189_.-'), min_size=1, max_size=8)
free_text = st.text(alphabet=st.sampled_from('abc XYZ09=;#[]"\'\\é€<>&:'), max_size=20)
OWNED_INI_KEYS = ('environment', 'client_id', 'client_secret', 'oauth_url', 'api_url', 'name', 'login', 'password',
                  'piste_app', 'service_code', 'id_structure_cpp')
foreign_key = word.filter(lambda k: k.lower() not in OWNED_INI_KEYS)
owned_key = st.sampled_from(('login', 'password', 'name', 'service_code', 'piste_app'))


@st.composite
def ini_line(draw, in_owned=False):
    kind = draw(st.sampled_from(('blank', 'comment', 'keyvalue', 'keyvalue')))
    if kind == 'blank':
        return draw(ws)
    if kind == 'comment':
        return draw(ws) + draw(st.sampled_from(';#')) + draw(free_text)
    key = draw(foreign_key)
    sep = draw(st.sampled_from(('=', ' = ', '= ', ' =', '\t=\t')))
    return draw(ws) + key + sep + draw(free_text).strip()


@st.composite
def ini_file(draw):
    """Grammar: [BOM] head-lines, then sections; one newline style; last newline optional."""
    newline = draw(st.sampled_from(('\n', '\r\n')))
    lines = draw(st.lists(ini_line(), max_size=4))
    owned_used = set()
    for _index in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            name = draw(word.filter(lambda w: not w.lower().startswith('chorus')))
            lines.append('[%s]' % name + draw(st.sampled_from(('', ' ; note'))))
            lines.extend(draw(st.lists(ini_line(), max_size=4)))
        else:
            siret = draw(st.sampled_from(SIRETS))
            if siret in owned_used:
                continue
            owned_used.add(siret)
            lines.append('[chorus.structure.%s]' % siret)
            keys = draw(st.lists(owned_key, unique=True, max_size=4))
            body = draw(st.lists(ini_line(), max_size=3))
            for key in keys:
                body.insert(draw(st.integers(0, len(body))), '%s = %s' % (key, draw(free_text).strip() or 'v'))
            lines.extend(body)
    text = newline.join(lines)
    if lines and draw(st.booleans()):
        text += newline
    bom = draw(st.sampled_from((b'', codecs.BOM_UTF8)))
    return bom + text.encode('utf-8')


def ini_foreign(text, layout):
    """Non-blank lines (with their endings) that are neither an owned section header nor an owned key."""
    kept = []
    owned = False
    for line in cc.split_lines(text):
        body = line.rstrip('\r\n')
        match = re.match(r'^\s*\[([^\]\r\n]*)\]', body)
        if match:
            owned = layout.classify_section(match.group(1).strip()) is not None
            if owned:
                continue
        elif owned and '=' in body and not re.match(r'^\s*[;#]', body):
            if layout.field_of_key(cc.STRUCTURE, body.split('=', 1)[0]) or layout.field_of_key(cc.APP, body.split('=', 1)[0]):
                continue
        if body.strip():
            kept.append(body)
    # Bodies only: the file's last line gets the file's newline when something is appended after it
    # (grammar rule 1); the newline style itself is checked on the whole file.
    return kept


def first_owned_offset_ini(text, layout):
    offset = 0
    for line in cc.split_lines(text):
        match = re.match(r'^\s*\[([^\]\r\n]*)\]', line)
        if match and layout.classify_section(match.group(1).strip()):
            return offset
        offset += len(line)
    return len(text)


# -- xml grammar ------------------------------------------------------------------------------------

attr_value = st.text(alphabet=st.sampled_from('abc XYZ09;#é€:=/'), max_size=12)


@st.composite
def xml_file(draw):
    """Grammar: [BOM] [declaration] comments, <configuration> with other elements, optional appSettings
    (self-closing or not) holding foreign and owned <add> entries in either attribute order."""
    nl = draw(st.sampled_from(('\n', '\r\n')))
    ind = draw(st.sampled_from(('  ', '    ', '\t')))
    parts = []
    if draw(st.booleans()):
        parts.append('<?xml version="1.0" encoding="%s"?>' % draw(st.sampled_from(('utf-8', 'UTF-8'))))
    if draw(st.booleans()):
        parts.append('<!-- %s -->' % draw(attr_value))
    parts.append('<configuration>')

    def other():
        return draw(st.sampled_from((
            ind + '<connectionStrings>%s%s%s<add name="db" connectionString="Server=x;Password=%s"/>%s%s</connectionStrings>'
            % (nl, ind, ind, draw(attr_value), nl, ind),
            ind + '<system.web><compilation debug="%s" /></system.web>' % draw(st.sampled_from(('true', 'false'))),
            ind + '<!-- %s -->' % draw(attr_value),
            ind + '<startup />')))

    for _index in range(draw(st.integers(0, 2))):
        parts.append(other())
    style = draw(st.sampled_from(('none', 'self-closing', 'open')))
    if style == 'self-closing':
        parts.append(ind + draw(st.sampled_from(('<appSettings/>', '<appSettings />'))))
    elif style == 'open':
        parts.append(ind + '<appSettings>')
        owned_used = set()
        for _index in range(draw(st.integers(0, 5))):
            choice = draw(st.sampled_from(('foreign', 'foreign', 'owned', 'comment')))
            close = draw(st.sampled_from(('/>', ' />')))
            quote = draw(st.sampled_from(('"', "'")))
            if choice == 'comment':
                parts.append(ind * 2 + '<!-- %s -->' % draw(attr_value))
                continue
            if choice == 'owned':
                siret = draw(st.sampled_from(SIRETS))
                field = draw(st.sampled_from(('Login', 'Password', 'Name', 'ServiceCode')))
                key = 'Chorus.Structure.%s.%s' % (siret, field)
                if key in owned_used:
                    continue
                owned_used.add(key)
            else:
                key = 'Corail.%s' % draw(word)
                if key in owned_used:
                    continue
                owned_used.add(key)
            value = draw(attr_value)
            attrs = ['key=%s%s%s' % (quote, key, quote), 'value=%s%s%s' % (quote, value, quote)]
            if draw(st.booleans()):
                attrs.reverse()
            parts.append(ind * 2 + '<add %s%s' % (' '.join(attrs), close))
        parts.append(ind + '</appSettings>')
    for _index in range(draw(st.integers(0, 1))):
        parts.append(other())
    parts.append('</configuration>')
    text = nl.join(parts)
    if draw(st.booleans()):
        text += nl
    bom = draw(st.sampled_from((b'', codecs.BOM_UTF8)))
    return bom + text.encode('utf-8')


_TOKEN_RE = re.compile(r'<!--.*?-->|<\?.*?\?>|<[^>]*>', re.S)


def xml_foreign(text, layout):
    """Every markup token except owned <add> entries and the appSettings tags (which may be expanded
    from a self-closing element), in order and byte for byte."""
    out = []
    for token in _TOKEN_RE.findall(text):
        if re.match(r'<\s*/?\s*appSettings\b', token):
            continue
        key = re.search(r'''\bkey\s*=\s*(["'])(.*?)\1''', token)
        if token.startswith('<add') and key and layout.classify_key(key.group(2)):
            continue
        out.append(token)
    return out


def first_owned_offset_xml(text):
    match = re.search(r'<appSettings', text)
    return match.start() if match else text.index('</configuration>')


# -- the properties ---------------------------------------------------------------------------------

def merge(fmt, data, apps, structures):
    return cc.plan(fmt, data, LAYOUT[fmt], apps, structures).content


def read_back(fmt, data):
    _bom, codec, text = cc.decode(data, fmt)
    layout = LAYOUT[fmt]
    doc = cc.IniDocument(text, layout) if fmt == 'ini' else cc.XmlDocument(data, text, layout, codec)
    return dict((owner, dict((f, v) for f, v in values.items() if v is not None)) for owner, values in doc.current().items())


def check_properties(fmt, original, apps, structures):
    SEEN[fmt] += 1
    merged = merge(fmt, original, apps, structures)
    # idempotent, byte for byte
    assert merge(fmt, merged, apps, structures) == merged
    bom, _codec, before = cc.decode(original, fmt)
    bom_after, _codec, after = cc.decode(merged, fmt)
    assert bom_after == bom
    layout = LAYOUT[fmt]
    if not original.strip():
        # Grammar rule 0: an empty or blank file (touched, not yet written) starts afresh, with the header.
        assert after.lstrip('\ufeff').startswith(cc.NEW_FILE_HEADER[fmt]) or after.startswith('<?xml')
    elif fmt == 'ini':
        assert ini_foreign(after, layout) == ini_foreign(before, layout)
        head = before[:first_owned_offset_ini(before, layout)]
        assert after.startswith(head)
        newlines = set(re.findall(r'\r\n|\n', before))
        if newlines:
            assert set(re.findall(r'\r\n|\n', after)) == newlines
    else:
        assert xml_foreign(after, layout) == xml_foreign(before, layout)
        assert after.startswith(before[:first_owned_offset_xml(before)])
        ET.fromstring(merged)  # still well-formed
        if '\r\n' in before:
            assert '\n' not in after.replace('\r\n', '')
        elif '\n' in before:
            assert '\r\n' not in after
    # the owned keys hold exactly what was asked
    got = read_back(fmt, merged)
    for app in apps:
        mine = got[(cc.APP, app['name'])]
        assert mine['client_secret'] == app['client_secret'] and mine['client_id'] == app['client_id']
    for item in structures:
        mine = got[(cc.STRUCTURE, item['siret'])]
        assert mine['password'] == item['password'] and mine['account'] == item['account']
        for field in ('name', 'service_code'):
            if field in item:  # plain values are trimmed once (the schema), secrets kept as given
                assert mine.get(field) == (item[field].strip() or None)


@PROFILE
@given(original=ini_file(), settings_=wanted())
def test_ini_merge_round_trips_and_is_idempotent(original, settings_):
    check_properties('ini', original, *settings_)


@PROFILE
@given(original=xml_file(), settings_=wanted())
def test_xml_merge_round_trips_and_is_idempotent(original, settings_):
    check_properties('xml', original, *settings_)


def test_property_figures():
    # Runs after the two properties in the same worker only by chance: figures come from EXAMPLES.
    record('hypothesis', examples_per_property=EXAMPLES, properties=2, formats=['ini', 'xml'], derandomize=True)
