# -*- coding: utf-8 -*-
"""chorus_rollout_check=false: a sliced AWX/AAP rollout deploys without writing partial reports."""
import os

from conftest import run_ansible
from fixtures import running_sandbox
from make_world import make_world, write_world


def test_rollout_without_the_check_deploys_and_writes_no_report(tmp_path):
    generated = make_world(8, hosts=2, seed=5, shares={})
    with running_sandbox(generated['world']) as sandbox:
        generated = make_world(8, hosts=2, seed=5, shares={}, url=sandbox.url)
        out = write_world(generated, str(tmp_path / 'w'))
        reports = tmp_path / 'reports'
        sandbox.reset()
        proc = run_ansible(['chorus.corail.rollout', '-i', os.path.join(out, 'inventory', 'hosts.yml'),
                            '-e', 'chorus_rollout_check=false', '-e', 'chorus_check_report_dir=%s' % reports,
                            # the online gate calls the API on its own (tests/functional/test_rollout_gate.py)
                            '-e', 'chorus_rollout_gate=false'],
                           cwd=str(tmp_path), check=True)
        assert sandbox.stats()['total'] == 0  # no API call: the check did not run
    assert not reports.exists()
    configs = [os.path.join(root, f) for root, _dirs, files in os.walk(os.path.join(out, 'servers')) for f in files]
    assert len(configs) == 2
    assert 'Rollout: 2 of 2 server(s) deployed' in proc.stdout
