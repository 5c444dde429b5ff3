# -*- coding: utf-8 -*-
"""Issue 14 acceptance: the check playbook against the sandbox, a real SMTP server with STARTTLS and
login, a real webhook receiver, the metrics file parsed by prometheus_client, report retention.

Run 1 sends one integrator mail and one mail per contact with something to do; run 2 (nothing
changed) sends nothing; run 3 (a password crosses the 30-day threshold) sends exactly one contact
mail, to its contact, and one integrator mail.
"""
import datetime
import json
import os
import re

import pytest
import yaml

from conftest import run_ansible  # tests/functional/conftest.py
from fixtures import running_sandbox
from notify_helpers import make_certificates, smtp_server, webhook_receiver
from prometheus_client.parser import text_string_to_metric_families

TODAY = datetime.date.today()
APP = {'client_id': 'cid-notify', 'client_secret': 'csec-not-shown-123', 'environment': 'qualification'}
SA, SB, SC, SD = '21640000200012', '21640001000015', '21983444717476', '26614355145820'
LB, LC, LD = ('TECH_0%s@cpp2017.fr' % s for s in (SB, SC, SD))
PASSWORDS = {LB: 'Pw-B-right-1', LC: 'Pw-C-not-shown-1', LD: 'Pw-D-not-shown-1'}
CONTACTS = {SA: 'a@mairie-a.fr', SB: 'Mme B <b@mairie-b.fr>', SC: 'c@mairie-c.fr', SD: 'd@mairie-d.fr'}
SMTP_USER, SMTP_PASSWORD = 'chorus-bot', 'Smtp-not-shown-42'
INTEGRATOR = 'exploitation@integrateur.example'


def world(c_days):
    structures = [{'siret': s, 'id_structure_cpp': 30000000 + i, 'designation': 'Commune %s' % s[-4:],
                   'active': True, 'services': []} for i, s in enumerate((SA, SB, SC, SD))]
    accounts = [{'login': LB, 'password': PASSWORDS[LB], 'environment': 'qualification',
                 'password_expires_on': (TODAY + datetime.timedelta(days=300)).isoformat(), 'structures': [SB]},
                {'login': LC, 'password': PASSWORDS[LC], 'environment': 'qualification',
                 'password_expires_on': (TODAY + datetime.timedelta(days=c_days)).isoformat(), 'structures': [SC]},
                {'login': LD, 'password': PASSWORDS[LD], 'environment': 'qualification',
                 'password_expires_on': (TODAY + datetime.timedelta(days=200)).isoformat(), 'structures': [SD]}]
    return {'apps': [APP], 'structures': structures, 'accounts': accounts,
            'raccordements': [{'client_id': APP['client_id'], 'siret': s} for s in (SB, SC, SD)]}


def structure(siret, account=None):
    entry = {'siret': siret, 'name': 'Commune %s' % siret[-4:], 'contact': CONTACTS[siret]}
    if account:
        entry['account'] = account
    return entry


class Run(object):
    pass


@pytest.fixture(scope='module')
def env(tmp_path_factory):
    base = tmp_path_factory.mktemp('notify')
    ca, cert, key = make_certificates(base)
    with running_sandbox(world(40)) as sandbox, smtp_server(cert, key, user=SMTP_USER, password=SMTP_PASSWORD) as (
            hub, port), webhook_receiver() as hook:
        inv = base / 'inventory'
        (inv / 'group_vars' / 'all').mkdir(parents=True)
        accounts = {LB: {'password': 'Pw-B-wrong-not-shown', 'environment': 'qualification'},
                    LC: {'password': PASSWORDS[LC], 'environment': 'qualification'},
                    LD: {'password': PASSWORDS[LD], 'environment': 'qualification'}}
        (inv / 'group_vars' / 'all' / 'chorus.yml').write_text(json.dumps({
            'chorus_piste_apps': {'CORAIL_TEST': APP}, 'chorus_piste_app': 'CORAIL_TEST',
            'chorus_accounts': accounts, 'chorus_oauth_url': sandbox.oauth_url, 'chorus_api_url': sandbox.api_url}))
        (inv / 'group_vars' / 'all' / 'notify.yml').write_text(json.dumps({
            'chorus_notify_smtp_host': 'localhost', 'chorus_notify_smtp_port': port,
            'chorus_notify_smtp_user': SMTP_USER, 'chorus_notify_smtp_password': SMTP_PASSWORD,
            'chorus_notify_smtp_ca_path': ca, 'chorus_notify_from': 'Chorus Corail <chorus-bot@integrateur.example>',
            'chorus_notify_integrator_to': [INTEGRATOR], 'chorus_notify_contacts': True,
            'chorus_notify_webhook_url': hook.url, 'chorus_notify_webhook_format': 'teams',
            'chorus_check_metrics_file': str(base / 'textfile' / 'chorus_corail.prom'),
            'chorus_check_keep_reports': 2}))
        (base / 'textfile').mkdir()
        (inv / 'hosts.yml').write_text(yaml.safe_dump({'all': {'hosts': {
            'srv1': {'corail_structures': [structure(SA, 'TECH_1_ABSENT@cpro.fr'), structure(SB, LB)]},
            'srv2': {'corail_structures': [structure(SC, LC), structure(SD, LD)]}}}}))
        e = Run()
        e.base, e.sandbox, e.hub, e.hook, e.inventory = base, sandbox, hub, hook, str(inv)
        e.reports = str(base / 'reports')
        e.metrics = str(base / 'textfile' / 'chorus_corail.prom')
        e.runs = []

        def check(*extra):
            hub.clear()
            del hook.posts[:]
            proc = run_ansible(['chorus.corail.check', '-i', e.inventory, '-vvvv',
                                '-e', 'chorus_check_report_dir=%s' % e.reports] + list(extra), cwd=str(base))
            assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
            e.runs.append(proc)
            return proc, list(hub.mails), list(hook.posts)

        e.check = check
        e.first = check()
        e.second = check()
        sandbox.set_world(world(29))
        e.third = check()
        yield e


