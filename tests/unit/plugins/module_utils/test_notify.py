# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The notification plan, texts, state and webhook bodies (SMTP itself: tests/functional/notify)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import re

import pytest

from ansible_collections.chorus.corail.plugins.module_utils import _notify as nt
from ansible_collections.chorus.corail.plugins.module_utils import _report as rp
from ansible_collections.chorus.corail.plugins.plugin_utils import _report_html

T0 = datetime.datetime(2026, 7, 1, 1, 30, 0, tzinfo=datetime.timezone.utc)


def entry(host, siret, status, contact='dgs@mairie.fr', days_left=300, **kw):
    base = {'host': host, 'siret': siret, 'name': 'Commune %s' % siret[-4:], 'account': 'TECH_1_a@cpro.fr',
            'piste_app': 'corail', 'environment': 'production', 'contact': contact, 'status': status,
            'warnings': [], 'detail': 'English detail of %s' % status, 'password_expires_on': '2027-04-27',
            'days_left': days_left}
    base.update(kw)
    return base


def write(tmp_path, entries, when=T0, **scope):
    scope = dict({'hosts': sorted(set(e['host'] for e in entries))}, **scope)
    dummy, dummy2, paths = rp.write_report(str(tmp_path / 'reports'), {'structures': entries}, scope, generated_at=when,
                                           render=_report_html.Renderer())
    return paths['folder']


class FakeSmtp(object):
    def __init__(self, fail_after=None):
        self.sent, self.fail_after, self.closed = [], fail_after, False

    def send(self, msg):
        if self.fail_after is not None and len(self.sent) >= self.fail_after:
            raise nt.NotifyError('SMTP smtp.example:587 (starttls): cannot connect (refused)')
        self.sent.append(msg)

    def close(self):
        self.closed = True


OPTIONS = {'smtp_host': 'smtp.example', 'sender': 'bot@integrateur.example', 'integrator_to': ['ops@integrateur.example'],
           'contacts': True, 'max_contact_mails': 50, 'webhook_format': 'generic'}


def run(tmp_path, folder, smtp, **options):
    opts = dict(OPTIONS, **options)
    return nt.run(folder, str(tmp_path / 'reports'), opts, smtp=smtp, post=opts.pop('post', None), now=T0)


@pytest.mark.parametrize('days, status, bucket', [
    (None, 'ok', None), (61, 'ok', None), (60, 'ok', 'j-60'), (31, 'ok', 'j-60'), (30, 'password_expiring', 'j-30'),
    (8, 'password_expiring', 'j-30'), (7, 'password_expiring', 'j-7'), (0, 'password_expiring', 'j-7'),
    (-1, 'account_rejected', 'expired'), (None, 'password_expired', 'expired')])
def test_expiry_bucket(days, status, bucket):
    assert nt.expiry_bucket({'status': status, 'days_left': days, 'warnings': []}) == bucket


def test_the_signature_ignores_the_daily_count_of_days():
    a = [entry('srv1', '21640000200012', 'ok', days_left=45)]
    b = [entry('srv1', '21640000200012', 'ok', days_left=44)]
    assert nt.contact_signature(a) == nt.contact_signature(b) == ['21640000200012|ok|j-60']
    assert nt.contact_signature([entry('srv1', '21640000200012', 'ok', days_left=200)]) == []


@pytest.mark.parametrize('contact, address', [
    ('dgs@mairie.fr', 'dgs@mairie.fr'), ('Mme Dupont <DGS@Mairie.fr>', 'dgs@mairie.fr'), ('', None), (None, None),
    ('Mme Dupont', None), ('a@b', None), ('a@b.fr, c@d.fr', None)])
def test_address_of(contact, address):
    assert nt.address_of(contact) == address


def test_first_run_mails_each_contact_with_news_once_and_never_again(tmp_path):
    entries = [entry('srv1', '21640000200012', 'missing_account', contact='a@mairie.fr'),
               entry('srv1', '21640001000015', 'ok', contact='b@mairie.fr'),
               entry('srv2', '21640001000015', 'ok', contact='b@mairie.fr')]
    folder = write(tmp_path, entries)
    smtp = FakeSmtp()
    result = run(tmp_path, folder, smtp)
    assert result['contacts'] == ['a@mairie.fr'] and result['integrator'] == ['ops@integrateur.example']
    assert [m['To'] for m in smtp.sent] == ['a@mairie.fr', 'ops@integrateur.example'] and smtp.closed
    again = FakeSmtp()
    result = run(tmp_path, write(tmp_path, entries, T0 + datetime.timedelta(days=1)), again)
    assert again.sent == [] and result['changed'] is False and result['integrator'] is None


