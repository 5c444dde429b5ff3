# -*- coding: utf-8 -*-
"""Issue 14: loud failures on a bad inventory, bad register rows reported, partial deploy."""
import json
import os
import sys

from conftest import run_ansible

S1, S2, BAD = '21640000200012', '21640001000015', '21640001000016'
LOGIN = 'TECH_0%s@cpp2017.fr' % S1
GROUP_VARS = {
    'chorus_piste_apps': {'CORAIL_PAU': {'client_id': 'cid', 'client_secret': 'csec-not-shown', 'environment': 'production'}},
    'chorus_accounts': {LOGIN: {'password': 'Pw-not-shown-1', 'environment': 'production'}},
}


def make_register(tmp_path, on_invalid=None):
    inv = tmp_path / 'inventory'
    (inv / 'group_vars' / 'all').mkdir(parents=True)
    (inv / 'group_vars' / 'all' / 'chorus.yml').write_text(json.dumps(GROUP_VARS))
    (tmp_path / 'registre.csv').write_text(
        u'Collectivité;SIRET;Serveur Corail;Compte technique;Application PISTE;Contact;Environnement\n'
        u'Commune de Lescar;%s;srv1;%s;CORAIL_PAU;dgs@lescar.example;Production\n'
        u'Commune de Lons;%s;srv1;%s;CORAIL_PAU;compta@lons.example;production\n' % (S1, LOGIN, BAD, LOGIN),
        encoding='utf-8')
    cfg = 'plugin: chorus.corail.register\npath: ../registre.csv\n'
    if on_invalid:
        cfg += 'on_invalid: %s\n' % on_invalid
    (inv / 'register.chorus.yml').write_text(cfg)
    return str(inv / 'register.chorus.yml')


def check(tmp_path, inventory):
    return run_ansible(['chorus.corail.check', '-i', inventory, '-e', 'chorus_check_online=false',
                        '-e', 'chorus_check_report_dir=%s' % (tmp_path / 'reports')], cwd=str(tmp_path))


def test_a_wrong_inventory_path_exits_non_zero(tmp_path):
    proc = check(tmp_path, str(tmp_path / 'inventori'))
    assert proc.returncode != 0
    assert 'inventory source(s) not found: %s' % (tmp_path / 'inventori') in proc.stdout
    assert not (tmp_path / 'reports').exists()


def test_on_invalid_error_makes_the_check_exit_non_zero_naming_the_row(tmp_path):
    proc = check(tmp_path, make_register(tmp_path, on_invalid='error'))
    assert proc.returncode != 0
    assert 'the inventory could not be parsed' in proc.stdout
    assert 'line 3: field siret, SIRET %s' % BAD in proc.stdout
    assert not (tmp_path / 'reports').exists()


