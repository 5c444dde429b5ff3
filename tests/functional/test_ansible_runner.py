# -*- coding: utf-8 -*-
"""The rollout and check playbooks through ansible-runner (the engine AWX/AAP uses).

The private data folder is laid out as AWX hands it to an execution environment: ``project/``
(the integrator's project, whose playbooks import the collection's), ``inventory/``,
``env/envvars`` and ``env/extravars``; the collection sits apart, on ``ANSIBLE_COLLECTIONS_PATH``
as in the image, and the sandbox stands in for PISTE and Chorus Pro.
"""
import json
import os
import shutil
import sys

import ansible_runner
import yaml

from conftest import LINK
from fixtures import running_sandbox
from make_world import make_world, write_world


def _write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as handle:
        yaml.safe_dump(data, handle)


def _contents(paths):
    out = {}
    for path in paths:
        with open(path, 'rb') as handle:
            out[path] = handle.read()
    return out


def _run(data_dir, playbook):
    result = ansible_runner.run(private_data_dir=data_dir, playbook=playbook, quiet=True)
    stdout = result.stdout.read()
    assert result.status == 'successful' and result.rc == 0, stdout[-4000:]
    return result, stdout


def test_rollout_then_check_through_ansible_runner(tmp_path):
    generated = make_world(6, hosts=2, seed=11, shares={})
    with running_sandbox(generated['world']) as sandbox:
        generated = make_world(6, hosts=2, seed=11, shares={}, url=sandbox.url)
        out = write_world(generated, str(tmp_path / 'w'))
        data_dir = str(tmp_path / 'runner')
        shutil.copytree(os.path.join(out, 'inventory'), os.path.join(data_dir, 'inventory'))
        os.makedirs(os.path.join(data_dir, 'project'))
        for name in ('rollout', 'check'):
            with open(os.path.join(data_dir, 'project', '%s.yml' % name), 'w') as handle:
                handle.write('---\n- name: The collection\'s %s\n  ansible.builtin.import_playbook: chorus.corail.%s\n'
                             % (name, name))
        reports = str(tmp_path / 'reports')
        _write(os.path.join(data_dir, 'env', 'envvars'), {
            'ANSIBLE_COLLECTIONS_PATH': LINK, 'ANSIBLE_COLLECTIONS_SCAN_SYS_PATH': 'false',
            'ANSIBLE_PYTHON_INTERPRETER': sys.executable, 'ANSIBLE_NOCOLOR': '1'})
        _write(os.path.join(data_dir, 'env', 'extravars'), {'chorus_check_report_dir': reports})

        rollout, stdout = _run(data_dir, 'rollout.yml')
        assert 'Rollout: 2 of 2 server(s) deployed' in stdout
        assert sorted(rollout.stats['changed']) == sorted(generated['inventory']['host_vars'])
        configs = [os.path.join(root, f) for root, _dirs, files in os.walk(os.path.join(out, 'servers')) for f in files]
        deployed = _contents(configs)
        sandbox.reset()
        _run(data_dir, 'check.yml')
        assert sandbox.stats()['total'] > 0
        assert _contents(configs) == deployed  # the check reads, never writes
    with open(os.path.join(reports, 'latest', 'report.json'), encoding='utf-8') as handle:
        report = json.load(handle)
    statuses = dict((s['siret'], s['status']) for s in report['structures'])
    assert statuses == generated['expected']
    assert len(configs) == 2 and all(os.stat(c).st_mode & 0o777 == 0o600 for c in configs)
