# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Prometheus textfile (parsed with prometheus_client in tests/functional/notify) and report retention."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os

import pytest

from ansible_collections.chorus.corail.plugins.module_utils import _metrics as mt
from ansible_collections.chorus.corail.plugins.module_utils import _report as rp
from ansible_collections.chorus.corail.plugins.module_utils import _retention as rt

T0 = datetime.datetime(2026, 12, 2, 1, 0, 0, tzinfo=datetime.timezone.utc)


def report(rows, **scope):
    rows = [dict({'host': 'srv1', 'siret': '21640000200012', 'status': 'ok', 'days_left': None}, **r) for r in rows]
    counts = dict((s, 0) for s in rp.count_statuses([]))
    for r in rows:
        counts[r['status']] += 1
    return {'generated_at': '2026-12-02T01:00:00Z', 'structures': rows, 'counts': counts, 'total': len(rows),
            'scope': dict({'hosts_count': 2, 'failed_before': [], 'partial': False}, **scope)}


def samples(text):
    return dict(line.rsplit(' ', 1) for line in text.splitlines() if line and not line.startswith('#'))


def test_metrics_per_status_per_server_and_expiry():
    text = mt.render(report([{'status': 'ok', 'days_left': 90}, {'host': 'srv"2', 'status': 'missing_account'},
                             {'host': 'srv"2', 'status': 'password_expiring', 'days_left': 12}], failed_before=['srv3'],
                            partial=True))
    got = samples(text)
    assert got['chorus_corail_structures{status="ok"}'] == '1'
    assert got['chorus_corail_structures{status="invalid_input"}'] == '0'  # every status, zeros included
    assert got['chorus_corail_host_structures{host="srv\\"2",status="missing_account"}'] == '1'
    assert got['chorus_corail_password_expiry_days_min'] == '12'
    assert got['chorus_corail_host_password_expiry_days_min{host="srv1"}'] == '90'
    assert got['chorus_corail_hosts_failed_before_check'] == '1' and got['chorus_corail_check_partial'] == '1'
    assert got['chorus_corail_last_success_timestamp_seconds'] == str(int(T0.timestamp()))
    assert text.count('# TYPE chorus_corail_structures gauge') == 1


def test_metrics_without_any_known_expiry_have_no_expiry_sample():
    assert 'password_expiry_days' not in mt.render(report([{'status': 'missing_account'}]))


def test_metrics_file_is_written_atomically_with_its_mode(tmp_path):
    path = str(tmp_path / 'chorus.prom')
    assert mt.write(path, 'a 1\n') is True
    assert oct(os.stat(path).st_mode & 0o777) == '0o644'
    assert mt.write(path, 'a 1\n') is False
    assert mt.write(path, 'a 2\n', mode=0o640) is True
    assert open(path).read() == 'a 2\n' and oct(os.stat(path).st_mode & 0o777) == '0o640'
    assert sorted(os.listdir(str(tmp_path))) == ['chorus.prom']  # no temporary file, no backup


@pytest.mark.parametrize('value, parsed', [(10, ('count', 10)), ('10', ('count', 10)), ('90d', ('days', 90)),
                                           ('30 days', ('days', 30)), ('0', ('count', 0)), ('7 jours', ('days', 7))])
def test_parse_keep(value, parsed):
    assert rt.parse_keep(value) == parsed


@pytest.mark.parametrize('value', ['-1', 'ten', '3w', True, '', None])
def test_parse_keep_refuses(value):
    with pytest.raises(rt.RetentionError, match='chorus_check_keep_reports'):
        rt.parse_keep(value)


def folders(tmp_path, names, latest):
    base = tmp_path / 'reports'
    for name in names:
        (base / name).mkdir(parents=True)
        (base / name / 'report.json').write_text('{}')
    os.symlink(latest, str(base / 'latest'))
    (base / 'notify-state.json').write_text('{}')
    (base / 'notes').mkdir()
    return str(base)


NAMES = ['20261101T010000Z', '20261130T010000Z', '20261201T010000Z', '20261201T010000Z-2', '20261202T010000Z']


def test_keep_a_count_never_latest(tmp_path):
    base = folders(tmp_path, NAMES, '20261130T010000Z')  # latest moved back by hand
    deleted = rt.prune(base, 2)
    assert [os.path.basename(p) for p in deleted] == ['20261101T010000Z', '20261201T010000Z']
    assert sorted(os.listdir(base)) == ['20261130T010000Z', '20261201T010000Z-2', '20261202T010000Z', 'latest',
                                        'notes', 'notify-state.json']


def test_keep_days_and_check_mode(tmp_path):
    base = folders(tmp_path, NAMES, '20261202T010000Z')
    doomed = rt.prune(base, '2d', now=T0 + datetime.timedelta(hours=1), check_mode=True)
    assert [os.path.basename(p) for p in doomed] == ['20261101T010000Z', '20261130T010000Z']
    assert len([n for n in os.listdir(base) if n.startswith('2026')]) == 5
    rt.prune(base, '2d', now=T0 + datetime.timedelta(hours=1))
    assert len([n for n in os.listdir(base) if n.startswith('2026')]) == 3


def test_keep_zero_keeps_only_latest(tmp_path):
    base = folders(tmp_path, NAMES, '20261202T010000Z')
    rt.prune(base, 0)
    assert sorted(n for n in os.listdir(base) if n.startswith('2026')) == ['20261202T010000Z']
