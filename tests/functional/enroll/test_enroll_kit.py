# -*- coding: utf-8 -*-
"""Enrolment kit end to end: the check writes a kit for a structure reported missing_account, headless
Chromium fills the kit's form and runs the page's own WebCrypto code, the block is read from the page,
chorus.corail.enroll decrypts it (standard input), validates it against the sandbox and stores it
vault-encrypted; the next check finds the structure's account. Changed, expired and foreign-key blocks
are refused with nothing written; the page makes no request (Chromium's own net log) and says what to
do without JavaScript."""

import datetime
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO, ansible_env, run_ansible
from fixtures import running_sandbox
from cdp import Browser

from ansible.parsing.vault import VaultLib, VaultSecret
from ansible_collections.chorus.corail.plugins.module_utils import _enroll_kit as ek
from ansible_collections.chorus.corail.plugins.module_utils._secrets import secret_forms

S1, S2, S3 = '21640000200012', '21640001000015', '21640002800017'
LOGIN_NEW = 'TECH_0%s@cpp2017.fr' % S1     # created by the gestionnaire of S1, not yet in the inventory
LOGIN_OLD = 'TECH_0%s@cpp2017.fr' % S2     # already recorded, serves S2
PASSWORD_NEW = 'Kq:7{{x}}|"\'%-shvun)en7jks0P'
PASSWORD_OLD = 'old-password-Zr#2x'
VAULT_PASSWORD = 'integrator-vault-pw'
CLIENT_ID, CLIENT_SECRET = 'cid-corail-q', 'csec-corail-q-very-secret'


def world():
    return {
        'apps': [{'client_id': CLIENT_ID, 'client_secret': CLIENT_SECRET, 'environment': 'qualification'}],
        'structures': [{'siret': S1, 'id_structure_cpp': 101, 'designation': 'Commune de Lescar'},
                       {'siret': S2, 'id_structure_cpp': 102, 'designation': 'CCAS de Lescar'},
                       {'siret': S3, 'id_structure_cpp': 103, 'designation': 'Commune de Lons'}],
        'accounts': [{'login': LOGIN_NEW, 'password': PASSWORD_NEW, 'environment': 'qualification',
                      'password_expires_on': '2099-01-01', 'structures': [S1]},
                     {'login': LOGIN_OLD, 'password': PASSWORD_OLD, 'environment': 'qualification',
                      'password_expires_on': '2099-01-01', 'structures': [S2]}],
        'raccordements': [{'client_id': CLIENT_ID, 'siret': S1}, {'client_id': CLIENT_ID, 'siret': S2}],
    }


def vault(text):
    return VaultLib().encrypt(text.encode(), VaultSecret(VAULT_PASSWORD.encode()), 'default').decode()


