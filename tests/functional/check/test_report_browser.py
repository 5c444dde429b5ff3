# -*- coding: utf-8 -*-
"""The reports as a reader gets them, in headless Chromium: layout at 1280 and 1920 px, printed
to PDF (A4 landscape for report.html, portrait for contact pages), French-only contact pages.

The report is written by the real task (chorus.corail.check_report, its action plugin, the
collection's templates) from a credentials_info result with every status (report_world.py), so
no sandbox is needed. Every assertion reads the rendered page (DOM, PDF text), not the HTML source.
"""
import json
import os
import re

import pypdf
import pytest

from browser import MEASURE, print_pdf
from cdp import Browser  # tests/functional/cdp.py
from conftest import run_ansible  # tests/functional/conftest.py
from report_world import SECRETS, make_result

HEADERS = ('Serveur', 'SIRET', 'Structure', 'Contact', 'Compte technique', 'Statut', 'Expiration', 'Que faire ?')
ENGLISH = ('no account is set', 'HTTP 401 on', 'HTTP 403 on', 'password expires on', 'days left', 'from API',
           'after one retry', 'not checked online', 'ansible-playbook', 'password_changed_on', 'Rapport partiel',
           'online: false', 'chorus_piste_apps', 'checksum fails')
ISO_DATE = re.compile(r'\b\d{4}-\d{2}-\d{2}\b')
A4 = (595, 842)  # points, portrait

PLAY = """
- name: Write a report from a registered result
  hosts: localhost
  gather_facts: false
  vars_files: [result.json]
  tasks:
    - name: Report
      chorus.corail.check_report:
        result: "{{ check_result }}"
        report_dir: "{{ report_dir }}"
        scope: {limit: "{{ limit }}", hosts: [corail-01, corail-02, corail-03, corail-04], failed_before: []}
        integrator: {name: Syndicat Numérique, email: support@syndicat.example, phone: 05 59 00 00 00,
                     text: Du lundi au vendredi.}
      register: out

    - name: Keep what the task returned
      ansible.builtin.copy:
        content: "{{ out | to_nice_json }}"
        dest: "{{ report_dir }}/../task.json"
        mode: '0600'
"""


def write_report(tmp, result, limit='none', verbosity='-v'):
    (tmp / 'result.json').write_text(json.dumps({'check_result': result}))
    (tmp / 'play.yml').write_text(PLAY)
    reports = tmp / 'reports'
    run = run_ansible([str(tmp / 'play.yml'), verbosity, '-e', json.dumps({'report_dir': str(reports), 'limit': limit})],
                      cwd=str(tmp))
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return run, os.path.realpath(str(reports / 'latest')), json.loads((tmp / 'task.json').read_text())


