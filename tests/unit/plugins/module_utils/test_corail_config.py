# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import codecs
import difflib
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings, strategies as hs

from ansible_collections.chorus.corail.plugins.module_utils import _corail_config as cc
from ansible_collections.chorus.corail.plugins.module_utils._identifiers import InvalidIdentifier

PARIS, LYON, MARSEILLE = '21750001600019', '21690123100011', '21130055300016'
SECRET_PARIS = 'Pa55;word#Paris'
SECRET_LYON = 'Lyon-pw-"quoted"'
APP_SECRET = 'app&secret<1>'
APPS = [dict(name='corail', environment='qualification', client_id='client-123', client_secret=APP_SECRET)]
STRUCTURES = [
    dict(siret=PARIS, name='Ville de Paris', account='TECH_1_paris@cpro.fr', password=SECRET_PARIS, piste_app='corail'),
    dict(siret=LYON, name='Ville de Lyon', account='TECH_021690123100011@cpp2017.fr', password=SECRET_LYON,
         service_code='FIN', id_structure_cpp=25784512),
]
SECRETS = (SECRET_PARIS, SECRET_LYON, APP_SECRET)

# An INI file a human wrote: comments, other sections, CRLF, no trailing newline.
INI_EXISTING = (
    '; Corail configuration\r\n'
    '[database]\r\n'
    'connection = Server=sql01;User=corail;Password=DbSecret!\r\n'
    '\r\n'
    '# Chorus, Paris\r\n'
    '[chorus.structure.%s]\r\n'
    'name=Mairie de Paris\r\n'
    'password = old-password\r\n'
    'comment_by_admin = keep me\r\n'
    '\r\n'
    '[logging]\r\n'
    'level = info' % PARIS
)

XML_EXISTING = (
    u'\ufeff<?xml version="1.0" encoding="utf-8"?>\r\n'
    '<configuration>\r\n'
    '  <connectionStrings>\r\n'
    '    <add name="Corail" connectionString="Server=sql01;Password=DbSecret!" />\r\n'
    '  </connectionStrings>\r\n'
    '  <appSettings>\r\n'
    '    <!-- <add key="Chorus.Structure.%(p)s.Password" value="commented-out" /> -->\r\n'
    '    <add key="Corail.Theme" value="Ambre" />\r\n'
    '    <add key="Chorus.Structure.%(p)s.Password" value="old-password" />\r\n'
    '    <add key="Chorus.Structure.%(p)s.Name" value="Mairie de Paris" />\r\n'
    '  </appSettings>\r\n'
    '  <system.web><compilation debug="false" /></system.web>\r\n'
    '</configuration>\r\n' % {'p': PARIS}
).encode('utf-8')


def ini_layout():
    return cc.resolve_layout('ini')


def xml_layout():
    return cc.resolve_layout('xml')


def plan(fmt, original, apps=None, structures=None, prune=False, layout=None):
    layout = layout or cc.resolve_layout(fmt)
    return cc.plan(fmt, original, layout, APPS if apps is None else apps, STRUCTURES if structures is None else structures, prune)


def read_ini(content, layout=None):
    return cc.IniDocument(cc.decode(content, 'ini')[2], layout or ini_layout()).current()


def read_xml(content):
    """appSettings as .NET would read them, through a real XML parser."""
    root = ET.fromstring(content)
    return dict((el.get('key'), el.get('value')) for el in root.iter('add') if el.get('key') is not None)


def changed_lines(before, after):
    return [line for line in difflib.ndiff(before.splitlines(True), after.splitlines(True)) if line[:2] in ('- ', '+ ')]


# --------------------------------------------------------------------------------------------- layout

def test_default_layouts_are_documented_values():
    ini = ini_layout()
    assert ini.group('structure', PARIS) == 'chorus.structure.%s' % PARIS
    assert ini.group('app', 'corail') == 'chorus.piste.corail'
    assert ini.field_key('structure', 'account') == 'login'
    xml = xml_layout()
    assert xml.key('structure', PARIS, 'password') == 'Chorus.Structure.%s.Password' % PARIS
    assert xml.key('app', 'corail', 'client_secret') == 'Chorus.Piste.corail.ClientSecret'
    assert xml.group('structure', PARIS) is None


