# -*- coding: utf-8 -*-
"""Inventory-wide conflicts in the deploy gate (issue 20), end to end.

One SIRET declared with two accounts, or two PISTE applications, in one environment, anywhere in the
inventory: the deploy role leaves out exactly those structures, on every host that lists them, with the
check's own reason, and deploys everything else. The conflicts are computed once per run, even across
serial batches; a host with broken variables does not stop the others. The table and the filter's own
tests: tests/unit/plugins/filter/test_inventory_conflicts.py.
"""

import json
import re
import sys

import pytest

from conftest import run_ansible

from ansible_collections.chorus.corail.tests.unit.plugins.filter.test_inventory_conflicts import (
    ACCOUNTS, ACCOUNT_REASON, APPS, APP_REASON, FAILING, HOSTS, PASSWORDS)


@pytest.fixture(scope='module')
def deploy(tmp_path_factory):
    base = tmp_path_factory.mktemp('deploy-conflicts')
    hosts = {}
    for host, (variables, _expected) in HOSTS.items():
        hosts[host] = dict(variables, corail_config_path=str(base / ('%s.ini' % host)),
                           ansible_connection='local', ansible_python_interpreter=sys.executable)
    inventory = {'all': {'hosts': hosts, 'vars': {'chorus_accounts': ACCOUNTS, 'chorus_piste_apps': APPS,
                                                  'chorus_piste_app': 'q'}}}
    (base / 'inventory.yml').write_text(json.dumps(inventory))
    # serial 2: four batches, the conflicts are still computed once
    (base / 'play.yml').write_text('- hosts: all\n  serial: 2\n  gather_facts: false\n  roles: [chorus.corail.deploy]\n')
    proc = run_ansible(['-i', str(base / 'inventory.yml'), str(base / 'play.yml')], cwd=str(base))
    return base, proc


def test_only_the_structures_in_conflict_are_left_out(deploy):
    base, proc = deploy
    out = proc.stdout
    for host in HOSTS:
        assert re.search(r'%s +: .*failed=%d' % (host, host in FAILING), out), (host, out[-3000:])
    for host, (_variables, expected) in HOSTS.items():
        path = base / ('%s.ini' % host)
        if expected is None:
            assert not path.exists(), host
            continue
        written = re.findall(r'^\[chorus\.structure\.(\d{14})\]', path.read_text(), re.M)
        assert sorted(written) == sorted(expected), (host, written)
    for reason in (ACCOUNT_REASON, APP_REASON):
        assert out.count('structure %s: %s' % (reason.split()[2], reason)) == 2, out[-4000:]
    for secret in list(PASSWORDS.values()) + [a['client_secret'] for a in APPS.values()]:
        assert secret not in out + proc.stderr


def test_the_conflicts_are_computed_once_per_run(deploy):
    _base, proc = deploy
    blocks = proc.stdout.split('TASK [chorus.corail.deploy : Find the SIRETs declared twice in one environment')[1:]
    assert len(blocks) == 4  # one per batch (8 hosts, serial 2)
    ran = [b for b in blocks if re.match(r'[^\n]*\n(ok|changed): \[[^\]]+ -> localhost\]', b)]
    assert len(ran) == 1, [b[:200] for b in blocks]
