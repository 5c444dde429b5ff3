# -*- coding: utf-8 -*-
"""Fault injection: a check of 1000 generated structures against a sandbox that fails on purpose.

Every structure must get the status the world implies (expected.json) or ``api_unavailable`` with
the cause in its detail, never a status that blames the account or the structure by mistake.
The 1000-structure runs call ``module_utils/_check.py`` directly (no Ansible start-up, no added
latency); one smaller run goes through the ``credentials_info`` module with ansible-playbook.
"""

import collections
import json
import re
import socket
import threading
import time

import pytest

from reliability_helpers import record, structures_of

from conftest import run_ansible
from fixtures import RunningSandbox, running_sandbox
from make_world import make_world

from ansible_collections.chorus.corail.plugins.module_utils._check import run_check
from ansible_collections.chorus.corail.plugins.module_utils._chorus_api import ChorusClient
from ansible_collections.chorus.corail.plugins.module_utils._statuses import STATUSES

STRUCTURES = 1000
SEED = 90210
# Statuses that blame the account or the structure: a fault of the API must never produce one.
BLAMING = ('missing_account', 'account_rejected', 'password_expired', 'not_attached', 'structure_unknown',
           'access_forbidden', 'piste_auth_failed', 'invalid_input')
CAUSE_RE = re.compile(r'HTTP 5\d\d|rate limited \(HTTP 429\)|timeout|connection error|access token was refused'
                      r'|unreadable|unexpected HTTP|after \d+ retries')


@pytest.fixture(scope='module')
def world():
    generated = make_world(STRUCTURES, hosts=20, seed=SEED)
    generated['structures'] = structures_of(generated)
    assert len(generated['structures']) == STRUCTURES
    return generated


def check(world, url=None, oauth_url=None, timeout=0.25, retries=3, retry_after_max=0.2):
    """One bulk check with fast client settings (timeouts and backoff in tens of milliseconds)."""
    client = ChorusClient(oauth_url=oauth_url or url + '/api/oauth/token', api_url=url, timeout=timeout,
                          retries=retries, backoff_factor=0.02, retry_after_max=retry_after_max, concurrency=8)
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
    """(correct, unavailable, wrong) where wrong lists (siret, expected, got, detail)."""
    correct = unavailable = 0
    wrong = []
    assert len(result['structures']) == STRUCTURES
    for entry in result['structures']:
        expected = world['expected'][entry['siret']]
        if entry['status'] == expected:
            correct += 1
        elif entry['status'] == 'api_unavailable' and CAUSE_RE.search(entry['detail'] or ''):
            unavailable += 1
        else:
            wrong.append((entry['siret'], expected, entry['status'], entry['detail']))
    assert sum(result['counts'].values()) == STRUCTURES and set(result['counts']) == set(STATUSES)
    return correct, unavailable, wrong


def assert_survived(world, result, name, max_unavailable, stats=None):
    correct, unavailable, wrong = judge(world, result)
    summary = collections.Counter((exp, got) for _s, exp, got, _d in wrong)
    assert not wrong, '%s: %d structure(s) misclassified (expected -> got: %s); first: %s' % (
        name, len(wrong), dict(summary), wrong[:3])
    assert unavailable <= max_unavailable, '%s: %d api_unavailable, more than %d: retries did not absorb the faults' % (
        name, unavailable, max_unavailable)
    responses = (stats or {}).get('responses', {})
    injected = sum(n for code, n in responses.items() if code.startswith('5') or code == '429')
    record('faults', scenario=name, structures=STRUCTURES, correct=correct, api_unavailable=unavailable,
           misclassified=len(wrong), http_calls=(stats or {}).get('total'), injected_5xx_429=injected,
           responses=responses, seconds=result['seconds'])
    return correct, unavailable


def test_reference_run_without_faults_matches_expected(world):
    with running_sandbox(world['world']) as sandbox:
        result = check(world, sandbox.url)
        correct, _unavailable = assert_survived(world, result, 'none', 0, sandbox.stats())
    assert correct == STRUCTURES
    assert all(result['counts'][s] for s in BLAMING if s not in ('invalid_input',)), result['counts']


@pytest.mark.parametrize('name, faults, max_unavailable', [pytest.param(*row, id=row[0]) for row in [
    ('5xx 10%', dict(error_rate=0.1, seed=1), 10),
    # Low enough that even a loaded CI machine goes over it (per client_id, sliding second).
    ('429 bursts with Retry-After', dict(rate_limit_per_s=120, retry_after_s=0.5), 30),
    ('tokens expiring mid-run', dict(token_ttl_s=0.2, latency_ms=1, jitter_ms=4, seed=2), 0),
    ('calls hanging past the timeout', dict(hang_rate=0.03, hang_ms=400, seed=3), 10),
    # Tokens shorter than a retry's backoff: the case that once gave false account_rejected.
    ('all at once, tokens of 50 ms', dict(error_rate=0.1, token_ttl_s=0.05, latency_ms=2, jitter_ms=6,
                                          hang_rate=0.02, hang_ms=400, rate_limit_per_s=600,
                                          retry_after_s=0.05, seed=4), 150),
]])
def test_faults_never_misclassify(world, name, faults, max_unavailable):
    with running_sandbox(world['world'], **faults) as sandbox:
        # The client waits what Retry-After says (up to 0.6 s here), long enough to see the window reopen.
        result = check(world, sandbox.url, retry_after_max=0.6 if name.startswith('429') else 0.2)
        stats = sandbox.stats()
    assert_survived(world, result, name, max_unavailable, stats)
    responses = stats['responses']
    if len(set(faults) - {'seed', 'latency_ms', 'jitter_ms', 'retry_after_s', 'hang_ms'}) > 1:
        return  # combined faults: each one's share depends on the others
    if 'error_rate' in faults:
        assert sum(n for code, n in responses.items() if code.startswith('5')) > 50, responses
    if 'rate_limit_per_s' in faults:
        assert responses.get('429', 0) > 0, responses
    if 'token_ttl_s' in faults:
        # Tokens really expired under the run: each application asked for a token several times.
        apps = len(world['inventory']['group_vars']['chorus_piste_apps'])
        assert sum(stats['calls']['/api/oauth/token'].values()) >= 3 * apps, stats['calls']['/api/oauth/token']
    if 'hang_rate' in faults:
        assert any('timeout' in (e['detail'] or '') or 'retried' in e['warnings'] for e in result['structures'])


