# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The world generator: reproducible, consistent, and its expected statuses follow from the API."""

import collections
import datetime
import importlib.util
import json
import os
import subprocess
import sys

import pytest
import yaml

from sandbox_testlib import SANDBOX_DIR, WORLD
from fixtures import running_sandbox
from make_world import DEFAULT_SHARES, make_world, write_world
from reference_check import reference_check

TODAY = '2025-06-01'
REPO = os.path.dirname(os.path.dirname(SANDBOX_DIR))


def _identifiers():
    """The collection's own SIRET and login checks, imported as Ansible does (from .tmp/link)."""
    link = os.path.join(REPO, '.tmp', 'link')
    if link not in sys.path:
        sys.path.insert(0, link)
    return importlib.import_module('ansible_collections.chorus.corail.plugins.module_utils._identifiers')


def _structures(result):
    for host, hvars in result['inventory']['host_vars'].items():
        for st in hvars['corail_structures']:
            yield host, st


@pytest.mark.parametrize('basic_auth', [False, True])
def test_expected_statuses_follow_from_the_check_sequence(basic_auth):
    result = make_world(120, hosts=5, seed=3, today=TODAY)
    with running_sandbox(result['world']) as sb:
        got, calls = reference_check(result['inventory'], sb.oauth_url, sb.api_url,
                                     today=datetime.date.fromisoformat(TODAY), basic_auth=basic_auth)
        served = sb.stats()
    assert got == result['expected']
    assert sum(calls.values()) == served['total']
    assert set(result['expected'].values()) == {
        'ok', 'missing_account', 'account_rejected', 'password_expired', 'password_expiring', 'not_attached',
        'structure_unknown', 'access_forbidden', 'piste_auth_failed'}


def test_shares_are_exact_and_ok_is_the_rest():
    result = make_world(200, seed=1, today=TODAY, shares={'missing': 0.1, 'unknown': 0.02, 'piste_failed': 0})
    counts = result['counts']
    assert counts['missing_account'] == 20 and counts['structure_unknown'] == 4
    assert 'piste_auth_failed' not in counts
    assert counts['account_rejected'] == counts['password_expired'] == 10  # default 5 %
    assert sum(counts.values()) == 200
    assert counts['ok'] == 200 - 20 - 4 - 5 * 10


def test_same_seed_same_world_other_seed_other_world():
    one = make_world(80, seed=9, today=TODAY)
    assert one == make_world(80, seed=9, today=TODAY)
    assert one['world'] != make_world(80, seed=10, today=TODAY)['world']


def test_identifiers_are_valid_unique_and_usual():
    ids = _identifiers()
    result = make_world(300, seed=4, today=TODAY)
    sirets = [st['siret'] for dummy, st in _structures(result)]
    assert len(sirets) == len(set(sirets)) == 300
    assert all(ids.siret_valid(s) and s.startswith('2') for s in sirets)
    world_ids = [s['id_structure_cpp'] for s in result['world']['structures']]
    assert len(world_ids) == len(set(world_ids))
    logins = [a['login'] for a in result['world']['accounts']]
    assert len(logins) == len(set(logins))
    assert all(ids.login_problem(l) is None and ids.login_shape_usual(l) for l in logins)
    assert {l.split('@')[1] for l in logins} == {'cpp2017.fr', 'cpro.fr'}
    accounts = result['inventory']['group_vars']['chorus_accounts']
    assert all(ids.password_problem(a['password']) is None for a in accounts.values())
    assert not any(m in a['password'] for a in accounts.values() for m in ('{{', '{%', '{#'))
    assert any(':' in a['password'] for a in accounts.values())
    # About 2.5 structures per technical account.
    per_account = collections.Counter(st['account'] for dummy, st in _structures(result) if st['account'])
    assert 2.0 <= sum(per_account.values()) / len(per_account) <= 3.2


def test_each_account_carries_at_most_one_kind_of_problem():
    result = make_world(400, seed=6, today=TODAY)
    by_account = collections.defaultdict(set)
    for dummy, st in _structures(result):
        by_account[st['account']].add(result['expected'][st['siret']])
    for login, found in by_account.items():
        if not login:
            continue
        problems = found - {'ok'}
        assert len(problems) <= 1, (login, found)  # 400 structures give enough healthy accounts
        if problems & {'not_attached', 'structure_unknown'}:
            assert 'ok' in found  # the account works, only that structure is off
        if problems & {'account_rejected', 'password_expired', 'password_expiring', 'piste_auth_failed',
                       'missing_account'}:
            assert found == problems


def test_world_and_inventory_agree():
    result = make_world(150, seed=8, today=TODAY)
    world, gvars = result['world'], result['inventory']['group_vars']
    accounts = {a['login']: a for a in world['accounts']}
    for login, acc in gvars['chorus_accounts'].items():
        expires = datetime.date.fromisoformat(accounts[login]['password_expires_on'])
        changed = datetime.date.fromisoformat(acc['password_changed_on'])
        assert (expires - changed).days == 424
        assert acc['environment'] == accounts[login]['environment']
    apps = {a['client_id']: a for a in world['apps']}
    for name, app in gvars['chorus_piste_apps'].items():
        assert app['environment'] == apps[app['client_id']]['environment'], name
    for host, hvars in result['inventory']['host_vars'].items():
        assert hvars['chorus_piste_app'] in gvars['chorus_piste_apps'], host
        for st in hvars['corail_structures']:
            assert set(st) <= {'siret', 'name', 'account', 'piste_app', 'service_code', 'contact'}
            assert st.get('piste_app', hvars['chorus_piste_app']) in gvars['chorus_piste_apps']
    assert world['today'] == TODAY
    assert 'today' not in make_world(5, seed=1)['world']  # real today unless asked