def test_override_merges_over_the_default_and_can_drop_fields():
    layout = cc.resolve_layout('ini', {'structure_section': 'CPP_{siret}', 'structure': {'account': 'user', 'id_structure_cpp': None}})
    assert layout.group('structure', PARIS) == 'CPP_%s' % PARIS
    assert layout.field_key('structure', 'account') == 'user'
    assert layout.field_key('structure', 'password') == 'password'  # untouched defaults stay
    assert 'id_structure_cpp' not in layout.owned_fields('structure')
    assert cc.DEFAULT_LAYOUTS['ini']['structure']['account'] == 'login'  # the default is not modified


@pytest.mark.parametrize('fmt, override, words', [
    ('ini', {'structure_section': 'chorus.structure'}, '{siret} exactly once'),
    ('ini', {'structure_section': 'chorus]{siret}'}, 'may only use'),
    ('ini', {'app_section': 'x={name}'}, 'may only use'),
    ('ini', {'structure': {'password': 'pass word'}}, 'plain ini key'),
    ('ini', {'structure': {'password': 'login'}}, 'same key'),
    ('ini', {'structure': {'pwd': 'x'}}, 'is not a field'),
    ('ini', {'sections': {}}, 'is not a setting'),
    ('ini', {'structure': 'x'}, 'must be a dictionary'),
    ('ini', {'app_section': 'chorus.{name}', 'structure_section': 'chorus.{siret}'}, 'must differ'),
    ('xml', {'structure': {'password': 'Chorus.Password'}}, '{siret} exactly once'),
    ('xml', {'structure': {'password': 'Chorus.{siret}."pw"'}}, '{siret} exactly once'),
    ('xml', {'app_section': 'x{name}'}, 'is not a setting'),
    ('yaml', {}, 'format must be one of'),
])
def test_bad_layouts_are_refused(fmt, override, words):
    with pytest.raises(cc.LayoutError) as err:
        cc.resolve_layout(fmt, override)
    assert words in str(err.value)


# --------------------------------------------------------------------------------------------- input

def with_structure(**changes):
    return [dict(STRUCTURES[0], **changes)]


@pytest.mark.parametrize('structures, field, words', [
    (with_structure(siret='2175000160001'), 'siret', '14 digits'),
    (with_structure(account=''), 'account', 'required'),
    (with_structure(account='not a login'), 'account', 'e-mail-like'),
    (with_structure(password=''), 'password', 'required'),
    (with_structure(password='   '), 'password', 'white space'),
    (with_structure(password='line1\nline2'), 'password', 'control characters'),
    (with_structure(name='Paris\r\n[evil]'), 'name', 'control characters'),
    (with_structure(piste_app='other'), 'piste_app', 'names no application'),
    (with_structure(id_structure_cpp='12a'), 'id_structure_cpp', 'number'),
    (with_structure(service_code='A\x00'), 'service_code', 'control characters'),
    (STRUCTURES[:1] * 2, 'siret', 'listed twice'),
])
def test_input_errors_name_the_field_and_the_siret_never_the_secret(structures, field, words):
    with pytest.raises(InvalidIdentifier) as err:
        plan('ini', None, structures=structures)
    message = str(err.value)
    assert err.value.field == field and words in message
    assert 'of structure %s' % structures[-1]['siret'] in message
    for secret in SECRETS + ('line1', 'line2'):
        assert secret not in message


@pytest.mark.parametrize('apps, words', [
    ([dict(APPS[0], environment='prod')], 'environment of PISTE application corail'),
    ([dict(APPS[0], client_secret='')], 'client_secret of PISTE application corail: is required'),
    ([dict(APPS[0], client_secret='a\nb')], 'client_secret of PISTE application corail: contains control'),
    ([dict(APPS[0], oauth_url='ftp://x')], 'oauth_url of PISTE application corail'),
    ([dict(APPS[0], api_url='http://x y')], 'api_url of PISTE application corail'),
    ([dict(APPS[0], name='co]rail')], 'name of piste_apps[0]'),
    ([dict(APPS[0], name='a=b')], 'name of piste_apps[0]'),
    ([APPS[0], APPS[0]], 'listed twice'),
])
def test_application_errors_name_the_application(apps, words):
    structures = [dict(s, piste_app=None) for s in STRUCTURES] if len(apps) == 1 else STRUCTURES
    with pytest.raises(InvalidIdentifier) as err:
        plan('ini', None, apps=apps, structures=structures)
    assert words in str(err.value)
    assert APP_SECRET not in str(err.value)


