# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.chorus.corail.plugins.module_utils._secrets import keep_only_secrets


def test_public_values_leave_the_mask_and_secrets_stay():
    values = {'Pw-1', 'production', '21750001600019', 'TECH_1_a@cpro.fr', 'S3cret', 'cid', '  '}
    keep_only_secrets(values, [
        ({'password': 'Pw-1', 'environment': 'production', 'flag': True}, ('password',)),
        ({'siret': '21750001600019', 'account': 'TECH_1_a@cpro.fr'}, ()),
        ({'client_secret': 'S3cret', 'client_id': 'cid', 'environment': 'production'}, ('client_secret', 'client_id')),
        ('not a mapping', ('password',)),
    ])
    assert values == {'Pw-1', 'S3cret', 'cid'}


def test_a_value_that_is_both_public_and_secret_stays_masked():
    values = {'same', 'production'}
    keep_only_secrets(values, [({'password': 'same'}, ('password',)), ({'name': 'same', 'env': 'production'}, ())])
    assert values == {'same'}
