# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import csv
import datetime
import io
import json
import os
import re
import stat

import pytest

from ansible_collections.chorus.corail.plugins.module_utils import _report as rp
from ansible_collections.chorus.corail.plugins.module_utils import _statuses as st

T0 = datetime.datetime(2025, 3, 1, 2, 0, 0, tzinfo=datetime.timezone.utc)
T1 = T0 + datetime.timedelta(days=1)
T2 = T0 + datetime.timedelta(days=2)

SECRET = 'S3cr3t-P@ssw0rd-never-shown'


def entry(host, siret, status, **kw):
    """One credentials_info structure entry (the shape of docs/internals.md)."""
    base = {
        'host': host, 'siret': siret, 'name': 'Commune %s' % siret[-4:], 'account': 'TECH_1_a@cpro.fr',
        'piste_app': 'corail-prod', 'environment': 'production', 'contact': 'dgs@mairie.fr',
        'service_code': None, 'status': status, 'warnings': [], 'detail': 'detail of %s' % status,
        'remediation': st.remediation(status, siret=siret, account='TECH_1_a@cpro.fr', piste_app='corail-prod',
                                      environment='production', detail='detail of %s' % status),
        'id_structure_cpp': 1000 + int(siret[-4:]), 'designation': 'COMMUNE', 'password_expires_on': '2025-12-31',
        'days_left': 305,
    }
    base.update(kw)
    return base


def result_of(entries, accounts=None):
    by_host = {}
    for e in entries:
        by_host.setdefault(e['host'], []).append(e)
    counts = dict((s, 0) for s in st.STATUSES)
    for e in entries:
        counts[e['status']] += 1
    return {'changed': False, 'structures': entries, 'by_host': by_host, 'counts': counts,
            'accounts': accounts if accounts is not None else [
                {'login': 'TECH_1_a@cpro.fr', 'environment': 'production', 'piste_app': 'corail-prod',
                 'status': 'ok', 'structures': len(entries), 'password_expires_on': '2025-12-31',
                 'days_left': 305, 'detail': 'account accepted'}],
            'api_calls': {'/api/oauth/token': 1, 'cpro/transverses/v1/recuperer/tauxtva': 1}}


def sample():
    return result_of([
        entry('srv01', '21750001600019', 'ok', name='Ville de Paris'),
        entry('srv01', '21690123100011', 'missing_account', account=None, name='Ville de Lyon',
              remediation=None, contact='maire@lyon.fr', password_expires_on=None, days_left=None,
              id_structure_cpp=None),
        entry('srv02', '21130055300016', 'access_forbidden', name='Ville de Marseille', contact='maire@lyon.fr'),
        entry('srv02', '21310555400017', 'password_expiring', name='Ville de Toulouse', days_left=12,
              password_expires_on='2025-03-13', contact=''),
        entry('srv03', '21330063500017', 'not_attached', name='Ville de Bordeaux', warnings=['password_expiring']),
    ])


SCOPE = {'limit': 'none', 'hosts': ['srv01', 'srv02', 'srv03', 'srv04'], 'failed_before': []}


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


def test_report_json_states_its_schema_version(tmp_path):
    report, dummy, paths = rp.write_report(str(tmp_path), sample(), SCOPE, T0)
    with open(paths['json'], 'rb') as handle:
        written = json.loads(handle.read().decode('utf-8'))
    assert written['schema_version'] == rp.SCHEMA_VERSION == 1
    assert list(written)[0] == 'schema_version'


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


def test_nothing_outside_the_row_fields_reaches_the_report():
    res = sample()
    res['structures'][0]['password'] = SECRET
    res['structures'][0]['client_secret'] = SECRET
    res['accounts'][0]['password'] = SECRET
    report = rp.build_report(res, SCOPE, T0)
    blob = rp.json_bytes(report).decode('utf-8') + rp.render_csv(report).decode('utf-8-sig') + rp.render_html(report)
    blob += ''.join(rp.render_contact_html(report, c) for c in rp.contact_files(report))
    assert SECRET not in blob


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

def test_html_is_self_contained():
    page = rp.render_html(rp.build_report(sample(), SCOPE, T0))
    assert page.startswith('<!DOCTYPE html>')
    for forbidden in ('<link', ' src=', 'url(', '@import', '<iframe', '<img'):
        assert forbidden not in page
    assert '<script>' in page and '<style>' in page


