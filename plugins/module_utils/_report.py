# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""The check report: rows, actions and changes from a credentials_info result, and the files.

Pure Python (no Ansible import) so that it is unit-tested on its own. The HTML pages are Jinja2
templates rendered on the controller (plugins/plugin_utils/_report_html.py, templates/reports/);
this file builds the data and writes what it is given, through the one writer. One report is a folder
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

from ansible_collections.chorus.corail.plugins.module_utils import _statuses
from ansible_collections.chorus.corail.plugins.module_utils import _writer

REPORT_VERSION = 1
# Version of report.json's shape: readers (dashboards, the changes of the next run) check it
# before trusting the fields; bump it when a field changes meaning or goes away.
# 2: top-level `actions`; rows gain action_by, cause, cause_detail_fr, password_expiry_source.
SCHEMA_VERSION = 2

# Fields of one row of report.json (the list, plus contact, service_code, designation,
# label, severity, problem_since and the shared contract's action_by, cause, cause_detail_fr,
# password_expiry_source).
ROW_FIELDS = (
    'host', 'siret', 'name', 'contact', 'service_code', 'account', 'piste_app', 'environment',
    'status', 'label', 'severity', 'warnings', 'detail', 'remediation', 'id_structure_cpp',
    'designation', 'password_expires_on', 'days_left', 'problem_since', 'drift', 'left_out',
    'action_by', 'cause', 'cause_detail_fr', 'password_expiry_source',
)
# A spreadsheet has no dict: the cause becomes two columns.
CSV_COLUMNS = tuple(f for f in ROW_FIELDS if f != 'cause') + ('cause_kind', 'cause_subject')

# Worst first: what needs someone's action, then what could not be checked, then what to plan.
SEVERITY_ORDER = ('error', 'unknown', 'warning', 'ok')
SEVERITY_LABELS = {
    'error': 'Action requise',
    'unknown': 'À revérifier',
    'warning': 'À anticiper',
    'ok': 'OK',
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


def expiry_source(entry):
    """``api``, ``estimated`` or None: where the password expiry date comes from.

    The check's own ``password_expiry_source`` when it gives one; else read from the detail it
    wrote ("... from password_changed_on + 424 days" / "... from API ...").
    """
    source = entry.get('password_expiry_source')
    if source in ('api', 'estimated'):
        return source
    if not entry.get('password_expires_on'):
        return None
    detail = entry.get('detail') or ''
    if 'from password_changed_on' in detail:
        return 'estimated'
    if 'from API' in detail:
        return 'api'
    return None


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
        'action_by': None,
        'cause': None,
        'cause_detail_fr': None,
        'password_expiry_source': expiry_source(entry),
    }
    action_by, cause = _statuses.cause_of(entry)
    row['action_by'] = action_by
    if cause is not None:
        row['cause'] = {'kind': cause['kind'], 'subject': _text(cause.get('subject')) or siret}
        row['cause_detail_fr'] = _text(entry.get('cause_detail_fr')) or _statuses.cause_detail_fr(
            row['cause'], siret=siret, account=row['account'], piste_app=row['piste_app'],
            environment=row['environment'], password_expires_on=row['password_expires_on'])
    # credentials_info fills remediation from the same vocabulary; fill it when a caller did not.
    context = dict((k, v) for k, v in row.items() if k not in ('status', 'cause'))
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


def build_actions(rows):
    """"Actions à mener": one entry per cause, with the structures and servers it unblocks.

    Sorted by how many structures one action fixes, then the gestionnaire's before the
    integrator's, then by status precedence, cause and subject: the order is stable from run to run.
    """
    groups = {}
    for row in rows:
        cause = row.get('cause')
        if not cause:
            continue
        key = (cause['kind'], cause['subject'])
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                'kind': cause['kind'], 'subject': cause['subject'], 'action_by': row['action_by'],
                'label': _statuses.CAUSE_LABELS[cause['kind']].format(subject=cause['subject']),
                'structures': [], 'hosts': [], 'statuses': [], 'count': 0,
            }
        if row['siret'] not in group['structures']:
            group['structures'].append(row['siret'])
        if row['host'] and row['host'] not in group['hosts']:
            group['hosts'].append(row['host'])
        if row['status'] not in group['statuses']:
            group['statuses'].append(row['status'])
    kinds = list(_statuses.CAUSE_KINDS)
    actions = []
    for group in groups.values():
        group['structures'].sort()
        group['hosts'].sort()
        group['statuses'].sort(key=_statuses.status_rank)
        group['count'] = len(group['structures'])
        actions.append(group)
    order = dict((who, i) for i, who in enumerate(_statuses.ACTORS))
    actions.sort(key=lambda a: (-a['count'], order.get(a['action_by'], len(order)),
                                _statuses.status_rank(a['statuses'][0]), kinds.index(a['kind']), a['subject'] or ''))
    return actions


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
        'actions': build_actions(rows),
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
        cause = row.get('cause') or {}
        for column in CSV_COLUMNS:
            value = row.get(column)
            if column in ('cause_kind', 'cause_subject'):
                value = cause.get(column[len('cause_'):])
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
# Contacts


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


# --------------------------------------------------------------------------------------------
# Files


def _mkdir_private(path):
    os.mkdir(path, _writer.PRIVATE_DIR)
    os.chmod(path, _writer.PRIVATE_DIR)  # mkdir's mode goes through the umask


def _write_private(path, data):
    """A new report file, 0600, through the one writer (temporary file, then one rename)."""
    if isinstance(data, str):
        data = data.encode('utf-8')
    try:
        _writer.write(_writer.read(path), data, secret=True)
    except _writer.WriteError as exc:
        raise ReportError(str(exc))


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


def write_report(report_dir, result, scope=None, generated_at=None, render=None):
    """Write one report folder and point ``latest`` at it. Returns (report, changes, paths).

    ``render(report, changes, contact_links)`` returns the HTML pages, ``{'report': text,
    'changes': text, 'contacts': {contact: text}}`` (plugins/plugin_utils/_report_html.py);
    without it only the data files are written.
    """
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
    contact_links = dict((contact, 'contacts/' + filename) for contact, filename in contacts.items())
    # Rendered before the folder exists: a template error leaves no half report behind.
    pages = render(report, changes, contact_links) if render else {}

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

    paths = {
        'folder': folder,
        'latest': os.path.join(report_dir, LATEST),
        'json': os.path.join(folder, 'report.json'),
        'csv': os.path.join(folder, 'report.csv'),
        'changes_json': os.path.join(folder, 'changes.json'),
    }
    _write_private(paths['json'], json_bytes(report))
    _write_private(paths['csv'], render_csv(report))
    _write_private(paths['changes_json'], json_bytes(changes))
    if pages:
        paths['changes_html'] = os.path.join(folder, 'changes.html')
        _write_private(paths['changes_html'], pages['changes'])
        paths['contacts'] = {}
        for contact, rel in contact_links.items():
            paths['contacts'][contact] = os.path.join(folder, rel)
            _write_private(paths['contacts'][contact], pages['contacts'][contact])
        # Last, so that a report.html on disk means the folder is complete.
        paths['html'] = os.path.join(folder, 'report.html')
        _write_private(paths['html'], pages['report'])
    _point_latest(report_dir, name)
    return report, changes, paths