def test_piste_app_defaults_to_the_only_application_and_is_required_otherwise():
    result = plan('ini', None, structures=[dict(STRUCTURES[0], piste_app=None)])
    assert read_ini(result.content)[('structure', PARIS)]['piste_app'] == 'corail'
    two = APPS + [dict(APPS[0], name='other')]
    with pytest.raises(InvalidIdentifier) as err:
        plan('ini', None, apps=two, structures=[dict(STRUCTURES[0], piste_app=None)])
    assert 'piste_app of structure %s' % PARIS in str(err.value)


def test_an_application_name_that_reads_back_as_a_structure_is_refused():
    layout = cc.resolve_layout('ini', {'app_section': 'chorus.app.{name}', 'structure_section': 'chorus.app.s{siret}'})
    with pytest.raises(InvalidIdentifier) as err:
        plan('ini', None, apps=[dict(APPS[0], name='s' + MARSEILLE)], structures=[], layout=layout)
    assert 'would be read back as another entry' in str(err.value)


def test_written_structures_carry_no_secret():
    result = plan('ini', None)
    written = cc.written_structures(result.blocks)
    assert written == [
        {'siret': PARIS, 'name': 'Ville de Paris', 'account': 'TECH_1_paris@cpro.fr', 'piste_app': 'corail'},
        {'siret': LYON, 'name': 'Ville de Lyon', 'account': 'TECH_021690123100011@cpp2017.fr', 'piste_app': 'corail'},
    ]
    for secret in SECRETS:
        assert secret not in repr(written)


def test_integers_are_accepted_where_yaml_makes_them():
    result = plan('ini', None, structures=[dict(STRUCTURES[1], siret=int(LYON), service_code=42)])
    assert read_ini(result.content)[('structure', LYON)]['service_code'] == '42'


# --------------------------------------------------------------------------------------------- ini values

@pytest.mark.parametrize('value, written', [
    ('plain', 'plain'),
    ('with space inside', 'with space inside'),
    ('a=b]c', 'a=b]c'),            # "=" and "]" are safe after the first "=" of a key line
    ('semi;colon', '"semi;colon"'),
    ('hash#tag', '"hash#tag"'),
    (' lead', '" lead"'),
    ('trail ', '"trail "'),
    ('"quoted"', '"\\"quoted\\""'),
    ('back\\slash', '"back\\\\slash"'),
    ('', '""'),
])
def test_ini_values_are_quoted_when_a_reader_could_misread_them(value, written):
    assert cc.encode_ini_value(value) == written
    assert cc.decode_ini_value(written) == value


VALUES = hs.text(alphabet=hs.characters(blacklist_categories=('Cc', 'Cs'), blacklist_characters=u'\ufffe\uffff'), min_size=1)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_any_value_without_control_characters_reads_back_from_the_ini_file(value):
    structure = dict(STRUCTURES[0], password=value if value.strip() else 'x' + value, name=value)
    result = plan('ini', INI_EXISTING.encode('utf-8'), structures=[structure])
    got = read_ini(result.content)[('structure', PARIS)]
    # Plain values are trimmed once (the schema); a secret is kept exactly as given.
    assert got.get('name') == (value.strip() or None) and got['password'] == structure['password']
    assert not plan('ini', result.content, structures=[structure]).changed


# --------------------------------------------------------------------------------------------- ini files

def test_new_ini_file():
    result = plan('ini', None)
    assert result.changed and result.before == {}
    assert result.content.decode('utf-8') == (
        '; Chorus Pro connector settings, managed by Ansible (chorus.corail.corail_config).\n'
        '\n'
        '[chorus.piste.corail]\n'
        'environment = qualification\n'
        'client_id = client-123\n'
        'client_secret = app&secret<1>\n'
        '\n'
        '[chorus.structure.21750001600019]\n'
        'name = Ville de Paris\n'
        'login = TECH_1_paris@cpro.fr\n'
        'password = "Pa55;word#Paris"\n'
        'piste_app = corail\n'
        '\n'
        '[chorus.structure.21690123100011]\n'
        'name = Ville de Lyon\n'
        'login = TECH_021690123100011@cpp2017.fr\n'
        'password = "Lyon-pw-\\"quoted\\""\n'
        'piste_app = corail\n'
        'service_code = FIN\n'
        'id_structure_cpp = 25784512\n'
    )


