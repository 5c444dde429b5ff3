# -*- coding: utf-8 -*-
"""The SMTP client and the notify module against real peers: aiosmtpd with STARTTLS or TLS on a
certificate made here, and http.server for the webhook."""
import datetime
import json
import os
import smtplib
import sys

import pytest

from conftest import run_ansible  # tests/functional/conftest.py
from notify_helpers import make_certificates, smtp_server, webhook_receiver

from ansible_collections.chorus.corail.plugins.module_utils import _notify as nt
from ansible_collections.chorus.corail.plugins.module_utils import _report as rp
from ansible_collections.chorus.corail.plugins.plugin_utils import _report_html

USER, PASSWORD = 'bot', 'Smtp-Pw-not-shown-7'
T0 = datetime.datetime(2026, 12, 2, 1, 0, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture(scope='module')
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp('certs'))


def report_folder(tmp_path):
    entries = [{'host': 'srv1', 'siret': '21640000200012', 'name': 'Commune de Lescar', 'status': 'missing_account',
                'contact': 'dgs@lescar.example', 'warnings': [], 'detail': 'no account'},
               {'host': 'srv1', 'siret': '21640001000015', 'name': 'Commune de Lons', 'status': 'ok',
                'contact': 'compta@lons.example', 'warnings': [], 'days_left': 200, 'password_expires_on': '2027-06-20'}]
    dummy, dummy2, paths = rp.write_report(str(tmp_path / 'reports'), {'structures': entries}, {'hosts': ['srv1']},
                                           generated_at=T0, render=_report_html.Renderer())
    return paths['folder']


def message():
    return nt._message('bot@integrateur.example', ['ops@integrateur.example'], 'Essai é', 'Corps en français : é\n')


# With implicit TLS aiosmtpd cannot tell that AUTH is encrypted and warns; it is.
@pytest.mark.filterwarnings('ignore:Requiring AUTH while not requiring TLS')
@pytest.mark.parametrize('security', ['starttls', 'tls'])
def test_mail_goes_through_tls_with_login_checking_the_certificate(certs, security):
    ca, cert, key = certs
    with smtp_server(cert, key, security=security, user=USER, password=PASSWORD) as (hub, port):
        smtp = nt.Smtp('localhost', port, security, USER, PASSWORD, ca_path=ca, timeout=10)
        smtp.send(message())
        smtp.send(message())  # one session for the run
        smtp.close()
    assert len(hub.mails) == 2 and hub.logins.count(('LOGIN', True)) + hub.logins.count(('PLAIN', True)) == 1
    got = hub.mails[0]['message']
    assert got['Subject'] == 'Essai é' and got.get_content().replace('\r\n', '\n') == 'Corps en français : é\n'
    assert hub.mails[0]['tls'] or security == 'tls'


def test_an_unknown_certificate_is_refused_with_a_hint(certs, tmp_path):
    other_ca = make_certificates(tmp_path)[0]
    ca, cert, key = certs
    with smtp_server(cert, key, user=USER, password=PASSWORD) as (hub, port):
        smtp = nt.Smtp('localhost', port, 'starttls', USER, PASSWORD, ca_path=other_ca, timeout=10)
        with pytest.raises(nt.NotifyError) as info:
            smtp.send(message())
        # validate_certs false: accepted (test servers only).
        nt.Smtp('localhost', port, 'starttls', USER, PASSWORD, validate_certs=False, timeout=10).send(message())
    text = str(info.value)
    assert 'SMTP localhost:%d (starttls): TLS failed' % port in text and 'chorus_notify_smtp_ca_path' in text
    assert PASSWORD not in text and len(hub.mails) == 1


