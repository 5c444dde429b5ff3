# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""The check report: rows from a credentials_info result, and the files written from them.

Pure Python (no Ansible import) so that it is unit-tested on its own. One report is a folder
``<report_dir>/<YYYYMMDDTHHMMSSZ>/`` holding report.json, report.csv, report.html, changes.json,
changes.html and contacts/<contact>.html, with ``<report_dir>/latest`` pointing at the newest
folder. Reports name accounts and structures: folders are 0700 and files 0600.

Statuses, labels, severities and remediation texts all come from ``_statuses``; nothing here
writes remediation of its own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import datetime
import errno
import io
import json
import os
import re

from html import escape as _html_escape

from ansible_collections.chorus.corail.plugins.module_utils import _statuses

REPORT_VERSION = 1
# Version of report.json's shape: readers (dashboards, the changes of the next run) check it
# before trusting the fields; bump it when a field changes meaning or goes away.
SCHEMA_VERSION = 1

# Fields of one row of report.json / report.csv (the list, plus contact, service_code,
# designation, label, severity and problem_since).
ROW_FIELDS = (
    'host', 'siret', 'name', 'contact', 'service_code', 'account', 'piste_app', 'environment',
    'status', 'label', 'severity', 'warnings', 'detail', 'remediation', 'id_structure_cpp',
    'designation', 'password_expires_on', 'days_left', 'problem_since', 'drift', 'left_out',
)
CSV_COLUMNS = ROW_FIELDS

# Worst first: what needs someone's action, then what could not be checked, then what to plan.
SEVERITY_ORDER = ('error', 'unknown', 'warning', 'ok')
SEVERITY_LABELS = {
    'error': 'Action requise',
    'unknown': 'À revérifier',
    'warning': 'À anticiper',
    'ok': 'OK',
}
# Background / text colours per severity (the table row, the count cards, the contact pages).
SEVERITY_COLOURS = {
    'error': ('#fde7e9', '#8c1d18'),
    'unknown': ('#eceff3', '#3d4852'),
    'warning': ('#fff1d6', '#7a4a00'),
    'ok': ('#e3f4e6', '#1e5b2a'),
}

# 'unchecked' says nothing about the connection: it is neither a problem nor a fix.
NOT_PROBLEMS = ('ok', 'unchecked')

# A summary line stays readable in a terminal; the report has the whole detail.
SUMMARY_DETAIL_CHARS = 120

FOLDER_RE = re.compile(r'^\d{8}T\d{6}Z(?:-\d+)?$')
LATEST = 'latest'
NO_CONTACT = 'sans-contact'
_NO_CONTACT_VALUE = '__none__'

# Cells a spreadsheet would run as a formula (OWASP "CSV injection").
_FORMULA_START = ('=', '+', '-', '@', '\t', '\r')


class ReportError(ValueError):
    """The credentials_info result or the report folder cannot be used; the message says why."""


# --------------------------------------------------------------------------------------------
# Rows, counts, scope


def _text(value):
    if value is None:
        return None
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value if isinstance(value, str) else str(value)


def _int_or_none(value):
    if value is None or value == '':
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def severity_rank(row):
    return SEVERITY_ORDER.index(row['severity'])


def worst_first_key(row):
    """Sort key: severity, then status precedence, then the soonest deadline, host, SIRET."""
    days = row.get('days_left')
    return (
        severity_rank(row),
        _statuses.status_rank(row['status']),
        days if isinstance(days, int) else 1 << 30,
        row.get('host') or '',
        row.get('siret') or '',
    )


def is_problem(status):
    return status not in NOT_PROBLEMS


def make_row(entry, position=0):
    """One report row from one credentials_info structure entry."""
    if not isinstance(entry, dict):
        raise ReportError('structures[%d]: expected a dict, got %s' % (position, type(entry).__name__))
    siret = _text(entry.get('siret'))
    status = entry.get('status')
    if status not in _statuses.STATUSES:
        raise ReportError('structures[%d] (SIRET %s): status %r is not one of %s'
                          % (position, siret, status, ', '.join(_statuses.STATUSES)))
    warnings = entry.get('warnings') or []
    if not isinstance(warnings, (list, tuple)):
        raise ReportError('structures[%d] (SIRET %s): warnings must be a list' % (position, siret))
    row = {
        'host': _text(entry.get('host')),
        'siret': siret,
        'name': _text(entry.get('name')),
        'contact': _text(entry.get('contact')),
        'service_code': _text(entry.get('service_code')),
        'account': _text(entry.get('account')),
        'piste_app': _text(entry.get('piste_app')),
        'environment': _text(entry.get('environment')),
        'status': status,
        'label': _statuses.LABELS[status],
        'severity': _statuses.SEVERITY[status],
        'warnings': [_text(w) for w in warnings],
        'detail': _text(entry.get('detail')),
        'remediation': None,
        'id_structure_cpp': _int_or_none(entry.get('id_structure_cpp')),
        'designation': _text(entry.get('designation')),
        'password_expires_on': _text(entry.get('password_expires_on')),
        'days_left': _int_or_none(entry.get('days_left')),
        'problem_since': None,
        # config_drift: the deployed fields that differ (names only, secrets marked), else null.
        'drift': [_text(f) for f in entry['drift']] if isinstance(entry.get('drift'), (list, tuple)) else None,
        # Why a deployment of the same run (the rollout) left the structure out, else null.
        'left_out': _text(entry.get('left_out')),
    }
    # credentials_info fills remediation from the same vocabulary; fill it when a caller did not.
    context = dict((k, v) for k, v in row.items() if k != 'status')
    row['remediation'] = _text(entry.get('remediation')) or _statuses.remediation(status, **context)
    return row


def count_statuses(rows):
    counts = dict((status, 0) for status in _statuses.STATUSES)
    for row in rows:
        counts[row['status']] += 1
    return counts


