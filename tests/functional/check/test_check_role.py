# -*- coding: utf-8 -*-
"""End to end: `ansible-playbook chorus.corail.check` against the sandbox with a generated world.

Each test module instance (one per xdist worker) generates its own world, starts its own sandbox on
a free port and runs the playbook once; the tests read that run's report, or make their own runs
in their own folders.
"""
import collections
import csv
import io
import json
import os
import re
import shutil
import stat

import pytest

from browser import chromium
from conftest import run_ansible  # tests/functional/conftest.py
from fixtures import running_sandbox
from make_world import make_world, write_world

from ansible_collections.chorus.corail.plugins.module_utils import _report as rp
from ansible_collections.chorus.corail.plugins.module_utils._statuses import STATUSES

STRUCTURES = 120
HOSTS = 6
SEED = 20250301


class World(object):
    pass


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp('check-world')
    generated = make_world(STRUCTURES, hosts=HOSTS, seed=SEED)
    with running_sandbox(generated['world']) as sandbox:
        generated = make_world(STRUCTURES, hosts=HOSTS, seed=SEED, url=sandbox.url)
        out = write_world(generated, str(base / 'w'))
        w = World()
        w.base = base
        w.sandbox = sandbox
        w.inventory = os.path.join(out, 'inventory', 'hosts.yml')
        w.expected = generated['expected']
        w.group_vars = generated['inventory']['group_vars']
        w.host_vars = generated['inventory']['host_vars']
        w.reports = str(base / 'reports')
        sandbox.reset()
        w.run = run_ansible(['chorus.corail.check', '-i', w.inventory, '-v',
                             '-e', 'chorus_check_report_dir=%s' % w.reports], cwd=str(base))
        w.stats = sandbox.stats()
        w.folder = os.path.realpath(os.path.join(w.reports, 'latest'))
        yield w


def load(folder, name='report.json'):
    with open(os.path.join(folder, name), encoding='utf-8') as handle:
        return json.load(handle)


def host_of(world, siret):
    for host, hvars in world.host_vars.items():
        if any(s['siret'] == siret for s in hvars['corail_structures']):
            return host
    raise KeyError(siret)


def dump_dom(path, tmp, fragment=''):
    return chromium(['--dump-dom', '--virtual-time-budget=3000'], 'file://%s%s' % (path, fragment), tmp)


def visible_rows(dom):
    return re.findall(r'<tr class="sev-\w+" data-host="([^"]*)" data-status="(\w+)" data-contact="([^"]*)">'
                      r'<td>[^<]*</td><td class="siret">(\d+)</td>', dom)


def all_rows(dom):
    return re.findall(r'<tr class="sev-\w+" data-host="[^"]*" data-status="\w+" data-contact="[^"]*"( hidden="")?>', dom)


# ------------------------------------------------------------------------------------------------


def test_playbook_runs_and_prints_the_summary(world):
    assert world.run.returncode == 0, world.run.stdout[-5000:] + world.run.stderr[-3000:]
    out = world.run.stdout
    assert 'Chorus Pro check: %d structure(s) on %d host(s)' % (STRUCTURES, HOSTS) in out
    assert 'ERROR missing_account' in out
    assert 'Report: %s/report.html' % world.folder in out
    # one bulk check and one report, whatever the number of hosts
    assert out.count("TASK [chorus.corail.check : Check the Chorus Pro connection") == 1
    assert len(re.findall(r'ok: \[corail-\d+ -> localhost\]', out)) == 1
    assert len(re.findall(r'changed: \[corail-\d+ -> localhost\]', out)) == 1


def test_every_structure_gets_the_status_the_world_implies(world):
    report = load(world.folder)
    got = dict((row['siret'], row['status']) for row in report['structures'])
    assert got == world.expected
    for row in report['structures']:
        assert row['host'] == host_of(world, row['siret'])


def test_counts_match_and_add_up(world):
    report = load(world.folder)
    expected = collections.Counter(world.expected.values())
    assert report['counts'] == dict((s, expected.get(s, 0)) for s in STATUSES)
    assert sum(report['counts'].values()) == report['total'] == STRUCTURES
    assert report['scope'] == {'limit': 'none', 'hosts': sorted(world.host_vars), 'hosts_count': HOSTS,
                               'failed_before': [], 'hosts_without_structures': [], 'partial': False}
    for key in ('generated_at', 'scope', 'counts', 'structures'):
        assert key in report
    fields = {'host', 'siret', 'name', 'account', 'piste_app', 'environment', 'status', 'warnings', 'detail',
              'remediation', 'id_structure_cpp', 'password_expires_on', 'days_left'}
    assert all(fields <= set(row) for row in report['structures'])


