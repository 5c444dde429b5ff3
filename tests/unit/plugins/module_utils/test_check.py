# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bulk check against the sandbox: every status, precedence, call counts, generated worlds."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import json
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import chorus_world as cw  # noqa: E402  pylint: disable=wrong-import-position
from fixtures import running_sandbox  # noqa: E402  pylint: disable=wrong-import-position,import-error
from make_world import make_world  # noqa: E402  pylint: disable=wrong-import-position,import-error

from ansible_collections.chorus.corail.plugins.module_utils import _chorus_api as api  # noqa: E402
from ansible_collections.chorus.corail.plugins.module_utils import _check as check  # noqa: E402
from ansible_collections.chorus.corail.plugins.module_utils import _statuses  # noqa: E402
from ansible_collections.chorus.corail.plugins.module_utils._statuses import (  # noqa: E402
    STATUSES,
    WARNINGS,
)

TOKEN_PATH = '/api/oauth/token'
ENTRY_KEYS = {'host', 'siret', 'name', 'account', 'piste_app', 'environment', 'contact', 'service_code', 'status',
              'warnings', 'detail', 'remediation', 'id_structure_cpp', 'designation', 'password_expires_on',
              'days_left', 'password_expiry_source', 'action_by', 'cause', 'cause_detail_fr'}
ACCOUNT_KEYS = {'login', 'environment', 'piste_app', 'status', 'structures', 'password_expires_on', 'days_left',
                'detail'}


@pytest.fixture(autouse=True)
def no_env_proxy(monkeypatch):
    for name in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'):
        monkeypatch.delenv(name, raising=False)


def client_for(sb, **kwargs):
    kwargs.setdefault('retries', 2)
    kwargs.setdefault('backoff_factor', 0.005)
    kwargs.setdefault('timeout', 5)
    return api.ChorusClient(oauth_url=sb.oauth_url, api_url=sb.api_url, **kwargs)


def run(sb, structures=None, accounts=None, piste_apps=None, **kwargs):
    client = kwargs.pop('client', None) or client_for(sb)
    kwargs.setdefault('today', cw.TODAY)
    return check.run_check(cw.structures() if structures is None else structures,
                           cw.accounts() if accounts is None else accounts,
                           cw.piste_apps() if piste_apps is None else piste_apps, client=client, **kwargs)


@pytest.fixture(scope='module')
def full_run():
    with running_sandbox(cw.world()) as sb:
        result = run(sb)
        stats = sb.stats()
    return result, stats


def entry_of(result, siret, account=None):
    for entry in result['structures']:
        if entry['siret'] == siret and (account is None or entry['account'] == account):
            return entry
    raise AssertionError('%s not in result' % siret)


# -- every status --------------------------------------------------------------------------------------

def test_every_status_of_the_hand_made_world(full_run):
    result, _stats = full_run
    assert [e['status'] for e in result['structures']] == cw.expected()
    assert [e['siret'] for e in result['structures']] == [c[1] for c in cw.CASES]  # input order


def test_result_shape(full_run):
    result, _stats = full_run
    assert set(result) == {'structures', 'by_host', 'counts', 'accounts', 'api_calls'}
    for entry in result['structures']:
        assert set(entry) == ENTRY_KEYS
        assert entry['status'] in STATUSES
        assert set(entry['warnings']) <= set(WARNINGS)
        assert entry['detail'] and entry['remediation']
    assert list(result['counts']) == list(STATUSES)
    assert sum(result['counts'].values()) == len(result['structures'])
    assert result['counts']['unchecked'] == 0 and result['counts']['api_unavailable'] == 0
    for summary in result['accounts']:
        assert set(summary) == ACCOUNT_KEYS
    hosts = [c[0] for c in cw.CASES]
    assert list(result['by_host']) == sorted(set(hosts), key=hosts.index)
    assert sum(len(v) for v in result['by_host'].values()) == len(cw.CASES)
    assert result['by_host']['corail-sud'][0] is entry_of(result, cw.S_TOULOUSE)


def test_no_secret_anywhere_in_the_result(full_run):
    result, _stats = full_run
    text = json.dumps(result, ensure_ascii=False)
    for secret in cw.all_secret_values():
        assert secret not in text
    for spec in cw.accounts().values():
        assert spec['password'] not in text
    for login, spec in cw.accounts().items():
        assert api.TechnicalAccount(login, spec['password']).cpro_account() not in text
    assert 'cid-corail' not in text  # not even the client_id


def test_ok_entry_details(full_run):
    result, _stats = full_run
    entry = entry_of(result, cw.S_PARIS)
    assert entry['id_structure_cpp'] == 1001 and entry['designation'] == 'VILLE DE PARIS'
    # the API date wins over password_changed_on + 424 (which would be 2025-03-02)
    assert entry['password_expires_on'] == '2026-03-01' and entry['days_left'] == 273
    assert entry['warnings'] == [] and entry['environment'] == 'qualification'
    assert entry['remediation'].startswith('Rien à faire')


def test_password_expiring(full_run):
    entry = entry_of(full_run[0], cw.S_TOULOUSE)
    assert entry['password_expires_on'] == '2025-06-20' and entry['days_left'] == 19
    assert '20/06/2025' in entry['remediation'] and '19 jours' in entry['remediation']
    assert 'login_shape_unusual' not in entry['warnings']  # TECH_1_...@cpro.fr is a usual shape