def body(message, subtype='plain'):
    part = message.get_body(preferencelist=(subtype,))
    return part.get_content() if part is not None else None


def test_first_run_one_integrator_mail_and_one_per_contact_with_news(env):
    dummy, mails, posts = env.first
    rcpts = sorted(m['rcpt'][0] for m in mails)
    assert rcpts == sorted(['a@mairie-a.fr', 'b@mairie-b.fr', 'c@mairie-c.fr', INTEGRATOR])
    assert all(len(m['rcpt']) == 1 and m['tls'] for m in mails)  # every mail went through STARTTLS
    assert ('LOGIN', True) in env.hub.logins or ('PLAIN', True) in env.hub.logins
    assert len(posts) == 1
    # d@ has nothing to do: no mail.
    assert not [m for m in mails if 'd@mairie-d.fr' in m['rcpt']]


def test_the_integrator_mail_is_french_with_the_report_attached(env):
    dummy, mails, dummy2 = env.first
    mail = next(m for m in mails if m['rcpt'] == [INTEGRATOR])['message']
    assert mail['From'] == 'Chorus Corail <chorus-bot@integrateur.example>'
    assert mail['Auto-Submitted'] == 'auto-generated'
    assert re.match(r'^\[Chorus Pro\] Vérification du \d\d/\d\d/\d{4} : 2 structure\(s\) sur 4 à traiter$',
                    mail['Subject']), mail['Subject']
    text = body(mail)
    assert 'Répartition par statut :' in text and '- Compte technique manquant : 1' in text
    assert 'Compte technique refusé' in text
    for siret in (SA, SB, SC):
        assert siret in text
    assert 'Contacts prévenus cette fois :' in text and 'c@mairie-c.fr' in text
    assert re.search(r"valable jusqu'au \d\d/\d\d/\d{4} \(dans 40 jours\)", text)
    assert not re.search(r'\d{4}-\d{2}-\d{2}', text.split('Sur le contrôleur')[0])  # no ISO date for people
    attachments = list(mail.iter_attachments())
    assert [a.get_filename() for a in attachments] == ['report.html']
    html = attachments[0].get_payload(decode=True).decode('utf-8')
    assert html.startswith('<!DOCTYPE html>') and all(s in html for s in (SA, SB, SC, SD))
    # The attachment is the file the report step wrote (here the third run's, still on disk).
    third = next(m for m in env.third[1] if m['rcpt'] == [INTEGRATOR])['message']
    with open(os.path.join(env.reports, 'latest', 'report.html'), 'rb') as handle:
        assert next(third.iter_attachments()).get_payload(decode=True) == handle.read()


def test_a_contact_gets_only_their_own_structures_in_french(env):
    dummy, mails, dummy2 = env.first
    mail = next(m for m in mails if m['rcpt'] == ['b@mairie-b.fr'])['message']
    assert mail['To'] == 'b@mairie-b.fr'
    assert mail['Subject'] == '[Chorus Pro] 1 structure demande une action'
    text = body(mail)
    assert SB in text and 'Compte technique refusé' in text
    for other in (SA, SC, SD):
        assert other not in text
    html = body(mail, 'html')
    assert 'Chorus Pro : actions à mener' in html and SB in html
    for other in (SA, SC, SD):
        assert other not in html
    c_mail = next(m for m in mails if m['rcpt'] == ['c@mairie-c.fr'])['message']
    assert c_mail['Subject'] == '[Chorus Pro] Mot de passe du compte technique à renouveler sous 60 jours'
    assert SC in body(c_mail) and SD not in body(c_mail)


