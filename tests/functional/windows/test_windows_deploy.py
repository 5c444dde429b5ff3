# -*- coding: utf-8 -*-
"""The deploy role on a simulated Windows Corail server (no Windows host here: see docs/windows.md).

ansible-playbook runs chorus.corail.deploy against a host whose facts say Windows; corail_config's
action plugin plans on the controller and calls ansible.windows modules, answered by simwin.py
from a local folder after validating each call with ansible.windows's own argument specs.
"""
import codecs
import glob
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from conftest import LINK, REPO, ansible_env, run_ansible

HERE = os.path.dirname(os.path.abspath(__file__))
MODULES = ('slurp', 'win_acl', 'win_acl_inheritance', 'win_copy', 'win_service', 'win_command')
FOLDER = 'C:\\Program Files (x86)\\Cosoluce\\Corail\\Chorus Pro'
SERVICE = 'CorailServeur'
SERVICE_ACCOUNT = 'NT SERVICE\\CorailServeur'
SIRET = '21640445900002'
LOGIN = 'TECH_021640445900002@cpp2017.fr'
PASSWORD = 'Mot-de-passe-affiche-une-fois-7Q'
NEW_PASSWORD = 'Nouveau-mot-de-passe-9Zx'
CLIENT_SECRET = 'secret-piste-application-42'
RESTRICTION = ['slurp', 'win_acl', 'win_acl', 'win_acl', 'win_acl_inheritance']

sys.path.insert(0, LINK)
from ansible_collections.chorus.corail.plugins.module_utils import _corail_config as cc  # noqa: E402


@pytest.fixture(scope='module')
def argspecs(tmp_path_factory):
    """ansible.windows's own option specs, from ansible-doc --json of the unpacked real collection."""
    collections = subprocess.check_output([os.path.join(REPO, 'tools', 'get_ansible_windows.sh')], text=True).strip()
    proc = run_ansible(['--json', '-t', 'module'] + ['ansible.windows.' + m for m in MODULES], program='ansible-doc',
                       env=ansible_env(ANSIBLE_COLLECTIONS_PATH=collections), check=True)
    docs = json.loads(proc.stdout)
    specs = dict((name, doc['doc']['options']) for name, doc in docs.items())
    assert sorted(specs) == sorted('ansible.windows.' + m for m in MODULES)
    path = tmp_path_factory.mktemp('argspecs') / 'ansible_windows.json'
    path.write_text(json.dumps(specs))
    return str(path), specs


@pytest.fixture(scope='module')
def simulated_collection(tmp_path_factory):
    """A stand-in ansible.windows whose modules are simwin.py (the real ones are PowerShell)."""
    top = tmp_path_factory.mktemp('simwin')
    modules = top / 'ansible_collections' / 'ansible' / 'windows' / 'plugins' / 'modules'
    modules.mkdir(parents=True)
    with open(os.path.join(HERE, 'simwin.py')) as handle:
        source = handle.read()
    for name in MODULES:
        (modules / (name + '.py')).write_text("#!/usr/bin/python\n%s\n\nif __name__ == '__main__':\n    main(%r)\n"
                                              % (source, name))
    return str(top)