def test_a_fixed_problem_tells_the_contact_and_the_integrator(tmp_path):
    run(tmp_path, write(tmp_path, [entry('srv1', '21640000200012', 'not_attached', contact='a@mairie.fr')]), FakeSmtp())
    smtp = FakeSmtp()
    run(tmp_path, write(tmp_path, [entry('srv1', '21640000200012', 'ok', contact='a@mairie.fr')],
                        T0 + datetime.timedelta(days=1)), smtp)
    contact, integrator = smtp.sent
    assert contact['Subject'] == '[Chorus Pro] Plus aucune action à mener pour vos structures'
    text = contact.get_body(('plain',)).get_content()
    assert 'Réglé depuis notre dernier message :\n- SIRET 21640000200012' in text
    assert 'Réglé ou changé depuis le dernier message :' in integrator.get_body(('plain',)).get_content()


def test_integrator_every_run(tmp_path):
    folder = write(tmp_path, [entry('srv1', '21640000200012', 'ok')])
    first = FakeSmtp()
    run(tmp_path, folder, first)
    assert [m['To'] for m in first.sent] == ['ops@integrateur.example']  # first mail of the folder
    assert run(tmp_path, folder, FakeSmtp())['integrator'] is None
    again = FakeSmtp()
    assert run(tmp_path, folder, again, integrator_every_run=True)['integrator'] == ['ops@integrateur.example']
    assert len(again.sent) == 1
    assert 'aucune action à mener' in again.sent[0]['Subject']


def test_contacts_are_opt_in(tmp_path):
    folder = write(tmp_path, [entry('srv1', '21640000200012', 'missing_account', contact='a@mairie.fr')])
    smtp = FakeSmtp()
    assert run(tmp_path, folder, smtp, contacts=False)['contacts'] == []
    assert [m['To'] for m in smtp.sent] == ['ops@integrateur.example']


def test_redirect_to_is_a_test_mode_remembered_apart(tmp_path):
    folder = write(tmp_path, [entry('srv1', '21640000200012', 'missing_account', contact='a@mairie.fr')])
    smtp = FakeSmtp()
    result = run(tmp_path, folder, smtp, redirect_to='moi@integrateur.example', integrator_to=[])
    (msg,) = smtp.sent
    assert msg['To'] == 'moi@integrateur.example' and msg['X-Chorus-Corail-Original-To'] == 'a@mairie.fr'
    assert msg['Subject'].startswith('[TEST : destiné à a@mairie.fr] [Chorus Pro] ')
    assert result['contacts'] == ['a@mairie.fr'] and result['redirect_to'] == 'moi@integrateur.example'
    assert run(tmp_path, folder, FakeSmtp(), redirect_to='moi@integrateur.example', integrator_to=[])['contacts'] == []
    # Leaving test mode sends the real mail.
    real = FakeSmtp()
    assert run(tmp_path, folder, real, integrator_to=[])['contacts'] == ['a@mairie.fr']
    assert real.sent[0]['To'] == 'a@mairie.fr'


def test_max_contact_mails_defers_the_least_urgent_to_the_next_run(tmp_path):
    entries = [entry('srv1', '21640000200012', 'password_expiring', contact='late@mairie.fr', days_left=20),
               entry('srv1', '21640001000015', 'missing_account', contact='urgent@mairie.fr'),
               entry('srv1', '21983444717476', 'not_attached', contact='next@mairie.fr')]
    folder = write(tmp_path, entries)
    smtp = FakeSmtp()
    result = run(tmp_path, folder, smtp, max_contact_mails=2)
    assert result['contacts'] == ['urgent@mairie.fr', 'next@mairie.fr'] and result['deferred'] == ['late@mairie.fr']
    text = smtp.sent[-1].get_body(('plain',)).get_content()
    assert 'plafond chorus_notify_max_contact_mails atteint' in text and 'late@mairie.fr' in text
    result = run(tmp_path, folder, FakeSmtp(), max_contact_mails=2)
    assert result['contacts'] == ['late@mairie.fr'] and result['deferred'] == []


def test_structures_without_a_usable_contact_are_listed_for_the_integrator(tmp_path):
    folder = write(tmp_path, [entry('srv1', '21640000200012', 'missing_account', contact='Mme Dupont')])
    smtp = FakeSmtp()
    result = run(tmp_path, folder, smtp)
    assert result['unreachable'] == ['Mme Dupont (SIRET 21640000200012)']
    assert 'sans adresse de contact utilisable' in smtp.sent[0].get_body(('plain',)).get_content()