def test_password_expired_uses_password_changed_on(full_run):
    entry = entry_of(full_run[0], cw.S_STRASBOURG)
    # rejected by the API (so no API date): 2023-11-04 + 424 days
    assert entry['password_expires_on'] == '2025-01-01' and entry['days_left'] == -151
    assert '01/01/2025' in entry['remediation']


def test_account_rejected_is_not_expired_when_the_date_is_ahead(full_run):
    entry = entry_of(full_run[0], cw.S_BORDEAUX)
    assert entry['status'] == 'account_rejected' and entry['days_left'] > 0
    assert 'HTTP 401' in entry['detail']


def test_access_forbidden_for_one_structure_and_for_a_whole_account(full_run):
    lyon = entry_of(full_run[0], cw.S_LYON)
    assert lyon['id_structure_cpp'] == 1002 and 'recipiendaire' in lyon['detail']
    lille = entry_of(full_run[0], cw.S_NORACC)
    assert 'actives/destinataire' in lille['detail']
    assert 'noracc' in lille['remediation']  # names the PISTE application


def test_not_attached_and_structure_unknown(full_run):
    marseille = entry_of(full_run[0], cw.S_MARSEILLE)
    assert marseille['id_structure_cpp'] == 1003 and marseille['designation'] == 'VILLE DE MARSEILLE'
    unknown = entry_of(full_run[0], cw.S_UNKNOWN)
    assert unknown['id_structure_cpp'] is None and cw.S_UNKNOWN in unknown['remediation']


def test_missing_account_is_reported_never_skipped(full_run):
    missing = [e for e in full_run[0]['structures'] if e['siret'] == cw.S_MISSING]
    assert [e['status'] for e in missing] == ['missing_account', 'missing_account']
    assert 'no account' in missing[0]['detail']
    assert 'TECH_nobody@cpp2017.fr is not in chorus_accounts' in missing[1]['detail']
    assert cw.S_MISSING in missing[0]['remediation']


def test_invalid_input_names_field_and_reason(full_run):
    entry = entry_of(full_run[0], cw.S_SHORT)
    assert entry['detail'] == 'siret: must have 14 digits, got 13'
    assert entry['password_expires_on'] is None


def test_piste_auth_failed(full_run):
    entry = entry_of(full_run[0], cw.S_BADAPP)
    assert 'invalid_client' in entry['detail'] and "l'application refused" in entry['remediation']
    # the API date read with the other application belongs to the same account
    assert entry['password_expires_on'] == '2026-03-01'


def test_account_summaries(full_run):
    summaries = {(a['piste_app'], a['login']): a for a in full_run[0]['accounts']}
    assert summaries[('corail', cw.LOGIN_OK)]['status'] == 'ok'
    assert summaries[('corail', cw.LOGIN_OK)]['structures'] == 5
    assert summaries[('corail', cw.LOGIN_SOON)]['status'] == 'password_expiring'
    assert summaries[('corail', cw.LOGIN_REJECTED)]['status'] == 'account_rejected'
    assert summaries[('corail', cw.LOGIN_OLD)]['status'] == 'password_expired'
    assert summaries[('noracc', cw.LOGIN_NORACC)]['status'] == 'access_forbidden'
    assert summaries[('refused', cw.LOGIN_OK)]['status'] == 'piste_auth_failed'
    assert len(summaries) == 6  # the missing accounts have no summary


def test_api_calls_match_the_sandbox(full_run):
    result, stats = full_run
    served = dict((path, sum(by.values())) for path, by in stats['calls'].items())
    assert result['api_calls'] == served


# -- precedence ---------------------------------------------------------------------------------------

def test_invalid_input_wins_over_missing_account():
    result = check.run_check([{'host': 'h', 'siret': cw.S_INVALID}], {}, {}, online=False, today=cw.TODAY)
    entry = result['structures'][0]
    assert entry['status'] == 'invalid_input'
    assert 'siret: checksum' in entry['detail'] and 'piste_app: is empty' in entry['detail']


def test_missing_account_wins_over_unchecked():
    result = check.run_check([{'host': 'h', 'siret': cw.S_PARIS, 'piste_app': 'corail'}], cw.accounts(),
                             cw.piste_apps(), online=False, today=cw.TODAY)
    assert result['structures'][0]['status'] == 'missing_account'


def test_piste_auth_failed_wins_over_account_rejected():
    # a refused application with a wrong password: the token fails first, the account is never tried
    cases = [('h', cw.S_BORDEAUX, cw.LOGIN_REJECTED, 'refused', 'piste_auth_failed')]
    with running_sandbox(cw.world()) as sb:
        result = run(sb, cw.structures(cases))
        assert [e['status'] for e in result['structures']] == ['piste_auth_failed']
        assert sb.calls('recuperer/tauxtva') == 0


def test_account_rejected_wins_over_structure_level_statuses():
    # the rejected account is also used for a SIRET that does not exist: account level wins
    cases = [('h', cw.S_BORDEAUX, cw.LOGIN_REJECTED, 'corail', 'account_rejected'),
             ('h', cw.S_UNKNOWN, cw.LOGIN_REJECTED, 'corail', 'account_rejected')]
    with running_sandbox(cw.world()) as sb:
        result = run(sb, cw.structures(cases))
        assert [e['status'] for e in result['structures']] == cw.expected(cases)
        assert sb.calls('structures/v1/rechercher') == 0


