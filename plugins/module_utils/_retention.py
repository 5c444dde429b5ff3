# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""Which report folders to keep: the newest N, or those younger than N days; never the one ``latest`` names.

Pure Python. Only folders named as the report step names them (``YYYYMMDDTHHMMSSZ[-n]``) are
candidates: anything else in the reports folder (the notification state, a file an operator put
there) is left alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import re
import shutil

from ansible_collections.chorus.corail.plugins.module_utils import _report

_KEEP_RE = re.compile(r'^\s*(\d+)\s*(d|days?|j|jours?)?\s*$', re.IGNORECASE)


class RetentionError(ValueError):
    pass


def parse_keep(value):
    """('count', N) for 10 or '10'; ('days', N) for '30d' / '30 days'. Zero keeps only ``latest``."""
    if isinstance(value, bool):
        raise RetentionError('chorus_check_keep_reports: expected a count (10) or days (30d), got %r' % (value,))
    match = _KEEP_RE.match(str(value))
    if not match:
        raise RetentionError('chorus_check_keep_reports: expected a count (10) or days (30d), got %r' % (value,))
    return ('days' if match.group(2) else 'count'), int(match.group(1))


def _stamp(name):
    return datetime.datetime.strptime(name[:16], '%Y%m%dT%H%M%SZ').replace(tzinfo=datetime.timezone.utc)


def doomed(report_dir, keep, now=None):
    """The report folders (full paths, oldest first) that ``keep`` lets go."""
    kind, number = parse_keep(keep)
    try:
        names = sorted(n for n in os.listdir(report_dir)
                       if _report.FOLDER_RE.match(n) and os.path.isdir(os.path.join(report_dir, n))
                       and not os.path.islink(os.path.join(report_dir, n)))
    except OSError as exc:
        raise RetentionError('%s: cannot list the reports (%s)' % (report_dir, exc.strerror or exc))
    link = os.path.join(report_dir, _report.LATEST)
    current = os.path.basename(os.path.realpath(link)) if os.path.islink(link) else None
    # Name order is time order (UTC stamps, then -2, -3 for the same second).
    ordered = sorted(names, key=lambda n: (n[:16], int(n[17:]) if len(n) > 16 else 1))
    if kind == 'count':
        gone = ordered[:-number] if number else ordered
    else:
        limit = (now or datetime.datetime.now(datetime.timezone.utc)) - datetime.timedelta(days=number)
        gone = [n for n in ordered if _stamp(n) < limit]
    return [os.path.join(report_dir, n) for n in gone if n != current]


def prune(report_dir, keep, now=None, check_mode=False):
    """Delete what ``doomed`` names; returns their paths."""
    paths = doomed(report_dir, keep, now)
    if not check_mode:
        for path in paths:
            try:
                shutil.rmtree(path)
            except OSError as exc:
                raise RetentionError('%s: cannot delete the old report (%s)' % (path, exc.strerror or exc))
    return paths