def test_a_failure_keeps_what_was_sent_and_sends_the_rest_next_time(tmp_path):
    entries = [entry('srv1', '21640000200012', 'missing_account', contact='a@mairie.fr'),
               entry('srv1', '21640001000015', 'not_attached', contact='b@mairie.fr')]
    folder = write(tmp_path, entries)
    result = run(tmp_path, folder, FakeSmtp(fail_after=1))
    assert result['contacts'] == ['a@mairie.fr'] and result['errors'] and result['integrator'] is None
    smtp = FakeSmtp()
    result = run(tmp_path, folder, smtp)
    assert result['contacts'] == ['b@mairie.fr'] and result['integrator'] == ['ops@integrateur.example']


def test_check_mode_sends_and_writes_nothing(tmp_path):
    folder = write(tmp_path, [entry('srv1', '21640000200012', 'missing_account', contact='a@mairie.fr')])
    opts = dict(OPTIONS)
    result = nt.run(folder, str(tmp_path / 'reports'), opts, smtp=None, check_mode=True)
    assert result['changed'] and result['contacts'] == ['a@mairie.fr']
    assert not os.path.exists(str(tmp_path / 'reports' / nt.STATE_FILE))


def test_the_contact_mail_is_french_and_only_about_their_structures(tmp_path):
    entries = [entry('srv1', '21640000200012', 'account_rejected', contact='a@mairie.fr', days_left=12,
                     password_expires_on='2026-07-13'),
               entry('srv1', '21640001000015', 'missing_account', contact='b@mairie.fr')]
    folder = write(tmp_path, entries)
    smtp = FakeSmtp()
    run(tmp_path, folder, smtp, integrator_to=[])
    msg = next(m for m in smtp.sent if m['To'] == 'a@mairie.fr')
    text = msg.get_body(('plain',)).get_content()
    assert "- Commune 0012 (SIRET 21640000200012) : Compte technique refusé ; mot de passe du compte " \
           "TECH_1_a@cpro.fr valable jusqu'au 13/07/2026 (dans 12 jours)" in text
    assert '(vérification du 01/07/2026 à 03:30)' in text  # Europe/Paris, summer time
    assert '21640001000015' not in msg.as_string() and 'English detail' not in text
    assert msg['Content-Language'] == 'fr' and msg['Auto-Submitted'] == 'auto-generated'
    html = msg.get_body(('html',)).get_content()
    assert '21640000200012' in html and '21640001000015' not in html


def test_the_state_file_is_written_atomically_and_refused_when_foreign(tmp_path):
    folder = write(tmp_path, [entry('srv1', '21640000200012', 'missing_account', contact='a@mairie.fr')])
    run(tmp_path, folder, FakeSmtp())
    path = str(tmp_path / 'reports' / nt.STATE_FILE)
    assert oct(os.stat(path).st_mode & 0o777) == '0o600'
    with open(path, encoding='utf-8') as handle:
        state = json.load(handle)
    assert state['schema_version'] == nt.STATE_VERSION
    assert state['contacts']['a@mairie.fr']['signature'] == ['21640000200012|missing_account|-']
    with open(path, 'w') as handle:
        handle.write('{"schema_version": 99}')
    with pytest.raises(nt.NotifyError, match='unknown schema_version 99'):
        run(tmp_path, folder, FakeSmtp())
    with open(path, 'w') as handle:
        handle.write('not json')
    with pytest.raises(nt.NotifyError, match='not a notification state file'):
        run(tmp_path, folder, FakeSmtp())


def test_webhook_bodies(tmp_path):
    folder = write(tmp_path, [entry('srv1', '21640000200012', 'missing_account')])
    report = nt.load_folder(folder)
    the_plan = nt.plan(report, nt.load_state(str(tmp_path / 'nope.json'))[1])
    slack = nt.webhook_payload(report, 'slack', the_plan, '/r/report.html')
    assert set(slack) == {'text'} and slack['text'].startswith('*[Chorus Pro] Vérification du 01/07/2026')
    assert '21640000200012 (Commune 0012) sur srv1 : Compte technique manquant' in slack['text']
    generic = nt.webhook_payload(report, 'generic', the_plan, '/r/report.html')
    assert generic['counts']['missing_account'] == 1 and generic['new'] == ['srv1|21640000200012|missing_account|-']
    teams = nt.webhook_payload(report, 'teams', the_plan)
    assert teams['attachments'][0]['content']['type'] == 'AdaptiveCard'
    with pytest.raises(nt.NotifyError, match='webhook_format'):
        nt.webhook_payload(report, 'irc', the_plan)