def test_password_expired_wins_over_access_forbidden():
    # expired account on an application without raccordement: 401 comes before the 403
    world = cw.world()
    world['accounts'][3]['structures'].append(cw.S_NORACC)
    cases = [('h', cw.S_NORACC, cw.LOGIN_OLD, 'noracc', 'password_expired')]
    with running_sandbox(world) as sb:
        result = run(sb, cw.structures(cases))
        assert [e['status'] for e in result['structures']] == ['password_expired']


def test_not_attached_wins_over_password_expiring_which_becomes_a_warning():
    cases = [('h', cw.S_MARSEILLE, cw.LOGIN_SOON, 'corail', 'not_attached')]
    with running_sandbox(cw.world()) as sb:
        entry = run(sb, cw.structures(cases))['structures'][0]
    assert entry['status'] == 'not_attached'
    assert entry['warnings'] == ['password_expiring'] and entry['days_left'] == 19


def test_access_forbidden_wins_over_api_unavailable_of_other_structures():
    cases = [('h', cw.S_LYON, cw.LOGIN_OK, 'corail', 'access_forbidden'),
             ('h', cw.S_PARIS, cw.LOGIN_OK, 'corail', 'ok')]
    with running_sandbox(cw.world()) as sb:
        assert [e['status'] for e in run(sb, cw.structures(cases))['structures']] == cw.expected(cases)


@pytest.mark.parametrize('warning_days, status, warnings', [
    (30, 'password_expiring', []),
    (19, 'password_expiring', []),
    (18, 'ok', []),
    (0, 'ok', []),
])
def test_password_warning_days(warning_days, status, warnings):
    cases = [('h', cw.S_TOULOUSE, cw.LOGIN_SOON, 'corail', status)]
    with running_sandbox(cw.world()) as sb:
        entry = run(sb, cw.structures(cases), password_warning_days=warning_days)['structures'][0]
    assert entry['status'] == status and entry['warnings'] == warnings


def test_expiry_passed_but_account_still_accepted_is_a_warning():
    # The API accepts the account (world says 2026) but the inventory date says it expired: the API wins,
    # so we force the fallback by hiding the API date (consulter on a structure without the date).
    world = cw.world()
    world['accounts'][0]['password_expires_on'] = '2025-05-01'
    world['today'] = '2025-04-01'
    cases = [('h', cw.S_PARIS, cw.LOGIN_OK, 'corail', 'ok')]
    with running_sandbox(world) as sb:
        entry = run(sb, cw.structures(cases), today='2025-06-01')['structures'][0]
    assert entry['status'] == 'password_expiring' and entry['days_left'] == -31
    assert entry['warnings'] == ['password_expired']


def test_expiry_unknown_warning():
    # A login that names no structure; only Lyon is in the inventory and consulter on it is forbidden
    # (no raccordement): no API date.
    login = 'TECH_1_paris@cpro.fr'
    accounts = cw.accounts()
    accounts[login] = accounts.pop(cw.LOGIN_OK)
    cases = [('h', cw.S_LYON, login, 'corail', 'access_forbidden')]
    world = cw.world()
    world['accounts'][0]['login'] = login
    world['accounts'][0]['structures'] = [cw.S_LYON, cw.S_PARIS]
    del accounts[login]['password_changed_on']
    with running_sandbox(world) as sb:
        entry = run(sb, cw.structures(cases), accounts=accounts)['structures'][0]
    assert entry['status'] == 'access_forbidden'
    assert entry['warnings'] == ['expiry_unknown'] and entry['password_expires_on'] is None
    assert 'password expiry not read from the API' in entry['detail']


# -- offline checks ------------------------------------------------------------------------------------

def offline(structures, accounts=None, piste_apps=None, **kwargs):
    kwargs.setdefault('today', cw.TODAY)
    return check.run_check(structures, cw.accounts() if accounts is None else accounts,
                           cw.piste_apps() if piste_apps is None else piste_apps, online=False, **kwargs)


def test_online_false_is_unchecked_without_any_call():
    result = offline(cw.structures())
    assert result['api_calls'] == {}
    statuses = [e['status'] for e in result['structures']]
    expected = [s if s in ('invalid_input', 'missing_account') else 'unchecked' for s in cw.expected()]
    assert statuses == expected
    paris = entry_of(result, cw.S_PARIS)
    assert paris['password_expires_on'] == '2025-03-02' and paris['warnings'] == ['password_expired']
    assert {a['status'] for a in result['accounts']} == {'unchecked'}


def test_offline_expiry_is_changed_on_plus_424_days():
    accounts = cw.accounts()
    accounts[cw.LOGIN_OK]['password_changed_on'] = '2024-06-01'
    entry = offline([{'host': 'h', 'siret': cw.S_PARIS, 'account': cw.LOGIN_OK, 'piste_app': 'corail'}],
                    accounts)['structures'][0]
    assert entry['password_expires_on'] == (datetime.date(2024, 6, 1) + datetime.timedelta(days=424)).isoformat()
    assert entry['days_left'] == 59 and entry['status'] == 'unchecked' and entry['warnings'] == []


@pytest.mark.parametrize('structure, words', [
    ({'siret': 2175000160001}, 'siret: is a YAML integer of 13 digits: quote it'),
    ({'siret': 1125}, 'siret: is a YAML integer of 4 digits: quote it'),  # YAML's reading of 00000000002145
    ({'siret': 21750001600019.0}, 'siret: must be a string'),
    ({'name': 'no siret'}, 'siret: is missing'),
    ({'siret': '2175000160001'}, 'siret: must have 14 digits'),
    ({'siret': cw.S_PARIS, 'piste_app': 'nope'}, "piste_app: 'nope' is not defined in chorus_piste_apps"),
    ({'siret': cw.S_PARIS, 'piste_app': None}, 'piste_app: is empty'),
])
def test_invalid_structures(structure, words):
    entry = dict({'host': 'h', 'account': cw.LOGIN_OK, 'piste_app': 'corail'}, **structure)
    result = offline([entry])
    assert result['structures'][0]['status'] == 'invalid_input'
    assert words in result['structures'][0]['detail']