@pytest.mark.parametrize('fmt', ['ini', 'xml'])
def test_an_empty_file_is_written_like_a_new_one(fmt):
    new = plan(fmt, None)
    for empty in (b'', b'\n'):
        result = plan(fmt, empty)
        assert result.changed and result.content == new.content and result.before == {}


def test_merge_keeps_every_byte_outside_the_owned_keys():
    result = plan('ini', INI_EXISTING.encode('utf-8'))
    text = result.content.decode('utf-8')
    # Only owned lines change or appear; the rest is the original, CRLF included.
    for line in changed_lines(INI_EXISTING, text):
        if line.startswith('- '):
            assert line[2:].startswith(('name=', 'password =')), line
    assert text.startswith(INI_EXISTING.split('# Chorus, Paris', maxsplit=1)[0])
    assert '\r\n' in text and '\n' not in text.replace('\r\n', '')
    assert 'comment_by_admin = keep me\r\n' in text and '# Chorus, Paris\r\n' in text
    assert text.endswith('[logging]\r\nlevel = info')  # the last line kept, still without newline
    assert 'name=Ville de Paris\r\n' in text  # the existing "key=value" style is kept
    current = read_ini(result.content)
    assert current[('structure', PARIS)]['password'] == SECRET_PARIS
    assert current[('structure', LYON)]['id_structure_cpp'] == '25784512'
    assert current[('app', 'corail')]['client_secret'] == APP_SECRET
    # New sections go after the last owned section, before [logging].
    assert text.index('[chorus.structure.%s]' % LYON) < text.index('[logging]')


def test_rerun_is_unchanged_and_one_password_change_touches_one_line():
    first = plan('ini', INI_EXISTING.encode('utf-8'))
    again = plan('ini', first.content)
    assert not again.changed and again.content == first.content
    structures = [STRUCTURES[0], dict(STRUCTURES[1], password='new-lyon-pw')]
    second = plan('ini', first.content, structures=structures)
    diff = changed_lines(first.content.decode('utf-8'), second.content.decode('utf-8'))
    assert len(diff) == 2
    assert diff[1] == '+ password = new-lyon-pw\r\n'


def test_absent_optional_fields_are_removed():
    first = plan('ini', None)
    second = plan('ini', first.content, structures=[STRUCTURES[0], dict(STRUCTURES[1], service_code=None)])
    assert 'service_code' not in second.content.decode('utf-8')
    assert read_ini(second.content)[('structure', LYON)]['id_structure_cpp'] == '25784512'


def test_missing_keys_are_added_to_an_existing_section_before_a_new_section():
    text = '[chorus.structure.%s]\nlogin = TECH_1_paris@cpro.fr\n\n[chorus.structure.%s]\nname = x\n' % (LYON, PARIS)
    result = plan('ini', text.encode('utf-8'), structures=[dict(STRUCTURES[1], siret=MARSEILLE)] + STRUCTURES)
    out = result.content.decode('utf-8')
    sections = out.split('\n\n')
    assert sections[0].startswith('[chorus.structure.%s]\nlogin = TECH_021690123100011@cpp2017.fr\nname = ' % LYON)
    assert sections[1] == ('[chorus.structure.%s]\nname = Ville de Paris\nlogin = TECH_1_paris@cpro.fr\n'
                           'password = "Pa55;word#Paris"\npiste_app = corail' % PARIS)
    assert sections[2].startswith('[chorus.piste.corail]\n')
    assert sections[3].startswith('[chorus.structure.%s]\n' % MARSEILLE)
    assert read_ini(result.content)[('structure', MARSEILLE)]['name'] == 'Ville de Lyon'