class WindowsHost(object):
    """One simulated server: its drive folder, inventory, and the calls its runs made."""

    def __init__(self, tmp_path, argspecs, collection, fmt, file_name):
        self.root = tmp_path / 'drives'
        self.argspecs_path, self.specs = argspecs
        self.collection = collection
        self.win_path = '%s\\%s' % (FOLDER, file_name)
        self.local = self.root.joinpath('C', *FOLDER.split('\\')[1:]) / file_name
        self.local.parent.mkdir(parents=True)
        self.state = self.root / '.simwin'
        self.state.mkdir()
        (self.state / 'services.json').write_text(json.dumps({SERVICE: 'running'}))
        self.fmt = fmt
        self.password = PASSWORD
        self.extra_vars = {}
        self.inventory = tmp_path / 'inventory.yml'
        self.playbook = tmp_path / 'deploy.yml'
        self.playbook.write_text('- hosts: all\n  gather_facts: false\n  roles:\n    - chorus.corail.deploy\n')
        self.seen = 0

    def host_vars(self):
        hv = {
            'ansible_connection': 'local',
            'ansible_python_interpreter': sys.executable,
            'ansible_os_family': 'Windows',
            'corail_config_path': self.win_path,
            'corail_config_format': self.fmt,
            'corail_service_name': SERVICE,
            'corail_windows_service_account': SERVICE_ACCOUNT,
            'chorus_piste_app': 'corail-prod',
            'chorus_piste_apps': {'corail-prod': {'client_id': 'client-id-corail', 'client_secret': CLIENT_SECRET,
                                                  'environment': 'production'}},
            'chorus_accounts': {LOGIN: {'password': self.password, 'password_changed_on': '2026-01-05',
                                        'environment': 'production'}},
            'corail_structures': [{'siret': SIRET, 'name': 'Commune de Pau', 'account': LOGIN}],
        }
        hv.update(self.extra_vars)
        return hv

    def run(self, *args):
        self.inventory.write_text(yaml.safe_dump({'all': {'hosts': {'corail-win': self.host_vars()}}}))
        env = ansible_env(ANSIBLE_COLLECTIONS_PATH='%s:%s' % (LINK, self.collection),
                          SIMWIN_ROOT=str(self.root), SIMWIN_ARGSPECS=self.argspecs_path)
        proc = run_ansible(['-i', str(self.inventory), str(self.playbook)] + list(args), env=env)
        for secret in (PASSWORD, NEW_PASSWORD, CLIENT_SECRET):
            assert secret not in proc.stdout + proc.stderr
        return proc

    def calls(self):
        """The calls made since the last look."""
        path = self.state / 'calls.jsonl'
        lines = path.read_text().splitlines() if path.exists() else []
        new, self.seen = lines[self.seen:], len(lines)
        return [json.loads(line) for line in new]

    def planned(self, original):
        """What the engine plans for this host's settings: the bytes win_copy must write."""
        apps = [{'name': 'corail-prod', 'environment': 'production', 'client_id': 'client-id-corail',
                 'client_secret': CLIENT_SECRET, 'oauth_url': None, 'api_url': None}]
        structures = [{'siret': SIRET, 'name': 'Commune de Pau', 'account': LOGIN, 'password': self.password,
                       'piste_app': 'corail-prod', 'service_code': None, 'id_structure_cpp': None}]
        return cc.plan(self.fmt, original, cc.resolve_layout(self.fmt), apps, structures).content


def changed_count(proc):
    match = re.search(r'corail-win\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)', proc.stdout)
    assert match, proc.stdout[-3000:]
    return int(match.group(1)), int(match.group(2))