def test_non_dict_structure_is_invalid_not_fatal():
    result = offline(['21750001600019', {'host': 'h', 'siret': cw.S_PARIS, 'account': cw.LOGIN_OK,
                                         'piste_app': 'corail'}])
    assert [e['status'] for e in result['structures']] == ['invalid_input', 'unchecked']
    assert 'structures[0]: must be a dict' in result['structures'][0]['detail']


@pytest.mark.parametrize('change, words', [
    ({'password': ''}, 'accounts.%s.password: is empty' % cw.LOGIN_OK),
    ({'password': 'a\nb'}, 'password: contains control characters'),
    ({'environment': 'prod'}, "accounts.%s.environment: must be one of qualification, production, got 'prod'"
     % cw.LOGIN_OK),
    ({'password_changed_on': '01/13/2024'}, 'password_changed_on: must be a date YYYY-MM-DD'),
])
def test_invalid_accounts_never_quote_the_password(change, words):
    accounts = cw.accounts()
    accounts[cw.LOGIN_OK].update(change)
    entry = offline([{'host': 'h', 'siret': cw.S_PARIS, 'account': cw.LOGIN_OK, 'piste_app': 'corail'}],
                    accounts)['structures'][0]
    assert entry['status'] == 'invalid_input' and words in entry['detail']
    assert cw.SECRETS['pw_ok'] not in json.dumps(entry)


def test_login_that_cannot_be_a_login_is_invalid_and_unusual_shape_is_a_warning():
    accounts = {'TECH:bad@cpp2017.fr': {'password': 'x' * 8, 'environment': 'qualification'},
                'someone@example.org': {'password': 'y' * 8, 'environment': 'qualification'}}
    result = offline([{'host': 'h', 'siret': cw.S_PARIS, 'account': 'TECH:bad@cpp2017.fr', 'piste_app': 'corail'},
                      {'host': 'h', 'siret': cw.S_LYON, 'account': 'someone@example.org', 'piste_app': 'corail'}],
                     accounts)
    bad, unusual = result['structures']
    assert bad['status'] == 'invalid_input' and 'contains ":"' in bad['detail']
    assert unusual['status'] == 'unchecked'
    assert unusual['warnings'] == ['login_shape_unusual', 'expiry_unknown']


def test_invalid_application_definitions():
    apps = cw.piste_apps()
    apps['corail']['client_secret'] = ''
    apps['noracc']['environment'] = 'sandbox'
    result = offline([{'host': 'h', 'siret': cw.S_PARIS, 'account': cw.LOGIN_OK, 'piste_app': 'corail'},
                      {'host': 'h', 'siret': cw.S_NORACC, 'account': cw.LOGIN_NORACC, 'piste_app': 'noracc'}],
                     piste_apps=apps)
    first, second = result['structures']
    assert first['status'] == 'invalid_input' and 'piste_apps.corail.client_secret: is empty' in first['detail']
    assert second['status'] == 'invalid_input' and 'piste_apps.noracc.environment' in second['detail']
    assert cw.SECRETS['app_secret'] not in json.dumps(result)


def test_account_in_another_environment_than_the_application():
    accounts = cw.accounts()
    accounts[cw.LOGIN_OK]['environment'] = 'production'
    entry = offline([{'host': 'h', 'siret': cw.S_PARIS, 'account': cw.LOGIN_OK, 'piste_app': 'corail'}],
                    accounts)['structures'][0]
    assert entry['status'] == 'invalid_input'
    assert entry['detail'] == ('account: %s is in environment production but piste_app corail is in qualification'
                               % cw.LOGIN_OK)


def test_same_siret_with_different_accounts_is_a_conflict():
    structures = [
        {'host': 'corail-a', 'siret': cw.S_PARIS, 'account': cw.LOGIN_OK, 'piste_app': 'corail'},
        {'host': 'corail-b', 'siret': cw.S_PARIS, 'account': cw.LOGIN_SOON, 'piste_app': 'corail'},
        {'host': 'corail-c', 'siret': cw.S_PARIS, 'account': cw.LOGIN_OK, 'piste_app': 'corail'},
        {'host': 'corail-c', 'siret': cw.S_LYON, 'account': cw.LOGIN_OK, 'piste_app': 'corail'},
    ]
    result = offline(structures)
    assert [e['status'] for e in result['structures']] == ['invalid_input'] * 3 + ['unchecked']
    detail = result['structures'][1]['detail']
    assert detail.startswith('account: SIRET %s is declared 3 times' % cw.S_PARIS)
    assert '%s on corail-b' % cw.LOGIN_SOON in detail


def test_same_siret_same_account_on_two_hosts_is_fine_and_checked_once():
    structures = [
        {'host': 'corail-a', 'siret': cw.S_PARIS, 'account': cw.LOGIN_OK, 'piste_app': 'corail'},
        {'host': 'corail-b', 'siret': cw.S_PARIS, 'account': cw.LOGIN_OK, 'piste_app': 'corail'},
    ]
    with running_sandbox(cw.world()) as sb:
        result = run(sb, structures)
        assert [e['status'] for e in result['structures']] == ['ok', 'ok']
        assert sb.calls('rechercher/recipiendaire') == 1
    assert list(result['by_host']) == ['corail-a', 'corail-b']


