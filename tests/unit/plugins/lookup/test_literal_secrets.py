# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

template = pytest.importorskip('ansible.template')
if not hasattr(template, 'trust_as_template'):  # data tagging: ansible-core 2.19+
    pytest.skip('ansible-core before 2.19 has no trusted templates', allow_module_level=True)

from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.template import Templar, is_trusted_as_template, trust_as_template  # noqa: E402

from ansible_collections.chorus.corail.plugins.lookup.literal_secrets import LookupModule  # noqa: E402
from ansible_collections.chorus.corail.plugins.module_utils._secrets import refusal_of  # noqa: E402


def trusted(text):
    return trust_as_template(text)


def run(variables, term='chorus_accounts'):
    lookup = LookupModule(loader=DataLoader(), templar=Templar(loader=DataLoader(), variables=variables))
    return lookup.run([term], variables=variables)[0]


def test_each_shape_of_secret():
    variables = {
        'vault_b': 'Bb-{%x%}-literal',                   # !unsafe, read through "{{ vault_b }}"
        'vault_mixed': trusted('Cc{#gone#}-long'),       # a template in disguise, behind an indirection
        'chorus_accounts': {
            'TECH_1_A@cpro.fr': {'password': trusted('Ab1{#x#}Zz{{ y }}'), 'environment': trusted('{{ "qualif" ~ "ication" }}')},
            'TECH_1_B@cpro.fr': {'password': trusted('{{ vault_b }}'), 'environment': 'qualification'},
            'TECH_1_C@cpro.fr': {'password': trusted('{{ vault_mixed }}')},
            'TECH_1_D@cpro.fr': {'password': 'Dd{{ untrusted }}-unsafe'},    # !unsafe, a prompt: data
            'TECH_1_E@cpro.fr': {'password': trusted('plain-password-1')},
            'TECH_1_F@cpro.fr': {'password': trusted("{{ 'Ff-' ~ 'expr%1' | upper }}")},  # one expression: its result
            'TECH_1_G@cpro.fr': {'password': trusted('{{ nowhere }}')},
            'TECH_1_H@cpro.fr': {'password': trusted('{{ nowhere.attr | upper }}')},
        },
    }
    accounts = run(variables)
    assert 'Jinja delimiters' in refusal_of(accounts['TECH_1_A@cpro.fr']['password'])
    assert accounts['TECH_1_A@cpro.fr']['environment'] == 'qualification'  # other fields: templated as usual
    assert accounts['TECH_1_B@cpro.fr']['password'] == 'Bb-{%x%}-literal'
    assert 'Jinja delimiters' in refusal_of(accounts['TECH_1_C@cpro.fr']['password'])
    assert accounts['TECH_1_D@cpro.fr']['password'] == 'Dd{{ untrusted }}-unsafe'
    assert accounts['TECH_1_E@cpro.fr']['password'] == 'plain-password-1'
    assert accounts['TECH_1_F@cpro.fr']['password'] == 'Ff-EXPR%1'
    assert 'nowhere is not defined' in refusal_of(accounts['TECH_1_G@cpro.fr']['password'])
    assert 'cannot be resolved' in refusal_of(accounts['TECH_1_H@cpro.fr']['password'])
    for entry in accounts.values():
        assert not is_trusted_as_template(entry['password'])  # never templated again
    # No refusal quotes the value.
    assert not any('Ab1' in str(e['password']) or 'Cc{#' in str(e['password']) for e in accounts.values())


def test_indirect_variable_and_undefined():
    variables = {'vault_accounts': {'TECH_1_A@cpro.fr': {'password': trusted('x{#y#}z-long')}},
                 'chorus_accounts': trusted('{{ vault_accounts }}'),
                 'chorus_piste_apps': {'corail': {'client_secret': trusted('cs-{{ q }}-long'), 'client_id': 'cid'}}}
    assert refusal_of(run(variables)['TECH_1_A@cpro.fr']['password'])
    apps = run(variables, 'chorus_piste_apps')
    assert refusal_of(apps['corail']['client_secret']) and apps['corail']['client_id'] == 'cid'
    assert run({}, 'chorus_piste_app_credential') == {}
    with pytest.raises(Exception):
        run(variables, 'ansible_password')
