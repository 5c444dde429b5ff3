# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.chorus.corail.plugins.filter.accounts import FilterModule, account_of

S1, S2 = '21640000200012', '21640001000015'
A, B = 'TECH_021640000200012@cpp2017.fr', 'TECH_1_other@cpro.fr'


def test_account_of_follows_the_check():
    accounts = {A: {'environment': 'qualification', 'structures': [S1]},
                B: {'environment': 'production', 'structures': [S1, S2]}}
    assert FilterModule().filters() == {'account_of': account_of}
    assert account_of({'siret': S1, 'account': B}, accounts) == B       # set on the structure: it wins
    assert account_of({'siret': S1}, accounts, 'qualification') == A     # the entry of its environment
    assert account_of({'siret': S1}, accounts) is None                   # two entries: none is trusted
    assert account_of({'siret': S2}, accounts, 'qualification') is None
    assert account_of({'siret': int(S2)}, accounts) == B                 # a SIRET read as a number
    with pytest.raises(AnsibleFilterError, match='must be a structure'):
        account_of('x', accounts)
