# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import csv
import io
import json
import os
import re
import stat
import sys

import pytest

from ansible_collections.chorus.corail.plugins.module_utils import _report as rp
from ansible_collections.chorus.corail.plugins.module_utils import _statuses as st

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from report_samples import SCOPE, T0, T1, T2, entry, result_of, sample  # noqa: E402  pylint: disable=wrong-import-position


# ---------------------------------------------------------------- rows, counts, scope

def test_rows_have_the_report_fields_in_input_order():
    report = rp.build_report(sample(), SCOPE, T0)
    assert [r['siret'] for r in report['structures']] == [e['siret'] for e in sample()['structures']]
    for row in report['structures']:
        assert set(rp.ROW_FIELDS) == set(row)
        assert row['label'] == st.LABELS[row['status']]
        assert row['severity'] == st.SEVERITY[row['status']]
    assert report['generated_at'] == '2025-03-01T02:00:00Z'


def test_counts_cover_every_status_and_add_up():
    report = rp.build_report(sample(), SCOPE, T0)
    assert list(report['counts']) == list(st.STATUSES)
    assert sum(report['counts'].values()) == report['total'] == 5
    assert report['counts']['missing_account'] == 1
    assert report['counts']['unchecked'] == 0


def test_remediation_comes_from_the_vocabulary_when_missing():
    report = rp.build_report(sample(), SCOPE, T0)
    lyon = report['structures'][1]
    assert lyon['remediation'] == st.remediation('missing_account', siret='21690123100011')
    assert '21690123100011' in lyon['remediation']


def test_unknown_status_names_the_structure():
    weird = dict(entry('srv01', '21750001600019', 'ok'), status='weird')
    res = {'structures': [weird]}
    with pytest.raises(rp.ReportError, match=r'21750001600019.*weird'):
        rp.build_report(res, SCOPE, T0)


@pytest.mark.parametrize('bad, words', [
    (None, 'credentials_info'),
    ({'failed': True, 'msg': 'token refused'}, 'token refused'),
    ({'changed': False}, 'result.structures'),
    ({'structures': ['x']}, 'structures[0]'),
    ({'structures': [dict(entry('h', '21750001600019', 'ok'), warnings='password_expiring')]}, 'warnings'),
])
def test_bad_results_are_refused_with_a_reason(bad, words):
    with pytest.raises(rp.ReportError, match=re.escape(words)):
        rp.build_report(bad, SCOPE, T0)


@pytest.mark.parametrize('scope, limit, partial', [
    ({}, 'none', False),
    ({'limit': None}, 'none', False),
    ({'limit': ''}, 'none', False),
    ({'limit': 'srv01,srv02'}, 'srv01,srv02', True),
    ({'limit': ['srv01', 'srv02']}, 'srv01,srv02', True),
    ({'failed_before': ['srv04']}, 'none', True),
])
def test_scope_says_when_a_report_is_partial(scope, limit, partial):
    report = rp.build_report(sample(), scope, T0)
    assert report['scope']['limit'] == limit
    assert report['scope']['partial'] is partial


def test_scope_lists_hosts_without_structures_and_failed_hosts():
    report = rp.build_report(sample(), dict(SCOPE, failed_before=['srv04', 'srv03', 'srv04']), T0)
    assert report['scope']['hosts_without_structures'] == ['srv04']
    assert report['scope']['failed_before'] == ['srv03', 'srv04']
    assert report['scope']['hosts_count'] == 4


def test_failing_lists_statuses_and_hosts():
    report = rp.build_report(sample(), SCOPE, T0)
    statuses, hosts = rp.failing(report, ['not_attached', 'missing_account', 'account_rejected'])
    assert statuses == ['missing_account', 'not_attached']  # precedence order, only those present
    assert hosts == {'srv01': ['21690123100011'], 'srv03': ['21330063500017']}
    assert rp.failing(report, []) == ([], {})


# ---------------------------------------------------------------- summary

def test_summary_puts_counts_first_and_the_worst_problems_next():
    report = rp.build_report(sample(), SCOPE, T0)
    lines = rp.summary_lines(report, limit=10)
    assert lines[0].startswith('Chorus Pro check: 5 structure(s) on 3 host(s)')
    assert 'missing_account 1' in lines[0] and 'ok 1' in lines[0]
    problems = [line.split()[1] for line in lines[1:]]
    assert problems == ['missing_account', 'access_forbidden', 'not_attached', 'password_expiring']
    assert not any('21750001600019' in line for line in lines)  # ok structures are not listed