def assert_passes_argspecs(calls, specs):
    """Each recorded call again, with Ansible's own validator and ansible.windows's specs."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    sim = {}
    exec(open(os.path.join(HERE, 'simwin.py')).read(), sim)  # spec_from_doc only
    for call in calls:
        spec = sim['spec_from_doc'](specs['ansible.windows.' + call['module']])
        args = dict((k, v) for k, v in call['args'].items() if v is not None)
        result = ArgumentSpecValidator(spec).validate(args)
        assert not result.error_messages, (call['module'], result.error_messages)


UTF16_XML = ('<?xml version="1.0" encoding="utf-16"?>\r\n<configuration>\r\n  <connectionStrings>\r\n'
             '    <add name="Corail" connectionString="Server=SQL01;Password=sql-secret"/>\r\n  </connectionStrings>\r\n'
             '  <appSettings>\r\n    <add key="Corail.Theme" value="Bleu"/>\r\n  </appSettings>\r\n</configuration>\r\n')


@pytest.fixture
def host(tmp_path, argspecs, simulated_collection):
    return WindowsHost(tmp_path, argspecs, simulated_collection, 'xml', 'Corail.exe.config')


def test_first_deploy_rerun_and_password_change(host):
    original = codecs.BOM_UTF16_LE + UTF16_XML.encode('utf-16-le')
    host.local.write_bytes(original)

    first = host.run('--diff')
    assert changed_count(first) == (2, 0)  # corail_config (ACL and file), restart
    calls = host.calls()
    assert [c['module'] for c in calls] == RESTRICTION + ['win_copy', 'win_service']
    acl_calls = calls[1:5]
    assert {c['args']['user'] for c in acl_calls[:3]} == {'BUILTIN\\Administrators', 'NT AUTHORITY\\SYSTEM', SERVICE_ACCOUNT}
    assert all(c['args']['path'] == FOLDER for c in acl_calls)
    assert acl_calls[3]['args']['state'] == 'absent' and acl_calls[3]['args']['reorganize'] is False
    copy = calls[5]
    # The folder was restricted before any content was written: the new file inherits only these rules.
    assert copy['folder_acl']['inherit'] is False and len(copy['folder_acl']['rules']) == 3
    assert copy['args']['dest'] == host.win_path and copy['args']['remote_src'] is True and copy['args']['backup'] is True
    assert not os.path.exists(copy['args']['src']), "Ansible's transfer file must be gone after the task"
    assert calls[6]['args'] == dict(calls[6]['args'], name=SERVICE, state='restarted')
    written = host.local.read_bytes()
    assert written == host.planned(original)
    assert written.startswith(codecs.BOM_UTF16_LE)
    text = written[2:].decode('utf-16-le')
    assert text.count('\r\n') == text.count('\n') and 'Chorus.Structure.%s.Password' % SIRET in text
    assert 'connectionString="Server=SQL01;Password=sql-secret"' in text
    backups = glob.glob(str(host.local) + '.*.bak')
    assert len(backups) == 1 and open(backups[0], 'rb').read() == original
    assert '<secret>' in first.stdout

    again = host.run()
    assert changed_count(again) == (0, 0)
    assert [c['module'] for c in host.calls()] == RESTRICTION  # no win_copy, no restart
    assert host.local.read_bytes() == written

    host.password = NEW_PASSWORD
    renewed = host.run('--diff')
    assert changed_count(renewed) == (2, 0)  # corail_config (file), restart
    calls = host.calls()
    assert [c['module'] for c in calls] == RESTRICTION + ['win_copy', 'win_service']
    assert host.local.read_bytes() == host.planned(written)
    assert len(glob.glob(str(host.local) + '.*.bak')) == 2
    assert '<secret changed>' in renewed.stdout
    assert_passes_argspecs(calls, host.specs)


INI_LINES = ['; Réglages Corail', '[general]', 'theme = bleu', '']


@pytest.mark.parametrize('fmt, name, codec, bom, newline', [
    ('ini', 'chorus.ini', 'utf-8', b'', '\n'),
    ('ini', 'chorus.ini', 'utf-8', codecs.BOM_UTF8, '\r\n'),
    ('ini', 'chorus.ini', 'cp1252', b'', '\r\n'),
    ('xml', 'Corail.exe.config', 'utf-16-le', codecs.BOM_UTF16_LE, '\r\n'),
    ('xml', 'Corail.exe.config', 'utf-8', codecs.BOM_UTF8, '\r\n'),
], ids=['ini-utf8-lf', 'ini-utf8-bom-crlf', 'ini-cp1252-crlf', 'xml-utf16le-bom-crlf', 'xml-utf8-bom-crlf'])
def test_each_windows_byte_form_is_kept(tmp_path, argspecs, simulated_collection, fmt, name, codec, bom, newline):
    host = WindowsHost(tmp_path, argspecs, simulated_collection, fmt, name)
    if fmt == 'ini':
        text = newline.join(INI_LINES)
    else:
        text = UTF16_XML.replace('utf-16', 'utf-8' if codec == 'utf-8' else 'utf-16').replace('\r\n', newline)
    original = bom + text.encode(codec)
    host.local.write_bytes(original)
    assert changed_count(host.run()) == (2, 0)
    written = host.local.read_bytes()
    assert written == host.planned(original)
    assert written.startswith(bom) and written != original
    body = written[len(bom):].decode(codec)
    assert body.startswith(text.rstrip(newline).split(newline)[0])  # the first line untouched
    lines = body.split(newline)
    assert all('\r' not in line and '\n' not in line for line in lines), 'mixed line endings'
    assert SIRET in body
    assert_passes_argspecs(host.calls(), host.specs)


def test_new_file_is_created_in_the_restricted_folder(host):
    assert changed_count(host.run()) == (2, 0)
    calls = host.calls()
    assert [c['module'] for c in calls] == RESTRICTION + ['win_copy', 'win_service']
    assert calls[5]['args']['backup'] is False  # nothing to back up
    assert host.local.read_bytes() == host.planned(None)
    assert_passes_argspecs(calls, host.specs)


def test_check_mode_writes_nothing_and_masks_the_diff(host):
    original = codecs.BOM_UTF16_LE + UTF16_XML.encode('utf-16-le')
    host.local.write_bytes(original)
    proc = host.run('--check', '--diff')
    assert changed_count(proc)[1] == 0
    # The handler's win_service runs in check mode too (it changes nothing), as on POSIX.
    assert [(c['module'], c['check_mode']) for c in host.calls()] == [('slurp', True), ('win_service', True)]
    assert host.local.read_bytes() == original
    assert json.loads((host.state / 'services.json').read_text())[SERVICE] == 'running'
    assert 'Chorus.Structure.%s.Password = <secret>' % SIRET in proc.stdout


def test_a_config_source_file_is_refused(host):
    original = b'<?xml version="1.0"?>\r\n<configuration>\r\n  <appSettings configSource="chorus.config"/>\r\n</configuration>\r\n'
    host.local.write_bytes(original)
    proc = host.run()
    assert changed_count(proc)[1] == 1
    assert '%s: the appSettings element has a configSource attribute: its settings live in another file' % host.win_path in proc.stdout
    assert [c['module'] for c in host.calls()] == ['slurp']
    assert host.local.read_bytes() == original


def test_a_file_held_open_by_the_service(host):
    original = codecs.BOM_UTF16_LE + UTF16_XML.encode('utf-16-le')
    host.local.write_bytes(original)
    (host.state / 'held_open.json').write_text(json.dumps({SERVICE: [host.win_path]}))
    proc = host.run()
    assert changed_count(proc)[1] == 1
    assert '%s: the file is held open by the service %s' % (host.win_path, SERVICE) in proc.stdout
    assert host.local.read_bytes() == original
    host.calls()

    host.extra_vars['corail_windows_stop_service_for_write'] = True
    proc = host.run()
    assert changed_count(proc) == (2, 0)
    calls = host.calls()
    assert [(c['module'], c['args'].get('state')) for c in calls[5:]] == [
        ('win_service', 'stopped'), ('win_copy', None), ('win_service', 'started'), ('win_service', 'restarted')]
    assert host.local.read_bytes() == host.planned(original)
    assert json.loads((host.state / 'services.json').read_text())[SERVICE] == 'running'
    assert_passes_argspecs(calls, host.specs)


def test_collection_installs_from_its_tarball_without_ansible_windows(tmp_path):
    galaxy = yaml.safe_load(open(os.path.join(REPO, 'galaxy.yml')))
    assert 'ansible.windows' not in (galaxy.get('dependencies') or {})
    ee = yaml.safe_load(open(os.path.join(REPO, 'ee-requirements.yml')))
    assert 'ansible.windows' in [c['name'] for c in ee['collections']]
    out = tmp_path / 'dist'
    run_ansible(['collection', 'build', '--output-path', str(out), REPO], program='ansible-galaxy', check=True)
    tarball = glob.glob(str(out / 'chorus-corail-*.tar.gz'))[0]
    installed = tmp_path / 'collections'
    env = ansible_env(ANSIBLE_COLLECTIONS_PATH=str(installed))
    run_ansible(['collection', 'install', '--offline', '-p', str(installed), tarball], program='ansible-galaxy',
                env=env, check=True)
    assert not (installed / 'ansible_collections' / 'ansible').exists()
    doc = json.loads(run_ansible(['--json', 'chorus.corail.corail_config'], program='ansible-doc', env=env,
                                 check=True).stdout)['chorus.corail.corail_config']['doc']
    assert doc['attributes']['platform']['platforms'] == ['posix', 'windows']
    # The POSIX path needs no ansible.windows: the action plugin imports nothing of it.
    target = tmp_path / 'posix.ini'
    args = {'path': str(target),
            'piste_apps': [{'name': 'app', 'environment': 'production', 'client_id': 'id', 'client_secret': CLIENT_SECRET}],
            'structures': [{'siret': SIRET, 'account': LOGIN, 'password': PASSWORD}]}
    proc = run_ansible(['localhost', '-m', 'chorus.corail.corail_config', '-a', json.dumps(args)],
                       program='ansible', env=env, check=True)
    assert 'CHANGED' in proc.stdout and CLIENT_SECRET not in proc.stdout
    assert oct(os.stat(str(target)).st_mode & 0o777) == '0o600'


def test_the_check_reports_a_password_edited_by_hand_as_config_drift(host, tmp_path):
    """chorus_check_drift on Windows: slurp and plan on the controller, nothing written, field names only."""
    host.local.write_bytes(codecs.BOM_UTF16_LE + UTF16_XML.encode('utf-16-le'))
    assert changed_count(host.run())[1] == 0
    by_hand = host.local.read_bytes().replace(PASSWORD.encode('utf-16-le'), 'Typed-by-hand-7'.encode('utf-16-le'))
    host.local.write_bytes(by_hand)
    host.calls()
    host.playbook.write_text('- hosts: all\n  gather_facts: false\n  roles:\n    - chorus.corail.check\n')
    reports = tmp_path / 'reports'
    proc = host.run('-e', 'chorus_check_drift=true', '-e', 'chorus_check_online=false',
                    '-e', 'chorus_check_report_dir=%s' % reports)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert [c['module'] for c in host.calls()] == ['slurp'] and host.local.read_bytes() == by_hand
    with open(str(reports / 'latest' / 'report.json'), encoding='utf-8') as handle:
        report = json.load(handle)
    row, = report['structures']
    assert row['siret'] == SIRET and 'config_drift' in row['warnings'] and row['drift'] == ['password <secret differs>']
    assert 'Typed-by-hand-7' not in proc.stdout + proc.stderr + json.dumps(report)