def _free_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there any more: connection refused
    return port


def test_connection_refused_gives_api_unavailable_with_the_cause(world):
    result = check(world, 'http://127.0.0.1:%d' % _free_port(), retries=1)
    correct, unavailable, wrong = judge(world, result)
    assert not wrong, wrong[:3]
    offline = sum(1 for s in world['expected'].values() if s in ('missing_account', 'invalid_input'))
    assert correct == offline and unavailable == STRUCTURES - offline
    details = [e['detail'] for e in result['structures'] if e['status'] == 'api_unavailable']
    assert all('connection error on /api/oauth/token' in d for d in details), details[:3]
    # A token failure that is not PISTE's refusal is not cached: each account asks again (with one retry),
    # never one request per structure.
    groups = sum(1 for a in result['accounts'] if a['status'] == 'api_unavailable')
    assert set(result['api_calls']) == {'/api/oauth/token'}
    assert result['api_calls']['/api/oauth/token'] == 2 * groups
    assert all(e['cause']['kind'] == 'piste_app_unreachable' for e in result['structures'] if e['status'] == 'api_unavailable')
    record('faults', scenario='connection refused', structures=STRUCTURES, correct=correct,
           api_unavailable=unavailable, misclassified=0, seconds=result['seconds'])


def test_sandbox_stopped_mid_run(world):
    sandbox = RunningSandbox(world['world'], faults={'latency_ms': 3})
    try:
        stopper = threading.Timer(0.6, sandbox.stop)
        stopper.start()
        result = check(world, sandbox.url, retries=1)
        stopper.join()
    finally:
        sandbox.stop()
    correct, unavailable = assert_survived(world, result, 'sandbox stopped mid-run', STRUCTURES)
    assert correct > 0 and unavailable > 0, (correct, unavailable)


def test_credentials_info_module_under_faults(tmp_path):
    """150 structures through ansible-playbook and the module (its own client settings: retries 3,
    timeout 1 s, default backoff), 10% 5xx, tokens of 1 s and a few calls hanging 1.5 s."""
    generated = make_world(150, hosts=4, seed=SEED + 1)
    structures = structures_of(generated)
    gv = generated['inventory']['group_vars']
    with running_sandbox(generated['world'], error_rate=0.1, token_ttl_s=1, hang_rate=0.01, hang_ms=1500,
                         seed=7) as sandbox:
        (tmp_path / 'vars.json').write_text(json.dumps({
            'structures': structures, 'accounts': gv['chorus_accounts'], 'piste_apps': gv['chorus_piste_apps'],
            'oauth_url': sandbox.oauth_url, 'api_url': sandbox.api_url}))
        (tmp_path / 'play.yml').write_text(
            '- hosts: localhost\n  gather_facts: false\n  tasks:\n'
            '    - chorus.corail.credentials_info:\n'
            '        structures: "{{ structures }}"\n        accounts: "{{ accounts }}"\n'
            '        piste_apps: "{{ piste_apps }}"\n        oauth_url: "{{ oauth_url }}"\n'
            '        api_url: "{{ api_url }}"\n        timeout: 1\n        retries: 3\n'
            '      register: out\n      no_log: true\n'
            '    - ansible.builtin.copy:\n        content: "{{ out | to_json }}"\n        dest: %s\n'
            '        mode: "0600"\n' % (tmp_path / 'out.json'))
        proc = run_ansible(['-i', 'localhost,', '-c', 'local', '-e', '@%s' % (tmp_path / 'vars.json'),
                            str(tmp_path / 'play.yml')], cwd=str(tmp_path))
        stats = sandbox.stats()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    result = json.loads((tmp_path / 'out.json').read_text())
    wrong = []
    unavailable = 0
    for entry in result['structures']:
        expected = generated['expected'][entry['siret']]
        if entry['status'] == 'api_unavailable' and expected != 'api_unavailable':
            assert CAUSE_RE.search(entry['detail']), entry['detail']
            unavailable += 1
        elif entry['status'] != expected:
            wrong.append((entry['siret'], expected, entry['status'], entry['detail']))
    assert not wrong, wrong[:3]
    assert unavailable <= 5, unavailable
    assert sum(n for code, n in stats['responses'].items() if code.startswith('5')) > 10, stats['responses']
    record('faults', scenario='credentials_info module (150, 5xx + 1 s tokens + hangs)', structures=150,
           correct=150 - unavailable, api_unavailable=unavailable, misclassified=0, http_calls=stats['total'],
           responses=stats['responses'])