def test_api_calls_stay_within_p_plus_3a_plus_n(world):
    apps = len(world.group_vars['chorus_piste_apps'])
    accounts = set()
    for hvars in world.host_vars.values():
        for s in hvars['corail_structures']:
            if s['account'] in world.group_vars['chorus_accounts']:
                app = s.get('piste_app') or hvars['chorus_piste_app']
                accounts.add((world.group_vars['chorus_piste_apps'][app]['environment'], app, s['account']))
    bound = apps + 3 * len(accounts) + STRUCTURES
    assert 0 < world.stats['total'] <= bound, (world.stats, apps, len(accounts))
    token_calls = sum(world.stats['calls'].get('/api/oauth/token', {}).values())
    assert token_calls <= apps + len(accounts)  # one per application, plus one fresh token per 401 retry


def test_csv_parses_as_described(world):
    raw = open(os.path.join(world.folder, 'report.csv'), 'rb').read()
    assert raw.startswith(b'\xef\xbb\xbf')
    assert raw.count(b'\r\n') == STRUCTURES + 1 and raw.count(b'\n') == STRUCTURES + 1
    rows = list(csv.DictReader(io.StringIO(raw.decode('utf-8-sig'), newline=''), delimiter=';'))
    assert len(rows) == STRUCTURES
    assert list(rows[0]) == list(rp.CSV_COLUMNS)
    statuses = {}
    for row in rows:
        assert re.match(r'^="\d{14}"$', row['siret'])
        assert row['password_expires_on'] == '' or re.match(r'^\d{4}-\d{2}-\d{2}$', row['password_expires_on'])
        statuses[rp.csv_cell_value(row['siret'])] = row['status']
    assert statuses == world.expected


def test_missing_account_in_every_format(world):
    missing = sorted(s for s, status in world.expected.items() if status == 'missing_account')
    assert missing
    report = load(world.folder)
    assert sorted(r['siret'] for r in report['structures'] if r['status'] == 'missing_account') == missing
    rows = csv.DictReader(io.StringIO(open(os.path.join(world.folder, 'report.csv'), encoding='utf-8-sig',
                                           newline='').read(), newline=''), delimiter=';')
    assert sorted(rp.csv_cell_value(r['siret']) for r in rows if r['status'] == 'missing_account') == missing
    html = open(os.path.join(world.folder, 'report.html'), encoding='utf-8').read()
    for siret in missing:
        assert re.search(r'data-status="missing_account" data-contact="[^"]*"><td>[^<]*</td><td class="siret">%s<'
                         % siret, html)
        # one action per missing account, in "Actions à mener"
        assert re.search(r'data-kind="missing_account" data-subject="%s" data-count="1"' % siret, html)
        contact = [r['contact'] for r in report['structures'] if r['siret'] == siret][0]
        page = open(os.path.join(world.folder, 'contacts', rp.contact_slug(contact) + '.html'),
                    encoding='utf-8').read()
        assert 'data-siret="%s" data-status="missing_account"' % siret in page
    # the vocabulary's steps, written once for every missing account (on the first one's action)
    assert html.count('doit en créer un dans Chorus Pro') == 1
    subjects = [a['subject'] for a in report['actions']]
    assert '(SIRET %s) doit en créer un dans Chorus Pro' % sorted(missing, key=subjects.index)[0] in html
    changes = load(world.folder, 'changes.json')
    assert set(missing) <= set(e['siret'] for e in changes['changes']['new'] if e['status'] == 'missing_account')
    assert 'ERROR missing_account' in world.run.stdout


def test_contact_pages_hold_only_their_structures(world):
    report = load(world.folder)
    by_contact = collections.defaultdict(set)
    for row in report['structures']:
        by_contact[row['contact'] or ''].add(row['siret'])
    pages = os.listdir(os.path.join(world.folder, 'contacts'))
    assert len(pages) == len(by_contact)
    for contact, sirets in by_contact.items():
        page = open(os.path.join(world.folder, 'contacts', rp.contact_slug(contact) + '.html'), encoding='utf-8').read()
        assert set(re.findall(r'data-siret="(\d+)"', page)) == sirets


