# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.chorus.corail.plugins.module_utils import _corail_config as cc
from ansible_collections.chorus.corail.plugins.module_utils import _drift

PAU, LONS, BAD = '21640445900002', '21640001000015', '21640001000016'
APPS = [dict(name='corail', environment='production', client_id='cid', client_secret='client-secret-1')]
STRUCTURES = [dict(siret=PAU, account='TECH_1_pau@cpro.fr', password='pau-password-1'),
              dict(siret=LONS, account='TECH_1_lons@cpro.fr', password='lons-password-1')]


def plan(original, structures=STRUCTURES, apps=APPS):
    layout = cc.resolve_layout('ini')
    return cc.plan('ini', original, layout, apps, structures)


def test_plan_drift_of_a_new_file_a_synced_file_and_a_file_edited_by_hand():
    new = plan(None)
    assert _drift.plan_drift(new) == {PAU: ['not_deployed'], LONS: ['not_deployed']}
    assert _drift.plan_drift(plan(new.content)) == {}
    edited = new.content.replace(b'TECH_1_lons@cpro.fr', b'TECH_1_other@cpro.fr').replace(b'cid', b'cid-2')
    assert _drift.plan_drift(plan(edited)) == {PAU: ['piste_app.client_id'],
                                               LONS: ['account', 'piste_app.client_id']}


def test_describe_masks_every_secret_field():
    assert _drift.describe(['account', 'password', 'piste_app.client_secret', 'not_deployed']) == [
        'account', 'password <secret differs>', 'piste_app.client_secret <secret differs>', 'not_deployed']


def result():
    return {'structures': [
        {'host': 'srv1', 'siret': PAU, 'status': 'ok', 'warnings': []},
        {'host': 'srv1', 'siret': LONS, 'status': 'password_expiring', 'warnings': ['password_expiring']},
        {'host': 'srv1', 'siret': BAD, 'status': 'missing_account', 'warnings': []},
        {'host': 'srv2', 'siret': PAU, 'status': 'ok', 'warnings': []},
        {'host': 'srv3', 'siret': LONS, 'status': 'ok', 'warnings': []},
    ]}


def test_merge_adds_the_warning_to_the_drifting_entries_only():
    original = result()
    merged = _drift.merge(original, {
        'srv1': {'changed': True, 'drift': {LONS: ['password']}},
        'srv2': {'failed': True, 'msg': '/etc/corail.ini: line 3 is neither\nkey = value nor a comment'},
        'srv3': {'skipped': True},
    })
    rows = [(e['host'], e['siret'], e['warnings'], e.get('drift')) for e in merged['structures']]
    assert rows == [
        ('srv1', PAU, [], None),
        ('srv1', LONS, ['password_expiring', 'config_drift'], ['password <secret differs>']),
        ('srv1', BAD, [], None),  # never deployable: its status says why
        ('srv2', PAU, ['config_drift'], ['settings_unreadable (/etc/corail.ini: line 3 is neither key = value nor a comment)']),
        ('srv3', LONS, [], None),  # skipped: not compared
    ]
    assert merged['drift'] == {'hosts_checked': 2, 'hosts_unreadable': ['srv2'], 'structures': 2}
    assert original == result()  # the input is not modified


def test_merge_without_any_host_compared_returns_the_result_as_it_is():
    assert _drift.merge(result(), {'srv1': {'skipped': True}}) == result()
    assert _drift.merge(result(), {}) == result()
    assert _drift.merge({'failed': True}, {'srv1': {}}) == {'failed': True}