def test_by_default_the_bad_row_is_reported_invalid_input_with_its_line_and_field(tmp_path):
    proc = check(tmp_path, make_register(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:]
    folder = os.path.realpath(str(tmp_path / 'reports' / 'latest'))
    with open(os.path.join(folder, 'report.json'), encoding='utf-8') as handle:
        rows = dict((r['siret'], r) for r in json.load(handle)['structures'])
    assert rows[S1]['status'] == 'unchecked'
    assert rows[BAD]['status'] == 'invalid_input'
    assert 'line 3: field siret, SIRET %s' % BAD in rows[BAD]['detail']
    with open(os.path.join(folder, 'report.csv'), encoding='utf-8-sig') as handle:
        text = handle.read()
    assert BAD in text and 'line 3: field siret' in text
    with open(os.path.join(folder, 'report.html'), encoding='utf-8') as handle:
        assert BAD in handle.read()
    # The bad row's own contact sees it on their page (in French), and only theirs holds it.
    pages = {}
    for name in os.listdir(os.path.join(folder, 'contacts')):
        with open(os.path.join(folder, 'contacts', name), encoding='utf-8') as handle:
            pages[name] = handle.read()
    holding = [text for text in pages.values() if BAD in text]
    assert len(holding) == 1 and 'compta@lons.example' in holding[0] and 'Commune de Lescar' not in holding[0]
    assert 'Une donnée de la structure %s est à corriger' % BAD in holding[0]
    out = proc.stdout + proc.stderr
    assert 'Pw-not-shown-1' not in out and 'csec-not-shown' not in out


def test_a_server_with_a_structure_without_account_gets_its_other_structures_deployed(tmp_path):
    config = tmp_path / 'corail.ini'
    inventory = {'all': {'vars': dict(GROUP_VARS, chorus_piste_app='CORAIL_PAU'), 'hosts': {'srv1': {
        'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
        'corail_config_path': str(config),
        'corail_structures': [{'siret': S1, 'account': LOGIN}, {'siret': S2, 'account': 'TECH_1_ghost@cpro.fr'}]}}}}
    (tmp_path / 'inventory.yml').write_text(json.dumps(inventory))
    (tmp_path / 'play.yml').write_text('- hosts: all\n  gather_facts: false\n  roles: [chorus.corail.deploy]\n'
                                       '  post_tasks:\n    - ansible.builtin.debug: {var: corail_deploy_left_out}\n')
    proc = run_ansible(['-i', str(tmp_path / 'inventory.yml'), str(tmp_path / 'play.yml')], cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:]
    content = config.read_text()
    assert S1 in content and S2 not in content
    assert '1 structure(s) of srv1 left out' in proc.stdout
    assert 'structure %s: account TECH_1_ghost@cpro.fr is not in chorus_accounts' % S2 in proc.stdout
    assert 'Pw-not-shown-1' not in proc.stdout + proc.stderr
    # corail_deploy_incomplete=fail refuses the whole host, writing nothing.
    config.unlink()
    proc = run_ansible(['-i', str(tmp_path / 'inventory.yml'), str(tmp_path / 'play.yml'),
                        '-e', 'corail_deploy_incomplete=fail'], cwd=str(tmp_path))
    assert proc.returncode == 2 and not config.exists()


def test_a_server_without_python_is_recorded_and_the_rollout_goes_on(tmp_path):
    config = tmp_path / 'corail.ini'
    hosts = {
        'nopython': {'ansible_connection': 'local', 'ansible_python_interpreter': '/nonexistent/python3',
                     'corail_config_path': str(tmp_path / 'never.ini'), 'corail_structures': [{'siret': S2, 'account': LOGIN}]},
        'srv1': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                 'corail_config_path': str(config), 'corail_structures': [{'siret': S1, 'account': LOGIN}]},
    }
    (tmp_path / 'inventory.yml').write_text(json.dumps({'all': {'vars': dict(GROUP_VARS, chorus_piste_app='CORAIL_PAU'),
                                                                'hosts': hosts}}))
    proc = run_ansible(['chorus.corail.rollout', '-i', str(tmp_path / 'inventory.yml'), '-e', 'chorus_rollout_serial=1',
                        '-e', 'chorus_check_online=false', '-e', 'chorus_check_report_dir=%s' % (tmp_path / 'reports')],
                       cwd=str(tmp_path))
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert S1 in config.read_text()  # the server after the broken one was deployed
    assert 'Rollout: 1 of 2 server(s) deployed; 1 not deployed' in proc.stdout
    assert 'nopython | connection | Check that the server answers' in proc.stdout
    assert os.path.exists(str(tmp_path / 'reports' / 'latest' / 'report.json'))  # the check still ran


def drift_inventory(tmp_path, **connection):
    """Two local servers: srv1 (S1, S2) and srv2 (S1), each with its own file."""
    hosts = {}
    for name, sirets in (('srv1', (S1, S2)), ('srv2', (S1,))):
        hosts[name] = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                       'corail_config_path': str(tmp_path / ('%s.ini' % name)),
                       'corail_structures': [{'siret': s, 'account': LOGIN} for s in sirets]}
        hosts[name].update(connection)
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(json.dumps({'all': {'vars': dict(GROUP_VARS, chorus_piste_app='CORAIL_PAU'), 'hosts': hosts}}))
    return str(inventory)


def latest_report(tmp_path):
    with open(str(tmp_path / 'reports' / 'latest' / 'report.json'), encoding='utf-8') as handle:
        return json.load(handle)