def normalize_scope(scope, rows=()):
    """The scope block of a report: what was targeted, and whether the report is partial."""
    scope = dict(scope or {})
    limit = scope.get('limit')
    if limit in (None, '', [], 'none'):
        limit = 'none'
    elif isinstance(limit, (list, tuple)):
        limit = ','.join(str(item) for item in limit)
    else:
        limit = str(limit)
    hosts = [str(h) for h in (scope.get('hosts') or [])]
    failed_before = sorted(set(str(h) for h in (scope.get('failed_before') or [])))
    with_structures = set(row['host'] for row in rows)
    return {
        'limit': limit,
        'hosts': hosts,
        'hosts_count': len(hosts),
        'failed_before': failed_before,
        'hosts_without_structures': [h for h in hosts if h not in with_structures],
        'partial': limit != 'none' or bool(failed_before),
    }


def _account_entry(entry):
    if not isinstance(entry, dict):
        return None
    status = entry.get('status')
    out = {
        'login': _text(entry.get('login')),
        'environment': _text(entry.get('environment')),
        'piste_app': _text(entry.get('piste_app')),
        'status': status,
        'label': _statuses.LABELS.get(status, status),
        'severity': _statuses.SEVERITY.get(status, 'unknown'),
        'structures': _int_or_none(entry.get('structures')),
        'password_expires_on': _text(entry.get('password_expires_on')),
        'days_left': _int_or_none(entry.get('days_left')),
        'detail': _text(entry.get('detail')),
    }
    return out


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def build_report(result, scope=None, generated_at=None):
    """The report as a dict (what report.json holds), from a credentials_info result and the scope."""
    if not isinstance(result, dict):
        raise ReportError('result: expected the registered result of chorus.corail.credentials_info (a dict)')
    if result.get('failed'):
        raise ReportError('result: credentials_info failed (%s); there is nothing to report'
                          % (result.get('msg') or 'no message'))
    structures = result.get('structures')
    if not isinstance(structures, (list, tuple)):
        raise ReportError('result.structures: missing or not a list; pass the whole registered '
                          'result of chorus.corail.credentials_info')
    rows = [make_row(entry, i) for i, entry in enumerate(structures)]
    generated_at = generated_at or now_utc()
    accounts = [a for a in (_account_entry(e) for e in (result.get('accounts') or [])) if a]
    api_calls = result.get('api_calls') or {}
    return {
        'schema_version': SCHEMA_VERSION,
        'report_version': REPORT_VERSION,
        'generated_at': generated_at.isoformat().replace('+00:00', 'Z'),
        'scope': normalize_scope(scope, rows),
        'total': len(rows),
        'counts': count_statuses(rows),
        'structures': rows,
        'accounts': accounts,
        'api_calls': dict((str(k), int(v)) for k, v in api_calls.items()),
        'warning_counts': dict((w, sum(1 for row in rows if w in row['warnings'])) for w in _statuses.WARNINGS),
        # chorus_check_drift: how many servers were compared (null when the drift was not checked).
        'drift': dict(result['drift']) if isinstance(result.get('drift'), dict) else None,
        'left_out': sum(1 for row in rows if row['left_out']),
    }


def failing(report, fail_on):
    """(statuses of fail_on that occur, {host: [siret, ...]} of the structures having them)."""
    fail_on = set(fail_on or ())
    statuses = [s for s in _statuses.STATUSES if s in fail_on and report['counts'].get(s)]
    hosts = {}
    for row in report['structures']:
        if row['status'] in fail_on:
            hosts.setdefault(row['host'], []).append(row['siret'])
    return statuses, hosts


# --------------------------------------------------------------------------------------------
# Changes against the previous report


def _key(row):
    return (row.get('host') or '', row.get('siret') or '')


def _change_entry(row, previous_row=None, since=None):
    entry = {
        'host': row.get('host'),
        'siret': row.get('siret'),
        'name': row.get('name'),
        'contact': row.get('contact'),
        'status': row.get('status'),
        'label': _statuses.LABELS.get(row.get('status'), row.get('status')),
        'previous_status': previous_row.get('status') if previous_row else None,
        'previous_label': (_statuses.LABELS.get(previous_row.get('status'), previous_row.get('status'))
                           if previous_row else None),
        'since': since,
    }
    return entry


def compute_changes(previous, current):
    """What changed since ``previous`` (a loaded report.json or None).

    Per structure (host, SIRET): ``new`` is a problem that was not one before (or a structure seen
    for the first time), ``changed`` a problem that became another problem, ``recurring`` the same
    problem again (with the date it was first seen), ``fixed`` a problem now ok, and
    ``not_rechecked`` a problem whose structure this run did not check (outside the --limit,
    removed from the inventory, or unchecked).
    Also sets ``problem_since`` on the current rows.
    """
    before = {}
    if previous:
        for row in previous.get('structures') or []:
            if isinstance(row, dict) and row.get('status') in _statuses.STATUSES:
                before[_key(row)] = row
    now_at = current['generated_at']
    changes = {'new': [], 'changed': [], 'recurring': [], 'fixed': [], 'not_rechecked': []}
    seen = set()
    for row in current['structures']:
        key = _key(row)
        seen.add(key)
        old = before.get(key)
        old_problem = old is not None and is_problem(old['status'])
        if is_problem(row['status']):
            if old_problem and old['status'] == row['status']:
                row['problem_since'] = old.get('problem_since') or previous.get('generated_at')
                changes['recurring'].append(_change_entry(row, old, row['problem_since']))
            else:
                row['problem_since'] = now_at
                changes['changed' if old_problem else 'new'].append(_change_entry(row, old, now_at))
        elif old_problem:
            if row['status'] == 'ok':
                changes['fixed'].append(_change_entry(row, old, old.get('problem_since')))
            else:
                changes['not_rechecked'].append(_change_entry(row, old, old.get('problem_since')))
    for key, old in before.items():
        if key not in seen and is_problem(old['status']):
            entry = _change_entry(old, old, old.get('problem_since'))
            entry['status'] = None
            entry['label'] = None
            changes['not_rechecked'].append(entry)
    for name in ('new', 'changed', 'recurring'):
        changes[name].sort(key=lambda e: (_statuses.status_rank(e['status']), e['host'] or '', e['siret'] or ''))
    return {
        'generated_at': now_at,
        'previous': ({'generated_at': previous.get('generated_at'), 'folder': previous.get('_folder')}
                     if previous else None),
        'counts': dict((name, len(items)) for name, items in changes.items()),
        'changes': changes,
    }