def test_prune_removes_unlisted_sections_and_restores_the_original_bytes():
    base = INI_EXISTING.replace('level = info', 'level = info\r\n')
    added = plan('ini', base.encode('utf-8'), structures=STRUCTURES)
    assert '[chorus.structure.%s]' % LYON in added.content.decode('utf-8')
    back = plan('ini', added.content, structures=[dict(STRUCTURES[0], name='Mairie de Paris', password='old-password')],
                apps=APPS, prune=True)
    # Paris stays (with its owned keys now complete); Lyon goes with the blank line written before it.
    assert back.pruned_structures == [LYON] and back.pruned == [('structure', LYON)]
    assert '[chorus.structure.%s]' % LYON not in back.content.decode('utf-8')
    assert '[logging]' in back.content.decode('utf-8') and '[database]' in back.content.decode('utf-8')
    # Without prune an unlisted structure is left alone.
    kept = plan('ini', added.content, structures=STRUCTURES[:1])
    assert '[chorus.structure.%s]' % LYON in kept.content.decode('utf-8') and kept.pruned == []


def test_apply_then_prune_everything_gives_back_the_original_file():
    base = '; keep\n[other]\nx = 1\n'
    added = plan('ini', base.encode('utf-8'))
    assert plan('ini', added.content, apps=[], structures=[], prune=True).content == base.encode('utf-8')


def test_bom_and_windows_1252_are_kept():
    bom = codecs.BOM_UTF8 + INI_EXISTING.encode('utf-8')
    assert plan('ini', bom).content.startswith(codecs.BOM_UTF8 + b'; Corail')
    ansi = (u'; Corail configuration (\xe9t\xe9)\n[chorus.structure.%s]\nname = Tr\xe9sor\n' % PARIS).encode('cp1252')
    result = plan('ini', ansi, structures=[dict(STRUCTURES[0], name=u'H\xf4tel de ville')])
    assert result.content.startswith(u'; Corail configuration (\xe9t\xe9)\n'.encode('cp1252'))
    assert u'name = H\xf4tel de ville\n'.encode('cp1252') in result.content
    with pytest.raises(InvalidIdentifier) as err:
        plan('ini', ansi, structures=[dict(STRUCTURES[0], password=u'\u4e2d\u6587-pw')])
    assert 'password of structure %s' % PARIS in str(err.value) and 'cp1252' in str(err.value)
    assert u'\u4e2d' not in str(err.value)


def test_utf16_with_bom_keeps_its_byte_order():
    data = codecs.BOM_UTF16_BE + u'[other]\r\nx = 1\r\n'.encode('utf-16-be')
    result = plan('ini', data)
    assert result.content.startswith(codecs.BOM_UTF16_BE + u'[other]\r\nx = 1\r\n'.encode('utf-16-be'))
    assert read_ini(result.content)[('structure', PARIS)]['password'] == SECRET_PARIS


def test_custom_layout_reads_back_and_leaves_dropped_fields_alone():
    layout = cc.resolve_layout('ini', {'structure_section': 'Chorus_{siret}', 'structure': {'account': 'User', 'name': None}})
    existing = '[Chorus_%s]\nname = hand written\nUser = old@cpro.fr\n' % PARIS
    result = plan('ini', existing.encode('utf-8'), structures=STRUCTURES[:1], layout=layout)
    text = result.content.decode('utf-8')
    assert 'name = hand written' in text and 'User = TECH_1_paris@cpro.fr' in text
    assert read_ini(result.content, layout)[('structure', PARIS)]['account'] == 'TECH_1_paris@cpro.fr'


def test_sections_and_keys_match_case_insensitively():
    existing = '[Chorus.Structure.%s]\nLOGIN = TECH_1_paris@cpro.fr\n' % PARIS
    result = plan('ini', existing.encode('utf-8'), structures=STRUCTURES[:1])
    text = result.content.decode('utf-8')
    assert text.startswith('[Chorus.Structure.%s]\nLOGIN = TECH_1_paris@cpro.fr\n' % PARIS)
    assert text.count('[') == 2  # the structure section was reused, one app section added


