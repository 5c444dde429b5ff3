# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""check_report's action plugin: the report built, rendered and written on the controller."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
from unittest.mock import MagicMock

from ansible.errors import AnsibleActionFail

from ansible_collections.chorus.corail.plugins.action.check_report import ActionModule
from ansible_collections.chorus.corail.plugins.module_utils import _statuses as st


def entry(host, siret, status, contact='dgs@mairie.fr'):
    return {'host': host, 'siret': siret, 'name': 'Commune %s' % siret, 'account': 'TECH_1_a@cpro.fr',
            'piste_app': 'corail', 'environment': 'qualification', 'contact': contact, 'service_code': None,
            'status': status, 'warnings': [], 'detail': 'd', 'remediation': st.remediation(status, siret=siret),
            'id_structure_cpp': 1, 'designation': 'X', 'password_expires_on': '2026-01-01', 'days_left': 300}


RESULT = {
    'changed': False,
    'structures': [entry('srv01', '21750001600019', 'ok'), entry('srv01', '21690123100011', 'missing_account'),
                   entry('srv02', '21130055300016', 'not_attached', contact='')],
    'accounts': [], 'api_calls': {'token': 1},
}


def run(capsys, args, check_mode=False):
    """Run the action plugin as the task executor would; a failure comes back as failed/msg."""
    task = MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    task.diff = False
    action = ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    try:
        return action.run(task_vars={})
    except AnsibleActionFail as exc:
        return {'failed': True, 'msg': str(exc)}


def test_writes_the_report_and_returns_paths_counts_summary(tmp_path, capsys):
    out = run(capsys, {'result': RESULT, 'report_dir': str(tmp_path / 'r'),
                       'scope': {'limit': 'srv01,srv02', 'hosts': ['srv01', 'srv02', 'srv03'], 'failed_before': ['srv03']}})
    assert out['changed'] is True and not out.get('failed')
    assert os.path.isdir(out['report_dir']) and os.readlink(out['latest']) == os.path.basename(out['report_dir'])
    for key in ('json', 'csv', 'html', 'changes_json', 'changes_html'):
        assert os.path.isfile(out['paths'][key])
    assert set(out['paths']['contacts']) == {'', 'dgs@mairie.fr'}
    assert out['total'] == 3 and out['counts']['missing_account'] == 1 and sum(out['counts'].values()) == 3
    assert out['scope']['limit'] == 'srv01,srv02' and out['scope']['failed_before'] == ['srv03']
    assert out['scope']['partial'] is True and 'hosts' not in out['scope']
    assert out['summary'][0].startswith('Chorus Pro check: 3 structure(s)')
    assert out['summary'][1].startswith('PARTIAL')
    assert out['summary'][2].startswith('ERROR missing_account 21690123100011')
    assert out['failed_statuses'] == [] and out['failed_hosts'] == {}
    assert out['changes'] == {'new': 2, 'changed': 0, 'recurring': 0, 'fixed': 0, 'not_rechecked': 0}
    on_disk = json.load(open(out['paths']['json'], encoding='utf-8'))
    assert on_disk['scope']['hosts'] == ['srv01', 'srv02', 'srv03']


def test_fail_on_reports_statuses_and_hosts(tmp_path, capsys):
    out = run(capsys, {'result': RESULT, 'report_dir': str(tmp_path), 'fail_on': ['not_attached', 'missing_account', 'password_expired']})
    assert out['failed_statuses'] == ['missing_account', 'not_attached']
    assert out['failed_hosts'] == {'srv01': ['21690123100011'], 'srv02': ['21130055300016']}
    assert not out.get('failed')  # the role decides which hosts fail


def test_check_mode_writes_nothing(tmp_path, capsys):
    out = run(capsys, {'result': RESULT, 'report_dir': str(tmp_path / 'r')}, check_mode=True)
    assert not (tmp_path / 'r').exists()
    assert out['paths'] == {} and out['report_dir'] is None
    assert out['counts']['not_attached'] == 1 and out['summary']


def test_second_run_counts_changes(tmp_path, capsys):
    run(capsys, {'result': RESULT, 'report_dir': str(tmp_path)})
    fixed = json.loads(json.dumps(RESULT))
    fixed['structures'][1]['status'] = 'ok'
    out = run(capsys, {'result': fixed, 'report_dir': str(tmp_path)})
    assert out['changes']['fixed'] == 1 and out['changes']['recurring'] == 1
    assert len([n for n in os.listdir(str(tmp_path)) if n != 'latest']) == 2


def test_bad_result_fails_with_the_reason(tmp_path, capsys):
    out = run(capsys, {'result': {'structures': [{'siret': '21750001600019', 'status': 'bogus'}]}, 'report_dir': str(tmp_path)})
    assert out['failed'] and '21750001600019' in out['msg'] and 'bogus' in out['msg']


def test_unknown_fail_on_status_is_refused(tmp_path, capsys):
    out = run(capsys, {'result': RESULT, 'report_dir': str(tmp_path), 'fail_on': ['bad_status']})
    assert out['failed'] and 'fail_on' in out['msg']


