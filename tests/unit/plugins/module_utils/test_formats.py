# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The format registry: one module per format, and the byte forms Windows Corail servers use."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import codecs

import pytest

from ansible_collections.chorus.corail.plugins.module_utils import _corail_config as cc

PARIS = '21750001600019'
APPS = [dict(name='corail', environment='qualification', client_id='client-123', client_secret='app&secret<1>')]
STRUCTURES = [dict(siret=PARIS, name=u'Mairie de Paris, Hôtel de Ville', account='TECH_1_paris@cpro.fr',
                   password='Pa55;word#Paris')]
FOREIGN = {
    'ini': [u'; Réglages du poste Corail', u'[Database]', u'Server = sql01', u''],
    'xml': [u'<?xml version="1.0" encoding="{decl}"?>', u'<configuration>', u'  <appSettings>',
            u'    <add key="Corail.Dossier" value="D:\\Éditions" />', u'  </appSettings>', u'</configuration>', u''],
}
# (name, BOM, codec, the encoding an XML declaration names)
BYTE_FORMS = [
    ('utf-8', b'', 'utf-8', 'utf-8'),
    ('utf-8 with BOM', codecs.BOM_UTF8, 'utf-8', 'utf-8'),
    ('utf-16 LE with BOM', codecs.BOM_UTF16_LE, 'utf-16-le', 'utf-16'),
    ('windows-1252', b'', 'cp1252', 'windows-1252'),
]
REGISTRY_NAMES = ('NAME', 'HEADER', 'DEFAULT_LAYOUT', 'SETTINGS', 'ESCAPES_UNENCODABLE', 'check_layout', 'check_key',
                  'names_of', 'decode', 'parse', 'render_new', 'verify', 'diff_lines')


def test_every_registered_format_offers_the_same_names():
    assert cc.FORMATS == ('ini', 'xml')
    for name in cc.FORMATS:
        syntax = cc.format_of(name)
        assert syntax.NAME == name
        assert [n for n in REGISTRY_NAMES if not hasattr(syntax, n)] == []
    with pytest.raises(cc.LayoutError, match="format must be one of ini, xml, got 'json'"):
        cc.format_of('json')


@pytest.mark.parametrize('fmt', ['ini', 'xml'])
@pytest.mark.parametrize('newline', ['\r\n', '\n'], ids=['CRLF', 'LF'])
@pytest.mark.parametrize('form, bom, codec, decl', BYTE_FORMS, ids=[f[0] for f in BYTE_FORMS])
def test_each_byte_form_is_kept_as_found(fmt, newline, form, bom, codec, decl):
    text = newline.join(FOREIGN[fmt]).replace('{decl}', decl)
    original = bom + text.encode(codec)
    layout = cc.resolve_layout(fmt)
    result = cc.plan(fmt, original, layout, APPS, STRUCTURES)
    assert result.changed
    assert result.content.startswith(bom + text.split(newline)[0].encode(codec))
    written = result.content[len(bom):].decode(codec)  # raises if another encoding crept in
    assert written.startswith(text.rstrip(newline) if fmt == 'ini' else text.split(newline)[0])
    if newline == '\r\n':
        assert '\n' not in written.replace('\r\n', '')
    else:
        assert '\r' not in written
    assert u'Hôtel de Ville' in written
    for line in FOREIGN[fmt]:
        assert line.replace('{decl}', decl) in written
    again = cc.plan(fmt, result.content, layout, APPS, STRUCTURES)
    assert not again.changed and again.content == result.content


def test_a_character_windows_1252_lacks_is_refused_in_ini_and_escaped_in_xml():
    euro_less = [dict(STRUCTURES[0], name=u'Ville \u0141\u00f3d\u017a')]  # Ł is not in windows-1252
    ini = u'[Database]\r\nServer = s\u00e9\r\n'.encode('cp1252')
    with pytest.raises(cc.InvalidIdentifier, match="name.*%s.*file encoding \\(cp1252\\)" % PARIS):
        cc.plan('ini', ini, cc.resolve_layout('ini'), APPS, euro_less)
    xml = u'<?xml version="1.0" encoding="windows-1252"?>\r\n<configuration>\r\n</configuration>\r\n'.encode('cp1252')
    result = cc.plan('xml', xml, cc.resolve_layout('xml'), APPS, euro_less)
    assert b'Ville &#321;' in result.content


@pytest.mark.parametrize('attribute', ['configSource', 'file'])
def test_app_settings_kept_in_another_file_are_refused(attribute):
    original = ('<configuration>\n  <appSettings %s="appSettings.config" />\n</configuration>\n' % attribute).encode()
    with pytest.raises(cc.CorruptConfig) as info:
        cc.plan('xml', original, cc.resolve_layout('xml'), APPS, STRUCTURES)
    assert str(info.value) == ('the appSettings element has a %s attribute: its settings live in another file; '
                               'set path to that file' % attribute)


def _format_branches(source):
    """(line, text) of each comparison or membership test against a format name in ``source``."""
    import ast
    names = set(cc.FORMATS)
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left] + list(node.comparators)
        elif isinstance(node, ast.Dict):
            operands = list(node.keys)  # {'ini': ..., 'xml': ...}: a branch by table
        else:
            continue
        for operand in operands:
            values = operand.elts if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [operand]
            if any(isinstance(v, ast.Constant) and v.value in names for v in values):
                found.append(node.lineno)
    return found


def test_no_module_utils_file_outside_the_format_modules_branches_on_the_format():
    import os
    folder = os.path.dirname(cc.__file__)
    branches = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith('.py') and not name.startswith('_format_'):
            with open(os.path.join(folder, name)) as handle:
                lines = _format_branches(handle.read())
            if lines:
                branches[name] = lines
    assert branches == {}
    # the probe itself sees a branch
    assert _format_branches("if fmt == 'xml':\n    pass\nx = fmt in ('ini',)\ny = {'ini': 1}\n") == [1, 3, 4]