def test_files_are_private_and_latest_points_at_the_run(world):
    assert os.path.islink(os.path.join(world.reports, 'latest'))
    assert re.match(r'^\d{8}T\d{6}Z$', os.readlink(os.path.join(world.reports, 'latest')))
    for folder, dirs, files in os.walk(world.folder):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        for name in files:
            assert stat.S_IMODE(os.stat(os.path.join(folder, name)).st_mode) == 0o600


def test_no_secret_in_reports_or_output(world):
    secrets = set()
    for account in world.group_vars['chorus_accounts'].values():
        secrets.add(account['password'])
    for app in world.group_vars['chorus_piste_apps'].values():
        secrets.update((app['client_secret'], app['client_id']))
    blobs = [world.run.stdout, world.run.stderr]
    for folder, _dirs, files in os.walk(world.reports):
        for name in files:
            blobs.append(open(os.path.join(folder, name), encoding='utf-8-sig').read())
    for secret in secrets:
        assert not any(secret in blob for blob in blobs)


def test_html_renders_in_headless_chromium(world, tmp_path):
    page = os.path.join(world.folder, 'report.html')
    dom = dump_dom(page, tmp_path)
    assert 'data-ready="true"' in dom  # the inline script ran to its end
    assert len(all_rows(dom)) == STRUCTURES and not any(hidden for hidden in all_rows(dom))
    counts = collections.Counter(world.expected.values())
    for status in STATUSES:
        assert 'data-status="%s" data-count="%d"' % (status, counts.get(status, 0)) in dom
    shot = str(tmp_path / 'report.png')
    chromium(['--screenshot=%s' % shot, '--window-size=1400,1000'], 'file://' + page, tmp_path)
    png = open(shot, 'rb').read()
    assert png.startswith(b'\x89PNG') and len(png) > 20000


def test_html_filters_and_sorts_in_chromium(world, tmp_path):
    page = os.path.join(world.folder, 'report.html')
    missing = sorted(s for s, status in world.expected.items() if status == 'missing_account')
    dom = dump_dom(page, tmp_path, '#status=missing_account')
    shown = visible_rows(dom)
    assert sorted(r[3] for r in shown) == missing and set(r[1] for r in shown) == {'missing_account'}
    assert '<strong id="shown">%d</strong>' % len(missing) in dom

    host = sorted(world.host_vars)[1]
    contact = world.host_vars[host]['corail_structures'][0]['contact']
    dom = dump_dom(page, tmp_path, '#host=%s&contact=%s&sort=siret&dir=descending' % (host, contact))
    shown = visible_rows(dom)
    wanted = sorted((s['siret'] for s in world.host_vars[host]['corail_structures'] if s['contact'] == contact),
                    reverse=True)
    assert [r[3] for r in shown] == wanted
    assert 'aria-sort="descending"' in dom

    lines = [s for s in world.expected if world.expected[s] == 'not_attached']
    dom = dump_dom(page, tmp_path, '#q=%s' % lines[0])
    assert [r[3] for r in visible_rows(dom)] == [lines[0]]


def test_contact_page_renders_in_chromium(world, tmp_path):
    report = load(world.folder)
    row = [r for r in report['structures'] if r['status'] == 'access_forbidden'][0]
    page = os.path.join(world.folder, 'contacts', rp.contact_slug(row['contact']) + '.html')
    dom = dump_dom(page, tmp_path)
    assert 'data-siret="%s" data-status="access_forbidden"' % row['siret'] in dom
    assert 'Raccordement EDI et API' in dom


