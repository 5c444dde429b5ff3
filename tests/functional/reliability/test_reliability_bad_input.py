# -*- coding: utf-8 -*-
"""Bad input table: one row per case, across modules, the deploy role, filters and the inventory plugin.

Each row must end in a clear error that names the field and the structure (its SIRET, or its
position / login / host when there is no usable SIRET), and the Corail configuration file on disk
must be byte-identical afterwards (sha256 before and after). Markup in values is not an error
(passwords may hold < > " ' &): those rows must be written escaped and read back exactly, with no
key injected (MARKUP_CASES).
"""

import json
import os
import re
import subprocess
import sys
import textwrap
from unittest.mock import MagicMock

import pytest

from reliability_helpers import LINK, record, run_module, sha256_file

from conftest import run_ansible

from ansible.errors import AnsibleActionFail, AnsibleFilterError
from ansible_collections.chorus.corail.plugins.action.check_report import ActionModule as CheckReportAction
from ansible_collections.chorus.corail.plugins.filter.identifiers import FilterModule as IdentifierFilters
from ansible_collections.chorus.corail.plugins.filter.structures import structures_of_hosts
from ansible_collections.chorus.corail.plugins.module_utils import _corail_config as cc
from ansible_collections.chorus.corail.plugins.modules import accounts_file, corail_config, credentials_info

S1, S2 = '21640000200012', '21640001000015'
BAD_CHECKSUM = '21640000200013'
BAD_SIREN = '21640000100012'   # SIREN part fails Luhn
LOGIN = 'TECH_0%s@cpp2017.fr' % S1
PASSWORD = 'Good-pass:w0rd;#1'
APP = dict(name='corail_q', environment='qualification', client_id='cid-q', client_secret='csec-q-secret')
PROD_APP = dict(APP, environment='production')
GOOD = dict(siret=S1, name='Commune de Lescar', account=LOGIN, password=PASSWORD, piste_app='corail_q')
VAULTED = '$ANSIBLE_VAULT;1.1;AES256\n' + '\n'.join(['3' * 80] * 4)


def rows(cases, prefix, keep=slice(1, None)):
    """pytest params from table rows (id first); a row may be a pytest.param carrying marks."""
    out = []
    for case in cases:
        marks = ()
        if hasattr(case, 'values'):
            case, marks = case.values, case.marks
        out.append(pytest.param(*case[keep], marks=marks, id='%s: %s' % (prefix, case[0])))
    return out


def structure(**changes):
    item = dict(GOOD)
    item.update(changes)
    return item


# ---------------------------------------------------------------------------------------------
# corail_config: rows are (id, changes to the module arguments, format, words the message must hold)

