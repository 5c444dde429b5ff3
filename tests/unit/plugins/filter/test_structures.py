# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.chorus.corail.plugins.filter.structures import FilterModule, structures_of_hosts

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
    assert FilterModule().filters() == {'structures_of_hosts': structures_of_hosts}


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
