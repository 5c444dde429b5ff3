# -*- coding: utf-8 -*-
"""corail_config's action plugin alone, _execute_module recorded: which ansible.windows calls it makes,
in which order, with which arguments (checked against ansible.windows's own specs), and its errors."""
import base64
import codecs
import os
import sys
from unittest import mock

import pytest

from conftest import LINK
from test_windows_deploy import (CLIENT_SECRET, FOLDER, LOGIN, PASSWORD, SERVICE, SERVICE_ACCOUNT, SIRET, UTF16_XML,
                                 assert_passes_argspecs)
# argspecs is a pytest fixture: imported for pytest to find it, never called by name here.
from test_windows_deploy import argspecs  # noqa: F401 pylint: disable=unused-import

sys.path.insert(0, LINK)
from ansible_collections.chorus.corail.plugins.action.corail_config import ActionModule  # noqa: E402

PATH = FOLDER + '\\Corail.exe.config'
ORIGINAL = codecs.BOM_UTF16_LE + UTF16_XML.encode('utf-16-le')


class Recorder(object):
    """Answers _execute_module like a Windows host whose file holds ``content`` (None: no file)."""

    def __init__(self, content=ORIGINAL, answers=None):
        self.content = content
        self.answers = answers or {}
        self.calls = []
        self.transferred = []

    def execute(self, module_name=None, module_args=None, task_vars=None, **_kwargs):
        self.calls.append({'module': module_name.split('.')[-1], 'args': dict(module_args), 'fqcn': module_name})
        if module_name in self.answers:
            return self.answers[module_name]
        if module_name == 'ansible.windows.slurp':
            if self.content is None:
                return {'failed': True, 'msg': 'Path %s is not found' % module_args['src']}
            return {'content': base64.b64encode(self.content).decode(), 'encoding': 'base64'}
        if module_name == 'ansible.windows.win_copy':
            return {'changed': True, 'backup_file': PATH + '.1.20260101-000000.bak' if module_args['backup'] else None}
        if module_name == 'chorus.corail.corail_config':
            return {'changed': False, 'path': module_args['path']}
        return {'changed': True}


def make_action(recorder, args, windows=True, check_mode=False):
    task = mock.MagicMock(args=args, check_mode=check_mode, diff=True, async_val=0, action='chorus.corail.corail_config')
    connection = mock.MagicMock()
    connection._shell.SHELL_FAMILY = 'powershell' if windows else 'sh'
    connection._shell.tmpdir = 'C:\\Users\\ansible\\AppData\\Local\\Temp\\ansible-tmp-1'
    connection._shell.join_path.side_effect = lambda *parts: '\\'.join(parts)
    action = ActionModule(task, connection, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), mock.MagicMock())
    action._execute_module = recorder.execute
    action._transfer_data = lambda remote, data: recorder.transferred.append((remote, data)) or remote
    action._remove_tmp_path = mock.MagicMock()
    return action


def args(**extra):
    base = {'path': PATH, 'format': 'xml', 'backup': True,
            'piste_apps': [{'name': 'corail-prod', 'environment': 'production', 'client_id': 'id',
                            'client_secret': CLIENT_SECRET}],
            'structures': [{'siret': SIRET, 'account': LOGIN, 'password': PASSWORD, 'piste_app': 'corail-prod'}],
            'windows_service_account': SERVICE_ACCOUNT, 'windows_service': SERVICE}
    base.update(extra)
    return base


def test_windows_sequence_and_arguments(argspecs):  # noqa: F811
    recorder = Recorder()
    result = make_action(recorder, args()).run(task_vars={})
    assert result['changed'] and not result.get('failed'), result
    assert [c['module'] for c in recorder.calls] == ['slurp', 'win_acl', 'win_acl', 'win_acl', 'win_acl_inheritance', 'win_copy']
    assert all(c['fqcn'].startswith('ansible.windows.') for c in recorder.calls)
    (remote, data), = recorder.transferred
    assert recorder.calls[-1]['args'] == {'src': remote, 'dest': PATH, 'remote_src': True, 'backup': True}
    assert data.startswith(codecs.BOM_UTF16_LE) and PASSWORD.encode('utf-16-le') in data
    assert result['backup_file'].endswith('.bak')
    assert PASSWORD not in repr(result) and CLIENT_SECRET not in repr(result)
    assert '<secret>' in result['diff']['after']
    assert_passes_argspecs(recorder.calls, argspecs[1])


def test_posix_target_is_one_module_call():
    recorder = Recorder()
    result = make_action(recorder, args(), windows=False).run(task_vars={})
    assert [c['fqcn'] for c in recorder.calls] == ['chorus.corail.corail_config']
    assert recorder.calls[0]['args'] == args() and result['path'] == PATH