def test_html_counts_every_status_at_the_top():
    report = rp.build_report(sample(), SCOPE, T0)
    page = rp.render_html(report)
    for status in st.STATUSES:
        assert 'data-status="%s" data-count="%d"' % (status, report['counts'][status]) in page
    assert page.index('id="counts"') < page.index('id="structures"')


def test_html_rows_carry_filters_colours_and_remediation():
    report = rp.build_report(sample(), SCOPE, T0)
    page = rp.render_html(report)
    rows = re.findall(r'<tr class="sev-(\w+)" data-host="([^"]*)" data-status="(\w+)" data-contact="([^"]*)">', page)
    assert len(rows) == 5
    for severity, _host, status, _contact in rows:
        assert severity == st.SEVERITY[status]
    assert [r[2] for r in rows][0] == 'missing_account'  # worst first
    assert ('warning', 'srv02', 'password_expiring', '__none__') in rows
    for status in ('missing_account', 'access_forbidden', 'not_attached'):
        assert st.LABELS[status] in page
    # the remediation texts of the vocabulary, steps as a list
    assert "<li>se connecter à Chorus Pro (<a href=\"https://chorus-pro.gouv.fr\">https://chorus-pro.gouv.fr</a>)</li>" in page
    assert 'Raccordement EDI et API' in page
    for severity, (background, text) in rp.SEVERITY_COLOURS.items():
        assert '.sev-%s { background: %s; color: %s; }' % (severity, background, text) in page


def test_html_filters_offer_every_server_status_and_contact():
    page = rp.render_html(rp.build_report(sample(), SCOPE, T0))
    host_select = re.search(r'<select id="f-host">(.*?)</select>', page).group(1)
    assert re.findall(r'value="([^"]*)"', host_select) == ['', 'srv01', 'srv02', 'srv03']
    status_select = re.search(r'<select id="f-status">(.*?)</select>', page).group(1)
    assert re.findall(r'value="([^"]*)"', status_select) == [
        '', 'missing_account', 'access_forbidden', 'not_attached', 'password_expiring', 'ok']
    contact_select = re.search(r'<select id="f-contact">(.*?)</select>', page).group(1)
    assert re.findall(r'value="([^"]*)"', contact_select) == ['', '__none__', 'dgs@mairie.fr', 'maire@lyon.fr']


def test_html_escapes_inventory_text():
    res = result_of([entry('srv01', '21750001600019', 'ok', name='<script>alert(1)</script>', contact='"><b>x')])
    page = rp.render_html(rp.build_report(res, SCOPE, T0))
    assert '<script>alert(1)</script>' not in page
    assert '&lt;script&gt;alert(1)&lt;/script&gt;' in page
    assert '"><b>x' not in page


def test_html_says_partial_scope():
    full = rp.render_html(rp.build_report(sample(), SCOPE, T0))
    assert 'id="partial"' not in full
    part = rp.render_html(rp.build_report(sample(), dict(SCOPE, limit='srv01'), T0))
    assert 'id="partial"' in part and 'Rapport partiel' in part and '--limit srv01' in part


def test_remediation_html_numbered_steps_and_plain_text():
    html = rp.remediation_html('Intro : 1) un ; 2) deux (https://piste.gouv.fr) ; 3) trois.')
    assert html == ('<p>Intro :</p><ol><li>un</li><li>deux (<a href="https://piste.gouv.fr">https://piste.gouv.fr</a>)'
                    '</li><li>trois.</li></ol>')
    assert rp.remediation_html('Rien à faire.') == '<p>Rien à faire.</p>'
    assert rp.remediation_html('<b>') == '<p>&lt;b&gt;</p>'
    assert rp.remediation_html(None) == ''


def test_every_status_remediation_renders():
    for status in st.STATUSES:
        html = rp.remediation_html(st.remediation(status, siret='21750001600019', account='TECH_1_a@cpro.fr'))
        assert html.startswith('<p>') or html.startswith('<ol>')


# ---------------------------------------------------------------- contact pages