def test_a_wrong_password_is_refused_without_showing_it(certs):
    ca, cert, key = certs
    with smtp_server(cert, key, user=USER, password=PASSWORD) as (hub, port):
        with pytest.raises(nt.NotifyError) as info:
            nt.Smtp('localhost', port, 'starttls', USER, 'Wrong-Pw-not-shown', ca_path=ca, timeout=10).send(message())
    assert 'login of bot refused (535)' in str(info.value) and 'Wrong-Pw-not-shown' not in str(info.value)
    assert hub.mails == []


def test_starttls_required_but_not_offered_sends_nothing(certs):
    ca, cert, key = certs
    with smtp_server(cert, key, security='tls') as (hub, port):
        # A TLS-only port answers a plain connection with nothing readable.
        with pytest.raises(nt.NotifyError, match='starttls'):
            nt.Smtp('localhost', port, 'starttls', ca_path=ca, timeout=3).send(message())


def test_module_in_a_playbook_slack_webhook_check_mode_and_no_secret(tmp_path, certs):
    ca, cert, key = certs
    folder = report_folder(tmp_path)
    with smtp_server(cert, key, user=USER, password=PASSWORD) as (hub, port), webhook_receiver(answer=200) as hook:
        args = {'report_dir': str(tmp_path / 'reports'), 'smtp_host': 'localhost', 'smtp_port': port,
                'smtp_user': USER, 'smtp_password': PASSWORD, 'smtp_ca_path': ca, 'sender': 'bot@integrateur.example',
                'integrator_to': ['ops@integrateur.example'], 'contacts': True,
                'webhook_url': hook.url, 'webhook_format': 'slack'}
        play = tmp_path / 'play.yml'
        play.write_text(json.dumps([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
            {'name': 'notify', 'chorus.corail.notify': args, 'register': 'out'},
            {'ansible.builtin.debug': {'var': 'out'}}]}]))
        dry = run_ansible(['-i', 'localhost,', '-c', 'local', str(play), '--check', '-vvvv'], cwd=str(tmp_path))
        assert dry.returncode == 0, dry.stdout[-3000:]
        assert hub.mails == [] and hook.posts == [] and not os.path.exists(str(tmp_path / 'reports' / nt.STATE_FILE))
        real = run_ansible(['-i', 'localhost,', '-c', 'local', str(play), '-vvvv'], cwd=str(tmp_path))
        assert real.returncode == 0, real.stdout[-3000:]
    assert sorted(m['rcpt'][0] for m in hub.mails) == ['dgs@lescar.example', 'ops@integrateur.example']
    (post,) = hook.posts
    assert post['path'].endswith('sig=SIG-not-shown') and set(post['json']) == {'text'}
    assert post['json']['text'].startswith('*[Chorus Pro] Vérification du 02/12/2026 : 1 structure(s) sur 2')
    assert '"contacts": [\n' in real.stdout and folder in real.stdout
    for proc in (dry, real):
        out = proc.stdout + proc.stderr
        assert PASSWORD not in out and 'SIG-not-shown' not in out


def test_module_fails_loudly_when_the_server_is_down_and_keeps_the_state(tmp_path):
    folder = report_folder(tmp_path)
    with webhook_receiver(answer=500) as hook:
        args = {'report_dir': str(tmp_path / 'reports'), 'report_folder': folder, 'smtp_host': '127.0.0.1',
                'smtp_port': 9, 'smtp_security': 'none', 'sender': 'bot@integrateur.example',
                'integrator_to': ['ops@integrateur.example'], 'webhook_url': hook.url, 'timeout': 5}
        play = tmp_path / 'play.yml'
        play.write_text(json.dumps([{'hosts': 'localhost', 'gather_facts': False,
                                     'tasks': [{'chorus.corail.notify': args}]}]))
        proc = run_ansible(['-i', 'localhost,', '-c', 'local', str(play)], cwd=str(tmp_path))
    assert proc.returncode == 2
    assert 'SMTP 127.0.0.1:9 (none): cannot connect' in proc.stdout
    assert 'webhook: the post failed (HTTP 500)' in proc.stdout and 'SIG-not-shown' not in proc.stdout
    assert not os.path.exists(str(tmp_path / 'reports' / nt.STATE_FILE))  # nothing sent, nothing recorded