def test_a_password_changed_by_hand_shows_as_config_drift_never_in_clear(tmp_path):
    inventory = drift_inventory(tmp_path)
    (tmp_path / 'play.yml').write_text('- hosts: all\n  gather_facts: false\n  roles: [chorus.corail.deploy]\n')
    run_ansible(['-i', inventory, str(tmp_path / 'play.yml')], cwd=str(tmp_path), check=True)
    srv1 = tmp_path / 'srv1.ini'
    # By hand on srv1: S1's password; S2's section removed. srv2 stays as deployed.
    text = srv1.read_text()
    head, _s2_section = text.split('[chorus.structure.%s]' % S2)
    srv1.write_text(head.replace('Pw-not-shown-1', 'Typed-by-hand-9', 1))
    assert 'Typed-by-hand-9' in srv1.read_text() and S2 not in srv1.read_text()
    before = srv1.read_bytes()

    proc = run_ansible(['chorus.corail.check', '-i', inventory, '-e', 'chorus_check_online=false', '-e', 'chorus_check_drift=true',
                        '-e', 'chorus_check_report_dir=%s' % (tmp_path / 'reports'), '-vvv'], cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert srv1.read_bytes() == before  # the check wrote nothing
    report = latest_report(tmp_path)
    rows = dict(((r['host'], r['siret']), r) for r in report['structures'])
    assert 'config_drift' in rows[('srv1', S1)]['warnings']
    assert rows[('srv1', S1)]['drift'] == ['password <secret differs>']
    assert rows[('srv1', S2)]['drift'] == ['not_deployed']
    assert rows[('srv2', S1)]['drift'] is None and 'config_drift' not in rows[('srv2', S1)]['warnings']
    assert report['warning_counts']['config_drift'] == 2
    assert report['drift'] == {'hosts_checked': 2, 'hosts_unreadable': [], 'structures': 2}
    assert 'Config drift: 2 structure(s) differ from the inventory on the 2 server(s) compared' in proc.stdout
    assert 'DRIFT %s on srv1: password <secret differs>' % S1 in proc.stdout
    # Neither the password typed by hand nor the inventory's reaches the output or the report files.
    folder = os.path.realpath(str(tmp_path / 'reports' / 'latest'))
    texts = [proc.stdout, proc.stderr] + [open(os.path.join(root, f), encoding='utf-8', errors='replace').read()
                                          for root, _dirs, files in os.walk(folder) for f in files]
    for secret in ('Typed-by-hand-9', 'Pw-not-shown-1', 'csec-not-shown'):
        assert not [t for t in texts if secret in t], secret
    with open(os.path.join(folder, 'report.html'), encoding='utf-8') as handle:
        assert 'Configuration du serveur différente de l' in handle.read()  # the warning's French label


def test_without_chorus_check_drift_the_servers_are_not_contacted(tmp_path):
    # Servers that cannot be reached: the check without drift never connects to them.
    inventory = drift_inventory(tmp_path, ansible_connection='ssh', ansible_host='192.0.2.1', ansible_ssh_timeout=2)
    proc = run_ansible(['chorus.corail.check', '-i', inventory, '-e', 'chorus_check_online=false',
                        '-e', 'chorus_check_report_dir=%s' % (tmp_path / 'reports')], cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:]
    report = latest_report(tmp_path)
    assert report['drift'] is None and report['warning_counts']['config_drift'] == 0
    assert proc.stdout.count('Compare the deployed Chorus settings') == 1  # one skipped task, not one per host
    # With drift, the unreachable servers are reported, and the check still writes its report.
    proc = run_ansible(['chorus.corail.check', '-i', inventory, '-e', 'chorus_check_online=false', '-e', 'chorus_check_drift=true',
                        '-e', 'chorus_check_report_dir=%s' % (tmp_path / 'reports')], cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:]
    report = latest_report(tmp_path)
    assert report['drift']['hosts_unreadable'] == ['srv1', 'srv2']
    assert all(r['drift'][0].startswith('settings_unreadable (') for r in report['structures'])