def test_contact_pages_list_only_their_structures():
    report = rp.build_report(sample(), SCOPE, T0)
    files = rp.contact_files(report)
    assert files == {'': 'sans-contact.html', 'dgs@mairie.fr': 'dgs-at-mairie.fr.html',
                     'maire@lyon.fr': 'maire-at-lyon.fr.html'}
    lyon = rp.render_contact_html(report, 'maire@lyon.fr')
    assert sorted(re.findall(r'data-siret="(\d+)"', lyon)) == ['21130055300016', '21690123100011']
    assert 'maire@lyon.fr' in lyon
    assert st.LABELS['missing_account'] in lyon
    assert '21750001600019' not in lyon and 'dgs@mairie.fr' not in lyon
    assert 'srv01' not in lyon  # server names are the integrator's business
    nobody = rp.render_contact_html(report, '')
    assert re.findall(r'data-siret="(\d+)"', nobody) == ['21310555400017']


def test_contact_page_shows_a_siret_once_even_on_two_servers():
    res = result_of([entry('srv01', '21750001600019', 'not_attached'), entry('srv02', '21750001600019', 'not_attached'),
                     entry('srv02', '21690123100011', 'ok')])
    page = rp.render_contact_html(rp.build_report(res, SCOPE, T0), 'dgs@mairie.fr')
    assert re.findall(r'data-siret="(\d+)"', page) == ['21750001600019', '21690123100011']
    assert '1 demande(nt) une action' in page


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


def test_write_report_files_modes_and_latest(tmp_path):
    base = tmp_path / 'reports'
    report, changes, paths = rp.write_report(str(base), sample(), SCOPE, T0)
    folder = base / '20250301T020000Z'
    assert paths['folder'] == str(folder)
    assert os.readlink(str(base / 'latest')) == '20250301T020000Z'
    assert mode(str(base)) == 0o700 and mode(str(folder)) == 0o700 and mode(str(folder / 'contacts')) == 0o700
    for key, name in (('json', 'report.json'), ('csv', 'report.csv'), ('html', 'report.html'),
                      ('changes_json', 'changes.json'), ('changes_html', 'changes.html')):
        assert paths[key] == str(folder / name)
        assert mode(paths[key]) == 0o600
    for contact, path in paths['contacts'].items():
        assert mode(path) == 0o600 and os.path.dirname(path) == str(folder / 'contacts')
    on_disk = json.loads((folder / 'report.json').read_text('utf-8'))
    assert on_disk['counts'] == report['counts'] and on_disk['scope']['limit'] == 'none'
    assert {'generated_at', 'scope', 'counts', 'structures'} <= set(on_disk)
    assert json.loads((folder / 'changes.json').read_text('utf-8'))['counts'] == changes['counts']
    html = (folder / 'report.html').read_text('utf-8')
    for rel in ('contacts/maire-at-lyon.fr.html', 'changes.html', 'report.csv'):
        assert 'href="%s"' % rel in html


def test_existing_report_dir_keeps_its_mode(tmp_path):
    base = tmp_path / 'shared'
    base.mkdir(mode=0o755)
    os.chmod(str(base), 0o755)
    rp.write_report(str(base), sample(), SCOPE, T0)
    assert mode(str(base)) == 0o755


def test_second_report_compares_with_latest(tmp_path):
    base = str(tmp_path)
    rp.write_report(base, sample(), SCOPE, T0)
    fixed = copy.deepcopy(sample())
    fixed['structures'][1]['status'] = 'ok'
    report, changes, paths = rp.write_report(base, fixed, SCOPE, T1)
    assert os.readlink(os.path.join(base, 'latest')) == '20250302T020000Z'
    assert changes['previous'] == {'generated_at': '2025-03-01T02:00:00Z', 'folder': '20250301T020000Z'}
    assert changes['counts']['fixed'] == 1 and changes['counts']['recurring'] == 3
    assert '21690123100011' in open(paths['changes_html'], encoding='utf-8').read()


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


def test_summary_shortens_long_details():
    res = result_of([entry('srv01', '21750001600019', 'api_unavailable', detail='x' * 500)])
    line = rp.summary_lines(rp.build_report(res, SCOPE, T0))[1]
    assert line.endswith('x…') and len(line) < 220