@pytest.fixture(scope='module')
def thirty(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('report30')
    result = make_result(30)
    for entry in result['structures']:  # what a careless caller could pass: it must go nowhere
        entry['password'] = SECRETS[0]
        entry['client_secret'] = SECRETS[1]
    result['token'] = SECRETS[2]
    run, folder, task = write_report(tmp, result, verbosity='-vvvv')
    browser = Browser(tmp)
    yield {'tmp': tmp, 'run': run, 'folder': folder, 'task': task, 'browser': browser}
    browser.close()


def pdf_pages(path):
    return [(page.mediabox.width, page.mediabox.height, page.extract_text()) for page in pypdf.PdfReader(path).pages]


def test_actions_list_exactly_the_three_causes_with_their_counts(tmp_path):
    result = make_result(12)
    keep = {'piste_auth_failed': 3, 'account_rejected': 2, 'access_forbidden': 1}
    structures = []
    for status, n in keep.items():
        model = [s for s in result['structures'] if s['status'] == status][0]
        for i in range(n):
            structures.append(dict(model, siret=model['siret'][:-3] + '%03d' % (i * 7 + len(structures)),
                                   host='corail-%02d' % (i + 1)))
    result['structures'] = structures
    dummy, folder, task = write_report(tmp_path, result)
    browser = Browser(tmp_path)
    try:
        browser.open('file://' + os.path.join(folder, 'report.html'), width=1280)
        lines = browser.evaluate("Array.prototype.map.call(document.querySelectorAll('#actions li.action'), function (li) {"
                                 " return [li.dataset.kind, li.dataset.count, li.querySelector('h3').innerText]; })")
    finally:
        browser.close()
    assert [(kind, count) for kind, count, _title in lines] == [
        ('piste_app_refused', '3'), ('account_rejected', '2'), ('raccordement_missing', '1')]
    assert "l'application PISTE CORAIL_OLD" in lines[0][2] and 'TECH_1_rejete@cpro.fr' in lines[1][2]
    assert [(a['kind'], a['count']) for a in task['actions']] == [(k, c) for k, c, _t in
                                                                  [(x, int(y), z) for x, y, z in lines]]
    assert json.load(open(os.path.join(folder, 'report.json'), encoding='utf-8'))['actions'] == task['actions']


@pytest.mark.parametrize('width', [1280, 1920])
def test_readable_from_1280_px(thirty, width):
    browser = thirty['browser']
    browser.open('file://' + os.path.join(thirty['folder'], 'report.html'), width=width)
    assert browser.evaluate("document.body.getAttribute('data-ready')") == 'true'
    m = browser.evaluate(MEASURE)
    assert m['scrollWidth'] <= m['clientWidth'], m['scrollWidth']  # no horizontal scrolling
    assert not m['cut'], m['cut'][:5]
    for table in m['tables']:
        assert min(table['widths']) >= 90, table
    structures = [t for t in m['tables'] if t['id'] == 'structures'][0]
    assert structures['headers'] == list(HEADERS)
    # 30 rows and every action: a page one can scroll, not 6,000 px of five-letter lines
    assert m['height'] < (9000 if width == 1280 else 7000), m['height']
    shot = browser.screenshot(str(thirty['tmp'] / ('report-%d.png' % width)))
    with open(shot, 'rb') as handle:
        assert handle.read(8) == b'\x89PNG\r\n\x1a\n'
    print('report.html at %d px: %d px high, narrowest column %d px' % (
        width, m['height'], min(min(t['widths']) for t in m['tables'])))


def test_printed_on_a4_landscape_in_five_pages_with_every_header(thirty):
    pdf = print_pdf(os.path.join(thirty['folder'], 'report.html'), str(thirty['tmp'] / 'report.pdf'), thirty['tmp'])
    pages = pdf_pages(pdf)
    assert len(pages) <= 5, len(pages)
    print('report.pdf: %d A4 landscape pages for 30 rows' % len(pages))
    with_rows = 0
    for width, height, text in pages:
        assert (round(float(width)), round(float(height))) == (A4[1], A4[0])  # landscape
        assert 'Chorus Pro — rapport du' in text and 'périmètre : 4 serveurs ciblés' in text  # running header
        flat = ' '.join(text.split())
        if re.search(r'corail-0\d 2175\d{10}', flat):  # a row of the structures table
            with_rows += 1
            for header in HEADERS:
                assert header in flat, (header, flat[:300])
    assert with_rows >= 2  # the table spans pages, and its header comes again
    everything = ' '.join(' '.join(t.split()) for _w, _h, t in pages)
    # count cards, steps and every row are on paper
    assert 'Synthèse par statut' in everything and 'Compte technique manquant' in everything
    assert 'Gérer le raccordement API' in everything and 'Créer un utilisateur technique' in everything
    report = json.load(open(os.path.join(thirty['folder'], 'report.json'), encoding='utf-8'))
    for row in report['structures']:
        assert row['siret'] in everything


def test_nothing_cut_off_the_printed_page(thirty):
    browser = thirty['browser']
    # the printable width of A4 landscape with the page's margins: 297 - 18 mm, at 96 px per inch
    browser.open('file://' + os.path.join(thirty['folder'], 'report.html'), width=int((297 - 18) / 25.4 * 96), media='print')
    m = browser.evaluate(MEASURE)
    assert m['scrollWidth'] <= m['clientWidth'] and not m['cut'], m['cut'][:5]
    shown = browser.evaluate("Array.prototype.filter.call(document.querySelectorAll('#actions .steps'),"
                             " function (s) { return s.offsetHeight > 0; }).length")
    assert shown == len(set(a['kind'] for a in thirty['task']['actions']))  # every kind's steps, open
    assert browser.evaluate("getComputedStyle(document.querySelector('#counts .cards')).display") != 'none'


def test_contact_pages_are_french_and_print_on_a4_portrait(thirty):
    folder = os.path.join(thirty['folder'], 'contacts')
    browser = thirty['browser']
    estimated = 0
    for name in sorted(os.listdir(folder)):
        browser.open('file://' + os.path.join(folder, name), width=1280)
        m = browser.evaluate(MEASURE)
        assert m['scrollWidth'] <= m['clientWidth'] and not m['cut'], (name, m['cut'][:3])
        assert all(min(t['widths']) >= 90 for t in m['tables']), (name, m['tables'])
        text = m['text']
        for words in ENGLISH:
            assert words not in text, (name, words)
        assert not ISO_DATE.search(text), (name, ISO_DATE.search(text).group(0))
        assert 'Syndicat Numérique' in text and '05 59 00 00 00' in text  # the integrator's identity
        assert '(s)' not in text and 'demande(nt)' not in text
        assert 'UTC' not in text and 'heure de Paris' in text
        estimated += text.count('estimée')
    assert estimated  # account_rejected / access_forbidden / password_expiring rows have estimated expiries
    pdf = print_pdf(os.path.join(folder, sorted(os.listdir(folder))[0]), str(thirty['tmp'] / 'contact.pdf'), thirty['tmp'])
    for width, height, _text in pdf_pages(pdf):
        assert (round(float(width)), round(float(height))) == A4


def test_changes_page_reads_at_1280_px(thirty):
    browser = thirty['browser']
    browser.open('file://' + os.path.join(thirty['folder'], 'changes.html'), width=1280)
    m = browser.evaluate(MEASURE)
    assert m['scrollWidth'] <= m['clientWidth'] and not m['cut'], m['cut'][:3]
    assert all(min(t['widths']) >= 90 for t in m['tables'])
    assert 'Nouveaux problèmes (26)' in m['text'] and 'heure de Paris' in m['text']


def test_no_secret_in_any_output(thirty):
    blobs = [thirty['run'].stdout, thirty['run'].stderr]
    for top, _dirs, names in os.walk(str(thirty['tmp'])):
        for name in names:
            if name.endswith(('.html', '.json', '.csv')) and name != 'result.json':  # result.json: our input
                blobs.append(open(os.path.join(top, name), encoding='utf-8-sig').read())
    assert len(blobs) > 8
    for secret in SECRETS:
        assert not any(secret in blob for blob in blobs), secret