def test_summary_limit_and_partial_line():
    report = rp.build_report(sample(), dict(SCOPE, limit='srv0*', failed_before=['srv04']), T0)
    lines = rp.summary_lines(report, limit=1)
    assert lines[1].startswith('PARTIAL report (--limit srv0*; 1 host(s) had failed before the check: srv04)')
    assert lines[2].startswith('ERROR missing_account 21690123100011 on srv01')
    assert lines[3] == '... and 3 more problem(s), see the report'


# ---------------------------------------------------------------- CSV

def read_csv(data):
    text = data.decode('utf-8-sig')
    return list(csv.DictReader(io.StringIO(text, newline=''), delimiter=';'))


def test_csv_is_utf8_bom_semicolon_crlf():
    data = rp.render_csv(rp.build_report(sample(), SCOPE, T0))
    assert data.startswith(b'\xef\xbb\xbf')
    text = data.decode('utf-8-sig')
    assert text.count('\r\n') == 6 and '\n' not in text.replace('\r\n', '')
    assert text.split('\r\n')[0] == ';'.join(rp.CSV_COLUMNS)
    rows = read_csv(data)
    assert len(rows) == 5
    assert rows[1]['name'] == 'Ville de Lyon'


def test_csv_keeps_siret_as_text_with_leading_zeros():
    res = result_of([entry('srv01', '00012345600019', 'structure_unknown')])
    data = rp.render_csv(rp.build_report(res, SCOPE, T0))
    assert b'"=""00012345600019"""' in data
    row = read_csv(data)[0]
    assert row['siret'] == '="00012345600019"'
    assert rp.csv_cell_value(row['siret']) == '00012345600019'


def test_csv_rows_match_the_json_rows():
    report = rp.build_report(sample(), SCOPE, T0)
    for row, ref in zip(read_csv(rp.render_csv(report)), report['structures']):
        assert rp.csv_cell_value(row['siret']) == ref['siret']
        assert row['status'] == ref['status']
        assert row['password_expires_on'] == (ref['password_expires_on'] or '')
        assert row['days_left'] == ('' if ref['days_left'] is None else str(ref['days_left']))
        assert row['remediation'] == ref['remediation']
        assert row['warnings'] == ', '.join(ref['warnings'])
    assert re.match(r'^\d{4}-\d{2}-\d{2}$', read_csv(rp.render_csv(report))[0]['password_expires_on'])


def test_csv_neutralises_formulas_in_free_text():
    res = result_of([entry('srv01', '21750001600019', 'ok', name='=HYPERLINK("http://x";"y")', detail='-1+2')])
    row = read_csv(rp.render_csv(rp.build_report(res, SCOPE, T0)))[0]
    assert row['name'] == '\'=HYPERLINK("http://x";"y")'
    assert rp.csv_cell_value(row['name']) == '=HYPERLINK("http://x";"y")'
    assert row['detail'] == "'-1+2"


def test_negative_days_left_stays_a_number():
    res = result_of([entry('srv01', '21750001600019', 'password_expired', days_left=-3)])
    assert read_csv(rp.render_csv(rp.build_report(res, SCOPE, T0)))[0]['days_left'] == '-3'


# ---------------------------------------------------------------- HTML

# ---------------------------------------------------------------- contact pages

def test_contact_file_names_are_distinct():
    res = result_of([entry('a', '21750001600019', 'ok', contact='A B'), entry('a', '21690123100011', 'ok', contact='a-b'),
                     entry('a', '21130055300016', 'ok', contact='../../etc/passwd')])
    files = rp.contact_files(rp.build_report(res, SCOPE, T0))
    assert len(set(files.values())) == 3
    assert all('/' not in name and not name.startswith('.') for name in files.values())


# ---------------------------------------------------------------- changes

def test_changes_classify_problems():
    first = rp.build_report(sample(), SCOPE, T0)
    rp.compute_changes(None, first)
    later = copy.deepcopy(sample())
    structures = later['structures']
    structures[1]['status'] = 'ok'                      # Lyon: missing_account fixed
    structures[2]['status'] = 'account_rejected'        # Marseille: another problem
    structures[0]['status'] = 'password_expiring'       # Paris: new problem
    del structures[4]                                   # Bordeaux: not in this run (e.g. --limit)
    structures.append(entry('srv05', '21670482500019', 'missing_account'))  # first seen, a problem
    second = rp.build_report(later, SCOPE, T1)
    changes = rp.compute_changes(first, second)
    c = changes['changes']
    assert sorted(e['siret'] for e in c['new']) == ['21670482500019', '21750001600019']
    assert [(e['siret'], e['previous_status'], e['status']) for e in c['changed']] == [
        ('21130055300016', 'access_forbidden', 'account_rejected')]
    assert [(e['siret'], e['since']) for e in c['recurring']] == [('21310555400017', first['generated_at'])]
    assert [(e['siret'], e['previous_status']) for e in c['fixed']] == [('21690123100011', 'missing_account')]
    assert [(e['siret'], e['status']) for e in c['not_rechecked']] == [('21330063500017', None)]
    assert changes['counts'] == {'new': 2, 'changed': 1, 'recurring': 1, 'fixed': 1, 'not_rechecked': 1}
    assert changes['previous']['generated_at'] == '2025-03-01T02:00:00Z'