def test_second_run_with_no_change_sends_nothing(env):
    proc, mails, posts = env.second
    assert mails == [] and posts == []
    assert 'Notifications: integrator not mailed (nothing new); 0 contact mail(s); webhook not posted.' in proc.stdout


def test_a_password_crossing_30_days_sends_one_contact_mail_and_one_integrator_mail(env):
    dummy, mails, posts = env.third
    assert sorted(m['rcpt'][0] for m in mails) == sorted(['c@mairie-c.fr', INTEGRATOR])
    c_mail = next(m for m in mails if m['rcpt'] == ['c@mairie-c.fr'])['message']
    assert c_mail['Subject'] == '[Chorus Pro] Mot de passe du compte technique à renouveler sous 30 jours'
    assert re.search(r"valable jusqu'au \d\d/\d\d/\d{4} \(dans 29 jours\)", body(c_mail))
    integrator = next(m for m in mails if m['rcpt'] == [INTEGRATOR])['message']
    assert 'Nouveau depuis le dernier message :' in body(integrator)
    assert '%s (Commune %s) sur srv2 : Mot de passe bientôt expiré' % (SC, SC[-4:]) in body(integrator)
    assert len(posts) == 1


def test_the_teams_webhook_gets_an_adaptive_card(env):
    dummy, dummy2, posts = env.first
    post = posts[0]
    assert post['headers']['Content-Type'].startswith('application/json')
    card = post['json']
    assert card['type'] == 'message'
    attachment = card['attachments'][0]
    assert attachment['contentType'] == 'application/vnd.microsoft.card.adaptive'
    content = attachment['content']
    assert content['type'] == 'AdaptiveCard' and content['version'] == '1.4'
    facts = dict((f['title'], f['value']) for f in content['body'][1]['facts'])
    assert facts == {'Compte technique manquant': '1', 'Compte technique refusé': '1', 'OK': '2'}
    assert content['body'][0]['text'].startswith('[Chorus Pro] Vérification du ')


def test_the_state_file_is_private_and_holds_no_secret(env):
    path = os.path.join(env.reports, 'notify-state.json')
    assert oct(os.stat(path).st_mode & 0o777) == '0o600'
    with open(path, encoding='utf-8') as handle:
        state = json.load(handle)
    assert set(state['contacts']) == {'a@mairie-a.fr', 'b@mairie-b.fr', 'c@mairie-c.fr'}
    assert state['integrator']['to'] == [INTEGRATOR]
    raw = json.dumps(state)
    for secret in (SMTP_PASSWORD, 'SIG-not-shown', APP['client_secret']) + tuple(PASSWORDS.values()):
        assert secret not in raw
    assert not [n for n in os.listdir(env.reports) if n.startswith('.notify-state')]  # no temporary file left


def test_no_secret_in_any_output_even_at_vvvv(env):
    for proc in env.runs:
        out = proc.stdout + proc.stderr
        for secret in (SMTP_PASSWORD, 'SIG-not-shown', APP['client_secret'], 'Pw-B-wrong-not-shown',
                       PASSWORDS[LC], PASSWORDS[LD]):
            assert secret not in out, secret


def test_metrics_parse_with_prometheus_client(env):
    with open(env.metrics, encoding='utf-8') as handle:
        families = dict((f.name, f) for f in text_string_to_metric_families(handle.read()))
    structures = dict((s.labels['status'], s.value) for s in families['chorus_corail_structures'].samples)
    assert structures['missing_account'] == 1 and structures['account_rejected'] == 1
    assert structures['password_expiring'] == 1 and structures['ok'] == 1  # third run: SC at 29 days
    per_host = dict(((s.labels['host'], s.labels['status']), s.value)
                    for s in families['chorus_corail_host_structures'].samples)
    assert per_host == {('srv1', 'missing_account'): 1, ('srv1', 'account_rejected'): 1,
                        ('srv2', 'password_expiring'): 1, ('srv2', 'ok'): 1}
    assert families['chorus_corail_password_expiry_days_min'].samples[0].value == 29
    last = families['chorus_corail_last_success_timestamp_seconds'].samples[0].value
    assert abs(last - datetime.datetime.now(datetime.timezone.utc).timestamp()) < 600
    assert oct(os.stat(env.metrics).st_mode & 0o777) == '0o644'


def test_retention_keeps_two_report_folders_and_latest(env):
    folders = sorted(n for n in os.listdir(env.reports) if n[0].isdigit())
    assert len(folders) == 2
    assert os.path.basename(os.path.realpath(os.path.join(env.reports, 'latest'))) == folders[-1]
    assert os.path.exists(os.path.join(env.reports, 'notify-state.json'))