def test_write_world_files(tmp_path):
    result = make_world(40, hosts=3, seed=2, url='http://127.0.0.1:9', today=TODAY)
    out = write_world(result, str(tmp_path / 'w'))
    inv = os.path.join(out, 'inventory')
    hosts = yaml.safe_load(open(os.path.join(inv, 'hosts.yml'), encoding='utf-8'))
    members = hosts['all']['children']['corail']['hosts']
    assert sorted(members) == ['corail-001', 'corail-002', 'corail-003']
    for host, hvars in members.items():
        assert hvars['ansible_connection'] == 'local'
        assert hvars['corail_config_path'] == os.path.join(out, 'servers', host, 'corail.ini')
        assert os.path.isdir(os.path.dirname(hvars['corail_config_path']))
        hv = yaml.safe_load(open(os.path.join(inv, 'host_vars', host + '.yml'), encoding='utf-8'))
        assert hv == result['inventory']['host_vars'][host]
    gvars = yaml.safe_load(open(os.path.join(inv, 'group_vars', 'all', 'chorus.yml'), encoding='utf-8'))
    assert gvars['chorus_oauth_url'] == 'http://127.0.0.1:9/api/oauth/token'
    assert gvars['chorus_api_url'] == 'http://127.0.0.1:9'
    assert all(isinstance(a['password_changed_on'], str) for a in gvars['chorus_accounts'].values())
    with open(os.path.join(out, 'expected.json'), encoding='utf-8') as handle:
        assert json.load(handle) == result['expected']
    with running_sandbox(os.path.join(out, 'world.yml')) as sb:  # the written world loads
        assert sb.sandbox.world.today().isoformat() == TODAY


def test_command_line(tmp_path):
    out = tmp_path / 'cli'
    proc = subprocess.run([sys.executable, os.path.join(SANDBOX_DIR, 'make_world.py'), '--structures', '30',
                           '--seed', '5', '--out', str(out), '--share-missing', '0.1', '--share-piste-failed', '0',
                           '--today', TODAY], capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary['counts']['missing_account'] == 3
    assert 'chorus_oauth_url' not in yaml.safe_load((out / 'inventory/group_vars/all/chorus.yml').read_text())
    same = make_world(30, seed=5, today=TODAY, shares=dict(DEFAULT_SHARES, missing=0.1, piste_failed=0))
    assert json.loads((out / 'expected.json').read_text()) == same['expected']
    bad = subprocess.run([sys.executable, os.path.join(SANDBOX_DIR, 'make_world.py'), '--structures', '10',
                          '--out', str(tmp_path / 'x'), '--share-missing', '0.9', '--share-rejected', '0.5'], capture_output=True, text=True,
                         timeout=30, check=False)
    assert bad.returncode == 2 and 'more than all' in bad.stderr


@pytest.mark.parametrize('kwargs, message', [
    ({'n': 0}, 'at least one'),
    ({'n': 10, 'shares': {'bogus': 0.1}}, 'unknown share'),
    ({'n': 10, 'shares': {'missing': 1.5}}, 'between 0 and 1'),
    ({'n': 4, 'shares': dict.fromkeys(DEFAULT_SHARES, 0.0) | {'rejected': 0.5, 'unknown': 0.5}}, 'healthy'),
])
def test_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_world(**kwargs)


def test_small_and_problem_free_worlds():
    result = make_world(3, seed=1, shares=dict.fromkeys(DEFAULT_SHARES, 0.0), today=TODAY)
    assert set(result['expected'].values()) == {'ok'}
    assert len(result['world']['apps']) == 1
    assert WORLD['today'] == TODAY  # same fixed date as the hand-written world


def test_qualification_ids_fail_luhn_and_keep_every_status():
    from make_world import luhn_ok, make_world, with_qualification_ids  # pylint: disable=import-error
    base = make_world(120, seed=5)
    renumbered = with_qualification_ids(base, share=0.5, seed=5)
    assert renumbered['qualification_ids'] and not any(luhn_ok(s) for s in renumbered['qualification_ids'])
    assert sorted(renumbered['expected'].values()) == sorted(base['expected'].values())
    world_sirets = {s['siret'] for s in renumbered['world']['structures']}
    inventory_sirets = {s['siret'] for hv in renumbered['inventory']['host_vars'].values() for s in hv['corail_structures']}
    assert set(renumbered['qualification_ids']) <= world_sirets | inventory_sirets
    apps = renumbered['inventory']['group_vars']['chorus_piste_apps']
    for hostvars in renumbered['inventory']['host_vars'].values():
        for structure in hostvars['corail_structures']:
            if structure['siret'] in renumbered['qualification_ids']:
                app = structure.get('piste_app') or hostvars.get('chorus_piste_app')
                assert apps[app]['environment'] == 'qualification'
