# -*- coding: utf-8 -*-
"""Fault-injection harness: a proxy between the collection and the sandbox (``fault_proxy.py``).

Each scenario of the issue's list (and more of the same families) runs the whole check of a generated
world of 320 structures, a third of its qualification structures with identifiers that fail Luhn, through
the proxy. The truth is the world's expected statuses; the only other allowed outcome is
``api_unavailable`` (with its reason in the detail). Any other status is a misclassification: the
acceptance is 0 in every scenario. Figures: docs/reliability.md ("Fault proxy").
"""

import collections
import time

import pytest

from fault_proxy import (
    HTML_403, HTML_404, HTML_502, HTML_503, FaultProxy, json_mutation, mutate, reply, reset, trickle,
)
from reliability_helpers import record, structures_of

from fixtures import running_sandbox
from make_world import make_world, with_qualification_ids

from ansible_collections.chorus.corail.plugins.module_utils._check import run_check
from ansible_collections.chorus.corail.plugins.module_utils._chorus_api import ChorusClient

STRUCTURES = 320
SEED = 1313
TIMEOUT = 0.5
RETRIES = 3


@pytest.fixture(scope='module')
def world():
    generated = with_qualification_ids(make_world(STRUCTURES, hosts=8, seed=SEED), share=0.34, seed=SEED)
    generated['structures'] = structures_of(generated)
    assert len(generated['structures']) == STRUCTURES and generated['qualification_ids']
    return generated


def check(world, api_url, oauth_url=None):
    client = ChorusClient(oauth_url=oauth_url or api_url + '/api/oauth/token', api_url=api_url, timeout=TIMEOUT,
                          retries=RETRIES, backoff_factor=0.01, retry_after_max=0.1, concurrency=8)
    started = time.monotonic()
    try:
        gv = world['inventory']['group_vars']
        result = run_check(world['structures'], gv['chorus_accounts'], gv['chorus_piste_apps'], client=client,
                           concurrency=8)
    finally:
        client.close()
    result['seconds'] = round(time.monotonic() - started, 2)
    return result


def judge(world, result):
    """(correct, unavailable, wrong): the truth, api_unavailable with a reason, anything else."""
    correct = unavailable = 0
    wrong = []
    for entry in result['structures']:
        expected = world['expected'][entry['siret']]
        if entry['status'] == expected:
            correct += 1
        elif entry['status'] == 'api_unavailable' and entry['detail'] and entry['action_by'] == 'integrator':
            unavailable += 1
        else:
            wrong.append((entry['siret'], expected, entry['status'], entry['detail']))
    return correct, unavailable, wrong


# -- scenarios: request -> action or None ------------------------------------------------------------------

def first_token(action):
    return lambda r: action if r.is_token and r.n == 0 else None


def token_json(func):
    return lambda r: json_mutation(func) if r.is_token else None


def api_share(share, action, path=None):
    def scenario(r):
        if r.is_api and (path is None or r.path.endswith(path)) and r.rng.random() < share:
            return action() if callable(action) else action
        return None
    return scenario


def _without(key):
    def func(obj):
        obj.pop(key, None)
        return obj
    return func


def _with(key, value):
    def func(obj):
        obj[key] = value
        return obj
    return func


def _drop_lists(obj):
    return dict((k, v) for k, v in obj.items() if not k.startswith('liste') and k != 'informationGenerales')