def test_one_client_id_with_two_secrets_is_a_conflict():
    apps = cw.piste_apps()
    apps['copy'] = dict(apps['corail'], client_secret='another-secret-9')
    result = offline([{'host': 'h', 'siret': cw.S_PARIS, 'account': cw.LOGIN_OK, 'piste_app': 'corail'}],
                     piste_apps=apps)
    entry = result['structures'][0]
    assert entry['status'] == 'invalid_input' and 'conflicting definitions' in entry['detail']
    assert 'another-secret-9' not in json.dumps(result)


def test_today_must_be_a_date():
    with pytest.raises(ValueError):
        check.BulkCheck([], {}, {}, today='tomorrow')


@pytest.mark.parametrize('value, date', [
    ('2025-03-01', datetime.date(2025, 3, 1)),
    ('2025-03-01T00:00:00.000+0100', datetime.date(2025, 3, 1)),
    ('01/03/2025', datetime.date(2025, 3, 1)),
    (1740787200000, datetime.date(2025, 3, 1)),
    (datetime.date(2025, 3, 1), datetime.date(2025, 3, 1)),
    (datetime.datetime(2025, 3, 1, 12, 0), datetime.date(2025, 3, 1)),
    ('2025-02-30', None), ('soon', None), (None, None), (True, None),
])
def test_parse_date(value, date):
    assert check.parse_date(value) == date


# -- transient failures never blame the account or the structure -----------------------------------------

def test_5xx_everywhere_is_api_unavailable_never_a_false_status():
    with running_sandbox(cw.world(), error_rate=1.0) as sb:
        result = run(sb, client=client_for(sb, retries=1))
    statuses = [e['status'] for e in result['structures']]
    expected = [s if s in ('invalid_input', 'missing_account') else 'api_unavailable' for s in cw.expected()]
    assert statuses == expected
    unavailable = [e for e in result['structures'] if e['status'] == 'api_unavailable']
    assert all('retried' in e['warnings'] and 'after 1 retries' in e['detail'] for e in unavailable)
    assert 'passager' in unavailable[0]['remediation']


def test_timeouts_are_api_unavailable():
    cases = [('h', cw.S_PARIS, cw.LOGIN_OK, 'corail', 'api_unavailable'),
             ('h', cw.S_BORDEAUX, cw.LOGIN_REJECTED, 'corail', 'api_unavailable')]
    with running_sandbox(cw.world(), hang_rate=1.0, hang_ms=1000) as sb:
        result = run(sb, cw.structures(cases), client=client_for(sb, retries=0, timeout=0.2))
    assert [e['status'] for e in result['structures']] == cw.expected(cases)
    assert all('timeout' in e['detail'] for e in result['structures'])


def test_transient_errors_are_retried_to_the_right_statuses():
    with running_sandbox(cw.world(), error_rate=0.3, seed=5) as sb:
        result = run(sb, client=client_for(sb, retries=10, backoff_factor=0.001))
        stats = sb.stats()
    assert [e['status'] for e in result['structures']] == cw.expected()
    assert any('retried' in e['warnings'] for e in result['structures'])
    assert sum(n for code, n in stats['responses'].items() if code.startswith('5')) > 0


def test_rate_limit_is_survived():
    with running_sandbox(cw.world(), rate_limit_per_s=8, retry_after_s=0.05) as sb:
        result = run(sb, client=client_for(sb, retries=20, backoff_factor=0.001))
        stats = sb.stats()
    assert [e['status'] for e in result['structures']] == cw.expected()
    assert stats['responses'].get('429', 0) > 0


def test_empty_search_with_code_20000_is_structure_unknown():
    cases = [('h', cw.S_UNKNOWN, cw.LOGIN_OK, 'corail', 'structure_unknown'),
             ('h', cw.S_MARSEILLE, cw.LOGIN_OK, 'corail', 'not_attached')]
    with running_sandbox(cw.world(), empty_search_code=20000) as sb:
        result = run(sb, cw.structures(cases))
    assert [e['status'] for e in result['structures']] == cw.expected(cases)
    assert 'codeRetour 20000' in result['structures'][0]['detail']


def test_unreadable_active_structures_answer_is_api_unavailable():
    # A valid JSON answer without listeStructures: never read as "attached to nothing" (not_attached).
    group = check._Group(('qualification', 'x', 'l'), None, None, 'corail')
    bulk = check.BulkCheck([], {}, {}, today=cw.TODAY)
    with pytest.raises(api.UnreadableAnswer):
        bulk._read_active_structures({'codeRetour': 0, 'libelle': 'OK'})
    with pytest.raises(api.UnreadableAnswer):
        bulk._read_active_structures({'codeRetour': 12, 'listeStructures': []})
    assert bulk._read_active_structures({'codeRetour': 20000}) == {}
    assert group.attached == {}


def test_unreadable_search_answer_is_api_unavailable():
    bulk = check.BulkCheck([], {}, {}, today=cw.TODAY)
    assert bulk._read_search(cw.S_PARIS, {'codeRetour': 0}, None).status == 'api_unavailable'
    assert bulk._read_search(cw.S_PARIS, {'codeRetour': 0, 'listeStructures': []}, None).status == 'structure_unknown'
    assert bulk._read_search(cw.S_PARIS, {'codeRetour': 20000}, None).status == 'structure_unknown'