def test_smtplib_is_not_left_in_debug_mode():
    assert smtplib.SMTP.debuglevel == 0


def test_the_rollout_playbook_notifies_through_the_check(tmp_path):
    siret, login = '21640000200012', 'TECH_021640000200012@cpp2017.fr'
    with webhook_receiver() as hook:
        inventory = {'all': {'vars': {
            'chorus_piste_apps': {'CORAIL_PAU': {'client_id': 'cid', 'client_secret': 'csec-not-shown-1',
                                                 'environment': 'production'}},
            'chorus_piste_app': 'CORAIL_PAU',
            'chorus_accounts': {login: {'password': 'Pw-not-shown-1', 'environment': 'production'}},
            'chorus_notify_webhook_url': hook.url, 'chorus_notify_webhook_format': 'generic'},
            'hosts': {'srv1': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                               'corail_config_path': str(tmp_path / 'corail.ini'),
                               'corail_structures': [{'siret': siret, 'account': login, 'contact': 'a@b.fr'}]}}}}
        (tmp_path / 'inventory.yml').write_text(json.dumps(inventory))
        args = ['chorus.corail.rollout', '-i', str(tmp_path / 'inventory.yml'), '-e', 'chorus_check_online=false',
                '-e', 'chorus_check_report_dir=%s' % (tmp_path / 'reports')]
        first = run_ansible(args, cwd=str(tmp_path))
        second = run_ansible(args, cwd=str(tmp_path))
    assert first.returncode == 0 and second.returncode == 0, first.stdout[-3000:]
    (post,) = hook.posts  # the second run had nothing new
    assert post['json']['source'] == 'chorus.corail' and post['json']['counts']['unchecked'] == 1
    assert post['json']['report'].startswith(str(tmp_path / 'reports'))
    assert 'webhook generic' in first.stdout and 'webhook not posted' in second.stdout
    assert 'SIG-not-shown' not in first.stdout + second.stdout


def test_a_failing_gate_still_publishes_prunes_and_notifies_then_exits_2(tmp_path):
    with webhook_receiver() as hook:
        inventory = {'all': {'vars': {
            'chorus_piste_apps': {'CORAIL_PAU': {'client_id': 'cid', 'client_secret': 'csec-not-shown-1',
                                                 'environment': 'production'}},
            'chorus_piste_app': 'CORAIL_PAU', 'chorus_accounts': {},
            'chorus_notify_webhook_url': hook.url, 'chorus_check_fail_on': ['missing_account'],
            'chorus_check_metrics_file': str(tmp_path / 'chorus.prom'), 'chorus_check_keep_reports': 0},
            'hosts': {'srv1': {'corail_structures': [{'siret': '21640000200012', 'contact': 'a@b.fr'}]}}}}
        (tmp_path / 'inventory.yml').write_text(json.dumps(inventory))
        args = ['chorus.corail.check', '-i', str(tmp_path / 'inventory.yml'), '-e', 'chorus_check_online=false',
                '-e', 'chorus_check_report_dir=%s' % (tmp_path / 'reports')]
        first = run_ansible(args, cwd=str(tmp_path))
        second = run_ansible(args, cwd=str(tmp_path))
    for proc in (first, second):
        assert proc.returncode == 2, proc.stdout[-3000:]
        assert 'srv1 has structure(s) in a status of chorus_check_fail_on (missing_account)' in proc.stdout
    assert len(hook.posts) == 1 and hook.posts[0]['json']['counts']['missing_account'] == 1
    assert 'chorus_corail_structures{status="missing_account"} 1' in (tmp_path / 'chorus.prom').read_text()
    # keep 0: only the folder latest points at is left
    assert len([n for n in os.listdir(str(tmp_path / 'reports')) if n[0].isdigit()]) == 1