@pytest.mark.parametrize('text, words', [
    ('[chorus.structure.%s]\nname = a\n[chorus.structure.%s]\nname = b\n' % (PARIS, PARIS), 'appears twice (lines 1 and 3)'),
    ('[chorus.structure.%s]\nname = a\n[CHORUS.STRUCTURE.%s]\n' % (PARIS, PARIS), 'appears twice'),
    ('[chorus.structure.%s]\npassword = a\npassword = b\n' % PARIS, 'key password appears twice'),
    ('[chorus.structure.%s]\npassword a secret here\n' % PARIS, 'line 2 of section'),
])
def test_a_file_that_cannot_be_read_reliably_is_refused_without_quoting_it(text, words):
    with pytest.raises(cc.CorruptConfig) as err:
        plan('ini', text.encode('utf-8'))
    assert words in str(err.value)
    assert 'secret here' not in str(err.value)


def test_duplicates_and_odd_lines_outside_owned_sections_are_not_our_business():
    text = '[a]\nx\n[a]\ny = 1\nnot a key line\n'
    result = plan('ini', text.encode('utf-8'))
    assert result.content.startswith(text.encode('utf-8'))


# --------------------------------------------------------------------------------------------- xml

def test_new_xml_file_parses_and_holds_the_exact_values():
    result = plan('xml', None)
    values = read_xml(result.content)
    assert values['Chorus.Piste.corail.ClientSecret'] == APP_SECRET
    assert values['Chorus.Structure.%s.Password' % PARIS] == SECRET_PARIS
    assert values['Chorus.Structure.%s.Password' % LYON] == SECRET_LYON
    assert values['Chorus.Structure.%s.IdStructureCpp' % LYON] == '25784512'
    assert 'Chorus.Structure.%s.ServiceCode' % PARIS not in values
    text = result.content.decode('utf-8')
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n')
    assert 'value="app&amp;secret&lt;1&gt;"' in text and '&quot;quoted&quot;' in text


def test_xml_merge_changes_only_owned_entries_byte_for_byte():
    result = plan('xml', XML_EXISTING)
    original = XML_EXISTING.decode('utf-8')
    text = result.content.decode('utf-8')
    assert result.content.startswith(codecs.BOM_UTF8)
    removed = [line for line in changed_lines(original, text) if line.startswith('- ')]
    assert len(removed) == 2 and all('Chorus.Structure.%s' % PARIS in line for line in removed)
    assert 'value="commented-out"' in text  # comments are not entries
    assert '<add key="Corail.Theme" value="Ambre" />\r\n' in text
    assert '<system.web><compilation debug="false" /></system.web>\r\n</configuration>\r\n' in text
    assert '\n' not in text.replace('\r\n', '')
    values = read_xml(result.content.lstrip(codecs.BOM_UTF8))
    assert values['Chorus.Structure.%s.Password' % PARIS] == SECRET_PARIS
    assert values['Corail.Theme'] == 'Ambre'
    # Entries of Paris stay together: the new ones follow its existing ones.
    lines = text.split('\r\n')
    paris = [i for i, line in enumerate(lines) if 'Chorus.Structure.%s' % PARIS in line and '<!--' not in line]
    assert paris == list(range(paris[0], paris[0] + len(paris)))


def test_xml_rerun_change_and_prune():
    first = plan('xml', XML_EXISTING)
    assert not plan('xml', first.content).changed
    second = plan('xml', first.content, structures=[STRUCTURES[0], dict(STRUCTURES[1], password='n&w')])
    diff = changed_lines(first.content.decode('utf-8'), second.content.decode('utf-8'))
    assert len(diff) == 2 and diff[1].endswith('Password" value="n&amp;w" />\r\n')
    pruned = plan('xml', second.content, structures=STRUCTURES[:1], prune=True)
    assert pruned.pruned_structures == [LYON]
    assert LYON not in pruned.content.decode('utf-8')
    assert plan('xml', pruned.content, structures=STRUCTURES[:1], prune=True).changed is False