def openssl(*args):
    subprocess.run(['openssl'] + list(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('kit')
    keys = tmp / 'keys'
    keys.mkdir(mode=0o700)
    # The documented way (docs/enrolment-kit.md): openssl, private key 0600.
    for name in ('integrator', 'other'):
        openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072', '-out', str(keys / (name + '.pem')))
        os.chmod(str(keys / (name + '.pem')), 0o600)
        openssl('pkey', '-in', str(keys / (name + '.pem')), '-pubout', '-out', str(keys / (name + '.pub.pem')))
    with running_sandbox(world()) as sandbox:
        inv = tmp / 'inventory'
        (inv / 'group_vars' / 'all').mkdir(parents=True)
        (inv / 'group_vars' / 'all' / 'chorus.yml').write_text(
            '---\nchorus_piste_app: corail_q\n'
            'chorus_piste_apps:\n  corail_q: {client_id: %s, client_secret: %s, environment: qualification}\n'
            'chorus_oauth_url: %s\nchorus_api_url: %s\nchorus_retries: 0\nchorus_timeout: 5\n'
            'chorus_check_report_dir: %s\nchorus_enroll_public_key: %s\n'
            % (CLIENT_ID, CLIENT_SECRET, sandbox.oauth_url, sandbox.api_url, tmp / 'reports', keys / 'integrator.pub.pem'))
        (inv / 'hosts.yml').write_text(
            '---\nall:\n  hosts:\n    corail-1:\n      ansible_connection: local\n'
            '      ansible_python_interpreter: "{{ ansible_playbook_python }}"\n'
            '      corail_config_path: %s\n      corail_structures:\n' % (tmp / 'corail-1.ini')
            + '        - {siret: "%s", name: Commune de Lescar}\n'
            '        - {siret: "%s", name: CCAS de Lescar, account: "%s"}\n' % (S1, S2, LOGIN_OLD))
        accounts = inv / 'group_vars' / 'all' / 'chorus_accounts.yml'
        accounts.write_text('---\nchorus_accounts:\n  %s:\n    password: !vault |\n%s    password_changed_on: "%s"\n'
                            '    environment: qualification\n'
                            % (LOGIN_OLD, ''.join('          %s\n' % l for l in vault(PASSWORD_OLD).splitlines()),
                               datetime.date.today().isoformat()))
        os.chmod(str(accounts), 0o600)
        vault_file = tmp / 'vault_pass'
        vault_file.write_text(VAULT_PASSWORD + '\n')
        yield {'tmp': tmp, 'inv': inv, 'keys': keys, 'accounts': accounts, 'vault_file': vault_file,
               'sandbox': sandbox}


def check(setup):
    proc = run_ansible(['-i', str(setup['inv']), 'chorus.corail.check', '--vault-password-file', str(setup['vault_file'])],
                       cwd=str(setup['tmp']))
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    folder = os.path.realpath(str(setup['tmp'] / 'reports' / 'latest'))
    with open(os.path.join(folder, 'report.json'), encoding='utf-8') as handle:
        report = json.load(handle)
    return proc, folder, dict((row['siret'], row) for row in report['structures'])


def enroll(setup, src, stdin=None, key='integrator.pem', vault_cli=False):
    """chorus.corail.enroll from blocks; ``stdin`` is piped to ansible-playbook (conftest's runner has none)."""
    exe = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    extra = ['--vault-password-file', str(setup['vault_file'])] if vault_cli else []
    args = [exe, '-i', str(setup['inv']), 'chorus.corail.enroll', '-vvvv'] + extra + [
        '-e', 'chorus_vault_password_file=%s' % setup['vault_file'],
        '-e', 'chorus_enroll_private_key=%s' % (setup['keys'] / key),
        '-e', 'chorus_enroll_blocks_file=%s' % src]
    proc = subprocess.run(args, cwd=str(setup['tmp']), env=ansible_env(),
                          input=stdin if stdin is not None else '', stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=600, check=False)
    key_lines = (setup['keys'] / 'integrator.pem').read_text().splitlines()[1:-1]
    assert not any(line in proc.stdout + proc.stderr for line in key_lines), 'the private key reached the output'
    return proc


def fill_kit(browser, page, login, password):
    browser.open('file://' + page)
    browser.wait_for('document.body.dataset.ready === "true"')
    assert browser.evaluate('document.body.dataset.state') == 'form'
    browser.type_into('login', login)
    browser.type_into('password', password)
    browser.click('encrypt')
    browser.wait_for('["done", "failed", "invalid"].indexOf(document.body.dataset.state) >= 0')
    assert browser.evaluate('document.body.dataset.state') == 'done', browser.evaluate('document.getElementById("message").textContent')
    assert browser.evaluate('document.getElementById("password").value') == ''
    return browser.evaluate('document.getElementById("block").value')


def assert_no_secret(proc, *secrets):
    """Raw, JSON-, URL-, HTML-escaped or base64: no form of a secret in the output."""
    for secret in secrets + (CLIENT_SECRET, VAULT_PASSWORD):
        for form in secret_forms(secret):
            assert form not in proc.stdout and form not in proc.stderr, 'a secret reached the output'


@pytest.fixture(scope='module')
def first_check(setup):
    return check(setup)


def test_check_writes_a_kit_only_for_the_structure_missing_its_account(setup, first_check):
    proc, folder, rows = first_check
    assert rows[S1]['status'] == 'missing_account' and rows[S2]['status'] == 'ok'
    assert sorted(os.listdir(os.path.join(folder, 'kits'))) == ['%s.html' % S1]
    page = open(os.path.join(folder, 'kits', '%s.html' % S1), encoding='utf-8').read()
    assert 'Commune de Lescar' in page and 'SIRET <strong>%s</strong>' % S1 in page
    assert 'Créer un utilisateur technique' in page
    # No secret in the kit: only the public key (compared with the key file), identities and text.
    for secret in (CLIENT_SECRET, PASSWORD_OLD, PASSWORD_NEW, VAULT_PASSWORD, 'PRIVATE KEY'):
        assert secret not in page
    private = open(str(setup['keys'] / 'integrator.pem')).read().splitlines()[1:-1]
    assert not any(line in page for line in private)
    assert_no_secret(proc, PASSWORD_OLD)


def test_kit_without_a_public_key_is_not_written(setup, tmp_path):
    proc = run_ansible(['-i', str(setup['inv']), 'chorus.corail.check', '--vault-password-file', str(setup['vault_file']),
                        '-e', 'chorus_enroll_public_key=', '-e', 'chorus_check_report_dir=%s' % tmp_path],
                       cwd=str(setup['tmp']))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert not os.path.exists(os.path.join(os.path.realpath(str(tmp_path / 'latest')), 'kits'))


def test_password_pasted_in_chromium_is_enrolled_and_the_next_check_finds_it(setup, first_check):
    folder = first_check[1]
    page = os.path.join(folder, 'kits', '%s.html' % S1)
    with Browser(setup['tmp']) as browser:
        # The page refuses what is not a technical login before encrypting anything.
        browser.open('file://' + page)
        browser.wait_for('document.body.dataset.ready === "true"')
        browser.type_into('login', 'gestionnaire@mairie.fr')
        browser.type_into('password', PASSWORD_NEW)
        browser.click('encrypt')
        assert browser.evaluate('document.body.dataset.state') == 'invalid'
        assert 'ne ressemble pas' in browser.evaluate('document.getElementById("message").textContent')
        block = fill_kit(browser, page, LOGIN_NEW, PASSWORD_NEW)
        shown = browser.evaluate('document.getElementById("fingerprint-used").textContent')
    assert browser.page_requests() == []
    assert block.startswith('-----DEBUT BLOC CHORUS-CORAIL SIRET %s EXPIRE ' % S1) and PASSWORD_NEW not in block
    assert shown == open(page, encoding='utf-8').read().split('id="fingerprint">')[1].split('<')[0]
    before = setup['accounts'].read_bytes()

    # One byte changed: refused as tampered, nothing written.
    lines = block.splitlines()
    middle = lines[3]
    lines[3] = middle[:20] + ('A' if middle[20] != 'A' else 'B') + middle[21:]
    tampered = setup['tmp'] / 'tampered.txt'
    tampered.write_text('\n'.join(lines) + '\n')
    proc = enroll(setup, tampered)
    assert proc.returncode != 0
    assert 'refused, tampered' in proc.stdout and 'bloc modifié' in proc.stdout and 'Nothing was stored' in proc.stdout
    assert setup['accounts'].read_bytes() == before
    assert_no_secret(proc, PASSWORD_NEW, PASSWORD_OLD)

    # A clear private key that others can read is refused before any block is read.
    loose = setup['keys'] / 'loose.pem'
    loose.write_bytes((setup['keys'] / 'integrator.pem').read_bytes())
    os.chmod(str(loose), 0o644)
    proc = enroll(setup, tampered, key='loose.pem')
    assert proc.returncode != 0 and 'chmod 600' in proc.stdout and 'refused, ' not in proc.stdout
    assert setup['accounts'].read_bytes() == before

    # The block as received, on standard input; the private key vault-encrypted (decrypted in memory).
    vaulted = setup['keys'] / 'integrator.vault.pem'
    vaulted.write_text(vault((setup['keys'] / 'integrator.pem').read_text()))
    proc = enroll(setup, '-', stdin='Bonjour, voici le bloc :\n\n' + block + '\nCordialement\n',
                  key='integrator.vault.pem', vault_cli=True)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    assert_no_secret(proc, PASSWORD_NEW, PASSWORD_OLD)
    text = setup['accounts'].read_text()
    assert PASSWORD_NEW not in text
    accounts = ansible_view(setup)
    assert accounts[LOGIN_NEW]['password'] == PASSWORD_NEW and accounts[LOGIN_OLD]['password'] == PASSWORD_OLD
    assert accounts[LOGIN_NEW]['structures'] == [S1] and accounts[LOGIN_NEW]['validated'] is True
    assert accounts[LOGIN_NEW]['environment'] == 'qualification'

    # The register was not edited: S1 still names no account, and the check finds it through structures.
    proc, folder, rows = check(setup)
    assert rows[S1]['status'] == 'ok' and rows[S1]['account'] == LOGIN_NEW
    assert not os.path.exists(os.path.join(folder, 'kits'))
    assert_no_secret(proc, PASSWORD_NEW, PASSWORD_OLD)

    # The deployment writes the account the check found for S1 (register still unedited).
    proc = run_ansible(['-i', str(setup['inv']), 'chorus.corail.rollout', '--vault-password-file', str(setup['vault_file'])],
                       cwd=str(setup['tmp']))
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    assert_no_secret(proc, PASSWORD_NEW, PASSWORD_OLD)
    config = (setup['tmp'] / 'corail-1.ini').read_text()
    assert 'structure(s) of corail-1 left out' not in proc.stdout, proc.stdout[-4000:]
    assert 'login = %s' % LOGIN_NEW in config and 'login = %s' % LOGIN_OLD in config


def ansible_view(setup):
    """chorus_accounts as Ansible itself loads it with the integrator's vault password."""
    proc = run_ansible(['-i', str(setup['inv']), 'localhost', '-m', 'ansible.builtin.copy', '-a',
                        'content={{ chorus_accounts | to_json }} dest=%s mode=0600' % (setup['tmp'] / 'view.json'),
                        '--vault-password-file', str(setup['vault_file'])], program='ansible', check=True)
    del proc
    path = setup['tmp'] / 'view.json'
    try:
        return json.loads(path.read_text())
    finally:
        path.unlink()


def test_expired_foreign_and_cut_blocks_are_refused_each_saying_why(setup, first_check):
    rows = first_check[2]
    today = datetime.date.today()
    integrator = ek.load_public_key((setup['keys'] / 'integrator.pub.pem').read_bytes())
    other = ek.load_public_key((setup['keys'] / 'other.pub.pem').read_bytes())
    template = open(os.path.join(REPO, 'roles', 'check', 'templates', 'enroll_kit.html.j2'), encoding='utf-8').read()
    pages = {}
    for name, key, days in (('foreign', other, 30), ('expired', integrator, -1)):
        pages[name] = str(setup['tmp'] / ('%s.html' % name))
        with open(pages[name], 'w', encoding='utf-8') as handle:
            handle.write(ek.render_kit(template, ek.kit_context(rows[S1], key, today, days)))
    with Browser(setup['tmp']) as browser:
        foreign = fill_kit(browser, pages['foreign'], LOGIN_NEW, PASSWORD_NEW)
        # An expired kit says so and offers no form.
        browser.open('file://' + pages['expired'])
        browser.wait_for('document.body.dataset.ready === "true"')
        assert browser.evaluate('document.body.dataset.state') == 'expired'
        assert browser.evaluate('document.getElementById("kit").hidden') is True
        assert 'Ce kit a expiré le' in browser.evaluate('document.getElementById("expired").innerText')
    assert browser.page_requests() == []
    # The expired kit's block, as the page would have made it before its expiry (same format, in Python).
    context = ek.kit_context(rows[S1], integrator, today, -1)['data']
    expired = ek.make_block(integrator, {'siret': S1, 'env': 'qualification', 'kind': 'create', 'kit': context['kit'],
                                         'exp': context['exp']}, LOGIN_NEW, PASSWORD_NEW)
    cut = '\n'.join(foreign.splitlines()[:-1])
    blocks = setup['tmp'] / 'three.txt'
    blocks.write_text(foreign + '\n' + expired + '\n' + cut + '\n')
    before = setup['accounts'].read_bytes()
    proc = enroll(setup, blocks)
    assert proc.returncode != 0
    out = proc.stdout
    assert 'block 1 (SIRET %s) refused, foreign key' % S1 in out and "autre clé que celle de l'intégrateur" in out
    assert 'block 2 (SIRET %s) refused, expired' % S1 in out and 'kit expiré' in out
    assert 'block 3 (SIRET %s) refused, malformed' % S1 in out
    assert setup['accounts'].read_bytes() == before
    assert_no_secret(proc, PASSWORD_NEW, PASSWORD_OLD)


def test_page_without_javascript_says_what_to_do(setup, first_check):
    folder = first_check[1]
    with Browser(setup['tmp'], javascript=False) as browser:
        browser.open('file://' + os.path.join(folder, 'kits', '%s.html' % S1))
        text = browser.evaluate('document.body.innerText')
        assert 'Ce formulaire a besoin de JavaScript' in text and "appelez l'intégrateur" in text
        assert browser.evaluate('document.getElementById("kit").hidden') is True
        assert browser.evaluate('document.body.dataset.ready') == 'false'
    assert browser.page_requests() == []


def test_the_net_log_check_sees_a_page_request(setup):
    """The request check itself: a page that loads an image and fetches shows both in the net log."""
    probe = setup['tmp'] / 'probe.html'
    probe.write_text('<html><body><img src="http://127.0.0.1:9/probe.png"><script>'
                     'fetch("http://127.0.0.1:9/fetch").catch(function () {});</script></body></html>')
    with Browser(setup['tmp']) as browser:
        browser.open('file://%s' % probe)
        browser.wait_for('performance.getEntriesByType("resource").length >= 1')
    assert set(browser.page_requests()) >= {'http://127.0.0.1:9/probe.png', 'http://127.0.0.1:9/fetch'}