def test_problem_since_is_carried_over_runs():
    first = rp.build_report(sample(), SCOPE, T0)
    rp.compute_changes(None, first)
    second = rp.build_report(sample(), SCOPE, T1)
    rp.compute_changes(first, second)
    third = rp.build_report(sample(), SCOPE, T2)
    changes = rp.compute_changes(second, third)
    lyon = [r for r in third['structures'] if r['siret'] == '21690123100011'][0]
    assert lyon['problem_since'] == '2025-03-01T02:00:00Z'
    assert all(e['since'] == '2025-03-01T02:00:00Z' for e in changes['changes']['recurring'])
    assert third['structures'][0]['problem_since'] is None  # ok


def test_first_report_has_only_new_problems_and_unchecked_is_no_fix():
    report = rp.build_report(sample(), SCOPE, T0)
    changes = rp.compute_changes(None, report)
    assert changes['previous'] is None and changes['counts']['new'] == 4
    offline = copy.deepcopy(sample())
    for e in offline['structures']:
        e['status'] = 'unchecked'
    changes = rp.compute_changes(report, rp.build_report(offline, SCOPE, T1))
    assert changes['counts']['fixed'] == 0 and changes['counts']['not_rechecked'] == 4
    assert changes['counts']['new'] == 0


# ---------------------------------------------------------------- files

def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_summary_shortens_long_details():
    res = result_of([entry('srv01', '21750001600019', 'api_unavailable', detail='x' * 500)])
    line = rp.summary_lines(rp.build_report(res, SCOPE, T0))[1]
    assert line.endswith('x…') and len(line) < 220


def test_report_json_states_its_schema_version(tmp_path):
    report, dummy, paths = rp.write_report(str(tmp_path), sample(), SCOPE, T0)
    with open(paths['json'], 'rb') as handle:
        written = json.loads(handle.read().decode('utf-8'))
    assert written['schema_version'] == rp.SCHEMA_VERSION == 2
    assert list(written)[0] == 'schema_version'


def test_existing_report_dir_keeps_its_mode(tmp_path):
    base = tmp_path / 'shared'
    base.mkdir(mode=0o755)
    os.chmod(str(base), 0o755)
    rp.write_report(str(base), sample(), SCOPE, T0)
    assert mode(str(base)) == 0o755


def test_previous_report_found_without_latest_link(tmp_path):
    base = str(tmp_path)
    rp.write_report(base, sample(), SCOPE, T0)
    os.unlink(os.path.join(base, 'latest'))
    os.mkdir(os.path.join(base, 'not-a-report'))
    previous = rp.find_previous(base)
    assert previous['_folder'] == '20250301T020000Z'


def test_same_second_gets_a_new_folder(tmp_path):
    base = str(tmp_path)
    first = rp.write_report(base, sample(), SCOPE, T0)[2]
    second = rp.write_report(base, sample(), SCOPE, T0)[2]
    assert first['folder'] != second['folder'] and second['folder'].endswith('20250301T020000Z-2')
    assert os.readlink(os.path.join(base, 'latest')) == '20250301T020000Z-2'


def test_latest_must_be_a_link(tmp_path):
    os.mkdir(str(tmp_path / 'latest'))
    with pytest.raises(rp.ReportError, match='not a symbolic link'):
        rp.write_report(str(tmp_path), sample(), SCOPE, T0)


def test_bad_result_writes_nothing(tmp_path):
    base = tmp_path / 'reports'
    with pytest.raises(rp.ReportError):
        rp.write_report(str(base), {'structures': [{'siret': '1', 'status': 'nope'}]}, SCOPE, T0)
    assert not base.exists()


def test_prepare_writes_nothing(tmp_path):
    rp.write_report(str(tmp_path), sample(), SCOPE, T0)
    before = sorted(os.listdir(str(tmp_path)))
    report, changes, contacts = rp.prepare(sample(), SCOPE, str(tmp_path), T1)
    assert sorted(os.listdir(str(tmp_path))) == before
    assert changes['counts']['recurring'] == 4 and report['total'] == 5 and '' in contacts


