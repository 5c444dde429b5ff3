# -*- coding: utf-8 -*-
"""The deploy gate refuses one SIRET declared with two accounts on two servers, as the check does."""
import os

import yaml

from conftest import REPO, run_ansible

GOLDEN = os.path.join(REPO, 'tests', 'golden', '0.1.0')
SIRET = '21750001600019'


def test_a_siret_with_two_accounts_on_two_servers_is_deployed_nowhere(tmp_path):
    with open(os.path.join(GOLDEN, 'inventory', 'group_vars', 'all', 'chorus.yml')) as handle:
        group_vars = yaml.safe_load(handle)
    group_vars.pop('corail_config_path')
    group_vars.pop('corail_reload_command')
    accounts = ['TECH_021750001600019@cpp2017.fr', 'TECH_021690123100011@cpp2017.fr']
    hosts = {}
    for index, host in enumerate(('corail-a', 'corail-b')):
        hosts[host] = dict(ansible_connection='local', chorus_piste_app='corail-prod',
                           corail_config_path=str(tmp_path / host / 'chorus.ini'),
                           corail_structures=[dict(siret=SIRET, name='Ville de Paris', account=accounts[index])])
        (tmp_path / host).mkdir()
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(yaml.safe_dump({'all': {'hosts': hosts, 'vars': group_vars}}))
    proc = run_ansible([os.path.join(GOLDEN, 'deploy.yml'), '-i', str(inventory)], cwd=str(tmp_path))
    assert proc.returncode != 0
    for host in hosts:
        assert 'Chorus settings of %s not deployed' % host in proc.stdout
        assert not os.listdir(str(tmp_path / host)), 'written despite the conflict'
    assert proc.stdout.count('account: SIRET %s is declared 2 times in production with different accounts' % SIRET) >= 2