@pytest.mark.parametrize('document', [
    b'<configuration>\n</configuration>\n',
    b'<configuration></configuration>',
    b'<configuration>\n  <appSettings />\n</configuration>\n',
    b'<configuration><appSettings></appSettings></configuration>',
    b'<configuration>\n\t<appSettings>\n\t\t<add key="a" value="b"/>\n\t</appSettings>\n</configuration>\n',
    b'<?xml version="1.0"?>\n<configuration xmlns="urn:x">\n  <appSettings>\n  </appSettings>\n</configuration>',
])
def test_xml_shapes_of_appsettings(document):
    result = plan('xml', document, structures=STRUCTURES[:1])
    root = ET.fromstring(result.content)
    settings = [el for el in root.iter() if el.tag.endswith('appSettings')]
    assert len(settings) == 1
    values = dict((el.get('key'), el.get('value')) for el in settings[0])
    assert values['Chorus.Structure.%s.Password' % PARIS] == SECRET_PARIS
    assert not plan('xml', result.content, structures=STRUCTURES[:1]).changed


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_any_value_without_control_characters_reads_back_from_the_xml_file(value):
    structure = dict(STRUCTURES[0], password=value if value.strip() else 'x' + value, name=value)
    result = plan('xml', XML_EXISTING, structures=[structure])
    values = read_xml(result.content)
    assert values.get('Chorus.Structure.%s.Name' % PARIS) == (value.strip() or None)  # trimmed once (the schema)
    assert values['Chorus.Structure.%s.Password' % PARIS] == structure['password']
    assert not plan('xml', result.content, structures=[structure]).changed


def test_xml_keeps_the_declared_encoding_and_escapes_what_it_lacks():
    doc = (u'<?xml version="1.0" encoding="windows-1252"?>\n<configuration>\n  <appSettings>\n'
           u'    <add key="Ville" value="Tr\xe9sor"/>\n  </appSettings>\n</configuration>\n').encode('cp1252')
    structure = dict(STRUCTURES[0], name=u'\xc9pinal \u4e2d')
    result = plan('xml', doc, structures=[structure])
    assert u'value="Tr\xe9sor"'.encode('cp1252') in result.content
    assert u'\xc9pinal &#20013;'.encode('cp1252') in result.content
    assert read_xml(result.content)['Chorus.Structure.%s.Name' % PARIS] == structure['name']


def test_xml_entity_written_values_are_compared_by_meaning():
    doc = ('<configuration><appSettings><add key="Chorus.Structure.%s.Name" value="Ville de Paris"/>'
           '<add key="Chorus.Structure.%s.Password" value="Pa55;word&#35;Paris"/></appSettings></configuration>' % (PARIS, PARIS))
    result = plan('xml', doc.encode('utf-8'), structures=STRUCTURES[:1])
    assert b'value="Pa55;word&#35;Paris"' in result.content  # same value, left as written


def test_xml_value_attribute_added_when_missing():
    doc = '<configuration><appSettings><add key="Chorus.Structure.%s.Password" /></appSettings></configuration>' % PARIS
    result = plan('xml', doc.encode('utf-8'), structures=STRUCTURES[:1])
    assert read_xml(result.content)['Chorus.Structure.%s.Password' % PARIS] == SECRET_PARIS


@pytest.mark.parametrize('document, words', [
    (b'<configuration><appSettings><add key="a" value="DbSecret!"></configuration>', 'not well-formed XML (line 1'),
    (b'<!DOCTYPE configuration [<!ENTITY x "y">]><configuration/>', 'DOCTYPE'),
    (b'<configuration><appSettings/><appSettings/></configuration>', '2 appSettings'),
    (b'<configuration><location><appSettings/></location></configuration>', 'not a child of the root'),
    (b'<configuration><appSettings><add key="x" value="DbSecret!"></add></appSettings></configuration>', 'not of the form'),
    (('<configuration><appSettings><add key="Chorus.Structure.%s.Password" value="DbSecret!"/>\n'
      '<add key="chorus.structure.%s.password" value="b"/></appSettings></configuration>' % (PARIS, PARIS)).encode('utf-8'),
     'appears twice in appSettings (lines 1 and 2)'),
    (b'<?xml version="1.0" encoding="utf-8"?><configuration>\xff</configuration>', 'not valid utf-8'),
])
def test_corrupt_xml_is_refused_without_quoting_it(document, words):
    with pytest.raises(cc.CorruptConfig) as err:
        plan('xml', document)
    assert words in str(err.value)
    assert 'DbSecret' not in str(err.value)


