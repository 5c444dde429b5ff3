# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import html
import json
import os
import re
import stat
import sys

from ansible_collections.chorus.corail.plugins.module_utils import _report as rp
from ansible_collections.chorus.corail.plugins.module_utils import _statuses as st
from ansible_collections.chorus.corail.plugins.plugin_utils import _report_html as rh

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from report_samples import SCOPE, SECRET, T0, T1, entry, result_of, sample  # noqa: E402  pylint: disable=wrong-import-position

RENDER = rh.Renderer()


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_nothing_outside_the_row_fields_reaches_the_report():
    res = sample()
    res['structures'][0]['password'] = SECRET
    res['structures'][0]['client_secret'] = SECRET
    res['accounts'][0]['password'] = SECRET
    report = rp.build_report(res, SCOPE, T0)
    blob = rp.json_bytes(report).decode('utf-8') + rp.render_csv(report).decode('utf-8-sig') + RENDER.report(report)
    blob += ''.join(RENDER.contact(report, c) for c in rp.contact_files(report))
    assert SECRET not in blob


def test_html_is_self_contained():
    page = RENDER.report(rp.build_report(sample(), SCOPE, T0))
    assert page.startswith('<!DOCTYPE html>')
    for forbidden in ('<link', ' src=', 'url(', '@import', '<iframe', '<img'):
        assert forbidden not in page
    assert '<script>' in page and '<style>' in page


def test_html_counts_every_status_at_the_top():
    report = rp.build_report(sample(), SCOPE, T0)
    page = RENDER.report(report)
    for status in st.STATUSES:
        assert 'data-status="%s" data-count="%d"' % (status, report['counts'][status]) in page
    assert page.index('id="counts"') < page.index('id="structures"')


def test_html_rows_carry_filters_colours_and_remediation():
    report = rp.build_report(sample(), SCOPE, T0)
    page = RENDER.report(report)
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
    for severity in rp.SEVERITY_ORDER:
        assert '.sev-%s { background: #' % severity in page


def test_html_filters_offer_every_server_status_and_contact():
    page = RENDER.report(rp.build_report(sample(), SCOPE, T0))
    host_select = re.search(r'<select id="f-host">(.*?)</select>', page).group(1)
    assert re.findall(r'value="([^"]*)"', host_select) == ['', 'srv01', 'srv02', 'srv03']
    status_select = re.search(r'<select id="f-status">(.*?)</select>', page).group(1)
    assert re.findall(r'value="([^"]*)"', status_select) == [
        '', 'missing_account', 'access_forbidden', 'not_attached', 'password_expiring', 'ok']
    contact_select = re.search(r'<select id="f-contact">(.*?)</select>', page).group(1)
    assert re.findall(r'value="([^"]*)"', contact_select) == ['', '__none__', 'dgs@mairie.fr', 'maire@lyon.fr']


def test_html_escapes_inventory_text():
    res = result_of([entry('srv01', '21750001600019', 'ok', name='<script>alert(1)</script>', contact='"><b>x')])
    page = RENDER.report(rp.build_report(res, SCOPE, T0))
    assert '<script>alert(1)</script>' not in page
    assert '&lt;script&gt;alert(1)&lt;/script&gt;' in page
    assert '"><b>x' not in page


def test_html_says_partial_scope():
    full = RENDER.report(rp.build_report(sample(), SCOPE, T0))
    assert 'id="partial"' not in full
    part = RENDER.report(rp.build_report(sample(), dict(SCOPE, limit='srv01'), T0))
    assert 'id="partial"' in part and 'Rapport partiel' in part and '--limit srv01' in part


def test_remediation_steps_numbered_and_plain_text():
    steps = rh.steps_of('Intro : 1) un ; 2) deux (https://piste.gouv.fr) ; 3) trois.')
    assert steps == {'intro': [{'text': 'Intro :'}], 'steps': [
        [{'text': 'un'}], [{'text': 'deux ('}, {'url': 'https://piste.gouv.fr'}, {'text': ')'}], [{'text': 'trois.'}]]}
    assert rh.steps_of('Rien à faire.') == {'intro': [{'text': 'Rien à faire.'}], 'steps': []}
    assert rh.steps_of(None) == {'intro': [], 'steps': []}