CORAIL_CONFIG_CASES = [
    ('siret not digits', dict(structures=[structure(siret='2164000020001A')]), 'ini', ['siret', '2164000020001A', 'digits']),
    ('siret 13 digits', dict(structures=[structure(siret='2164000020001')]), 'ini', ['siret', '2164000020001', '14 digits']),
    # Production: the checksum is required (qualification identifiers need not satisfy Luhn).
    ('siret checksum', dict(structures=[structure(siret=BAD_CHECKSUM)], piste_apps=[PROD_APP]), 'xml',
     ['siret', BAD_CHECKSUM, 'checksum']),
    ('siret SIREN checksum', dict(structures=[structure(siret=BAD_SIREN)], piste_apps=[PROD_APP]), 'ini',
     ['siret', BAD_SIREN, 'checksum']),
    ('siret a short YAML integer', dict(structures=[structure(siret=1125)]), 'ini', ['siret', 'quote it']),
    ('siret empty', dict(structures=[structure(siret='')]), 'ini', ['siret', 'structures[0]', 'empty']),
    ('password empty', dict(structures=[structure(password='')]), 'ini', ['password', S1, 'empty']),
    ('password whitespace', dict(structures=[structure(password='   ')]), 'xml', ['password', S1, 'white space']),
    ('password newline', dict(structures=[structure(password='pw\n[chorus.structure.x]')]), 'ini', ['password', S1, 'control']),
    ('password too long', dict(structures=[structure(password='x' * 5000)]), 'ini', ['password', S1, 'longer']),
    ('login no at sign', dict(structures=[structure(account='TECH_0216400002')]), 'ini', ['account', S1, 'e-mail-like']),
    ('login with colon', dict(structures=[structure(account='TECH:1@cpro.fr')]), 'ini', ['account', S1, ':']),
    ('login with a colon', dict(structures=[structure(account='TECH_1_a:b@cpro.fr')]), 'xml', ['account', S1, '":"']),
    ('name newline injection', dict(structures=[structure(name='Lescar\n[chorus.piste.evil]\nclient_secret = x')]), 'ini',
     ['name', S1, 'control characters']),
    ('name newline injection xml', dict(structures=[structure(name='Lescar\r\n<add key="x" value="y"/>')]), 'xml',
     ['name', S1, 'control characters']),
    ('service_code NUL', dict(structures=[structure(service_code='FIN\x00')]), 'ini', ['service_code', S1, 'control']),
    ('name U+FFFF (not a character)', dict(structures=[structure(name='Lescar \uffff')]), 'ini', ['name', S1, 'cannot hold']),
    ('name huge', dict(structures=[structure(name='L' * 100000)]), 'ini', ['name', S1, 'longer']),
    ('client_secret huge', dict(piste_apps=[dict(APP, client_secret='s' * 100000)]), 'ini',
     ['client_secret', 'corail_q', 'longer']),
    ('id_structure_cpp not a number', dict(structures=[structure(id_structure_cpp='12a')]), 'ini', ['id_structure_cpp', S1, 'number']),
    ('unknown environment', dict(piste_apps=[dict(APP, environment='prod')]), 'ini', ['environment', 'corail_q', 'prod']),
    ('client_secret empty', dict(piste_apps=[dict(APP, client_secret=' ')]), 'xml', ['client_secret', 'corail_q', 'white space']),
    ('oauth_url not a URL', dict(piste_apps=[dict(APP, oauth_url='javascript:alert(1)')]), 'ini', ['oauth_url', 'corail_q', 'URL']),
    ('piste_app unknown', dict(structures=[structure(piste_app='nope')]), 'ini', ['piste_app', S1]),
    ('duplicate siret conflicting accounts', dict(structures=[structure(), structure(account='TECH_1_other@cpro.fr')]), 'ini',
     ['siret', S1, 'twice']),
    pytest.param('structures wrong type', dict(structures='not a list'), 'ini', ['structures'], marks=pytest.mark.xfail(
        strict=True, reason="Ansible's own argument validation says 'dictionary requested, could not parse JSON or "
        "key=value' without naming the option (list of dicts with suboptions); the deploy role always passes a list")),
    ('structure element wrong type', dict(structures=[['a', 'list']]), 'ini', ['structures']),
    ('corrupt existing ini (section twice)', dict(corrupt=b'[chorus.structure.%s]\nlogin = a@b.fr\n[chorus.structure.%s]\n'
                                                  % (S1.encode(), S1.encode())), 'ini', ['section', S1, 'twice']),
    ('corrupt existing xml (not well-formed)', dict(corrupt=b'<configuration><appSettings></configuration>'), 'xml',
     ['not well-formed', 'line']),
    ('existing xml not UTF-8', dict(corrupt=b'<?xml version="1.0" encoding="utf-8"?>\n<configuration>\xff\xfe</configuration>'),
     'xml', ['not valid utf-8']),
    ('unwritable path', dict(path='/sys/chorus-corail-reliability.ini'), 'ini', ['/sys', 'cannot write', 'nothing was written']),
    ('path is a directory', dict(path='{tmp}'), 'ini', ['is a directory']),
    ('parent is a file', dict(path='{config}/corail.ini'), 'ini', ['does not exist', 'nothing was written']),
]

MARKUP_CASES = [
    ('ini section markup in name', 'ini', dict(name='Lescar] [chorus.piste.evil')),
    ('ini comment and quote in password', 'ini', dict(password='pw ; # "quoted" \\ end ')),
    ('xml attribute break-out in name', 'xml', dict(name='Lescar" /><add key="Chorus.Piste.evil.ClientSecret" value="x')),
    ('xml entities and CDATA in password', 'xml', dict(password="<![CDATA[x]]>&amp;&#x41;<'\"")),
]


