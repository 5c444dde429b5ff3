# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One schema: the register plugin, the deploy gate, corail_config and the check give one verdict."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.chorus.corail.plugins.filter.structures import inventory_conflicts, offline_problems
from ansible_collections.chorus.corail.plugins.inventory.register import RegisterErrors, RegisterParser
from ansible_collections.chorus.corail.plugins.module_utils import _corail_config as cc
from ansible_collections.chorus.corail.plugins.module_utils import _schema as schema
from ansible_collections.chorus.corail.plugins.module_utils._check import run_check
from ansible_collections.chorus.corail.plugins.module_utils._identifiers import InvalidIdentifier

SIRET = '21750001600019'
LOGIN = 'TECH_1_paris@cpro.fr'
APP = 'corail-prod'
STRUCTURE = dict(siret=SIRET, name='Ville de Paris', account=LOGIN, piste_app=APP, service_code='FIN')
APPS = {APP: dict(client_id='cid-42', client_secret='client-s3cret', environment='production')}
ACCOUNTS = {LOGIN: dict(password='Paris-pw-1', password_changed_on='2026-01-01', environment='production')}
APP_NAME_REASON = 'must be letters, digits, " _.@+-" (no leading or trailing space)'

# (case, field, bad value, the schema's reason)
BAD = [
    ('service code too long', 'service_code', 'S' * 5000, 'is longer than 4096 characters (5000)'),
    ('newline in the name', 'name', 'Ville\nde Paris', 'contains control characters (newline, tab...), which would break the file'),
    ('markup in the application name', 'piste_app', 'corail[prod]', APP_NAME_REASON),
]


def _register(structure):
    row = dict(structure, server='corail-paris', environment='production')
    # The register collects every problem of a row (on_invalid decides what to do with them).
    _values, _groups, errors = RegisterParser('registre.yml').normalise_row(3, row)
    return errors[0].describe('registre.yml') if errors else None


def _deploy_gate(structure, apps):
    problems = offline_problems([structure], ACCOUNTS, apps)
    return '; '.join(problems) or None


def _corail_config(structure, apps):
    piste_apps = [dict(spec, name=name) for name, spec in apps.items()]
    try:
        cc.plan('ini', None, cc.resolve_layout('ini'), piste_apps, [dict(structure, password='Paris-pw-1')])
    except InvalidIdentifier as exc:
        return str(exc)
    return None


def _check(structure, apps):
    entry = run_check([structure], ACCOUNTS, apps, online=False)['structures'][0]
    return entry['detail'] if entry['status'] == 'invalid_input' else None


@pytest.mark.parametrize('case, field, value, reason', BAD, ids=[b[0] for b in BAD])
def test_the_same_bad_value_gets_the_same_verdict_and_reason_everywhere(case, field, value, reason):
    structure = dict(STRUCTURE, **{field: value})
    apps = {value: APPS[APP]} if field == 'piste_app' else APPS  # the application exists under that name
    messages = {
        'register': _register(structure),
        'deploy gate': _deploy_gate(structure, apps),
        'corail_config': _corail_config(structure, apps),
        'check': _check(structure, apps),
    }
    assert all(messages.values()), messages  # every one refuses
    for where, message in messages.items():
        assert reason in message, (where, message)
        assert 'S' * 100 not in message and 'Ville\nde' not in message  # the value is never quoted
    for where in ('register', 'deploy gate', 'corail_config'):
        if field != 'piste_app' or where != 'corail_config':  # corail_config names the application itself
            assert SIRET in messages[where], (where, messages[where])
    assert (field, reason) in schema.structure_problems(structure)


def test_a_good_structure_passes_everywhere():
    assert _register(STRUCTURE) is None
    assert _deploy_gate(STRUCTURE, APPS) is None
    assert _corail_config(STRUCTURE, APPS) is None
    assert _check(STRUCTURE, APPS) is None


def test_values_are_trimmed_once_and_written_as_the_check_reads_them():
    apps = {APP: dict(APPS[APP], client_id=' cid-42 ')}
    structure = dict(STRUCTURE, name='  Ville de Paris ', service_code=' FIN')
    assert _deploy_gate(structure, apps) is None and _check(structure, apps) is None
    piste_apps = [dict(spec, name=name) for name, spec in apps.items()]
    result = cc.plan('ini', None, cc.resolve_layout('ini'), piste_apps, [dict(structure, password=' Paris-pw-1 ')])
    text = result.content.decode('utf-8')
    assert 'client_id = cid-42\n' in text and 'name = Ville de Paris\n' in text and 'service_code = FIN\n' in text
    assert 'password = " Paris-pw-1 "\n' in text  # a secret is kept exactly as given


def test_an_unwritable_application_is_refused_by_the_check_as_by_corail_config():
    apps = {APP: dict(APPS[APP], client_id='cid\t42')}
    assert 'piste_apps.%s.client_id: contains control characters' % APP in _check(STRUCTURE, apps)
    assert 'client_id of PISTE application %s: contains control characters' % APP in _corail_config(STRUCTURE, apps)


def test_a_siret_with_two_accounts_on_two_servers_gets_the_same_verdict_and_reason():
    other = 'TECH_1_other@cpro.fr'
    accounts = dict(ACCOUNTS, **{other: ACCOUNTS[LOGIN]})
    hostvars = {'corail-a': dict(corail_structures=[STRUCTURE]),
                'corail-b': dict(corail_structures=[dict(STRUCTURE, account=other)])}
    reason = ('account: SIRET %s is declared 2 times in production with different accounts (%s on corail-a, %s on '
              'corail-b)' % (SIRET, LOGIN, other))
    conflicts = inventory_conflicts(hostvars, ['corail-a', 'corail-b'], accounts, APPS)
    for host in hostvars:  # the deploy gate, on each server
        problems = offline_problems(hostvars[host]['corail_structures'], accounts, APPS, conflicts=conflicts[host])
        assert problems == ['structure %s: %s' % (SIRET, reason)]
    check = run_check([dict(s, host=h) for h, v in hostvars.items() for s in v['corail_structures']], accounts, APPS,
                      online=False)['structures']
    assert [(e['status'], e['detail']) for e in check] == [('invalid_input', reason)] * 2
    # the register sees both rows of one file: it refuses the second, naming the first
    rows = [(line, dict(STRUCTURE, account=login, server=server, environment='production'))
            for line, (server, login) in enumerate((('corail-a', LOGIN), ('corail-b', other)), start=2)]
    with pytest.raises(RegisterErrors) as refused:
        RegisterParser('registre.yml', on_invalid='error').build(rows)
    assert 'line 3' in str(refused.value) and 'conflicts with line 2' in str(refused.value) and SIRET in str(refused.value)