# --------------------------------------------------------------------------------------------
# Summary


def summary_lines(report, changes=None, limit=10):
    """A few lines for the end of the play: counts, scope, then the worst problems first."""
    counts = report['counts']
    scope = report['scope']
    hosts = len(set(row['host'] for row in report['structures']))
    line = 'Chorus Pro check: %d structure(s) on %d host(s)' % (report['total'], hosts)
    if report['total']:
        line += ': ' + ', '.join('%s %d' % (s, counts[s]) for s in _statuses.STATUSES if counts.get(s))
    lines = [line]
    if scope['partial']:
        bits = []
        if scope['limit'] != 'none':
            bits.append('--limit %s' % scope['limit'])
        if scope['failed_before']:
            bits.append('%d host(s) had failed before the check: %s'
                        % (len(scope['failed_before']), ', '.join(scope['failed_before'][:10])
                           + (', ...' if len(scope['failed_before']) > 10 else '')))
        lines.append('PARTIAL report (%s)' % '; '.join(bits))
    if changes and changes.get('previous'):
        c = changes['counts']
        lines.append('Since %s: %d new, %d changed, %d recurring, %d fixed, %d not rechecked'
                     % (changes['previous']['generated_at'], c['new'], c['changed'], c['recurring'],
                        c['fixed'], c['not_rechecked']))
    lines.extend(_deployment_lines(report, limit))
    problems = sorted((r for r in report['structures'] if is_problem(r['status'])), key=worst_first_key)
    for row in problems[:max(limit, 0)]:
        text = '%s %s %s on %s (%s)' % (row['severity'].upper(), row['status'], row['siret'], row['host'],
                                        row['name'] or '-')
        if row['detail']:
            detail = row['detail']
            text += ': %s' % (detail if len(detail) <= SUMMARY_DETAIL_CHARS else detail[:SUMMARY_DETAIL_CHARS - 1] + '…')
        elif row['password_expires_on']:
            text += ': password expires on %s' % row['password_expires_on']
        lines.append(text)
    if len(problems) > limit:
        lines.append('... and %d more problem(s), see the report' % (len(problems) - limit))
    return lines


def _deployment_lines(report, limit):
    """What the servers have: structures a deployment left out, then the drift (chorus_check_drift)."""
    lines = []
    left_out = [r for r in report['structures'] if r.get('left_out')]
    if left_out:
        lines.append('Deployment: %d structure(s) left out, their servers keep their current settings' % len(left_out))
        lines.extend('LEFT OUT %s on %s: %s' % (r['siret'], r['host'], r['left_out']) for r in left_out[:max(limit, 0)])
    drift = report.get('drift')
    if not drift:
        return lines
    rows = [r for r in report['structures'] if r.get('drift')]
    lines.append('Config drift: %d structure(s) differ from the inventory on the %d server(s) compared%s'
                 % (len(rows), drift.get('hosts_checked', 0),
                    ('; not readable: %s' % ', '.join(drift['hosts_unreadable'][:10])) if drift.get('hosts_unreadable') else ''))
    for row in rows[:max(limit, 0)]:
        lines.append('DRIFT %s on %s: %s' % (row['siret'], row['host'], ', '.join(row['drift'])))
    if len(rows) > limit:
        lines.append('... and %d more structure(s) with drift, see the report' % (len(rows) - limit))
    return lines


# --------------------------------------------------------------------------------------------
# CSV


def csv_text_cell(value):
    """A cell French Excel and LibreOffice keep as text: ``="01234..."`` (leading zeros kept).

    Excel evaluates the formula ``="..."`` to the text between the quotes; LibreOffice Calc does
    the same when "Evaluate formulas" is ticked in its import dialog, and otherwise shows the
    formula, digits intact. Python's csv module reads the cell back as ``="01234..."``:
    :func:`csv_cell_value` strips the wrapper.
    """
    if value in (None, ''):
        return ''
    return '="%s"' % str(value).replace('"', '""')


def csv_cell_value(cell):
    """Inverse of :func:`csv_text_cell` and of the formula guard (for readers of report.csv)."""
    if cell.startswith('="') and cell.endswith('"'):
        return cell[2:-1].replace('""', '"')
    if cell.startswith("'") and cell[1:2] in _FORMULA_START:
        return cell[1:]
    return cell


