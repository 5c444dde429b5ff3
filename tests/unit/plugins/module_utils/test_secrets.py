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


def test_template_shape_tells_a_template_from_a_password():
    from ansible_collections.chorus.corail.plugins.module_utils._secrets import template_shape, variable_of
    assert template_shape('Ab1-zz%x"y') == 'plain'
    assert template_shape('{{ vault_pw }}') == 'variable' and variable_of('{{vault_pw}}') == 'vault_pw'
    assert template_shape("{{ lookup('env', 'PW') }}") == 'expression' and variable_of("{{ lookup('x') }}") is None
    for mixed in ('Ab1{#x#}Zz', 'Ab1{#x#}Zz{{ y }}', '{{ a }}{{ b }}', 'x{% if 1 %}y{% endif %}', '{{ a }} tail',
                  '{#only#}', '{{ a }}{#c#}'):
        assert template_shape(mixed) == 'mixed', mixed


def test_a_refused_secret_is_reported_never_used():
    from ansible_collections.chorus.corail.plugins.module_utils._identifiers import password_problem
    from ansible_collections.chorus.corail.plugins.module_utils._secrets import (
        TEMPLATED_SECRET, refusal_of, refused, secret_problem)
    value = refused(TEMPLATED_SECRET)
    assert refusal_of(value) == TEMPLATED_SECRET and refusal_of('Ab1-long-enough') is None
    assert secret_problem(value) == TEMPLATED_SECRET and password_problem(value) == TEMPLATED_SECRET
    assert 'Jinja delimiters' in TEMPLATED_SECRET and '!unsafe' in TEMPLATED_SECRET
