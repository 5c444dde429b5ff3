# -*- coding: utf-8 -*-
"""chorus.corail.register through ansible-inventory, as integrators run it."""

import json
import os
import shutil

from conftest import REPO, ansible_env, run_ansible

EXAMPLES = os.path.join(REPO, 'docs', 'examples')


def unsafe(value):
    """Register values are data, never templates: ansible-inventory shows them marked unsafe."""
    return value['__ansible_unsafe'] if isinstance(value, dict) else value


def inventory_list(source, **env):
    proc = run_ansible(['-i', source, '--list'], program='ansible-inventory',
                       env=ansible_env(ANSIBLE_INVENTORY_UNPARSED_FAILED='true', **env))
    return proc


def test_example_register_lists_servers_groups_and_structures(tmp_path):
    # A copy, run from another directory: the register path is relative to the config file.
    shutil.copytree(EXAMPLES, str(tmp_path / 'inventory'))
    proc = inventory_list(str(tmp_path / 'inventory' / 'register.chorus.yml'))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    hostvars = data['_meta']['hostvars']
    assert sorted(hostvars) == ['corail-oloron-01', 'corail-pau-01', 'corail-recette']
    pau = hostvars['corail-pau-01']
    assert [unsafe(s['siret']) for s in pau['corail_structures']] == ['21640000200012', '21640001000015', '21640002800017']
    assert unsafe(pau['chorus_piste_app']) == 'CORAIL_PAU'
    assert pau['corail_config_path'] == '/etc/corail/chorus.ini'  # host_vars of the config
    assert pau['corail_structure_count'] == 3  # compose
    for group, hosts in (('env_production', ['corail-oloron-01', 'corail-pau-01']),
                         ('env_qualification', ['corail-recette']),
                         ('departement_64', ['corail-oloron-01', 'corail-pau-01', 'corail-recette']),
                         ('epci_ca_pau_bearn_pyrenees', ['corail-pau-01']),
                         ('app_corail_pau', ['corail-pau-01']),
                         ('big_servers', ['corail-pau-01'])):  # keyed_groups
        assert sorted(data[group]['hosts']) == hosts, group
    assert 'password' not in proc.stdout.lower()


def test_register_with_a_password_column_is_refused(tmp_path):
    (tmp_path / 'registre.csv').write_text(
        'Collectivité;SIRET;Serveur Corail;Compte technique;Mot de passe\n'
        'Commune de Lescar;21640000200012;srv1;TECH_021640000200012@cpp2017.fr;Tr3s-secret!\n', encoding='utf-8')
    (tmp_path / 'register.chorus.yml').write_text('plugin: chorus.corail.register\npath: registre.csv\n')
    proc = inventory_list(str(tmp_path / 'register.chorus.yml'), ANSIBLE_INVENTORY_ENABLED='chorus.corail.register')
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "'Mot de passe'" in output and 'registre.csv' in output
    assert 'Tr3s-secret!' not in output


def test_register_feeds_a_playbook(tmp_path):
    """The structures arrive as hostvars a play can use, here through the offline check."""
    shutil.copytree(EXAMPLES, str(tmp_path / 'inventory'))
    playbook = tmp_path / 'structures.yml'
    playbook.write_text(
        '- name: Count the structures per server\n  hosts: corail_servers\n  gather_facts: false\n  tasks:\n'
        '    - name: Check every SIRET offline\n      ansible.builtin.assert:\n'
        '        that: corail_structures | map(attribute="siret") | map("chorus.corail.siret_valid") is all\n'
        '      delegate_to: localhost\n')
    proc = run_ansible(['-i', str(tmp_path / 'inventory' / 'register.chorus.yml'), str(playbook)], cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'ok=1' in proc.stdout and proc.stdout.count('ok=1') == 3