def _module_args(tmp_path, fmt, changes):
    config = tmp_path / ('corail.%s' % fmt)
    args = dict(path=str(config), format=fmt, piste_apps=[APP], structures=[GOOD], backup=True)
    args.update(dict((k, v) for k, v in changes.items() if k != 'corrupt'))
    if isinstance(args['path'], str):
        args['path'] = args['path'].replace('{tmp}', str(tmp_path)).replace('{config}', str(config))
    return config, args


def _baseline(tmp_path, fmt, capsys, corrupt=None):
    config = tmp_path / ('corail.%s' % fmt)
    if corrupt is not None:
        config.write_bytes(corrupt)
    else:
        out = run_module(corail_config, dict(path=str(config), format=fmt, piste_apps=[APP],
                                             structures=[structure(siret=S2)]), capsys)
        assert out.get('changed') and not out.get('failed'), out
    return config


def assert_clear(message, words):
    assert message, 'no error message'
    for word in words:
        assert word.lower() in message.lower(), 'error %r does not name %r' % (message, word)
    assert PASSWORD not in message and APP['client_secret'] not in message


@pytest.mark.parametrize('changes, fmt, words', rows(CORAIL_CONFIG_CASES, 'corail_config'))
def test_corail_config_refuses(tmp_path, capsys, changes, fmt, words):
    config = _baseline(tmp_path, fmt, capsys, changes.get('corrupt'))
    before = sha256_file(str(config))
    listing = sorted(os.listdir(str(tmp_path)))
    _path, args = _module_args(tmp_path, fmt, changes)
    out = run_module(corail_config, args, capsys)
    assert out.get('failed'), 'accepted: %s' % out
    assert_clear(out['msg'], words)
    assert sha256_file(str(config)) == before, 'the configuration file changed'
    assert sorted(os.listdir(str(tmp_path))) == listing, 'a file was left behind (temporary file or backup)'


@pytest.mark.parametrize('fmt, changes', rows(MARKUP_CASES, 'corail_config'))
def test_corail_config_neutralises_markup(tmp_path, capsys, fmt, changes):
    config = _baseline(tmp_path, fmt, capsys)
    layout = cc.resolve_layout(fmt)
    owned_before = _owned(config, fmt, layout)
    out = run_module(corail_config, dict(path=str(config), format=fmt, piste_apps=[APP],
                                         structures=[structure(siret=S2), structure(**changes)]), capsys)
    assert out.get('changed') and not out.get('failed'), out
    owned = _owned(config, fmt, layout)
    # exactly the structures given, each value read back as given, nothing injected
    assert set(owned) == set(owned_before) | {('structure', S1)}
    for field, value in changes.items():
        assert owned[('structure', S1)][field] == value
    assert owned[('app', 'corail_q')]['client_secret'] == APP['client_secret']
    again = run_module(corail_config, dict(path=str(config), format=fmt, piste_apps=[APP],
                                           structures=[structure(siret=S2), structure(**changes)]), capsys)
    assert again['changed'] is False


def _owned(config, fmt, layout):
    data = config.read_bytes()
    _bom, codec, text = cc.decode(data, fmt)
    doc = cc.IniDocument(text, layout) if fmt == 'ini' else cc.XmlDocument(data, text, layout, codec)
    if fmt == 'xml':
        import xml.etree.ElementTree as ET
        keys = [el.get('key') for el in ET.fromstring(data).iter('add')]
        assert all(layout.classify_key(k) for k in keys), keys
    return doc.current()


# ---------------------------------------------------------------------------------------------
# credentials_info (offline: a bad entry becomes invalid_input or missing_account, with the field)

ACCOUNTS = {LOGIN: dict(password=PASSWORD, password_changed_on='2025-01-01', environment='qualification')}
APPS = {'corail_q': dict(client_id='cid-q', client_secret='csec-q-secret', environment='qualification')}
CI = dict(siret=S1, host='corail-1', account=LOGIN, piste_app='corail_q')