# ---------------------------------------------------------------- causes and "Actions à mener"

def test_cause_of_falls_back_on_the_status_until_the_check_gives_one():
    assert st.cause_of({'status': 'ok'}) == ('nobody', None)
    assert st.cause_of({'status': 'unchecked'}) == ('nobody', None)
    assert st.cause_of({'status': 'piste_auth_failed', 'piste_app': 'APP', 'siret': 'S'}) == (
        'integrator', {'kind': 'piste_app_refused', 'subject': 'APP'})
    assert st.cause_of({'status': 'account_rejected', 'account': 'TECH_1_a@cpro.fr', 'siret': 'S'}) == (
        'gestionnaire', {'kind': 'account_rejected', 'subject': 'TECH_1_a@cpro.fr'})
    assert st.cause_of({'status': 'access_forbidden', 'siret': 'S'}) == (
        'gestionnaire', {'kind': 'raccordement_missing', 'subject': 'S'})
    assert st.cause_of({'status': 'api_unavailable', 'siret': 'S'})[1] == {'kind': 'api_unavailable', 'subject': 'run'}
    # the check's own diagnosis wins
    own = {'status': 'access_forbidden', 'siret': 'S', 'action_by': 'integrator',
           'cause': {'kind': 'api_route', 'subject': 'APP'}}
    assert st.cause_of(own) == ('integrator', {'kind': 'api_route', 'subject': 'APP'})
    for status in st.STATUSES:
        action_by, cause = st.cause_of({'status': status, 'siret': 'S', 'account': 'A', 'piste_app': 'P'})
        assert action_by in st.ACTORS and (cause is None) == (status in ('ok', 'unchecked'))


def test_actions_group_structures_by_cause_most_useful_first():
    entries = [entry('srv%02d' % (i % 3), '2175000160%04d' % i, 'piste_auth_failed', piste_app='OLD') for i in range(5)]
    entries += [entry('srv01', '21690123100011', 'account_rejected', account='TECH_1_x@cpro.fr'),
                entry('srv02', '21690123100012', 'account_rejected', account='TECH_1_x@cpro.fr'),
                entry('srv02', '21130055300016', 'access_forbidden'),
                entry('srv03', '21330063500017', 'ok')]
    report = rp.build_report(result_of(entries), SCOPE, T0)
    actions = report['actions']
    assert [(a['kind'], a['subject'], a['action_by'], a['count']) for a in actions] == [
        ('piste_app_refused', 'OLD', 'integrator', 5),
        ('account_rejected', 'TECH_1_x@cpro.fr', 'gestionnaire', 2),
        ('raccordement_missing', '21130055300016', 'gestionnaire', 1)]
    assert actions[0]['hosts'] == ['srv00', 'srv01', 'srv02'] and len(actions[0]['structures']) == 5
    assert actions[1]['structures'] == ['21690123100011', '21690123100012']
    assert "l'application PISTE OLD" in actions[0]['label']
    assert list(report)[:1] == ['schema_version'] and 'actions' in report
    row = report['structures'][-1]
    assert row['action_by'] == 'nobody' and row['cause'] is None and row['cause_detail_fr'] is None


def test_expiry_source_from_the_check_or_its_detail():
    assert rp.expiry_source({'password_expires_on': '2028-01-30', 'password_expiry_source': 'api'}) == 'api'
    assert rp.expiry_source({'password_expires_on': '2028-01-30',
                             'detail': 'password expires on 2028-01-30 (424 days left; from password_changed_on + 424 days)'}) == 'estimated'
    assert rp.expiry_source({'password_expires_on': '2028-01-30',
                             'detail': 'password expires on 2028-01-30 (3 days left; from API dateExpirationMotPasseCompteTech)'}) == 'api'
    assert rp.expiry_source({'password_expires_on': None, 'detail': 'from password_changed_on'}) is None


def test_csv_has_the_cause_in_two_columns():
    report = rp.build_report(sample(), SCOPE, T0)
    rows = read_csv(rp.render_csv(report))
    lyon = [r for r in rows if rp.csv_cell_value(r['siret']) == '21690123100011'][0]
    assert lyon['cause_kind'] == 'missing_account' and lyon['cause_subject'] == '21690123100011'
    assert lyon['action_by'] == 'gestionnaire'


def test_gestionnaire_remediation_has_no_command():
    for status in st.STATUSES:
        text = st.remediation(status, audience='gestionnaire', siret='S', account='A')
        assert 'ansible-playbook' not in text
    assert 'ansible-playbook chorus.corail.renew' in st.remediation('password_expired', account='A')