# -- cost and scale ------------------------------------------------------------------------------------

def generated(n, seed, **shares):
    world = make_world(n, hosts=max(1, n // 25), seed=seed, today=cw.TODAY, shares=shares or None)
    inventory = world['inventory']
    structures = []
    for host, hostvars in inventory['host_vars'].items():
        for st in hostvars['corail_structures']:
            structures.append(dict(st, host=host, piste_app=st.get('piste_app') or hostvars['chorus_piste_app']))
    return world, structures, inventory['group_vars']


@pytest.mark.parametrize('n, seed', [(60, 1), (400, 7)])
def test_generated_world_matches_expected(n, seed):
    world, structures, group_vars = generated(n, seed)
    with running_sandbox(world['world'], latency_ms=2, jitter_ms=3) as sb:
        result = run(sb, structures, group_vars['chorus_accounts'], group_vars['chorus_piste_apps'])
    got = dict((e['siret'], e['status']) for e in result['structures'])
    assert got == world['expected']
    assert result['counts']['ok'] == world['counts']['ok']


def test_happy_path_costs_at_most_p_plus_3a_plus_n_calls():
    shares = dict.fromkeys(('missing', 'rejected', 'expired', 'expiring', 'unattached', 'unknown', 'forbidden',
                            'piste_failed'), 0.0)
    shares.update(unattached=0.1, unknown=0.1, expiring=0.1)
    world, structures, group_vars = generated(250, 3, **shares)
    with running_sandbox(world['world']) as sb:
        result = run(sb, structures, group_vars['chorus_accounts'], group_vars['chorus_piste_apps'], concurrency=8)
        stats = sb.stats()
    apps = len(set((s['piste_app']) for s in structures))
    groups = len(set((s['piste_app'], s['account']) for s in structures))
    n = len(structures)
    assert stats['total'] == sum(result['api_calls'].values())
    assert stats['total'] <= apps + 3 * groups + n
    assert result['api_calls'][TOKEN_PATH] == apps
    assert sum(v for k, v in result['api_calls'].items() if 'recipiendaire' in k or k.endswith('v1/rechercher')) == n
    assert set(e['status'] for e in result['structures']) == {'ok', 'not_attached', 'structure_unknown',
                                                              'password_expiring'}


def test_groups_run_concurrently():
    # What the sandbox saw at once, not a wall-clock ratio (which a loaded machine would break).
    world, structures, group_vars = generated(50, 4)
    in_flight = {}
    for concurrency in (1, 8):
        with running_sandbox(world['world'], latency_ms=15) as sb:
            result = run(sb, copy.deepcopy(structures), group_vars['chorus_accounts'], group_vars['chorus_piste_apps'],
                         concurrency=concurrency)
            in_flight[concurrency] = sb.stats()['max_in_flight']
        assert dict((e['siret'], e['status']) for e in result['structures']) == world['expected']
    assert in_flight[1] == 1 and 3 <= in_flight[8] <= 8


def test_expiry_is_read_on_the_structure_the_login_names():
    # TECH_0<SIRET>@cpp2017.fr belongs to that SIRET: consulter asks for it, even when it is not in the inventory.
    accounts = cw.accounts()
    del accounts[cw.LOGIN_OK]['password_changed_on']
    cases = [('h', cw.S_LYON, cw.LOGIN_OK, 'corail', 'access_forbidden')]
    world = cw.world()
    world['accounts'][0]['structures'] = [cw.S_LYON, cw.S_PARIS]
    with running_sandbox(world) as sb:
        result = run(sb, cw.structures(cases), accounts=accounts)
        assert sb.calls('structures/v1/consulter') == 1
    entry = result['structures'][0]
    assert entry['password_expires_on'] == world['accounts'][0]['password_expires_on']
    assert entry['password_expiry_source'] == 'api' and 'expiry_unknown' not in entry['warnings']


@pytest.mark.parametrize('value, expected', [
    ('2026-03-01', '2026-03-01'),
    ('2026-03-01T00:00:00+01:00', '2026-03-01'),      # read as UTC it would be 28/02
    ('2026-07-01T00:30:00+02:00', '2026-07-01'),
    ('2026-02-28T23:30:00Z', '2026-03-01'),           # 00:30 in Paris
    ('2026-06-30T22:30:00Z', '2026-07-01'),           # summer time: 00:30 in Paris
    ('2026-02-28T23:30:00-05:00', '2026-03-01'),
    ('2017-01-03T10:55:48.859+01:00', '2017-01-03'),
    ('2016-10-25 17:42', '2016-10-25'),               # naive: Paris time
    ('2026-03-01T00:00:00', '2026-03-01'),
    ('01/03/2026', '2026-03-01'),
    (1772319600000, '2026-03-01'),                    # epoch ms of 2026-03-01T00:00+01:00
    ('2026-03-01Tnonsense', None), ('soon', None), (None, None), (True, None),
])
def test_expiry_dates_and_date_times_in_paris(value, expected):
    parsed = check.parse_expiry(value)
    assert (parsed.isoformat() if parsed else None) == expected


def test_paris_offset_fallback_matches_zoneinfo():
    zoneinfo = pytest.importorskip('zoneinfo')
    paris = zoneinfo.ZoneInfo('Europe/Paris')
    moment = datetime.datetime(2026, 1, 1)
    while moment.year == 2026:
        expected = datetime.datetime(moment.year, moment.month, moment.day, moment.hour,
                                     tzinfo=datetime.timezone.utc).astimezone(paris).utcoffset()
        assert check._paris_offset(moment) == expected, moment  # pylint: disable=protected-access
        moment += datetime.timedelta(hours=7)


@pytest.mark.parametrize('login, siret', [
    ('TECH_021750001600019@cpp2017.fr', '21750001600019'), ('tech_000000000415049@CPP2017.FR', '00000000415049'),
    ('TECH_1_paris@cpro.fr', None), ('TECH_21750001600019@cpp2017.fr', None), (None, None),
])
def test_own_siret_of_a_login(login, siret):
    assert check.own_siret(login) == siret


# -- who must act: action_by and cause (contracts.md) ----------------------------------------------------

EXPECTED_CAUSES = {
    # siret (first row of it): (action_by, kind, subject)
    cw.S_PARIS: ('nobody', None, None),
    cw.S_LYON: ('gestionnaire', 'raccordement_missing', cw.S_LYON),
    cw.S_MARSEILLE: ('gestionnaire', 'not_attached', cw.S_MARSEILLE),
    cw.S_UNKNOWN: ('integrator', 'structure_unknown', cw.S_UNKNOWN),
    cw.S_TOULOUSE: ('gestionnaire', 'password_expiring', cw.LOGIN_SOON),
    cw.S_BORDEAUX: ('gestionnaire', 'account_rejected', cw.LOGIN_REJECTED),
    cw.S_STRASBOURG: ('gestionnaire', 'password_expired', cw.LOGIN_OLD),
    cw.S_NORACC: ('gestionnaire', 'raccordement_missing', cw.S_NORACC),  # one account: its own raccordement
    cw.S_BADAPP: ('integrator', 'piste_app_refused', 'refused'),
    cw.S_MISSING: ('gestionnaire', 'missing_account', cw.S_MISSING),
    cw.S_SHORT: ('integrator', 'invalid_input', cw.S_SHORT),
}


def test_every_structure_says_who_must_act_on_what(full_run):
    for siret, (action_by, kind, subject) in EXPECTED_CAUSES.items():
        entry = entry_of(full_run[0], siret)
        assert entry['action_by'] == action_by, siret
        assert entry['cause'] == ({'kind': kind, 'subject': subject} if kind else None), siret
        assert _statuses.cause_of(entry) == (action_by, entry['cause'])
        if kind:
            assert entry['cause_detail_fr'] and not re.search(r'\d{4}-\d{2}-\d{2}', entry['cause_detail_fr'])
    named = entry_of(full_run[0], cw.S_MISSING, 'TECH_nobody@cpp2017.fr')
    assert named['action_by'] == 'integrator' and 'chorus_accounts' in named['remediation']
    expiring = entry_of(full_run[0], cw.S_TOULOUSE)
    day, month, year = expiring['password_expires_on'][8:], expiring['password_expires_on'][5:7], expiring['password_expires_on'][:4]
    assert '%s/%s/%s' % (day, month, year) in expiring['cause_detail_fr']
    assert entry_of(full_run[0], cw.S_PARIS)['password_expiry_source'] == 'api'


def test_cause_of_falls_back_on_the_status():
    assert _statuses.cause_of({'status': 'access_forbidden', 'siret': cw.S_LYON}) == (
        'gestionnaire', {'kind': 'raccordement_missing', 'subject': cw.S_LYON})
    assert _statuses.cause_of({'status': 'piste_auth_failed', 'application': 'app1'}) == (
        'integrator', {'kind': 'piste_app_refused', 'subject': 'app1'})
    assert _statuses.cause_of({'status': 'api_unavailable'}) == ('integrator', {'kind': 'api_unavailable', 'subject': 'run'})
    assert _statuses.cause_of({'status': 'ok'}) == ('nobody', None)
    assert _statuses.cause_of({'status': 'unchecked'}) == ('nobody', None)
    for status in _statuses.STATUSES:
        assert _statuses.cause_of({'status': status})[0] in _statuses.ACTORS


def test_wrong_api_url_is_one_integrator_cause_and_no_gestionnaire_action():
    cases = [c for c in cw.CASES if c[4] not in ('invalid_input', 'missing_account', 'piste_auth_failed')]
    with running_sandbox(cw.world()) as sb:
        client = api.ChorusClient(oauth_url=sb.oauth_url, api_url=sb.api_url + '/cpro', retries=1,
                                  backoff_factor=0.001)
        result = run(sb, cw.structures(cases), client=client)
    entries = result['structures']
    assert {e['status'] for e in entries} == {'api_unavailable'}
    assert {e['action_by'] for e in entries} == {'integrator'}
    causes = {(e['cause']['kind'], e['cause']['subject']) for e in entries}
    assert causes == {('api_route', 'corail'), ('api_route', 'noracc')}  # one per application
    assert all('chorus_api_url' in e['remediation'] and "Action de l'intégrateur" in e['remediation'] for e in entries)


def test_two_accounts_of_one_application_failing_identically_is_the_applications_cause():
    # The application subscribed no API: both of its accounts get the same 403, none is accepted.
    world = cw.world()
    second = 'TECH_021130055300016@cpp2017.fr'
    world['accounts'].append({'login': second, 'password': 'Pw-second-1', 'environment': 'qualification',
                              'password_expires_on': '2026-01-01', 'structures': [cw.S_MARSEILLE]})
    accounts = cw.accounts()
    accounts[second] = {'password': 'Pw-second-1', 'environment': 'qualification'}
    cases = [('h', cw.S_NORACC, cw.LOGIN_NORACC, 'noracc', 'access_forbidden'),
             ('h', cw.S_MARSEILLE, second, 'noracc', 'access_forbidden')]
    with running_sandbox(world) as sb:
        result = run(sb, cw.structures(cases), accounts=accounts)
    entries = result['structures']
    assert [e['status'] for e in entries] == ['access_forbidden', 'access_forbidden']
    assert [(e['action_by'], e['cause']) for e in entries] == [('integrator', {'kind': 'api_route', 'subject': 'noracc'})] * 2
    # One of two accounts refused, the other accepted: each structure's own raccordement.
    cases[1] = ('h', cw.S_PARIS, cw.LOGIN_OK, 'noracc', 'ok')
    with running_sandbox(world) as sb:
        sb.set_world(dict(world, raccordements=world['raccordements'] + [{'client_id': 'cid-noracc', 'siret': cw.S_PARIS}]))
        result = run(sb, cw.structures(cases), accounts=accounts)
    assert result['structures'][0]['action_by'] == 'gestionnaire'
    assert result['structures'][0]['cause']['kind'] == 'raccordement_missing'


def test_qualification_identifier_failing_luhn_is_checked_online_with_a_warning():
    world = cw.world()
    qualif = '00000000002145'
    world['structures'].append({'siret': qualif, 'id_structure_cpp': 2145, 'designation': 'QUALIF 2145'})
    world['accounts'][0]['structures'].append(qualif)
    world['raccordements'].append({'client_id': 'cid-corail', 'siret': qualif})
    with running_sandbox(world) as sb:
        result = run(sb, cw.structures([('h', qualif, cw.LOGIN_OK, 'corail', 'ok')]))
        assert sb.calls('factures/v1/rechercher/recipiendaire') == 1
    entry = result['structures'][0]
    assert entry['status'] == 'ok' and 'siret_checksum_unusual' in entry['warnings']


def test_a_14_digit_yaml_integer_and_a_spaced_siret_are_the_same_structure():
    result = offline([{'host': 'h', 'siret': int(cw.S_PARIS), 'account': cw.LOGIN_OK, 'piste_app': 'corail'},
                      {'host': 'h', 'siret': '217 500 016.00019', 'account': cw.LOGIN_OK, 'piste_app': 'corail'}])
    assert [e['siret'] for e in result['structures']] == [cw.S_PARIS, cw.S_PARIS]
    assert [e['status'] for e in result['structures']] == ['unchecked', 'unchecked']


def test_happy_run_costs_at_most_p_plus_2a_plus_n_calls():
    cases = [('h', cw.S_PARIS, cw.LOGIN_OK, 'corail', 'ok'), ('h', cw.S_TOULOUSE, cw.LOGIN_SOON, 'corail', 'ok')]
    with running_sandbox(cw.world()) as sb:
        run(sb, cw.structures(cases))
        total = sb.stats()['total']
        assert sb.calls('recuperer/tauxtva') == 0
    assert total <= 1 + 2 * 2 + 2


def test_attached_structure_whose_reception_space_is_disabled_is_not_attached_with_a_warning():
    # Attached (rattachements lists it) but only the "factures émises" space is enabled: not in actives/destinataire.
    world = cw.world()
    for structure in world['structures']:
        if structure['siret'] == cw.S_MARSEILLE:
            structure['spaces'] = ['fournisseur']
    world['accounts'][0]['structures'].append(cw.S_MARSEILLE)
    world['raccordements'].append({'client_id': 'cid-corail', 'siret': cw.S_MARSEILLE})
    cases = [('h', cw.S_PARIS, cw.LOGIN_OK, 'corail', 'ok'), ('h', cw.S_MARSEILLE, cw.LOGIN_OK, 'corail', 'not_attached'),
             ('h', cw.S_UNKNOWN, cw.LOGIN_OK, 'corail', 'structure_unknown')]
    with running_sandbox(world) as sb:
        result = run(sb, cw.structures(cases))
        assert sb.calls('monCompte/recuperer/rattachements') == 1
        assert sb.calls('structures/v1/rechercher') == 1  # only for the SIRET attached nowhere
    marseille = entry_of(result, cw.S_MARSEILLE)
    assert marseille['status'] == 'not_attached' and 'reception_space_disabled' in marseille['warnings']
    assert marseille['id_structure_cpp'] is not None and 'reception space is not enabled' in marseille['detail']
    assert entry_of(result, cw.S_UNKNOWN)['status'] == 'structure_unknown'
    assert 'reception_space_disabled' not in entry_of(result, cw.S_UNKNOWN)['warnings']


def test_attachments_failing_falls_back_on_the_search():
    world = cw.world()
    with running_sandbox(world) as sb:
        client = client_for(sb, retries=0)
        original = client.call

        def call(app, account, operation, *args, **kwargs):
            if operation == check.OP_ATTACHMENTS:
                raise api.Unrouted('HTTP 403 with {} on /cpro/%s after 0 retries' % operation)
            return original(app, account, operation, *args, **kwargs)

        client.call = call
        result = run(sb, cw.structures([('h', cw.S_MARSEILLE, cw.LOGIN_OK, 'corail', 'not_attached')]), client=client)
    entry = result['structures'][0]
    assert entry['status'] == 'not_attached' and 'reception_space_disabled' not in entry['warnings']