def test_every_status_remediation_has_steps_or_text():
    for status in st.STATUSES:
        steps = rh.steps_of(st.remediation(status, siret='21750001600019', account='TECH_1_a@cpro.fr'))
        assert steps['intro'] or steps['steps']


def test_contact_pages_list_only_their_structures():
    report = rp.build_report(sample(), SCOPE, T0)
    files = rp.contact_files(report)
    assert files == {'': 'sans-contact.html', 'dgs@mairie.fr': 'dgs-at-mairie.fr.html',
                     'maire@lyon.fr': 'maire-at-lyon.fr.html'}
    lyon = RENDER.contact(report, 'maire@lyon.fr')
    assert sorted(re.findall(r'data-siret="(\d+)"', lyon)) == ['21130055300016', '21690123100011']
    assert 'maire@lyon.fr' in lyon
    assert st.LABELS['missing_account'] in lyon
    assert '21750001600019' not in lyon and 'dgs@mairie.fr' not in lyon
    assert 'srv01' not in lyon  # server names are the integrator's business
    nobody = RENDER.contact(report, '')
    assert re.findall(r'data-siret="(\d+)"', nobody) == ['21310555400017']


def test_contact_page_shows_a_siret_once_even_on_two_servers():
    res = result_of([entry('srv01', '21750001600019', 'not_attached'), entry('srv02', '21750001600019', 'not_attached'),
                     entry('srv02', '21690123100011', 'ok')])
    page = RENDER.contact(rp.build_report(res, SCOPE, T0), 'dgs@mairie.fr')
    assert re.findall(r'data-siret="(\d+)"', page) == ['21750001600019', '21690123100011']
    assert 'Sur vos 2 structures, 1 demande une action de votre part' in page


def test_write_report_files_modes_and_latest(tmp_path):
    base = tmp_path / 'reports'
    report, changes, paths = rp.write_report(str(base), sample(), SCOPE, T0, render=RENDER)
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


def test_second_report_compares_with_latest(tmp_path):
    base = str(tmp_path)
    rp.write_report(base, sample(), SCOPE, T0, render=RENDER)
    fixed = copy.deepcopy(sample())
    fixed['structures'][1]['status'] = 'ok'
    report, changes, paths = rp.write_report(base, fixed, SCOPE, T1, render=RENDER)
    assert os.readlink(os.path.join(base, 'latest')) == '20250302T020000Z'
    assert changes['previous'] == {'generated_at': '2025-03-01T02:00:00Z', 'folder': '20250301T020000Z'}
    assert changes['counts']['fixed'] == 1 and changes['counts']['recurring'] == 3
    assert '21690123100011' in open(paths['changes_html'], encoding='utf-8').read()


# ---------------------------------------------------------------- French, per audience

ENGLISH = ('no account is set', 'HTTP 401 on', 'HTTP 403 on', 'password expires on', 'days left', 'from API',
           'ansible-playbook', 'password_changed_on', 'online: false', 'chorus_piste_apps', 'Rapport partiel')
ISO_DATE = re.compile(r'\b\d{4}-\d{2}-\d{2}\b')