CREDENTIALS_INFO_CASES = [
    ('siret checksum', dict(structures=[dict(CI, siret=BAD_CHECKSUM)], piste_apps={'corail_q': dict(
        APPS['corail_q'], environment='production')}), 'invalid_input', ['siret', 'checksum']),
    ('siret as a YAML integer without 14 digits', dict(structures=[dict(CI, siret=0o2145)]), 'invalid_input',
     ['siret', 'YAML integer', 'quote it']),
    ('password whitespace', dict(accounts={LOGIN: dict(ACCOUNTS[LOGIN], password='  \t ')}), 'invalid_input',
     ['password', LOGIN, 'white space']),
    ('password wrong type', dict(accounts={LOGIN: dict(ACCOUNTS[LOGIN], password=['Pass-in-a-list-9'])}), 'invalid_input',
     ['password', LOGIN, 'string']),
    ('login wrong shape', dict(accounts={'jean@': ACCOUNTS[LOGIN]}, structures=[dict(CI, account='jean@')]),
     'invalid_input', ['login', 'jean@']),
    ('unknown environment', dict(piste_apps={'corail_q': dict(APPS['corail_q'], environment='prod')}), 'invalid_input',
     ['environment', 'corail_q', 'prod']),
    ('account in another environment', dict(accounts={LOGIN: dict(ACCOUNTS[LOGIN], environment='production')}),
     'invalid_input', ['account', LOGIN, 'production']),
    ('password_changed_on not a date', dict(accounts={LOGIN: dict(ACCOUNTS[LOGIN], password_changed_on='31/02/2025x')}),
     'invalid_input', ['password_changed_on', LOGIN]),
    ('duplicate siret conflicting accounts', dict(
        accounts=dict(ACCOUNTS, **{'TECH_1_other@cpro.fr': ACCOUNTS[LOGIN]}),
        structures=[CI, dict(CI, host='corail-2', account='TECH_1_other@cpro.fr')]), 'invalid_input',
     ['account', S1, 'different accounts']),
    ('account absent', dict(structures=[dict(CI, account='TECH_1_ghost@cpro.fr')]), 'missing_account',
     ['TECH_1_ghost@cpro.fr', 'chorus_accounts']),
    # elements='dict' in the argument spec: Ansible refuses the whole list, naming the option
    ('structure not a mapping', dict(structures=['21640000200012']), None, ['structures', 'type str']),
]


@pytest.mark.parametrize('changes, status, words', rows(CREDENTIALS_INFO_CASES, 'credentials_info'))
def test_credentials_info_flags(tmp_path, capsys, changes, status, words):
    config = tmp_path / 'corail.ini'
    config.write_bytes(b'[other]\nkeep = me\n')
    before = sha256_file(str(config))
    args = dict(structures=[CI], accounts=ACCOUNTS, piste_apps=APPS, online=False)
    args.update(changes)
    out = run_module(credentials_info, args, capsys)
    assert sha256_file(str(config)) == before
    if status is None:
        assert out.get('failed'), out
        assert_clear(out['msg'], words)
        return
    assert not out.get('failed'), out
    flagged = [e for e in out['structures'] if e['status'] == status]
    assert flagged, out['structures']
    entry = flagged[0]
    siret = entry['siret'] if isinstance(entry['siret'], str) else None
    assert_clear(entry['detail'], words)
    if siret:
        assert entry['siret'] == siret  # the structure is named by its entry
    assert sha256_file(str(config)) == before


# ---------------------------------------------------------------------------------------------
# check_report and accounts_file

ROW = dict(host='corail-1', siret=S1, status='ok', warnings=[], detail='', remediation='')

CHECK_REPORT_CASES = [
    ('status not in the vocabulary', dict(result=dict(structures=[dict(ROW, status='fine')])), ['status', S1, 'fine']),
    ('warnings wrong type', dict(result=dict(structures=[dict(ROW, warnings='none')])), ['warnings', S1]),
    ('structures missing', dict(result=dict(counts={})), ['result.structures']),
    ('structure entry not a dict', dict(result=dict(structures=[S1])), ['structures[0]', 'dict']),
    ('failed credentials_info result', dict(result=dict(failed=True, msg='boom', structures=[])), ['credentials_info failed']),
    ('unwritable report_dir', dict(report_dir='/sys/chorus-corail-reports'), ['/sys/chorus-corail-reports', 'cannot create']),
]