def test_posts_and_failures_of_the_webhook(tmp_path):
    folder = write(tmp_path, [entry('srv1', '21640000200012', 'missing_account')])
    posted = []

    def post(url, body, timeout):
        posted.append(json.loads(body.decode('utf-8')))

    result = run(tmp_path, folder, None, smtp_host=None, webhook_url='https://hook.example/x?sig=S', post=post)
    assert result['webhook'] == 'generic' and len(posted) == 1
    assert run(tmp_path, folder, None, smtp_host=None, webhook_url='https://hook.example/x?sig=S', post=post)['webhook'] is None

    def broken(url, body, timeout):
        raise nt.NotifyError('webhook: the post failed (HTTP 500)')

    result = run(tmp_path, folder, None, smtp_host=None, webhook_url='https://hook.example/x?sig=S', post=broken,
                 integrator_every_run=True)
    assert result['errors'] == ['webhook: the post failed (HTTP 500)']


@pytest.mark.parametrize('kwargs, message', [
    (dict(security='ssl'), 'chorus_notify_smtp_security'),
    (dict(user='bot'), 'go together'),
    (dict(user='bot', password='Secret-1', security='none'), 'unencrypted'),
])
def test_smtp_settings_refused_early_without_the_password(kwargs, message):
    with pytest.raises(nt.NotifyError, match=message) as info:
        nt.Smtp('smtp.example', **kwargs)
    assert 'Secret-1' not in str(info.value)


def test_dates_for_people():
    assert nt.fr_datetime('2026-12-02T01:00:00Z') in ('02/12/2026 à 02:00', '02/12/2026 à 01:00 UTC')
    assert nt.fr_date('2026-12-31') == '31/12/2026'
    assert not re.search(r'\d{4}-\d{2}', nt.fr_datetime('2026-07-01T22:30:00Z'))


def test_a_limited_run_says_nothing_of_what_it_did_not_check(tmp_path):
    both = [entry('srv1', '21640000200012', 'missing_account', contact='a@mairie.fr'),
            entry('srv2', '21640001000015', 'not_attached', contact='a@mairie.fr')]
    run(tmp_path, write(tmp_path, both), FakeSmtp())
    day = datetime.timedelta(days=1)
    # --limit srv1: srv2's problem is not seen, and is not news (nor fixed).
    smtp = FakeSmtp()
    result = run(tmp_path, write(tmp_path, both[:1], T0 + day, limit='srv1'), smtp)
    assert smtp.sent == [] and result['contacts'] == [] and result['integrator'] is None
    # The same limited run where srv1's problem is fixed: only that is news.
    smtp = FakeSmtp()
    fixed = [entry('srv1', '21640000200012', 'ok', contact='a@mairie.fr')]
    run(tmp_path, write(tmp_path, fixed, T0 + 2 * day, limit='srv1'), smtp)
    contact, integrator = smtp.sent
    text = integrator.get_body(('plain',)).get_content()
    assert 'Réglé ou changé depuis le dernier message :\n- 21640000200012' in text
    assert '21640001000015' not in text.split('Réglé ou changé')[1].split('Structures')[0]
    # A full run without srv2's problem: it is fixed.
    smtp = FakeSmtp()
    run(tmp_path, write(tmp_path, fixed + [entry('srv2', '21640001000015', 'ok', contact='a@mairie.fr')],
                        T0 + 3 * day), smtp)
    assert [m['To'] for m in smtp.sent] == ['a@mairie.fr', 'ops@integrateur.example']


def test_the_integrator_mail_names_the_actions_in_french(tmp_path):
    folder = write(tmp_path, [entry('srv1', '21640000200012', 'access_forbidden')])
    report = nt.load_folder(folder)
    report['actions'] = [{'kind': 'raccordement_missing', 'subject': '21640000200012', 'action_by': 'gestionnaire',
                          'structures': ['21640000200012'], 'hosts': ['srv1'], 'count': 1}]
    the_plan = nt.plan(report, nt.load_state(str(tmp_path / 'none.json'))[1])
    text = nt.integrator_text(report, the_plan, [])
    assert ('Actions à mener :\n- Gestionnaire principal : Créer le raccordement API de la structure 21640000200012 '
            '(1 structure)') in text
