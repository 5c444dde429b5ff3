# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""The check's figures in Prometheus text format, for node_exporter's textfile collector.

Pure Python. Rendered from a report (report.json), written with ``_writer`` (temporary file and one
rename, so the collector never reads half a file). Only counts, host names, statuses and dates: no
account, no secret.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os

from ansible_collections.chorus.corail.plugins.module_utils import _statuses
from ansible_collections.chorus.corail.plugins.module_utils import _writer

PREFIX = 'chorus_corail_'


def _label(value):
    # Text format escaping of a label value: backslash, double quote, line feed.
    return str(value).replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')


def _timestamp(iso):
    moment = datetime.datetime.strptime(iso, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
    return int((moment - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)).total_seconds())


def render(report):
    """The metrics text of one report (every status present, zeros included, so that alerts can match on 0)."""
    out = []

    def family(name, help_text, samples):
        out.append('# HELP %s%s %s' % (PREFIX, name, help_text))
        out.append('# TYPE %s%s gauge' % (PREFIX, name))
        for labels, value in samples:
            text = ','.join('%s="%s"' % (k, _label(v)) for k, v in labels)
            out.append('%s%s%s %s' % (PREFIX, name, '{%s}' % text if text else '', value))

    rows = report['structures']
    family('structures', 'Structures per Chorus Pro check status.',
           [((('status', s),), report['counts'].get(s, 0)) for s in _statuses.STATUSES])
    per_host = {}
    for row in rows:
        counts = per_host.setdefault(row.get('host') or '', {})
        counts[row['status']] = counts.get(row['status'], 0) + 1
    family('host_structures', 'Structures per Corail server and status (statuses present on the server).',
           [((('host', h), ('status', s)), per_host[h][s]) for h in sorted(per_host) for s in _statuses.STATUSES
            if per_host[h].get(s)])
    family('hosts', 'Corail servers in the check.', [((), report['scope'].get('hosts_count', len(per_host)))])
    family('hosts_failed_before_check', 'Targeted servers that had failed before the check.',
           [((), len(report['scope'].get('failed_before') or []))])
    days = [row['days_left'] for row in rows if isinstance(row.get('days_left'), int)]
    if days:
        family('password_expiry_days_min', 'Days until the earliest known password expiry (negative: expired).',
               [((), min(days))])
        by_host = {}
        for row in rows:
            if isinstance(row.get('days_left'), int):
                host = row.get('host') or ''
                by_host[host] = min(by_host.get(host, row['days_left']), row['days_left'])
        family('host_password_expiry_days_min', 'Days until the earliest known password expiry per Corail server.',
               [((('host', h),), by_host[h]) for h in sorted(by_host)])
    family('check_partial', '1 when the check covered part of the inventory (--limit or failed servers).',
           [((), 1 if report['scope'].get('partial') else 0)])
    family('last_success_timestamp_seconds', 'Time of the last check that completed (Unix time).',
           [((), _timestamp(report['generated_at']))])
    return '\n'.join(out) + '\n'


def write(path, text, mode=0o644):
    """Write the file atomically; returns True when its content or mode changed."""
    snapshot = _writer.read(path)
    data = text.encode('utf-8')
    if snapshot.content == data and snapshot.mode == mode:
        return False
    if snapshot.content != data:
        # keep_mode: the collector (another user) must read it, so the mode is set explicitly below.
        _writer.write(snapshot, data, secret=False, keep_mode=True)
    os.chmod(snapshot.path, mode)
    return True