def test_os_family_windows_is_enough_without_powershell():
    recorder = Recorder()
    make_action(recorder, args(), windows=False).run(task_vars={'ansible_os_family': 'Windows'})
    assert recorder.calls[0]['module'] == 'slurp'


def test_check_mode_only_reads():
    recorder = Recorder()
    result = make_action(recorder, args(), check_mode=True).run(task_vars={})
    assert result['changed'] and [c['module'] for c in recorder.calls] == ['slurp'] and not recorder.transferred
    assert result['drift'] == {SIRET: ['not_deployed']}


def test_drift_of_a_password_changed_by_hand_names_the_field_only():
    """chorus_check_drift on Windows: the file is read, planned on the controller, nothing written."""
    deployed = Recorder()
    make_action(deployed, args()).run(task_vars={})
    (_remote, data), = deployed.transferred
    by_hand = data.replace(PASSWORD.encode('utf-16-le'), 'typed-by-hand'.encode('utf-16-le'))
    recorder = Recorder(content=by_hand)
    result = make_action(recorder, args(), check_mode=True).run(task_vars={})
    assert result['drift'] == {SIRET: ['password']} and [c['module'] for c in recorder.calls] == ['slurp']
    assert 'typed-by-hand' not in repr(result) and PASSWORD not in repr(result)
    assert make_action(Recorder(content=data), args(), check_mode=True).run(task_vars={})['drift'] == {}


@pytest.mark.parametrize('extra, message', [
    ({'mode': '0600'}, PATH + ': mode only apply to POSIX targets'),
    ({'validate': 'check %s'}, PATH + ': validate only apply to POSIX targets'),
    ({'windows_stop_service_for_write': True, 'windows_service': None}, 'windows_stop_service_for_write: needs windows_service'),
    ({'structures': [{'siret': '21640445900003', 'account': LOGIN, 'password': PASSWORD}]}, '21640445900003'),
    ({'bogus': 1}, 'bogus'),
])
def test_bad_input_fails_before_any_call_but_the_read(extra, message):
    recorder = Recorder()
    result = make_action(recorder, args(**extra)).run(task_vars={})
    assert result['failed'] and message in result['msg'], result
    assert [c['module'] for c in recorder.calls] in ([], ['slurp'])
    assert PASSWORD not in result['msg']


def test_missing_file_with_create_false():
    recorder = Recorder(content=None)
    result = make_action(recorder, args(create=False)).run(task_vars={})
    assert result['failed'] and result['msg'] == PATH + ': does not exist (create=false)'


def test_unreadable_file_is_an_error_naming_it():
    recorder = Recorder(answers={'ansible.windows.slurp': {'failed': True, 'msg': 'Access to the path is denied.'}})
    result = make_action(recorder, args()).run(task_vars={})
    assert result['failed'] and result['msg'] == PATH + ': cannot read: Access to the path is denied.'


def test_held_open_names_file_and_service_and_the_service_is_restarted_after_a_stop():
    held = {'failed': True, 'msg': "Le processus ne peut pas accéder au fichier '%s', car il est utilisé par un autre processus." % PATH}
    recorder = Recorder(answers={'ansible.windows.win_copy': held})
    result = make_action(recorder, args(windows_stop_service_for_write=True)).run(task_vars={})
    assert result['msg'] == ('%s: the file is held open by the service %s; set corail_windows_stop_service_for_write '
                             'to stop it around the write; nothing was written' % (PATH, SERVICE))
    services = [(c['args']['name'], c['args']['state']) for c in recorder.calls if c['module'] == 'win_service']
    assert services == [(SERVICE, 'stopped'), (SERVICE, 'started')]


def test_acl_failure_stops_before_the_write():
    recorder = Recorder(answers={'ansible.windows.win_acl_inheritance': {'failed': True, 'msg': 'denied'}})
    result = make_action(recorder, args()).run(task_vars={})
    assert result['failed'] and 'cannot stop the folder %s inheriting' % FOLDER in result['msg']
    assert 'win_copy' not in [c['module'] for c in recorder.calls] and not recorder.transferred


def test_cp1252_ini_with_a_space_in_the_path():
    original = '; Réglages\r\n[général]\r\nclé = été\r\n'.encode('cp1252')
    recorder = Recorder(content=original)
    path = 'D:\\Corail Data\\Chorus Pro\\chorus.ini'
    result = make_action(recorder, args(path=path, format='ini')).run(task_vars={})
    assert not result.get('failed'), result
    (_remote, data), = recorder.transferred
    assert data.startswith(original.rstrip(b'\r\n')) and b'\n' not in data.replace(b'\r\n', b'')
    data.decode('cp1252')
    assert recorder.calls[1]['args']['path'] == 'D:\\Corail Data\\Chorus Pro'
    assert os.path.basename(recorder.calls[-1]['args']['dest'].replace('\\', '/')) == 'chorus.ini'