def visible_text(page):
    """The page's text as a reader sees it: no tags, no style, no script."""
    page = re.sub(r'<(style|script)>.*?</\1>', '', page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_french_dates_times_and_plurals():
    assert rh.fr_date('2026-12-14') == '14/12/2026'
    assert rh.fr_long_date('2026-12-14') == '14 décembre 2026'
    assert rh.fr_long_date('2027-05-01') == '1er mai 2027'
    # Europe/Paris: UTC+1 in winter, UTC+2 in summer, the zone named
    assert rh.fr_datetime('2026-12-14T02:00:00Z') == '14/12/2026 à 03:00 (heure de Paris)'
    assert rh.fr_datetime('2026-07-14T23:30:00Z', long=True) == '15 juillet 2026 à 01:30 (heure de Paris)'
    assert rh.plural(0, 'structure') == '0 structure'
    assert rh.plural(1, 'structure') == '1 structure'
    assert rh.plural(2, 'structure') == '2 structures'
    assert rh.plural(3, 'nouveau problème', 'nouveaux problèmes') == '3 nouveaux problèmes'


def test_contact_pages_are_french_only_with_estimated_expiry():
    detail = ('HTTP 401 on /cpro/transverses/v1/recuperer/structures/actives/destinataire; password expires on '
              '2028-01-30 (424 days left; from password_changed_on + 424 days)')
    res = result_of([
        entry('srv01', '21750001600019', 'account_rejected', detail=detail, password_expires_on='2028-01-30', days_left=424),
        entry('srv01', '21690123100011', 'missing_account', account=None, detail='no account is set',
              password_expires_on=None, days_left=None),
        entry('srv02', '21130055300016', 'access_forbidden', detail='HTTP 403 on /cpro/factures (empty body)'),
        entry('srv02', '21310555400017', 'piste_auth_failed', detail='HTTP 401 on /api/oauth/token'),
        entry('srv02', '21330063500017', 'password_expiring', days_left=12, password_expires_on='2025-03-13',
              detail='password expires on 2025-03-13 (12 days left; from password_changed_on + 424 days)'),
    ])
    report = rp.build_report(res, dict(SCOPE, limit='srv01'), T0)
    page = RENDER.contact(report, 'dgs@mairie.fr')
    text = visible_text(page)
    for words in ENGLISH:
        assert words not in text, words
    assert not ISO_DATE.search(text)
    assert '30 janvier 2028' in text and 'estimée' in text
    assert '13 mars 2025' in text
    assert ('Sur vos 5 structures, 4 demandent une action de votre part ; '
            '1 attend une intervention de votre intégrateur') in text
    assert "Votre intégrateur s'en occupe" in text  # the refused PISTE application is not the mairie's job
    assert 'Raccordement EDI et API' in text
    # the integrator's report keeps the English detail, collapsed, and says the scope
    full = RENDER.report(report)
    assert 'Détail technique' in full and 'HTTP 401 on /cpro/transverses' in full and 'Rapport partiel' in full


def test_report_lists_actions_before_the_table_with_one_line_per_cause():
    entries = [entry('srv%02d' % (i % 3), '2175000160%04d' % i, 'piste_auth_failed', piste_app='OLD') for i in range(4)]
    entries += [entry('srv01', '21690123100011', 'account_rejected', account='TECH_1_x@cpro.fr'),
                entry('srv02', '21130055300016', 'missing_account', account=None)]
    page = RENDER.report(rp.build_report(result_of(entries), SCOPE, T0))
    lines = re.findall(r'<li class="action sev-\w+" id="action-(\d+)" data-kind="(\w+)" data-subject="([^"]*)" '
                       r'data-count="(\d+)" data-action-by="(\w+)">', page)
    assert lines == [('1', 'piste_app_refused', 'OLD', '4', 'integrator'),
                     ('2', 'missing_account', '21130055300016', '1', 'gestionnaire'),
                     ('3', 'account_rejected', 'TECH_1_x@cpro.fr', '1', 'gestionnaire')]
    assert page.index('id="actions"') < page.index('id="structures"')
    assert 'débloque' in visible_text(page).lower() or 'Débloque' in page
    assert '<a href="#action-1">Action 1</a>' in page


def test_print_header_is_a_safe_css_string():
    assert str(rh.css_string('a"b</style>')) == '"a\\22 b\\3c /style\\3e "'


def test_no_python_file_of_the_collection_holds_html():
    top = os.path.join(os.path.dirname(os.path.abspath(rh.__file__)), '..')
    tag = re.compile(r'</?(?:html|head|body|table|thead|tbody|tr|td|th|div|span|p|a|h[1-6]|ul|ol|li|section|style|'
                     r'script|details|summary|br|strong|footer|header|main|form|select|option)\b[^>]*>', re.I)
    found = []
    for folder, _dirs, names in os.walk(top):
        for name in names:
            if name.endswith('.py'):
                with open(os.path.join(folder, name), encoding='utf-8') as handle:
                    found.extend('%s: %s' % (name, m.group(0)) for m in tag.finditer(handle.read()))
    assert not found
    assert os.path.isfile(os.path.join(rh.BUILTIN_DIR, 'report.html.j2'))
