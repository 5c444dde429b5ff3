# -*- coding: utf-8 -*-
"""The AWX/AAP custom credential (docs/awx/credential_type_piste_app.yml) really feeds the roles."""
import json
import os

import yaml

from conftest import REPO, run_ansible
from fixtures import running_sandbox
from make_world import make_world, write_world


def _statuses(report_dir):
    with open(os.path.join(report_dir, 'latest', 'report.json'), encoding='utf-8') as handle:
        return {row['siret']: row['status'] for row in json.load(handle)['structures']}


def test_credential_injected_piste_app_replaces_the_inventory_one(tmp_path):
    with open(os.path.join(REPO, 'docs', 'awx', 'credential_type_piste_app.yml'), encoding='utf-8') as handle:
        credential_type = yaml.safe_load(handle)
    injected_var = list(credential_type['injectors']['extra_vars'])[0]
    assert injected_var == 'chorus_piste_app_credential'
    assert [f['id'] for f in credential_type['inputs']['fields'] if f.get('secret')] == ['client_secret']

    generated = make_world(10, hosts=2, seed=11, shares={})
    with running_sandbox(generated['world']) as sandbox:
        generated = make_world(10, hosts=2, seed=11, shares={}, url=sandbox.url)
        out = write_world(generated, str(tmp_path / 'w'))
        group_vars = os.path.join(out, 'inventory', 'group_vars', 'all', 'chorus.yml')
        with open(group_vars, encoding='utf-8') as handle:
            data = yaml.safe_load(handle)
        name, app = sorted(data['chorus_piste_apps'].items())[0]
        real_secret = app['client_secret']
        data['chorus_piste_apps'][name] = dict(app, client_secret='not-the-secret')
        with open(group_vars, 'w', encoding='utf-8') as handle:
            yaml.safe_dump(data, handle)
        inventory = os.path.join(out, 'inventory', 'hosts.yml')

        # What AWX would inject from the credential's inputs.
        credential = {'chorus_piste_app_credential': {'name': name, 'client_id': app['client_id'],
                                                      'client_secret': real_secret, 'environment': app['environment']}}
        extra = tmp_path / 'credential.json'
        extra.write_text(json.dumps(credential))

        without = tmp_path / 'without'
        run_ansible(['chorus.corail.check', '-i', inventory, '-e', 'chorus_check_report_dir=%s' % without], check=True)
        assert 'piste_auth_failed' in _statuses(str(without)).values()

        with_cred = tmp_path / 'with'
        proc = run_ansible(['chorus.corail.check', '-i', inventory, '-e', '@%s' % extra,
                            '-e', 'chorus_check_report_dir=%s' % with_cred], check=True)
        assert _statuses(str(with_cred)) == generated['expected']
        assert real_secret not in proc.stdout + proc.stderr