def test_xml_custom_layout():
    layout = cc.resolve_layout('xml', {'structure': {'password': 'CPP:{siret}:Pwd', 'id_structure_cpp': ''}})
    result = plan('xml', None, layout=layout)
    values = read_xml(result.content)
    assert values['CPP:%s:Pwd' % PARIS] == SECRET_PARIS
    assert not any(key.endswith('IdStructureCpp') for key in values)


# --------------------------------------------------------------------------------------------- diff

@pytest.mark.parametrize('fmt, existing', [('ini', INI_EXISTING.encode('utf-8')), ('xml', XML_EXISTING)])
def test_diff_lists_only_changed_owned_keys_and_masks_secrets(fmt, existing):
    layout = cc.resolve_layout(fmt)
    result = plan(fmt, existing)
    diff = cc.masked_diff(layout, result.before, result.after, '/etc/corail.conf')
    both = diff['before'] + diff['after']
    for secret in SECRETS + ('old-password', 'DbSecret!', 'Ambre', 'info'):
        assert secret not in both
    assert diff['before_header'] == '/etc/corail.conf (Chorus settings only)'
    password_key = 'password' if fmt == 'ini' else 'Chorus.Structure.%s.Password' % PARIS
    assert '%s = <secret>' % password_key in diff['before']
    assert '%s = <secret changed>' % password_key in diff['after']
    assert 'Ville de Paris' in diff['after'] and 'Mairie de Paris' in diff['before']
    # a new structure: its secret exists, it did not "change"
    lyon_password = 'password' if fmt == 'ini' else 'Chorus.Structure.%s.Password' % LYON
    assert '%s = <secret>' % lyon_password in diff['after'].split(LYON, 1)[1]


def test_diff_is_empty_when_nothing_changes_and_shows_pruned_entries():
    layout = ini_layout()
    first = plan('ini', None)
    again = plan('ini', first.content)
    assert cc.masked_diff(layout, again.before, again.after) == {'before': '', 'after': ''}
    pruned = plan('ini', first.content, structures=STRUCTURES[:1], prune=True)
    diff = cc.masked_diff(layout, pruned.before, pruned.after)
    assert diff['after'] == ''
    assert diff['before'].startswith('[chorus.structure.%s]\nname = Ville de Lyon\n' % LYON)
    assert 'password = <secret>' in diff['before'] and SECRET_LYON not in diff['before']


def test_siret_rule_follows_the_environment_of_the_structures_application():
    # Qualification identifiers need not satisfy Luhn; production ones must (one rule with the check).
    plan('ini', None, structures=with_structure(siret='21750001600018'))
    with pytest.raises(InvalidIdentifier) as err:
        plan('ini', None, structures=with_structure(siret='21750001600018'),
             apps=[dict(APPS[0], environment='production')])
    assert err.value.field == 'siret' and 'checksum' in str(err.value)


def test_siret_separators_are_normalised_and_short_integers_refused():
    structures = with_structure(siret='217 500 016.00019')
    assert b'21750001600019' in plan('ini', None, structures=structures).content
    with pytest.raises(InvalidIdentifier) as err:
        plan('ini', None, structures=with_structure(siret=1125))
    assert 'quote it' in str(err.value)


def test_a_refused_secret_is_never_written():
    from ansible_collections.chorus.corail.plugins.module_utils import _corail_config as ccfg
    from ansible_collections.chorus.corail.plugins.module_utils._secrets import TEMPLATED_SECRET, refused
    apps = [{'name': 'corail_q', 'environment': 'qualification', 'client_id': 'cid', 'client_secret': 'cs-long-enough-1'}]
    structures = [{'siret': '21640000200012', 'account': 'TECH_1_A@cpro.fr', 'password': refused(TEMPLATED_SECRET)}]
    with pytest.raises(ccfg.InvalidIdentifier) as info:
        ccfg.build_blocks(apps, structures)
    assert 'Jinja delimiters' in str(info.value) and '21640000200012' in str(info.value)
    apps[0]['client_secret'] = refused(TEMPLATED_SECRET)
    structures[0]['password'] = 'pw-long-enough-1'
    with pytest.raises(ccfg.InvalidIdentifier) as info:
        ccfg.build_blocks(apps, structures)
    assert 'client_secret of PISTE application corail_q' in str(info.value)