def _truncate(status, headers, body):
    return status, headers, body[:max(1, len(body) // 2)]


def _unknown_code(obj):
    obj['codeRetour'] = 99999
    obj['libelle'] = 'GCU_MSG_99_999'
    return obj


SCENARIOS = [
    # (name, family, scenario)
    ('none (reference)', 'reference', None),
    # The API's own shapes the client must read as verdicts, not faults (sandbox knobs):
    ('403 bodies that echo the request (API)', 'api-shape', {'forbidden_body': 'echo'}),
    ('expiry as a plain date (API)', 'api-shape', {'expiry_format': 'date'}),
    ('token: HTML 404 on the first request', 'token', first_token(reply(404, HTML_404))),
    ('token: bare 407 on the first request', 'token', first_token(reply(407, b'', 'text/plain',
                                                                        {'Proxy-Authenticate': 'Basic realm="corp"'}))),
    ('token: truncated answer on the first request', 'token', first_token(mutate(_truncate))),
    ('token: HTML 503 maintenance page, 40%', 'token', lambda r: reply(503, HTML_503) if r.is_token and r.rng.random() < 0.4 else None),
    ('token: expires_in missing', 'token', token_json(_without('expires_in'))),
    ('token: expires_in 0', 'token', token_json(_with('expires_in', 0))),
    ('token: expires_in 3600.0', 'token', token_json(_with('expires_in', 3600.0))),
    ('gateway HTML 403 page, 15% of API calls', 'shape', api_share(0.15, reply(403, HTML_403))),
    ('401 without WWW-Authenticate, 15%', 'shape', api_share(0.15, reply(401, b'Unauthorized', 'text/plain'))),
    ('proxy HTML 404, 15%', 'shape', api_share(0.15, reply(404, HTML_404))),
    ('403 {} on some calls (unrouted shape), 15%', 'shape', api_share(0.15, reply(403, b'{}', 'application/json'))),
    ('HTTP 200 with an unknown codeRetour on the structure search, 30%', 'shape',
     api_share(0.3, json_mutation(_unknown_code), 'structures/v1/rechercher')),
    ('HTTP 200 {} where a list is expected, 15%', 'shape', api_share(0.15, reply(200, b'{}', 'application/json'))),
    ('HTTP 200 with the list field missing, 15%', 'shape', api_share(0.15, json_mutation(_drop_lists))),
    ('truncated JSON answers, 15%', 'shape', api_share(0.15, mutate(_truncate))),
    ('HTTP 200 HTML page, 10%', 'shape', api_share(0.1, reply(200, HTML_503))),
    ('gateway HTML 502, 15%', 'transport', api_share(0.15, reply(502, HTML_502))),
    ('connection reset without an answer, 10%', 'transport', api_share(0.1, reset())),
    ('answers trickling past the timeout, 5%', 'transport', api_share(0.05, trickle(0.02))),
    ('everything above at once, 3% each', 'mixed', None),
]


def _mixed(request):
    actions = [reply(403, HTML_403), reply(401, b'Unauthorized', 'text/plain'), reply(404, HTML_404),
               reply(403, b'{}', 'application/json'), reply(200, b'{}', 'application/json'), mutate(_truncate),
               reply(502, HTML_502), reset(), trickle(0.02), json_mutation(_drop_lists)]
    if request.is_token:
        return reply(407, b'', 'text/plain') if request.rng.random() < 0.1 else None
    if not request.is_api:
        return None
    draw = request.rng.random()
    return actions[int(draw / 0.03)] if draw < 0.03 * len(actions) else None


@pytest.mark.parametrize('name, family, scenario', [pytest.param(*row, id=row[0]) for row in SCENARIOS])
def test_fault_scenario_misclassifies_nothing(world, name, family, scenario):
    knobs = {}
    if family == 'mixed':
        scenario = _mixed
    elif family == 'api-shape':
        knobs, scenario = scenario, None
    with running_sandbox(world['world'], **knobs) as sandbox:
        with FaultProxy(sandbox.url, scenario, seed=SEED) as proxy:
            result = check(world, proxy.url)
            stats = sandbox.stats()
    correct, unavailable, wrong = judge(world, result)
    summary = collections.Counter((exp, got) for _s, exp, got, _d in wrong)
    assert not wrong, '%s: %d misclassified (expected -> got: %s); first: %s' % (
        name, len(wrong), dict(summary), wrong[:3])
    if family in ('reference', 'api-shape'):
        assert correct == STRUCTURES
        # The budget: P + 2A + N, plus one fresh token and one retry per rejected account (design.md).
        apps, accounts = len(world['world']['apps']), len(result['accounts'])
        rejected = sum(1 for a in result['accounts'] if a['status'] in ('account_rejected', 'password_expired'))
        online = sum(1 for s in world['expected'].values() if s not in ('invalid_input', 'missing_account'))
        assert '/cpro/transverses/v1/recuperer/tauxtva' not in result['api_calls']
        assert sum(result['api_calls'].values()) <= apps + 2 * accounts + online + 2 * rejected
        assert result['api_calls'] == dict((path, sum(by.values())) for path, by in stats['calls'].items())
    elif family == 'token' and 'expires_in' in name:
        assert correct == STRUCTURES, 'a token answer without a usable expires_in must still be used'
        # Reused like any token: one per application, plus the fresh one each rejected account asks for.
        rejected = sum(1 for a in result['accounts'] if a['status'] in ('account_rejected', 'password_expired'))
        assert result['api_calls']['/api/oauth/token'] <= len(world['world']['apps']) + rejected
    elif family != 'api-shape':
        assert sum(proxy.injected.values()) > 0, 'the scenario injected nothing'
    quali = [e for e in result['structures'] if e['siret'] in world['qualification_ids']]
    assert quali and all('siret_checksum_unusual' in e['warnings'] for e in quali)
    assert all(e['status'] != 'invalid_input' or world['expected'][e['siret']] == 'invalid_input' for e in quali)
    record('fault_proxy', scenario=name, family=family, structures=STRUCTURES, correct=correct,
           api_unavailable=unavailable, misclassified=len(wrong), injected=sum(proxy.injected.values()),
           proxied_requests=proxy.requests, http_calls=stats['total'], seconds=result['seconds'])


def test_wrong_api_url_is_one_integrator_cause_per_application(world):
    # An extra /cpro in chorus_api_url: every call answers the gateway's unrouted 403 {}.
    with running_sandbox(world['world']) as sandbox:
        result = check(world, sandbox.url + '/cpro', oauth_url=sandbox.oauth_url)
    correct, unavailable, wrong = judge(world, result)
    assert not wrong, wrong[:3]
    online = [e for e in result['structures'] if world['expected'][e['siret']] not in
              ('invalid_input', 'missing_account', 'piste_auth_failed')]
    assert online and {e['status'] for e in online} == {'api_unavailable'}
    assert {e['action_by'] for e in online} == {'integrator'}
    causes = collections.Counter((e['cause']['kind'], e['cause']['subject']) for e in online)
    assert {kind for kind, _subject in causes} == {'api_route'}
    assert len(causes) == len({e['piste_app'] for e in online})  # one cause per application
    assert not [e for e in online if e['action_by'] == 'gestionnaire']
    record('fault_proxy', scenario='wrong chorus_api_url (extra /cpro)', family='route', structures=STRUCTURES,
           correct=correct, api_unavailable=unavailable, misclassified=len(wrong), causes=len(causes),
           gestionnaire_actions=0, seconds=result['seconds'])


def test_a_proxy_answering_407_everywhere_is_the_integrators_token_problem(world):
    with running_sandbox(world['world']) as sandbox:
        with FaultProxy(sandbox.url, lambda r: reply(407, b'', 'text/plain')) as proxy:
            result = check(world, proxy.url)
    correct, unavailable, wrong = judge(world, result)
    assert not wrong, wrong[:3]
    online = [e for e in result['structures'] if e['status'] == 'api_unavailable']
    assert len(online) == unavailable and unavailable > 0
    assert {e['cause']['kind'] for e in online} == {'piste_app_unreachable'}
    assert all('HTTP 407' in e['detail'] for e in online)
    record('fault_proxy', scenario='proxy 407 on every request', family='token', structures=STRUCTURES,
           correct=correct, api_unavailable=unavailable, misclassified=len(wrong), seconds=result['seconds'])


def test_trickling_answer_is_cut_at_the_deadline(world):
    # The case: an answer that trickles in held a run for 87 s with a 2 s timeout.
    structures = world['structures'][:20]
    gv = world['inventory']['group_vars']
    with running_sandbox(world['world']) as sandbox:
        with FaultProxy(sandbox.url, lambda r: trickle(0.05) if r.is_api else None) as proxy:
            client = ChorusClient(oauth_url=proxy.url + '/api/oauth/token', api_url=proxy.url, timeout=TIMEOUT,
                                  retries=1, backoff_factor=0.01, concurrency=8)
            started = time.monotonic()
            result = run_check(structures, gv['chorus_accounts'], gv['chorus_piste_apps'], client=client,
                               concurrency=8)
            elapsed = time.monotonic() - started
            client.close()
    assert all(e['status'] in ('api_unavailable', world['expected'][e['siret']]) for e in result['structures'])
    groups = len(result['accounts'])
    # Per group at most 2 tries of the account call, each cut at TIMEOUT; groups run 8 at a time.
    assert elapsed < (groups / 8.0 + 1) * 2 * (TIMEOUT + 0.1) + 2, elapsed
    details = [e['detail'] or '' for e in result['structures'] if e['status'] == 'api_unavailable']
    assert details and all('timeout on /cpro/' in d for d in details), details[:3]
