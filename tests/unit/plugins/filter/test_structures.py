# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.chorus.corail.plugins.filter.structures import (
    FilterModule, inventory_conflicts, offline_problems, structures_of_hosts)
from ansible_collections.chorus.corail.plugins.module_utils._check import run_check

HOSTVARS = {
    'srv01': {'chorus_piste_app': 'corail-a', 'corail_structures': [
        {'siret': '21750001600019', 'name': 'Paris', 'account': 'TECH_1@cpp2017.fr'},
        {'siret': '21690123100011', 'piste_app': 'corail-b'},
    ]},
    'srv02': {'corail_structures': [{'siret': '21130055300016'}]},
    'srv03': {'chorus_piste_app': 'corail-a'},
    'srv04': {'corail_structures': []},
}


def test_exposed():
    assert FilterModule().filters() == {'structures_of_hosts': structures_of_hosts, 'offline_problems': offline_problems,
                                        'inventory_conflicts': inventory_conflicts}


def test_collects_in_host_order_with_host_and_default_app():
    out = structures_of_hosts(HOSTVARS, ['srv02', 'srv01', 'srv03', 'srv04'])
    assert out == [
        {'siret': '21130055300016', 'host': 'srv02'},
        {'siret': '21750001600019', 'name': 'Paris', 'account': 'TECH_1@cpp2017.fr', 'host': 'srv01',
         'piste_app': 'corail-a'},
        {'siret': '21690123100011', 'piste_app': 'corail-b', 'host': 'srv01'},
    ]


def test_does_not_modify_the_inventory():
    structures_of_hosts(HOSTVARS, ['srv01'])
    assert 'host' not in HOSTVARS['srv01']['corail_structures'][0]


def test_empty_piste_app_gets_the_default():
    out = structures_of_hosts({'h': {'chorus_piste_app': 'x', 'corail_structures': [{'siret': '1', 'piste_app': ''}]}}, ['h'])
    assert out[0]['piste_app'] == 'x'


def test_duplicates_and_single_name():
    assert len(structures_of_hosts(HOSTVARS, ['srv01', 'srv01'])) == 2
    assert len(structures_of_hosts(HOSTVARS, 'srv01')) == 2
    assert structures_of_hosts(HOSTVARS, []) == []


@pytest.mark.parametrize('hostvars, words', [
    ({'h': {'corail_structures': 'oops'}}, 'host h: corail_structures must be a list'),
    ({'h': {'corail_structures': [{'siret': '1'}, 'x']}}, 'host h: corail_structures[1] must be a mapping'),
    ({}, 'host h is not in the inventory'),
])
def test_errors_name_the_host(hostvars, words):
    with pytest.raises(AnsibleFilterError, match=words.replace('[', r'\[').replace(']', r'\]')):
        structures_of_hosts(hostvars, ['h'])


def test_refuses_something_that_is_not_hostvars():
    with pytest.raises(AnsibleFilterError, match='must be hostvars'):
        structures_of_hosts(['srv01'], ['srv01'])


def test_thousands_of_hosts_in_one_pass():
    hostvars = dict(('srv%05d' % i, {'chorus_piste_app': 'app', 'corail_structures': [
        {'siret': '%014d' % (i * 10 + j)} for j in range(3)]}) for i in range(5000))
    start = time.monotonic()
    out = structures_of_hosts(hostvars, sorted(hostvars))
    assert len(out) == 15000 and out[-1]['host'] == 'srv04999'
    assert time.monotonic() - start < 2.0


# -- offline_problems: the deploy role's gate, the same checks as credentials_info ---------------


OP_APPS = {'corail-qualif': {'client_id': 'cid', 'client_secret': 'S3cr3t-app', 'environment': 'qualification'}}
OP_ACCOUNTS = {
    'TECH_1_ok@cpro.fr': {'password': 'Pw-ok:[{|;', 'environment': 'qualification'},
    'TECH_1_empty@cpro.fr': {'password': '  ', 'environment': 'qualification'},
    'TECH_1_prod@cpro.fr': {'password': 'Pw-prod-2025', 'environment': 'production'},
}


def test_offline_problems_empty_when_everything_can_be_deployed():
    structures = [{'siret': '21750001600019', 'account': 'TECH_1_ok@cpro.fr'},
                  {'siret': '21690123100011', 'account': 'TECH_1_ok@cpro.fr', 'piste_app': 'corail-qualif'}]
    assert offline_problems(structures, OP_ACCOUNTS, OP_APPS, default_app='corail-qualif') == []
    assert offline_problems([], OP_ACCOUNTS, OP_APPS) == []
    assert offline_problems(None, OP_ACCOUNTS, OP_APPS) == []


@pytest.mark.parametrize('structure, words', [
    ({'siret': '2175000160001', 'account': 'TECH_1_ok@cpro.fr'}, ['structure 2175000160001', 'siret', '14 digits']),
    ({'siret': '21130055300016', 'account': 'TECH_1_nobody@cpro.fr'}, ['structure 21130055300016', 'not in chorus_accounts']),
    ({'siret': '21130055300016', 'account': ''}, ['structure 21130055300016', 'no account']),
    ({'siret': '21330063500017', 'account': 'TECH_1_empty@cpro.fr'}, ['structure 21330063500017', 'TECH_1_empty@cpro.fr', 'password', 'empty']),
    ({'siret': '21670482500019', 'account': 'TECH_1_prod@cpro.fr'}, ['structure 21670482500019', 'production', 'qualification']),
    ({'siret': '21690123100011', 'account': 'TECH_1_ok@cpro.fr', 'piste_app': 'elsewhere'}, ['structure 21690123100011', 'elsewhere']),
    ({'account': 'TECH_1_ok@cpro.fr'}, ['corail_structures[0]', 'siret', 'missing']),
])
def test_offline_problems_name_the_structure_and_the_field(structure, words):
    problems = offline_problems([structure], OP_ACCOUNTS, OP_APPS, default_app='corail-qualif')
    assert len(problems) == 1
    for word in words:
        assert word in problems[0]
    for secret in ('Pw-ok:[{|;', 'Pw-prod-2025', 'S3cr3t-app'):
        assert secret not in problems[0]


def test_offline_problems_siret_listed_twice_and_bad_input_type():
    twice = [{'siret': '21750001600019', 'account': 'TECH_1_ok@cpro.fr'}] * 2
    assert offline_problems(twice, OP_ACCOUNTS, OP_APPS, default_app='corail-qualif') == [
        'structure 21750001600019: listed twice in corail_structures']
    assert 'must be a list' in offline_problems('21750001600019', OP_ACCOUNTS, OP_APPS)[0]


def test_offline_problems_is_the_vocabulary_of_credentials_info():
    # A structure refused by deploy is exactly one that credentials_info calls invalid_input or missing_account.
    structures = [{'siret': s, 'account': a, 'piste_app': 'corail-qualif'} for s, a in (
        ('21750001600019', 'TECH_1_ok@cpro.fr'), ('21130055300016', 'TECH_1_nobody@cpro.fr'),
        ('21330063500017', 'TECH_1_empty@cpro.fr'), ('2175000160001', 'TECH_1_ok@cpro.fr'))]
    refused = set(p.split(':')[0].split()[-1] for p in offline_problems(structures, OP_ACCOUNTS, OP_APPS))
    result = run_check(structures, OP_ACCOUNTS, OP_APPS, online=False)
    blocking = set(e['siret'] for e in result['structures'] if e['status'] in ('invalid_input', 'missing_account'))
    assert refused == blocking == {'21130055300016', '21330063500017', '2175000160001'}
