# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""inventory_conflicts: one SIRET with two accounts or applications in one environment, anywhere in the
inventory, found once, with the check's own reason (_schema.siret_conflicts). The deploy role's use of it
is tested in tests/functional/deploy/test_deploy_conflicts.py, with this table."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.chorus.corail.plugins.filter.structures import inventory_conflicts, offline_problems
from ansible_collections.chorus.corail.plugins.module_utils._check import run_check

X, Y, Z, W = '21750001600019', '21690123100011', '21130055300016', '21310555400017'
A, B, P = 'TECH_1_a@cpro.fr', 'TECH_1_b@cpro.fr', 'TECH_1_p@cpro.fr'
PASSWORDS = {A: 'Pass-a;1', B: 'Pass-b;2', P: 'Pass-p;3'}
ACCOUNTS = {A: dict(password=PASSWORDS[A], environment='qualification'),
            B: dict(password=PASSWORDS[B], environment='qualification'),
            P: dict(password=PASSWORDS[P], environment='production')}
APPS = {'q': dict(client_id='cid-q', client_secret='csec-q-1', environment='qualification'),
        'q2': dict(client_id='cid-q2', client_secret='csec-q2-2', environment='qualification'),
        'prod': dict(client_id='cid-p', client_secret='csec-p-3', environment='production')}
ACCOUNT_REASON = ('account: SIRET %s is declared 2 times in qualification with different accounts '
                  '(%s on corail-a, %s on corail-b)' % (X, A, B))
APP_REASON = ('piste_app: SIRET %s is declared 2 times in qualification with different PISTE applications '
              '(q on corail-c, q2 on corail-d)' % Z)

# host: (its variables, the SIRETs its file must hold afterwards; None: the file is not written)
HOSTS = {
    # first in the inventory and in the first batch: fails its own argument check, the others go on
    'corail-broken': (dict(corail_structures='%s' % X), None),
    'corail-a': (dict(corail_structures=[dict(siret=X, account=A), dict(siret=Y, account=A)]), [Y]),
    'corail-b': (dict(corail_structures=[dict(siret=X, account=B)]), None),
    'corail-c': (dict(corail_structures=[dict(siret=Z, account=A), dict(siret=W, account=A)]), [W]),
    'corail-d': (dict(chorus_piste_app='q2', corail_structures=[dict(siret=Z, account=A)]), None),
    # the same SIRET in another environment, and one structure on two servers alike: no conflict
    'corail-e': (dict(chorus_piste_app='prod', corail_structures=[dict(siret=X, account=P)]), [X]),
    'corail-f': (dict(corail_structures=[dict(siret=W, account=A)]), [W]),
    # an undefined variable in a structure: that host fails alone, wherever it stands
    'corail-undefined': (dict(corail_structures=[dict(siret='{{ no_such_variable }}', account=A)]), None),
}
FAILING = ('corail-broken', 'corail-undefined')


def _hostvars():
    out = {}
    for host, (variables, _expected) in HOSTS.items():
        out[host] = dict(variables)
        out[host].setdefault('chorus_piste_app', 'q')
    return out


def test_the_filter_names_each_side_with_the_checks_reason():
    found = inventory_conflicts(_hostvars(), list(HOSTS), ACCOUNTS, APPS)
    assert found == {
        'corail-a': [dict(index=0, siret=X, problem=ACCOUNT_REASON)],
        'corail-b': [dict(index=0, siret=X, problem=ACCOUNT_REASON)],
        'corail-c': [dict(index=0, siret=Z, problem=APP_REASON)],
        'corail-d': [dict(index=0, siret=Z, problem=APP_REASON)],
    }
    # credentials_info over the same structures says the same, word for word
    structures = [dict(s, host=h, piste_app=v.get('chorus_piste_app', 'q'))
                  for h, v in _hostvars().items() if isinstance(v['corail_structures'], list) for s in v['corail_structures']]
    details = dict(((e['host'], e['siret']), e['detail']) for e in run_check(structures, ACCOUNTS, APPS, online=False)['structures'])
    assert details[('corail-a', X)] == ACCOUNT_REASON and details[('corail-d', Z)] == APP_REASON
    assert details[('corail-a', Y)] == '' or 'SIRET' not in details[('corail-a', Y)]


def test_the_host_gate_joins_the_reason_once():
    conflicts = inventory_conflicts(_hostvars(), list(HOSTS), ACCOUNTS, APPS)
    problems = offline_problems(HOSTS['corail-a'][0]['corail_structures'], ACCOUNTS, APPS, default_app='q',
                                details=True, conflicts=conflicts['corail-a'])
    assert problems == [dict(index=0, siret=X, problem='structure %s: %s' % (X, ACCOUNT_REASON))]
    # a conflict inside one host: the check's detail already says it, not repeated
    both = [dict(siret=X, account=A, host='h'), dict(siret=X, account=B, host='h')]
    local = inventory_conflicts({'h': dict(corail_structures=both, chorus_piste_app='q')}, ['h'], ACCOUNTS, APPS)
    problems = offline_problems(both, ACCOUNTS, APPS, default_app='q', conflicts=local['h'])
    assert len(problems) == 2 and all(p.count('declared 2 times') == 1 for p in problems)


@pytest.mark.parametrize('hostvars, accounts, apps', [
    ({'h': {'corail_structures': 'a string'}}, ACCOUNTS, APPS),
    ({'h': {'corail_structures': [X, None]}}, ACCOUNTS, APPS),
    ({'h': {'corail_structures': [dict(siret=X, account=A)]}}, 'not a dict', APPS),
    ({'h': {'corail_structures': [dict(siret=X, account=A)]}}, ACCOUNTS, ['q']),
    ({}, ACCOUNTS, APPS),
])
def test_the_filter_never_fails(hostvars, accounts, apps):
    class Broken(dict):
        def __getitem__(self, host):
            if host == 'boom':
                raise RuntimeError('undefined variable in corail_structures')
            return dict.__getitem__(self, host)
    assert inventory_conflicts(Broken(hostvars), ['boom', 'h'], accounts, apps) == {}