def test_limit_run_says_so_and_fail_on_fails_the_right_hosts(world, tmp_path):
    missing_hosts = sorted(set(host_of(world, s) for s, st in world.expected.items() if st == 'missing_account'))
    clean_hosts = sorted(h for h in world.host_vars if h not in missing_hosts)
    assert missing_hosts and clean_hosts
    limit = [missing_hosts[0], clean_hosts[0]]
    reports = str(tmp_path / 'reports')
    shutil.copytree(world.reports, reports, symlinks=True)  # the full run is the previous report
    run = run_ansible(['chorus.corail.check', '-i', world.inventory, '--limit', ','.join(limit),
                       '-e', json.dumps({'chorus_check_report_dir': reports, 'chorus_check_fail_on': ['missing_account']})],
                      cwd=str(tmp_path))
    assert run.returncode == 2, run.stdout[-4000:]
    folder = os.path.realpath(os.path.join(reports, 'latest'))
    assert folder != os.path.realpath(os.path.join(world.reports, 'latest'))
    report = load(folder)
    assert report['scope']['limit'] == ','.join(limit) and report['scope']['partial'] is True
    assert report['scope']['hosts'] == sorted(limit)
    assert set(r['host'] for r in report['structures']) == set(limit)
    assert 'PARTIAL report (--limit %s)' % ','.join(limit) in run.stdout
    assert 'Rapport partiel' in open(os.path.join(folder, 'report.html'), encoding='utf-8').read()
    # Only the host with a missing account fails, and the message says which structures.
    recap = dict(re.findall(r'^(corail-\d+)\s+: .*failed=(\d+)', run.stdout, re.M))
    assert recap == {missing_hosts[0]: '1', clean_hosts[0]: '0'}
    fatal = re.search(r'fatal: \[%s\]: FAILED! => .*' % missing_hosts[0], run.stdout).group(0)
    for siret in (s for s, st in world.expected.items() if st == 'missing_account' and host_of(world, s) == missing_hosts[0]):
        assert '%s missing_account' % siret in fatal
    # Problems of hosts outside the limit are "not rechecked", not "fixed".
    changes = load(folder, 'changes.json')
    assert changes['counts']['fixed'] == 0 and changes['counts']['new'] == 0
    outside = [s for s, st in world.expected.items() if host_of(world, s) not in limit and st not in ('ok',)]
    assert sorted(e['siret'] for e in changes['changes']['not_rechecked']) == sorted(outside)


PLAY_WITH_EARLIER_FAILURE = """
- name: A play where one host fails before the check
  hosts: corail
  gather_facts: false
  tasks:
    - name: Fail one host, as a deploy step could
      ansible.builtin.fail:
        msg: simulated failure
      when: inventory_hostname == failing_host

    - name: Check
      ansible.builtin.include_role:
        name: chorus.corail.check
        public: true

    - name: Save each host's own results
      ansible.builtin.copy:
        content: "{{ chorus_check_host_results | to_json }}"
        dest: "{{ results_dir }}/{{ inventory_hostname }}.json"
        mode: '0600'
      delegate_to: localhost
"""


def test_hosts_failed_before_are_checked_and_named(world, tmp_path):
    playbook = tmp_path / 'play.yml'
    playbook.write_text(PLAY_WITH_EARLIER_FAILURE)
    failing = sorted(world.host_vars)[0]
    results = tmp_path / 'results'
    results.mkdir()
    reports = str(tmp_path / 'reports')
    run = run_ansible([str(playbook), '-i', world.inventory, '-e', json.dumps({
        'failing_host': failing, 'results_dir': str(results), 'chorus_check_report_dir': reports})], cwd=str(tmp_path))
    assert run.returncode == 2, run.stdout[-4000:]
    report = load(os.path.realpath(os.path.join(reports, 'latest')))
    assert report['scope']['failed_before'] == [failing] and report['scope']['partial'] is True
    assert report['total'] == STRUCTURES  # the failed host's structures are checked too
    assert dict((r['siret'], r['status']) for r in report['structures']) == world.expected
    assert 'had failed before the check: %s' % failing in run.stdout
    # Every other host got exactly its own results, without a task per host.
    assert sorted(os.listdir(str(results))) == sorted('%s.json' % h for h in world.host_vars if h != failing)
    for name in os.listdir(str(results)):
        host = name[:-5]
        mine = json.loads((results / name).read_text())
        assert [e['siret'] for e in mine] == [s['siret'] for s in world.host_vars[host]['corail_structures']]
        assert all(e['host'] == host and e['status'] == world.expected[e['siret']] for e in mine)


def test_check_mode_writes_no_report(world, tmp_path):
    reports = tmp_path / 'reports'
    run = run_ansible(['chorus.corail.check', '-i', world.inventory, '--check',
                       '-e', 'chorus_check_report_dir=%s' % reports], cwd=str(tmp_path))
    assert run.returncode == 0, run.stdout[-4000:]
    assert not reports.exists()
    assert 'Report: not written (check mode)' in run.stdout