@pytest.mark.parametrize('changes, words', rows(CHECK_REPORT_CASES, 'check_report'))
def test_check_report_refuses(tmp_path, capsys, changes, words):
    reports = tmp_path / 'reports'
    args = dict(result=dict(structures=[ROW]), report_dir=str(reports))
    args.update(changes)
    out = run_check_report(args)
    assert out.get('failed'), out
    assert_clear(out['msg'], words)
    assert not reports.exists() or not os.listdir(str(reports)), 'a partial report was written'


def run_check_report(args):
    """check_report as a task runs it: through its action plugin, on the controller."""
    task = MagicMock()
    task.args, task.check_mode, task.async_val, task.diff = args, False, 0, False
    action = CheckReportAction(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    try:
        return action.run(task_vars={})
    except AnsibleActionFail as exc:
        return {'failed': True, 'msg': str(exc)}


ACCOUNTS_FILE_CASES = [
    ('password not vaulted', dict(vaulted_password=PASSWORD), None, [LOGIN, 'not vault-encrypted']),
    ('unknown environment', dict(environment='prod'), None, ['environment', 'prod']),
    ('corrupt existing file (YAML)', {}, b'chorus_accounts:\n  a: [unclosed\n', ['not valid YAML']),
    ('existing file not a mapping', {}, b'- a\n- b\n', ['mapping']),
    ('existing file non-UTF-8', {}, b'chorus_accounts:\n  TECH_1_x@cpro.fr:\n    environment: qualification \xff\n',
     ['utf-8']),
    ('flow style accounts', {}, b'chorus_accounts: {TECH_1_x@cpro.fr: {environment: production}}\n', ['flow style']),
    ('unwritable path', dict(path='/sys/chorus-corail-reliability/chorus_accounts.yml'), None,
     ['/sys/chorus-corail-reliability', LOGIN]),
]


@pytest.mark.parametrize('changes, existing, words', rows(ACCOUNTS_FILE_CASES, 'accounts_file'))
def test_accounts_file_refuses(tmp_path, capsys, changes, existing, words):
    path = tmp_path / 'chorus_accounts.yml'
    if existing is not None:
        path.write_bytes(existing)
    before = sha256_file(str(path))
    args = dict(path=str(path), login=LOGIN, vaulted_password=VAULTED, environment='qualification',
                password_changed_on='2025-01-01')
    args.update(changes)
    out = run_module(accounts_file, args, capsys)
    assert out.get('failed'), out
    assert_clear(out['msg'], words)
    assert sha256_file(str(path)) == before
    assert sorted(os.listdir(str(tmp_path))) == ([path.name] if existing is not None else [])


# ---------------------------------------------------------------------------------------------
# filters

_FILTERS = IdentifierFilters().filters()

FILTER_CASES = [
    ('siren of a bad checksum', lambda: _FILTERS['siren'](BAD_CHECKSUM), ['siret', BAD_CHECKSUM, 'checksum']),
    ('siren of a short number', lambda: _FILTERS['siren'](2164000020001), ['siret', 'quote it']),
    ('siren of a huge string', lambda: _FILTERS['siren']('1' * 100000), ['siret', 'digits']),
    ('structures_of_hosts, corail_structures a string', lambda: structures_of_hosts(
        {'corail-1': {'corail_structures': S1}}, ['corail-1']), ['corail-1', 'corail_structures', 'list']),
    ('structures_of_hosts, entry not a mapping', lambda: structures_of_hosts(
        {'corail-1': {'corail_structures': [S1]}}, ['corail-1']), ['corail-1', 'corail_structures[0]', 'mapping']),
    ('structures_of_hosts, unknown host', lambda: structures_of_hosts({}, ['corail-9']), ['corail-9', 'not in the inventory']),
]


@pytest.mark.parametrize('call, words', rows(FILTER_CASES, 'filter'))
def test_filters_refuse(call, words):
    with pytest.raises(AnsibleFilterError) as failure:
        call()
    assert_clear(str(failure.value), words)
    assert len(str(failure.value)) < 600  # a huge input is not echoed back


def test_siret_problem_filter_names_the_problem_without_failing():
    assert 'checksum' in _FILTERS['siret_problem'](BAD_CHECKSUM)
    assert _FILTERS['siret_valid'](BAD_CHECKSUM) is False and _FILTERS['siret_problem'](S1) is None


# ---------------------------------------------------------------------------------------------
# inventory plugin (one subprocess parses every register, with the collection loader set up)

HEADER = 'Collectivité;SIRET;Serveur Corail;Compte technique;Application PISTE;Environnement\n'
INVENTORY_CASES = [
    ('checksum-invalid SIRET', HEADER + 'Lescar;%s;corail-1;%s;corail_q;production\n' % (BAD_CHECKSUM, LOGIN),
     ['line 2', 'siret', BAD_CHECKSUM, 'checksum']),
    ('13-digit SIRET', HEADER + 'Lescar;2164000020001;corail-1;%s;corail_q;qualification\n' % LOGIN,
     ['line 2', 'siret', 'leading zero']),
    ('server empty', HEADER + 'Lescar;%s;;%s;corail_q;qualification\n' % (S1, LOGIN), ['line 2', 'server', S1]),
    ('unknown environment', HEADER + 'Lescar;%s;corail-1;%s;corail_q;prod\n' % (S1, LOGIN),
     ['line 2', 'environment', S1, 'prod']),
    ('duplicate SIRET, conflicting accounts', HEADER + 'Lescar;%s;corail-1;%s;corail_q;qualification\n'
     'Lescar;%s;corail-2;TECH_1_other@cpro.fr;corail_q;qualification\n' % (S1, LOGIN, S1),
     ['line 3', 'account', S1, 'conflicts with line 2']),
    ('password column', 'SIRET;Serveur Corail;Mot de passe\n%s;corail-1;secret\n' % S1, ['mot de passe', 'column']),
    ('non-UTF-8 bytes', (HEADER + 'Lescar;%s;corail-1;%s;corail_q;qualification\n' % (S1, LOGIN)).encode('cp1252')
     .replace(b'Lescar', b'L\xe9scar\x81'), ['utf-8', 'encoding']),
    ('corrupt YAML register', 'structures:\n  - {siret: "%s", server: [unclosed\n' % S1, ['not valid yaml']),
    ('unreadable register (missing)', None, ['cannot read the register']),
]

_PARSE_ALL = textwrap.dedent('''
    import json, sys
    from ansible.plugins.loader import init_plugin_loader, inventory_loader
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    init_plugin_loader([sys.argv[1]])
    out = {}
    for path in sys.argv[2:]:
        plugin = inventory_loader.get('chorus.corail.register')
        try:
            plugin.parse(InventoryData(), DataLoader(), path, cache=False)
            out[path] = None
        except Exception as exc:  # the message is what the user sees
            out[path] = '%s: %s' % (type(exc).__name__, exc)
    print(json.dumps(out))
''')


@pytest.fixture(scope='module')
def inventory_errors(tmp_path_factory):
    base = tmp_path_factory.mktemp('registers')
    configs = {}
    for index, (name, content, _words) in enumerate(INVENTORY_CASES):
        folder = base / ('case%02d' % index)
        folder.mkdir()
        register = 'register.yml' if isinstance(content, str) and content.startswith('structures:') else 'register.csv'
        if isinstance(content, str):
            (folder / register).write_text(content, encoding='utf-8')
        elif content is not None:
            (folder / register).write_bytes(content)
        (folder / 'inv.chorus.yml').write_text('plugin: chorus.corail.register\npath: %s\non_invalid: error\n' % register)
        configs[name] = (str(folder / 'inv.chorus.yml'), str(folder / register))
    hashes = dict((name, sha256_file(reg)) for name, (_c, reg) in configs.items())
    proc = subprocess.run([sys.executable, '-c', _PARSE_ALL, LINK] + [c for c, _r in configs.values()],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    messages = json.loads(proc.stdout.strip().splitlines()[-1])
    return dict((name, (messages[config], hashes[name] == sha256_file(reg))) for name, (config, reg) in configs.items())


@pytest.mark.parametrize('name, words', rows(INVENTORY_CASES, 'inventory', keep=slice(0, 3, 2)))
def test_inventory_plugin_refuses(inventory_errors, name, words):
    message, unchanged = inventory_errors[name]
    assert message is not None, 'the register was accepted'
    assert message.startswith(('AnsibleParserError', 'RegisterErrors')), message  # RegisterErrors is an AnsibleParserError
    assert_clear(message, words)
    assert unchanged


# ---------------------------------------------------------------------------------------------
# deploy role: one playbook run, one host per case, every host with an existing configuration file

DEPLOY_CASES = [
    ('siret 13 digits', dict(corail_structures=[dict(siret='2164000020001', account=LOGIN)]), ['structure 2164000020001', 'siret']),
    # Production: qualification accepts a SIRET that fails Luhn (siret_checksum_unusual), production refuses it.
    ('siret checksum', dict(corail_structures=[dict(siret=BAD_CHECKSUM, account='TECH_1_prod@cpro.fr', piste_app='corail_p')]),
     ['structure %s' % BAD_CHECKSUM, 'siret', 'checksum']),
    ('siret listed twice', dict(corail_structures=[dict(siret=S1, account=LOGIN), dict(siret=S1, account=LOGIN)]),
     ['structure %s' % S1, 'listed twice']),
    ('account missing', dict(corail_structures=[dict(siret=S1, account='TECH_1_ghost@cpro.fr')]),
     ['structure %s' % S1, 'TECH_1_ghost@cpro.fr', 'not in chorus_accounts']),
    ('account empty', dict(corail_structures=[dict(siret=S1, account='')]), ['structure %s' % S1, 'account']),
    ('password empty', dict(corail_structures=[dict(siret=S1, account='TECH_1_empty@cpro.fr')]),
     ['structure %s' % S1, 'password', 'TECH_1_empty@cpro.fr', 'empty']),
    ('password whitespace', dict(corail_structures=[dict(siret=S1, account='TECH_1_blank@cpro.fr')]),
     ['structure %s' % S1, 'password', 'empty']),
    ('unknown environment', dict(corail_structures=[dict(siret=S1, account=LOGIN, piste_app='corail_prod_typo')]),
     ['structure %s' % S1, 'environment', 'corail_prod_typo']),
    ('account in another environment', dict(corail_structures=[dict(siret=S1, account='TECH_1_prod@cpro.fr')]),
     ['structure %s' % S1, 'TECH_1_prod@cpro.fr', 'production']),
    ('newline in name', dict(corail_structures=[dict(siret=S1, account=LOGIN, name='Lescar\n[chorus.piste.x]')]),
     ['name', S1, 'control characters', 'nothing was written']),
    ('huge service_code', dict(corail_structures=[dict(siret=S1, account=LOGIN, service_code='F' * 20000)]),
     ['service_code', S1, 'longer']),
    ('corail_structures not a list', dict(corail_structures='%s' % S1), ['corail_structures', 'type str']),
    ('corrupt existing config', dict(corrupt='[chorus.structure.%s]\nlogin = a@b.fr\nnot a key line\n' % S1),
     ['line 3', S1, 'untouched']),
    ('unknown corail_config_format', dict(corail_config_format='json'), ['corail_config_format', 'json']),
]


def case_siret(index):
    """A SIRET of the case's own (valid SIREN and SIRET): one SIRET with two accounts on two hosts is a
    conflict the deploy gate holds back everywhere, so unrelated cases must not share one."""
    from ansible_collections.chorus.corail.plugins.module_utils._identifiers import siret_valid
    prefix = '216400002%04d' % (100 + index)
    return next(prefix + digit for digit in '0123456789' if siret_valid(prefix + digit))


def for_case(index, value):
    """``value`` (host variables or expected words) with the SIRET S1 replaced by the case's own (LOGIN kept)."""
    return json.loads(re.sub(r'(?<!TECH_0)%s' % S1, case_siret(index), json.dumps(value)))


@pytest.fixture(scope='module')
def deploy_run(tmp_path_factory):
    base = tmp_path_factory.mktemp('deploy-bad-input')
    accounts = {LOGIN: dict(password=PASSWORD, environment='qualification'),
                'TECH_1_empty@cpro.fr': dict(password='', environment='qualification'),
                'TECH_1_blank@cpro.fr': dict(password='   ', environment='qualification'),
                'TECH_1_prod@cpro.fr': dict(password=PASSWORD, environment='production')}
    apps = {'corail_q': dict(client_id='cid-q', client_secret='csec-q-secret', environment='qualification'),
            'corail_prod_typo': dict(client_id='cid-p', client_secret='csec-p-secret', environment='prod'),
            'corail_p': dict(client_id='cid-pp', client_secret='csec-pp-secret', environment='production')}
    hosts = {}
    hashes = {}
    for index, (name, hostvars, _words) in enumerate(DEPLOY_CASES):
        host = 'case%02d' % index
        config = base / ('%s.ini' % host)
        hostvars = for_case(index, hostvars)
        corrupt = hostvars.pop('corrupt', None)
        config.write_text(corrupt if corrupt is not None else '; kept by hand\n[other]\nkeep = me\n')
        hostvars.setdefault('corail_structures', [dict(siret=case_siret(index), account=LOGIN)])
        hostvars.update(ansible_connection='local', ansible_python_interpreter=sys.executable,
                        corail_config_path=str(config))
        hosts[host] = hostvars
        hashes[host] = sha256_file(str(config))
    (base / 'inventory.json').write_text(json.dumps({'all': {'hosts': hosts, 'vars': {
        'chorus_accounts': accounts, 'chorus_piste_apps': apps, 'chorus_piste_app': 'corail_q',
        'corail_deploy_incomplete': 'fail'}}}))  # refuse the host (the default deploys its other structures)
    (base / 'inventory.yml').write_text((base / 'inventory.json').read_text())
    (base / 'play.yml').write_text('- hosts: all\n  gather_facts: false\n  roles: [chorus.corail.deploy]\n')
    proc = run_ansible(['-i', str(base / 'inventory.yml'), str(base / 'play.yml'), '--forks', '10'], cwd=str(base))
    failures = {}
    decoder = json.JSONDecoder()
    for match in re.finditer(r'fatal: \[(?P<host>[^\]]+)\]: FAILED! => ', proc.stdout):
        failures[match.group('host')] = decoder.raw_decode(proc.stdout, match.end())[0].get('msg', '')
    changed = dict((host, hashes[host] == sha256_file(str(base / ('%s.ini' % host)))) for host in hosts)
    return failures, changed, proc


@pytest.mark.parametrize('index, words', [pytest.param(i, c[2], id='deploy role: ' + c[0]) for i, c in enumerate(DEPLOY_CASES)])
def test_deploy_role_refuses(deploy_run, index, words):
    failures, unchanged, proc = deploy_run
    host = 'case%02d' % index
    assert host in failures, 'host %s did not fail:\n%s' % (host, proc.stdout[-3000:])
    assert_clear(failures[host], for_case(index, words))
    assert 'declared' not in failures[host]  # no case conflicts with another one
    assert unchanged[host], 'the configuration file of %s changed' % host
    assert 'csec-q-secret' not in proc.stdout + proc.stderr


def test_the_table_has_at_least_40_error_cases():
    errors = (len(CORAIL_CONFIG_CASES) + len(CREDENTIALS_INFO_CASES) + len(CHECK_REPORT_CASES) + len(ACCOUNTS_FILE_CASES)
              + len(FILTER_CASES) + len(INVENTORY_CASES) + len(DEPLOY_CASES))
    assert errors >= 40
    record('bad_input', error_cases=errors, markup_cases=len(MARKUP_CASES),
           by_target=dict(corail_config=len(CORAIL_CONFIG_CASES), credentials_info=len(CREDENTIALS_INFO_CASES),
                          check_report=len(CHECK_REPORT_CASES), accounts_file=len(ACCOUNTS_FILE_CASES),
                          filters=len(FILTER_CASES), inventory=len(INVENTORY_CASES), deploy_role=len(DEPLOY_CASES)))


def test_siret_with_spaces_and_dots_is_the_same_siret_everywhere(tmp_path, capsys):
    # One normalisation (_identifiers.normalise_siret) in corail_config, the check and deploy.
    config, args = _module_args(tmp_path, 'ini', dict(structures=[structure(siret='216 400 002.00012')]))
    out = run_module(corail_config, args, capsys)
    assert not out.get('failed'), out
    assert S1 in config.read_text()
    out = run_module(credentials_info, dict(structures=[dict(CI, siret='216.400.002 00012')], accounts=ACCOUNTS,
                                            piste_apps=APPS, online=False), capsys)
    assert out['structures'][0]['siret'] == S1 and out['structures'][0]['status'] == 'unchecked'
