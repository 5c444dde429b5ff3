# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.chorus.corail.plugins.filter.drift import FilterModule, deployed_state

PAU = '21640445900002'
RESULT = {'structures': [{'host': 'srv1', 'siret': PAU, 'status': 'ok', 'warnings': []}]}


class Untouchable(dict):
    """hostvars that fail the test when a host's variables are read."""

    def __getitem__(self, key):
        raise AssertionError('hostvars[%s] was read' % key)

    def get(self, key, default=None):
        raise AssertionError('hostvars.get(%s) was read' % key)


def test_exposed():
    assert FilterModule().filters() == {'deployed_state': deployed_state}


def test_without_drift_no_host_variable_is_read():
    assert deployed_state(RESULT, Untouchable(srv1={}), ['srv1']) == RESULT
    assert deployed_state(RESULT, Untouchable(srv1={}), ['srv1'], drift='false') == RESULT


def test_with_drift_each_host_answer_is_merged():
    hostvars = {'srv1': {'chorus_check_drift_answer': {'changed': False, 'drift': {PAU: ['password']}}}}
    out = deployed_state(RESULT, hostvars, ['srv1', 'not-in-inventory'], drift=True,
                         left_out=[{'host': 'srv1', 'siret': PAU, 'reason': 'kept back'}])
    entry, = out['structures']
    assert entry['warnings'] == ['config_drift'] and entry['drift'] == ['password <secret differs>']
    assert entry['left_out'] == 'kept back' and out['left_out'] == 1
    assert out['drift'] == {'hosts_checked': 1, 'hosts_unreadable': [], 'structures': 1}


def test_bad_arguments_name_the_filter():
    with pytest.raises(AnsibleFilterError, match='deployed_state: the first argument must be hostvars'):
        deployed_state(RESULT, [], ['srv1'])
    with pytest.raises(AnsibleFilterError, match='left_out must be a list'):
        deployed_state(RESULT, {}, ['srv1'], left_out='srv1')