def _csv_guard(value):
    # A name or detail starting with = + - @ would run as a formula in a spreadsheet.
    if value and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def render_csv(report):
    """report.csv as bytes: UTF-8 with BOM, ';' separator, CRLF, ISO dates, SIRET as text."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=';', quotechar='"', quoting=csv.QUOTE_MINIMAL, lineterminator='\r\n')
    writer.writerow(CSV_COLUMNS)
    for row in report['structures']:
        cells = []
        for column in CSV_COLUMNS:
            value = row.get(column)
            if column == 'siret':
                cells.append(csv_text_cell(value))
            elif column in ('warnings', 'drift'):
                cells.append(', '.join(value or []))
            elif value is None:
                cells.append('')
            elif isinstance(value, int):
                cells.append(str(value))
            else:
                cells.append(_csv_guard(str(value)))
        writer.writerow(cells)
    return ('\ufeff' + buf.getvalue()).encode('utf-8')


# --------------------------------------------------------------------------------------------
# HTML

def _e(value):
    if value is None:
        return ''
    return _html_escape(str(value), quote=True)


_URL_RE = re.compile(r'https://[^\s()<>"]+[^\s()<>".,;:]')
_STEP_RE = re.compile(r'(?:^|(?<=\s))(\d{1,2})\) ')


def _linkify(escaped):
    return _URL_RE.sub(lambda m: '<a href="%s">%s</a>' % (m.group(0), m.group(0)), escaped)


def remediation_html(text):
    """The remediation text with its numbered steps ``1) ... ; 2) ...`` as an ordered list."""
    if not text:
        return ''
    matches = list(_STEP_RE.finditer(text))
    if len(matches) < 2 or matches[0].group(1) != '1':
        return '<p>%s</p>' % _linkify(_e(text))
    intro = text[:matches[0].start()].strip()
    steps = []
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        step = text[match.end():end].strip()
        if step.endswith(';'):
            step = step[:-1].rstrip()
        steps.append(step)
    out = []
    if intro:
        out.append('<p>%s</p>' % _linkify(_e(intro)))
    out.append('<ol>%s</ol>' % ''.join('<li>%s</li>' % _linkify(_e(s)) for s in steps))
    return ''.join(out)


_CSS = """
:root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #1f2328; }
body { margin: 1.5rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin: 0 0 .3rem; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 .6rem; }
.meta { color: #57606a; margin: 0 0 1rem; }
.partial { background: #fff1d6; border-left: 6px solid #b26b00; padding: .6rem .9rem; margin: 0 0 1rem; }
.cards { display: flex; flex-wrap: wrap; gap: .6rem; margin: 0 0 1rem; padding: 0; list-style: none; }
.card { border-radius: 8px; padding: .5rem .8rem; min-width: 9rem; cursor: pointer; border: 2px solid transparent; }
.card .n { font-size: 1.6rem; font-weight: 700; display: block; }
.card.zero { display: none; }
.card.active { border-color: currentColor; }
.legend span { display: inline-block; padding: .1rem .5rem; border-radius: 4px; margin-right: .4rem; }
.filters { display: flex; flex-wrap: wrap; gap: .8rem; align-items: end; margin: 0 0 .8rem; }
.filters label { display: flex; flex-direction: column; font-size: .85rem; color: #57606a; }
.filters select, .filters input { font-size: .95rem; padding: .25rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { border-bottom: 1px solid #d0d7de; padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; position: sticky; top: 0; }
th button { all: unset; cursor: pointer; font-weight: 600; }
th[aria-sort=ascending] button::after { content: " \\25B2"; }
th[aria-sort=descending] button::after { content: " \\25BC"; }
td { overflow-wrap: anywhere; }
td.siret, td.num { font-variant-numeric: tabular-nums; white-space: nowrap; overflow-wrap: normal; }
td.detail { max-width: 18rem; font-size: .82rem; }
td.todo { min-width: 16rem; max-width: 30rem; }
.wrap { overflow-x: auto; }
.badge { display: inline-block; padding: .1rem .45rem; border-radius: 4px; font-weight: 600; white-space: nowrap; }
.code { color: #57606a; font-size: .8rem; font-family: ui-monospace, monospace; }
details summary { cursor: pointer; color: #0b57d0; }
.todo ol { margin: .3rem 0 .3rem 1.2rem; padding: 0; }
.todo p { margin: .3rem 0; }
.struct { border-left: 6px solid; padding: .4rem .9rem; margin: 0 0 1rem; border-radius: 4px; }
footer { margin-top: 2rem; color: #57606a; font-size: .85rem; }
@media print { .filters, .cards { display: none; } th { position: static; } details { display: block; } }
"""


def _severity_css():
    rules = []
    for severity, (background, text) in SEVERITY_COLOURS.items():
        rules.append('.sev-%s { background: %s; color: %s; }' % (severity, background, text))
        rules.append('tr.sev-%s td:first-child { box-shadow: inset 6px 0 %s; }' % (severity, text))
        rules.append('.struct.sev-%s { border-color: %s; }' % (severity, text))
    return '\n'.join(rules)


def _page(title, body, script=''):
    return ''.join([
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        '<meta name="generator" content="chorus.corail">\n',
        '<title>%s</title>\n' % _e(title),
        '<style>%s\n%s</style>\n</head>\n' % (_CSS, _severity_css()),
        body,
        ('<script>%s</script>\n' % script) if script else '',
        '</body>\n</html>\n',
    ])


def _fr_datetime(iso):
    # "2024-05-01T02:00:00Z" -> "01/05/2024 à 02:00 UTC" for people; ISO stays in json/csv.
    match = re.match(r'^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})', iso or '')
    if not match:
        return iso or ''
    y, mo, d, h, mi = match.groups()
    return '%s/%s/%s à %s:%s UTC' % (d, mo, y, h, mi)


def _fr_date(iso):
    match = re.match(r'^(\d{4})-(\d{2})-(\d{2})$', iso or '')
    return '%s/%s/%s' % (match.group(3), match.group(2), match.group(1)) if match else (iso or '')


def _badge(status):
    severity = _statuses.SEVERITY[status]
    return '<span class="badge sev-%s">%s</span> <span class="code">%s</span>' % (
        severity, _e(_statuses.LABELS[status]), _e(status))


def _scope_html(scope):
    parts = ['Périmètre : %d serveur(s) ciblé(s)' % scope['hosts_count']]
    if scope['limit'] != 'none':
        parts.append('option --limit « %s »' % _e(scope['limit']))
    else:
        parts.append('sans --limit')
    out = '<p class="meta">%s.</p>' % ', '.join(parts)
    if scope['partial']:
        why = []
        if scope['limit'] != 'none':
            why.append('la vérification a été limitée (--limit %s)' % _e(scope['limit']))
        if scope['failed_before']:
            why.append('%d serveur(s) étaient déjà en échec avant la vérification : %s'
                       % (len(scope['failed_before']), _e(', '.join(scope['failed_before']))))
        out += ('<p class="partial" id="partial"><strong>Rapport partiel</strong> : %s. Les structures '
                'absentes de ce rapport n\'ont pas été vérifiées.</p>' % ' ; '.join(why))
    if scope['hosts_without_structures']:
        shown = scope['hosts_without_structures'][:20]
        out += '<p class="meta">Serveur(s) sans structure déclarée (corail_structures vide) : %s%s.</p>' % (
            _e(', '.join(shown)), ', …' if len(scope['hosts_without_structures']) > 20 else '')
    return out


def _contact_value(contact):
    return contact if contact else _NO_CONTACT_VALUE


def _options(values, labels=None, counts=None):
    out = ['<option value="">Tous</option>']
    for value in values:
        label = (labels or {}).get(value, value)
        if counts is not None:
            label = '%s (%d)' % (label, counts.get(value, 0))
        out.append('<option value="%s">%s</option>' % (_e(value), _e(label)))
    return ''.join(out)


_TABLE_COLUMNS = (
    # key, French header, sort type
    ('host', 'Serveur', 'text'),
    ('siret', 'SIRET', 'text'),
    ('name', 'Structure', 'text'),
    ('contact', 'Contact', 'text'),
    ('account', 'Compte technique (application, environnement)', 'text'),
    ('status', 'Statut', 'num'),
    ('password_expires_on', 'Expiration du mot de passe', 'text'),
    ('detail', 'Détail', 'text'),
    ('remediation', 'Que faire ?', 'none'),
)


def _row_html(row):
    severity = row['severity']
    warnings = ''
    if row['warnings']:
        warnings = '<br><span class="code">%s</span>' % _e(', '.join(
            _statuses.WARNING_LABELS.get(w, w) for w in row['warnings']))
    expiry = _e(_fr_date(row['password_expires_on']))
    if row['days_left'] is not None:
        expiry += ' <span class="code">(%s j)</span>' % row['days_left']
    cells = [
        '<td>%s</td>' % _e(row['host']),
        '<td class="siret">%s</td>' % _e(row['siret']),
        '<td>%s</td>' % _e(row['name']),
        '<td>%s</td>' % _e(row['contact']),
        '<td>%s<br><span class="code">%s</span></td>' % (
            _e(row['account'] or '(aucun)'), _e(' · '.join(v for v in (row['piste_app'], row['environment']) if v))),
        '<td data-sort="%d">%s%s</td>' % (
            SEVERITY_ORDER.index(severity) * 100 + _statuses.status_rank(row['status']),
            _badge(row['status']), warnings),
        '<td class="num" data-sort="%s">%s</td>' % (_e(row['password_expires_on']), expiry),
        '<td class="detail">%s</td>' % _e(row['detail']),
    ]
    if is_problem(row['status']):
        cells.append('<td class="todo"><details><summary>%s : voir les étapes</summary>%s</details></td>' % (
            _e(SEVERITY_LABELS[severity]), remediation_html(row['remediation'])))
    else:
        cells.append('<td class="todo">%s</td>' % remediation_html(row['remediation']))
    return '<tr class="sev-%s" data-host="%s" data-status="%s" data-contact="%s">%s</tr>' % (
        severity, _e(row['host']), _e(row['status']), _e(_contact_value(row['contact'])), ''.join(cells))


_REPORT_JS = r"""
(function () {
  'use strict';
  var table = document.getElementById('structures');
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var keys = ['host', 'status', 'contact'];
  var inputs = {host: document.getElementById('f-host'), status: document.getElementById('f-status'),
                contact: document.getElementById('f-contact'), q: document.getElementById('f-q')};
  var sortState = {key: null, dir: 'ascending'};
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);

  function cellValue(row, index, type) {
    var cell = row.cells[index];
    var raw = cell.hasAttribute('data-sort') ? cell.getAttribute('data-sort') : cell.textContent;
    if (type === 'num') { return raw === '' ? Infinity : parseFloat(raw); }
    return raw.toLowerCase();
  }

  function sortBy(key, dir) {
    var index = -1, type = 'text';
    headers.forEach(function (th, i) {
      if (th.getAttribute('data-key') === key) { index = i; type = th.getAttribute('data-type'); }
      th.removeAttribute('aria-sort');
    });
    if (index < 0 || type === 'none') { return; }
    sortState = {key: key, dir: dir};
    headers[index].setAttribute('aria-sort', dir);
    var sign = dir === 'descending' ? -1 : 1;
    rows.sort(function (a, b) {
      var x = cellValue(a, index, type), y = cellValue(b, index, type);
      if (x < y) { return -sign; }
      if (x > y) { return sign; }
      return 0;
    });
    rows.forEach(function (row) { tbody.appendChild(row); });
  }

  function writeHash() {
    var parts = [];
    keys.concat(['q']).forEach(function (k) {
      if (inputs[k].value) { parts.push(k + '=' + encodeURIComponent(inputs[k].value)); }
    });
    if (sortState.key) { parts.push('sort=' + sortState.key, 'dir=' + sortState.dir); }
    try { history.replaceState(null, '', parts.length ? '#' + parts.join('&') : location.pathname); } catch (e) {}
  }

  function apply() {
    var q = inputs.q.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row) {
      var visible = keys.every(function (k) {
        return !inputs[k].value || row.getAttribute('data-' + k) === inputs[k].value;
      }) && (!q || row.textContent.toLowerCase().indexOf(q) >= 0);
      row.hidden = !visible;
      if (visible) { shown += 1; }
    });
    document.getElementById('shown').textContent = String(shown);
    Array.prototype.forEach.call(document.querySelectorAll('.card[data-status]'), function (card) {
      card.classList.toggle('active', card.getAttribute('data-status') === inputs.status.value);
    });
  }

  function readHash() {
    var wanted = {};
    location.hash.replace(/^#/, '').split('&').forEach(function (pair) {
      var i = pair.indexOf('=');
      if (i > 0) { wanted[pair.slice(0, i)] = decodeURIComponent(pair.slice(i + 1)); }
    });
    keys.concat(['q']).forEach(function (k) {
      var value = wanted[k] || '';
      if (k !== 'q' && value && !inputs[k].querySelector('option[value="' + CSS.escape(value) + '"]')) { value = ''; }
      inputs[k].value = value;
    });
    if (wanted.sort) { sortBy(wanted.sort, wanted.dir === 'descending' ? 'descending' : 'ascending'); }
    apply();
  }

  headers.forEach(function (th) {
    var button = th.querySelector('button');
    if (!button) { return; }
    button.addEventListener('click', function () {
      var key = th.getAttribute('data-key');
      var dir = (sortState.key === key && sortState.dir === 'ascending') ? 'descending' : 'ascending';
      sortBy(key, dir);
      writeHash();
    });
  });
  keys.concat(['q']).forEach(function (k) {
    inputs[k].addEventListener(k === 'q' ? 'input' : 'change', function () { apply(); writeHash(); });
  });
  Array.prototype.forEach.call(document.querySelectorAll('.card[data-status]'), function (card) {
    card.addEventListener('click', function () {
      if (card.classList.contains('zero')) { return; }
      var status = card.getAttribute('data-status');
      inputs.status.value = inputs.status.value === status ? '' : status;
      apply();
      writeHash();
    });
  });
  document.getElementById('f-reset').addEventListener('click', function () {
    keys.concat(['q']).forEach(function (k) { inputs[k].value = ''; });
    apply();
    writeHash();
  });
  window.addEventListener('hashchange', readHash);
  readHash();
  document.body.setAttribute('data-ready', 'true');
}());
"""


def render_html(report, changes=None, contact_pages=None):
    """report.html: self-contained (inline CSS and JS, no external resource)."""
    rows = sorted(report['structures'], key=worst_first_key)
    counts = report['counts']
    title = 'Chorus Pro : vérification des comptes techniques'
    body = ['<body data-ready="false">\n<header>\n<h1>%s</h1>\n' % _e(title)]
    body.append('<p class="meta">Rapport du %s : %d structure(s) sur %d serveur(s).</p>' % (
        _e(_fr_datetime(report['generated_at'])), report['total'],
        len(set(r['host'] for r in rows))))
    body.append(_scope_html(report['scope']))
    body.append('</header>\n<main>\n<section id="counts"><h2>Synthèse par statut</h2><ul class="cards">')
    worst_first = sorted(_statuses.STATUSES, key=lambda s: (SEVERITY_ORDER.index(_statuses.SEVERITY[s]),
                                                            _statuses.status_rank(s)))
    for status in worst_first:
        n = counts.get(status, 0)
        body.append('<li class="card sev-%s%s" data-status="%s" data-count="%d" title="%s">'
                    '<span class="n">%d</span>%s</li>' % (
                        _statuses.SEVERITY[status], '' if n else ' zero', _e(status), n, _e(status), n,
                        _e(_statuses.LABELS[status])))
    body.append('</ul><p class="legend">Couleurs : %s</p>' % ''.join(
        '<span class="sev-%s">%s</span>' % (s, _e(SEVERITY_LABELS[s])) for s in SEVERITY_ORDER))
    if changes and changes.get('previous'):
        c = changes['counts']
        body.append('<p>Depuis le rapport du %s : <strong>%d nouveau(x) problème(s)</strong>, %d changé(s), '
                    '%d persistant(s), %d corrigé(s), %d non revérifié(s) — <a href="changes.html">'
                    'voir les changements</a>.</p>' % (
                        _e(_fr_datetime(changes['previous']['generated_at'])), c['new'], c['changed'],
                        c['recurring'], c['fixed'], c['not_rechecked']))
    body.append('</section>\n')

    hosts = sorted(set(r['host'] or '' for r in rows))
    statuses = [s for s in _statuses.STATUSES if counts.get(s)]
    contacts = sorted(set(_contact_value(r['contact']) for r in rows))
    host_counts, contact_counts = {}, {}
    for r in rows:
        host_counts[r['host'] or ''] = host_counts.get(r['host'] or '', 0) + 1
        key = _contact_value(r['contact'])
        contact_counts[key] = contact_counts.get(key, 0) + 1
    body.append('<section id="list"><h2>Structures</h2>\n<form class="filters" onsubmit="return false">')
    body.append('<label>Serveur<select id="f-host">%s</select></label>' % _options(hosts, counts=host_counts))
    body.append('<label>Statut<select id="f-status">%s</select></label>' % _options(
        statuses, labels=_statuses.LABELS, counts=counts))
    body.append('<label>Contact<select id="f-contact">%s</select></label>' % _options(
        contacts, labels={_NO_CONTACT_VALUE: '(sans contact)'}, counts=contact_counts))
    body.append('<label>Recherche<input id="f-q" type="search" placeholder="SIRET, nom, compte…"></label>')
    body.append('<button type="button" id="f-reset">Tout afficher</button>')
    body.append('<span><strong id="shown">%d</strong> / %d ligne(s)</span></form>\n' % (len(rows), len(rows)))
    body.append('<div class="wrap"><table id="structures"><thead><tr>')
    for key, header, kind in _TABLE_COLUMNS:
        inner = _e(header) if kind == 'none' else '<button type="button">%s</button>' % _e(header)
        body.append('<th scope="col" data-key="%s" data-type="%s">%s</th>' % (key, kind, inner))
    body.append('</tr></thead>\n<tbody>\n')
    body.extend(_row_html(r) + '\n' for r in rows)
    body.append('</tbody></table></div></section>\n')

    if report['accounts']:
        body.append('<section id="accounts"><h2>Comptes techniques</h2><div class="wrap"><table><thead><tr>'
                    '<th>Compte</th><th>Environnement</th><th>Application PISTE</th><th>Statut</th>'
                    '<th>Structures</th><th>Expiration du mot de passe</th><th>Jours restants</th>'
                    '<th>Détail</th></tr></thead><tbody>')
        for a in sorted(report['accounts'], key=lambda a: (
                SEVERITY_ORDER.index(a['severity']) if a['severity'] in SEVERITY_ORDER else 1,
                a['days_left'] if a['days_left'] is not None else 1 << 30, a['login'] or '')):
            body.append('<tr class="sev-%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class="num">%s</td>'
                        '<td class="num">%s</td><td class="num">%s</td><td class="detail">%s</td></tr>' % (
                            _e(a['severity']), _e(a['login']), _e(a['environment']), _e(a['piste_app']),
                            _badge(a['status']) if a['status'] in _statuses.STATUSES else _e(a['status']),
                            _e(a['structures']), _e(_fr_date(a['password_expires_on'])),
                            _e(a['days_left']), _e(a['detail'])))
        body.append('</tbody></table></div></section>\n')

    if contact_pages:
        body.append('<section id="contacts"><h2>Pages par contact</h2><p>Une page par contact, '
                    'prête à envoyer, avec seulement ses structures et ce qu\'il doit faire.</p><ul>')
        for contact, relpath in sorted(contact_pages.items()):
            body.append('<li><a href="%s">%s</a></li>' % (_e(relpath), _e(contact or '(sans contact)')))
        body.append('</ul></section>\n')
    body.append('</main>\n<footer>Fichiers du rapport : <a href="report.csv">report.csv</a> (tableur), '
                '<a href="report.json">report.json</a>, <a href="changes.html">changes.html</a>. '
                'Généré par chorus.corail.</footer>\n')
    return _page('%s (%s)' % (title, _fr_datetime(report['generated_at'])), ''.join(body), _REPORT_JS)


def contact_slug(contact):
    if not contact:
        return NO_CONTACT
    slug = re.sub(r'[^a-z0-9._-]+', '-', contact.strip().lower().replace('@', '-at-')).strip('-.')
    return slug[:80] or 'contact'


def contact_files(report):
    """{contact or '': file name} with distinct names, in a stable order."""
    names, used = {}, set()
    for contact in sorted(set(r['contact'] or '' for r in report['structures'])):
        base = contact_slug(contact)
        name, n = base, 2
        while name in used:
            name = '%s-%d' % (base, n)
            n += 1
        used.add(name)
        names[contact] = name + '.html'
    return names


def render_contact_html(report, contact):
    """One page for one contact: only their structures, what to do first, ready to send."""
    mine = [r for r in report['structures'] if (r['contact'] or '') == (contact or '')]
    # One SIRET may be served by several servers: the contact needs it once per status.
    by_siret = {}
    for row in sorted(mine, key=worst_first_key):
        by_siret.setdefault((row['siret'], row['status']), row)
    rows = sorted(by_siret.values(), key=worst_first_key)
    todo = [r for r in rows if is_problem(r['status'])]
    fine = [r for r in rows if not is_problem(r['status'])]
    who = contact or '(sans contact désigné)'
    title = 'Chorus Pro : actions à mener'
    body = ['<body>\n<header><h1>%s</h1>' % _e(title)]
    body.append('<p class="meta">Destinataire : <strong>%s</strong> — vérification du %s.</p>' % (
        _e(who), _e(_fr_datetime(report['generated_at']))))
    if report['scope']['partial']:
        body.append('<p class="partial">Vérification partielle : seules les structures listées ici ont été '
                    'vérifiées.</p>')
    body.append('</header>\n<main>\n')
    sirets = len(set(r['siret'] for r in rows))
    if todo:
        body.append('<p>Sur vos %d structure(s), <strong>%d demande(nt) une action</strong> pour que les '
                    'factures reçues dans Chorus Pro arrivent dans Corail.</p>' % (
                        sirets, len(set(r['siret'] for r in todo))))
    else:
        body.append('<p>Sur vos %d structure(s), aucune action n\'est nécessaire.</p>' % sirets)
    for row in todo:
        facts = ['SIRET <strong>%s</strong>' % _e(row['siret'])]
        if row['account']:
            facts.append('compte technique %s' % _e(row['account']))
        if row['password_expires_on']:
            facts.append('mot de passe valable jusqu\'au %s' % _e(_fr_date(row['password_expires_on'])))
        body.append('<section class="struct sev-%s" data-siret="%s" data-status="%s"><h2>%s</h2><p>%s — %s</p>'
                    '<div class="todo">%s</div></section>\n' % (
                        row['severity'], _e(row['siret']), _e(row['status']), _e(row['name'] or row['siret']),
                        _badge(row['status']), ', '.join(facts), remediation_html(row['remediation'])))
    if fine:
        body.append('<h2>Structures sans action à mener</h2><table><thead><tr><th>Structure</th><th>SIRET</th>'
                    '<th>Statut</th><th>Expiration du mot de passe</th></tr></thead><tbody>')
        for row in fine:
            body.append('<tr class="sev-%s" data-siret="%s" data-status="%s"><td>%s</td><td class="siret">%s</td>'
                        '<td>%s</td><td class="num">%s</td></tr>' % (
                            row['severity'], _e(row['siret']), _e(row['status']), _e(row['name']),
                            _e(row['siret']), _badge(row['status']), _e(_fr_date(row['password_expires_on']))))
        body.append('</tbody></table>\n')
    body.append('</main>\n<footer>Document établi automatiquement par votre intégrateur à partir de '
                'l\'état de Chorus Pro.</footer>\n')
    return _page('%s — %s' % (title, who), ''.join(body))


def _change_table(items, with_previous):
    if not items:
        return '<p>Aucun.</p>'
    out = ['<table><thead><tr><th>Serveur</th><th>SIRET</th><th>Structure</th><th>Contact</th><th>Statut</th>']
    if with_previous:
        out.append('<th>Statut précédent</th>')
    out.append('<th>Depuis</th></tr></thead><tbody>')
    for e in items:
        status_cell = _badge(e['status']) if e['status'] in _statuses.STATUSES else 'non vérifiée'
        out.append('<tr data-siret="%s"><td>%s</td><td class="siret">%s</td><td>%s</td><td>%s</td><td>%s</td>' % (
            _e(e['siret']), _e(e['host']), _e(e['siret']), _e(e['name']), _e(e['contact']), status_cell))
        if with_previous:
            out.append('<td>%s</td>' % (_badge(e['previous_status'])
                                        if e['previous_status'] in _statuses.STATUSES else '—'))
        out.append('<td>%s</td></tr>' % _e(_fr_datetime(e['since'])))
    out.append('</tbody></table>')
    return ''.join(out)


def render_changes_html(changes):
    title = 'Chorus Pro : changements depuis le rapport précédent'
    body = ['<body>\n<header><h1>%s</h1>' % _e(title)]
    if changes.get('previous'):
        body.append('<p class="meta">Rapport du %s comparé à celui du %s.</p>' % (
            _e(_fr_datetime(changes['generated_at'])), _e(_fr_datetime(changes['previous']['generated_at']))))
    else:
        body.append('<p class="meta">Premier rapport de ce dossier (%s) : tous les problèmes sont nouveaux.</p>'
                    % _e(_fr_datetime(changes['generated_at'])))
    body.append('</header>\n<main>\n')
    sections = (
        ('new', 'Nouveaux problèmes', False),
        ('changed', 'Problèmes qui ont changé de nature', True),
        ('recurring', 'Problèmes persistants', False),
        ('fixed', 'Problèmes corrigés', True),
        ('not_rechecked', 'Problèmes non revérifiés cette fois (hors périmètre ou non vérifiés en ligne)', True),
    )
    for key, heading, with_previous in sections:
        body.append('<section id="%s"><h2>%s (%d)</h2>%s</section>\n' % (
            key, _e(heading), changes['counts'][key], _change_table(changes['changes'][key], with_previous)))
    body.append('</main>\n<footer><a href="report.html">Retour au rapport</a></footer>\n')
    return _page(title, ''.join(body))


# --------------------------------------------------------------------------------------------
# Files


def _mkdir_private(path):
    os.mkdir(path, 0o700)
    os.chmod(path, 0o700)  # mkdir's mode goes through the umask


def _write_private(path, data):
    if isinstance(data, str):
        data = data.encode('utf-8')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)


def _load_json(path):
    try:
        with open(path, 'rb') as handle:
            data = json.loads(handle.read().decode('utf-8'))
    except (IOError, OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def find_previous(report_dir):
    """The newest earlier report of ``report_dir`` (``latest`` first), loaded, or None."""
    candidates = []
    link = os.path.join(report_dir, LATEST)
    if os.path.islink(link):
        target = os.readlink(link)
        candidates.append(os.path.basename(target.rstrip('/')))
    try:
        names = sorted((n for n in os.listdir(report_dir) if FOLDER_RE.match(n)), reverse=True)
    except OSError:
        names = []
    candidates.extend(names)
    for name in candidates:
        if not FOLDER_RE.match(name):
            continue
        data = _load_json(os.path.join(report_dir, name, 'report.json'))
        if data is not None and isinstance(data.get('structures'), list):
            data['_folder'] = name
            return data
    return None


def folder_name(generated_at):
    return generated_at.strftime('%Y%m%dT%H%M%SZ')


def _point_latest(report_dir, name):
    link = os.path.join(report_dir, LATEST)
    if os.path.lexists(link) and not os.path.islink(link):
        raise ReportError('%s exists and is not a symbolic link; move it away' % link)
    tmp = os.path.join(report_dir, '.%s.%d' % (LATEST, os.getpid()))
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(name, tmp)  # relative, so the folder can be moved or synced elsewhere
    os.rename(tmp, link)  # atomic: readers see the old or the new report, never none


def json_bytes(data):
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + '\n').encode('utf-8')


def prepare(result, scope=None, report_dir=None, generated_at=None):
    """Report, changes and contact page names, without writing anything (check mode uses this)."""
    generated_at = generated_at or now_utc()
    report = build_report(result, scope, generated_at)
    previous = find_previous(report_dir) if report_dir and os.path.isdir(report_dir) else None
    changes = compute_changes(previous, report)
    return report, changes, contact_files(report)


def write_report(report_dir, result, scope=None, generated_at=None):
    """Write one report folder and point ``latest`` at it. Returns (report, changes, paths)."""
    generated_at = generated_at or now_utc()
    report_dir = os.path.abspath(report_dir)
    build_report(result, scope, generated_at)  # refuse a bad result before creating anything
    if not os.path.isdir(report_dir):
        try:
            os.makedirs(os.path.dirname(report_dir) or '/', exist_ok=True)
            _mkdir_private(report_dir)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise ReportError('report_dir %s: cannot create it (%s)' % (report_dir, exc.strerror))
    report, changes, contacts = prepare(result, scope, report_dir, generated_at)

    base = folder_name(generated_at)
    name, n = base, 2
    while True:
        folder = os.path.join(report_dir, name)
        try:
            _mkdir_private(folder)
            break
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise ReportError('%s: cannot create the report folder (%s)' % (folder, exc.strerror))
            name = '%s-%d' % (base, n)
            n += 1
    _mkdir_private(os.path.join(folder, 'contacts'))

    contact_links = dict((contact, 'contacts/' + filename) for contact, filename in contacts.items())
    paths = {
        'folder': folder,
        'latest': os.path.join(report_dir, LATEST),
        'json': os.path.join(folder, 'report.json'),
        'csv': os.path.join(folder, 'report.csv'),
        'html': os.path.join(folder, 'report.html'),
        'changes_json': os.path.join(folder, 'changes.json'),
        'changes_html': os.path.join(folder, 'changes.html'),
        'contacts': dict((contact, os.path.join(folder, rel)) for contact, rel in contact_links.items()),
    }
    _write_private(paths['json'], json_bytes(report))
    _write_private(paths['csv'], render_csv(report))
    _write_private(paths['changes_json'], json_bytes(changes))
    _write_private(paths['changes_html'], render_changes_html(changes))
    for contact, filename in contacts.items():
        _write_private(os.path.join(folder, 'contacts', filename), render_contact_html(report, contact))
    # Last, so that a report.html on disk means the folder is complete.
    _write_private(paths['html'], render_html(report, changes, contact_links))
    _point_latest(report_dir, name)
    return report, changes, paths