def test_unwritable_report_dir_fails_cleanly(tmp_path, capsys):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    out = run(capsys, {'result': RESULT, 'report_dir': str(blocker / 'reports')})
    assert out['failed'] and str(blocker) in out['msg']


def test_actions_are_returned_worst_cause_first(tmp_path, capsys):
    out = run(capsys, {'result': RESULT, 'report_dir': str(tmp_path)})
    assert [(a['kind'], a['subject'], a['action_by'], a['count']) for a in out['actions']] == [
        ('missing_account', '21690123100011', 'gestionnaire', 1), ('not_attached', '21130055300016', 'gestionnaire', 1)]


def test_integrator_and_own_templates(tmp_path, capsys):
    own = tmp_path / 'tpl'
    own.mkdir()
    (own / 'contact.html.j2').write_text('{% extends "builtin/contact.html.j2" %}'
                                         '{% block title %}Mairie : {{ page.who }}{% endblock %}')
    out = run(capsys, {'result': RESULT, 'report_dir': str(tmp_path / 'r'), 'templates_dir': str(own),
                       'integrator': {'name': 'Syndicat <Numérique>', 'email': 'support@syndicat.fr',
                                      'phone': '05 59 00 00 00', 'text': 'Du lundi au vendredi.'}})
    page = open(out['paths']['contacts']['dgs@mairie.fr'], encoding='utf-8').read()
    assert '<title>Mairie : dgs@mairie.fr</title>' in page  # the integrator's block, the collection's page
    assert 'Syndicat &lt;Numérique&gt;' in page and 'mailto:support@syndicat.fr' in page  # autoescaped
    assert '05 59 00 00 00' in page and 'Du lundi au vendredi.' in page
    assert 'Syndicat' not in open(out['paths']['html'], encoding='utf-8').read()  # not on the integrator's own


def test_a_broken_template_fails_before_any_file(tmp_path, capsys):
    own = tmp_path / 'tpl'
    own.mkdir()
    (own / 'report.html.j2').write_text('{{ page.no_such_field }}')
    out = run(capsys, {'result': RESULT, 'report_dir': str(tmp_path / 'r'), 'templates_dir': str(own)})
    assert out['failed'] and 'report.html.j2' in out['msg'] and 'no_such_field' in out['msg']
    assert not (tmp_path / 'r').exists() or not [n for n in os.listdir(str(tmp_path / 'r')) if re.match(r'^\d', n)]
    out = run(capsys, {'result': RESULT, 'report_dir': str(tmp_path / 'r'), 'templates_dir': str(tmp_path / 'none')})
    assert out['failed'] and 'templates_dir' in out['msg']


def test_templates_cannot_reach_python_internals(tmp_path, capsys):
    own = tmp_path / 'tpl'
    own.mkdir()
    (own / 'report.html.j2').write_text("{{ page.__class__.__mro__[1].__subclasses__() }}")
    out = run(capsys, {'result': RESULT, 'report_dir': str(tmp_path / 'r'), 'templates_dir': str(own)})
    assert out['failed'] and 'report.html.j2' in out['msg']  # the sandbox refuses it


def test_reads_the_result_file_of_credentials_info_and_deletes_it(tmp_path, capsys):
    from ansible_collections.chorus.corail.plugins.module_utils._result_file import write_result  # pylint: disable=import-outside-toplevel
    path = tmp_path / 'r' / '.credentials_info.json'
    compact = write_result(str(path), RESULT)
    assert compact == {'api_calls': {'token': 1}, 'result_file': str(path), 'total': 3, 'by_host': {}}
    by_file = run(capsys, {'result_file': str(path), 'report_dir': str(tmp_path / 'r')})
    assert not path.exists()
    by_result = run(capsys, {'result': RESULT, 'report_dir': str(tmp_path / 'r2')})
    assert by_file['counts'] == by_result['counts'] and by_file['total'] == 3
    first = json.load(open(by_file['paths']['json'], encoding='utf-8'))
    second = json.load(open(by_result['paths']['json'], encoding='utf-8'))
    # problem_since is each report's own time: the two runs may fall on two seconds
    assert [dict(r, problem_since=None) for r in first['structures']] == [
        dict(r, problem_since=None) for r in second['structures']]


def test_missing_or_foreign_result_file_fails_with_the_path(tmp_path, capsys):
    out = run(capsys, {'result_file': str(tmp_path / 'none.json'), 'report_dir': str(tmp_path / 'r')})
    assert out['failed'] is True and 'none.json: cannot read' in out['msg']
    other = tmp_path / 'other.json'
    other.write_text('{"hello": 1}')
    out = run(capsys, {'result_file': str(other), 'report_dir': str(tmp_path / 'r')})
    assert out['failed'] is True and 'not written by chorus.corail.credentials_info' in out['msg']
    assert other.exists()  # not ours: left alone
    out = run(capsys, {'report_dir': str(tmp_path / 'r')})
    assert out['failed'] is True and 'result' in out['msg']
