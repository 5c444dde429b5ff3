# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""The HTML reports: Jinja2 templates (templates/reports/) rendered on the controller.

Python builds the data each page shows, in French (dates, plurals, texts per audience); the
templates hold every tag. An integrator's ``templates_dir`` is searched first, so that a file of
the same name replaces the collection's; ``{% extends "builtin/report.html.j2" %}`` reaches the
collection's own. Templates run in Jinja2's sandbox with autoescape on.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import re

try:
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover - the controller runs Python 3.11 or later
    ZoneInfo = None

from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader, StrictUndefined
from markupsafe import Markup
from jinja2.exceptions import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from ansible_collections.chorus.corail.plugins.module_utils import _report
from ansible_collections.chorus.corail.plugins.module_utils import _statuses

BUILTIN_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                            '..', '..', 'templates', 'reports'))
TEMPLATES = {'report': 'report.html.j2', 'contact': 'contact.html.j2', 'changes': 'changes.html.j2'}
PARIS = 'Europe/Paris'
MONTHS = ('janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre',
          'octobre', 'novembre', 'décembre')
SEVERITY_LABELS = {
    'error': 'Action requise',
    'unknown': 'À revérifier',
    'warning': 'À anticiper',
    'ok': 'OK',
}
# How an estimated expiry was estimated, said wherever the date is shown.
ESTIMATED = 'date estimée : dernier changement du mot de passe enregistré + 424 jours'
# A mairie has nothing to do for these causes: their integrator does.
INTEGRATOR_NOTE = "Votre intégrateur s'en occupe : vous n'avez rien à faire pour cette structure."


class RenderError(ValueError):
    """A template is missing or fails; the message names it."""


# --------------------------------------------------------------------------------------------
# French dates, times and plurals


def _parse_iso(value):
    if not value:
        return None
    text = str(value).strip()
    try:
        if len(text) == 10:
            return datetime.date(int(text[:4]), int(text[5:7]), int(text[8:10]))
        moment = datetime.datetime.strptime(text.replace('Z', '+00:00')[:25], '%Y-%m-%dT%H:%M:%S%z')
    except ValueError:
        return None
    return moment


def _paris(moment):
    if ZoneInfo is None:
        return moment, 'UTC'
    return moment.astimezone(ZoneInfo(PARIS)), 'heure de Paris'


def _day(value):
    """The calendar day of an ISO date or date-time (a time read in Paris), or None."""
    moment = _parse_iso(value)
    if isinstance(moment, datetime.datetime):
        moment = _paris(moment)[0].date()
    return moment


def fr_date(value):
    """``2026-12-14`` -> ``14/12/2026`` (tables)."""
    day = _day(value)
    return day.strftime('%d/%m/%Y') if day else (value or '')


def fr_long_date(value):
    """``2026-12-14`` -> ``14 décembre 2026`` (sentences; ``1er`` for the first of the month)."""
    day = _day(value)
    if day is None:
        return value or ''
    return '%s %s %d' % ('1er' if day.day == 1 else str(day.day), MONTHS[day.month - 1], day.year)


def fr_datetime(value, long=False):
    """``2026-12-14T02:00:00Z`` -> ``14/12/2026 à 03:00 (heure de Paris)``; ``long``: ``14 décembre 2026 à ...``."""
    moment = _parse_iso(value)
    if not isinstance(moment, datetime.datetime):
        return value or ''
    local, zone = _paris(moment)
    day = fr_long_date(local.date().isoformat()) if long else local.strftime('%d/%m/%Y')
    return '%s à %s (%s)' % (day, local.strftime('%H:%M'), zone)


def plural(count, singular, plural_form=None):
    """``1 structure``, ``3 structures``; French takes the singular for 0 and 1."""
    word = singular if abs(int(count)) < 2 else (plural_form or singular + 's')
    return '%d %s' % (count, word)


def agree(count, singular, plural_form=None):
    """The word alone, agreed with ``count`` (a verb: ``demande`` / ``demandent``)."""
    return singular if abs(int(count)) < 2 else (plural_form or singular + 's')


def css_string(value):
    """A CSS string literal (the printed page's running header), safe inside a style element."""
    text = str(value or '')
    out = ['"']
    for char in text:
        if char in '"\\<>&' or ord(char) < 32:
            out.append('\\%x ' % ord(char))
        else:
            out.append(char)
    out.append('"')
    return Markup(''.join(out))


# --------------------------------------------------------------------------------------------
# Texts as parts (the template makes the links) and steps


_URL_RE = re.compile(r'https://[^\s()<>"]+[^\s()<>".,;:]')
_STEP_RE = re.compile(r'(?:^|(?<=\s))(\d{1,2})\) ')


def text_parts(text):
    """``[{'text': ...}, {'url': ...}, ...]``: a sentence with its addresses, for the template to link."""
    parts, last = [], 0
    for match in _URL_RE.finditer(text or ''):
        if match.start() > last:
            parts.append({'text': text[last:match.start()]})
        parts.append({'url': match.group(0)})
        last = match.end()
    if last < len(text or ''):
        parts.append({'text': text[last:]})
    return parts


def steps_of(text):
    """A remediation text as ``{'intro': parts, 'steps': [parts, ...]}`` (``1) ... ; 2) ...`` become steps)."""
    text = text or ''
    matches = list(_STEP_RE.finditer(text))
    if len(matches) < 2 or matches[0].group(1) != '1':
        return {'intro': text_parts(text), 'steps': []}
    steps = []
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        step = text[match.end():end].strip()
        if step.endswith(';'):
            step = step[:-1].rstrip()
        steps.append(text_parts(step))
    return {'intro': text_parts(text[:matches[0].start()].strip()), 'steps': steps}


def expiry_of(row):
    """What to show of the password expiry: the date (table and sentence), estimated or not."""
    if not row.get('password_expires_on'):
        return None
    return {
        'date': fr_date(row['password_expires_on']),
        'long': fr_long_date(row['password_expires_on']),
        'days_left': row.get('days_left'),
        'estimated': row.get('password_expiry_source') == 'estimated',
        'how': ESTIMATED if row.get('password_expiry_source') == 'estimated' else None,
    }


# The cause in a few words, for the "({detail})" of a remediation text: a whole sentence there
# would repeat the text around it.
_SHORT_DETAIL = {
    'raccordement_missing': 'accès refusé',
    'api_route': 'accès refusé à tous les appels de l\'application',
    'piste_app_refused': 'identifiant ou secret refusé',
    'piste_app_unreachable': 'PISTE injoignable',
    'api_unavailable': 'pas de réponse exploitable',
    'invalid_input': 'voir le détail technique',
}
# Lists of a "Actions à mener" line stay short; the table has them all.
LIST_LIMIT = 12


def remediation_for(row, audience):
    """The French remediation of a row for ``audience`` (``integrator`` or ``gestionnaire``).

    Built again from the vocabulary with French values: the check's English detail and ISO
    dates never reach a page.
    """
    expiry = expiry_of(row)
    expires = None
    if expiry:
        expires = expiry['long'] + (' (%s)' % ESTIMATED if expiry['estimated'] else '')
    kind = (row.get('cause') or {}).get('kind')
    # The "({detail})" of a text: the cause in a few words, the sentence around it says the rest.
    detail = _SHORT_DETAIL.get(kind) or row.get('cause_detail_fr') or ''
    context = dict(siret=row.get('siret'), account=row.get('account'), piste_app=row.get('piste_app'),
                   environment=row.get('environment'), password_expires_on=expires, days_left=row.get('days_left'),
                   detail=detail.rstrip('.') or None)
    return _statuses.remediation(row['status'], cause=row.get('cause'), action_by=row.get('action_by'),
                                 audience=audience, **context)


_FR_DATE_RE = re.compile(r'\b(\d{2})/(\d{2})/(\d{4})\b')


def sentence(text):
    """A French sentence for a page: its dates written out (``14 décembre 2026``)."""
    return _FR_DATE_RE.sub(lambda m: fr_long_date('%s-%s-%s' % (m.group(3), m.group(2), m.group(1))), text or '')


# --------------------------------------------------------------------------------------------
# Page data


def _scope(scope):
    return {
        'limit': None if scope['limit'] == 'none' else scope['limit'],
        'hosts_count': scope['hosts_count'],
        'hosts_label': plural(scope['hosts_count'], 'serveur ciblé', 'serveurs ciblés'),
        'partial': scope['partial'],
        'failed_before': scope['failed_before'],
        'failed_label': plural(len(scope['failed_before']), 'serveur était déjà en échec',
                               'serveurs étaient déjà en échec'),
        'without_structures': scope['hosts_without_structures'][:20],
        'without_structures_more': len(scope['hosts_without_structures']) > 20,
    }


def _status(status):
    return {'name': status, 'label': _statuses.LABELS[status], 'severity': _statuses.SEVERITY[status]}


def _action_view(action, number, rows_by_siret):
    first = rows_by_siret[action['structures'][0]]
    # Names help when there are few; past a handful the SIRETs say enough.
    named = len(action['structures']) <= 3
    names = []
    for siret in action['structures'][:LIST_LIMIT]:
        names.append({'siret': siret, 'name': (rows_by_siret[siret].get('name') or '') if named else ''})
    return {
        'number': number,
        'kind': action['kind'],
        'subject': action['subject'],
        'label': action['label'],
        'action_by': action['action_by'],
        'action_by_label': _statuses.ACTOR_LABELS.get(action['action_by'], action['action_by']),
        'count': action['count'],
        'count_label': plural(action['count'], 'structure'),
        'hosts': action['hosts'][:LIST_LIMIT],
        'hosts_more': max(len(action['hosts']) - LIST_LIMIT, 0),
        'hosts_label': plural(len(action['hosts']), 'serveur'),
        'structures': names,
        'structures_more': max(len(action['structures']) - LIST_LIMIT, 0),
        'statuses': [_status(s) for s in action['statuses']],
        'severity': _statuses.SEVERITY[action['statuses'][0]],
        'why': sentence(first.get('cause_detail_fr')),
        'steps': steps_of(remediation_for(first, 'integrator')),
    }


def _row_view(row, action_numbers):
    cause = row.get('cause')
    return {
        'host': row.get('host') or '',
        'siret': row.get('siret') or '',
        'name': row.get('name') or '',
        'contact': row.get('contact') or '',
        'contact_value': row.get('contact') or _report._NO_CONTACT_VALUE,
        'account': row.get('account') or '',
        'app_env': ' · '.join(v for v in (row.get('piste_app'), row.get('environment')) if v),
        'status': _status(row['status']),
        'sort_status': _report.SEVERITY_ORDER.index(row['severity']) * 100 + _statuses.status_rank(row['status']),
        'warnings': [_statuses.WARNING_LABELS.get(w, w) for w in row.get('warnings') or []],
        'expiry': expiry_of(row),
        'expires_on': row.get('password_expires_on') or '',
        'problem': _report.is_problem(row['status']),
        'why': sentence(row.get('cause_detail_fr')),
        'action': action_numbers.get((cause['kind'], cause['subject'])) if cause else None,
        'action_by_label': _statuses.ACTOR_LABELS.get(row.get('action_by'), ''),
        'detail': row.get('detail') or '',
    }


def _options(values, counts, labels=None):
    return [{'value': v, 'label': '%s (%d)' % ((labels or {}).get(v, v), counts.get(v, 0))} for v in values]


def report_data(report, changes=None, contact_links=None, integrator=None):
    """What report.html shows (the integrator's report)."""
    rows = sorted(report['structures'], key=_report.worst_first_key)
    by_siret = {}
    for row in rows:
        by_siret.setdefault(row['siret'], row)
    actions = [_action_view(a, i + 1, by_siret) for i, a in enumerate(report.get('actions') or [])]
    # The steps of a kind of cause are written once, on its first action: 300 missing accounts
    # are 300 lines, not 300 copies of the same procedure.
    first_of_kind = {}
    for action in actions:
        if action['kind'] in first_of_kind:
            action['same_as'] = first_of_kind[action['kind']]
            action['steps'] = None
        else:
            first_of_kind[action['kind']] = action['number']
            action['same_as'] = None
    numbers = dict(((a['kind'], a['subject']), a['number']) for a in actions)
    counts = report['counts']
    worst_first = sorted(_statuses.STATUSES, key=lambda s: (_report.SEVERITY_ORDER.index(_statuses.SEVERITY[s]),
                                                            _statuses.status_rank(s)))
    host_counts, contact_counts = {}, {}
    for row in rows:
        host_counts[row['host'] or ''] = host_counts.get(row['host'] or '', 0) + 1
        key = row['contact'] or _report._NO_CONTACT_VALUE
        contact_counts[key] = contact_counts.get(key, 0) + 1
    hosts = sorted(host_counts)
    accounts = sorted(report.get('accounts') or [], key=lambda a: (
        _report.SEVERITY_ORDER.index(a['severity']) if a['severity'] in _report.SEVERITY_ORDER else 1,
        a['days_left'] if a['days_left'] is not None else 1 << 30, a['login'] or ''))
    change_counts = None
    if changes and changes.get('previous'):
        c = changes['counts']
        change_counts = {
            'since': fr_datetime(changes['previous']['generated_at']),
            'new': plural(c['new'], 'nouveau problème', 'nouveaux problèmes'),
            'changed': plural(c['changed'], 'changé', 'changés'),
            'recurring': plural(c['recurring'], 'persistant', 'persistants'),
            'fixed': plural(c['fixed'], 'corrigé', 'corrigés'),
            'not_rechecked': plural(c['not_rechecked'], 'non revérifié', 'non revérifiés'),
        }
    problems = sum(1 for r in rows if _report.is_problem(r['status']))
    scope = _scope(report['scope'])
    header = 'Chorus Pro — rapport du %s — périmètre : %s, %s%s' % (
        fr_datetime(report['generated_at']), scope['hosts_label'],
        'option --limit %s' % scope['limit'] if scope['limit'] else 'sans --limit',
        ' — RAPPORT PARTIEL' if scope['partial'] else '')
    return {
        'title': 'Chorus Pro : vérification des comptes techniques',
        'print_header': header,
        'generated': fr_datetime(report['generated_at']),
        'generated_long': fr_datetime(report['generated_at'], long=True),
        'total_label': plural(report['total'], 'structure'),
        'servers_label': plural(len(hosts), 'serveur'),
        'problems_label': plural(problems, 'structure demande une action', 'structures demandent une action'),
        'scope': scope,
        'cards': [dict(_status(s), count=counts.get(s, 0)) for s in worst_first],
        'legend': [{'severity': s, 'label': SEVERITY_LABELS[s]} for s in _report.SEVERITY_ORDER],
        'changes': change_counts,
        'actions': actions,
        'actions_label': plural(len(actions), 'action'),
        'rows': [_row_view(r, numbers) for r in rows],
        'rows_count': len(rows),
        'filters': {
            'hosts': _options(hosts, host_counts),
            'statuses': _options([s for s in _statuses.STATUSES if counts.get(s)], counts, _statuses.LABELS),
            'contacts': _options(sorted(contact_counts), contact_counts,
                                 {_report._NO_CONTACT_VALUE: '(sans contact)'}),
        },
        'accounts': [dict(a, status_view=_status(a['status']) if a['status'] in _statuses.STATUSES else None,
                          expires=fr_date(a['password_expires_on'])) for a in accounts],
        'contact_pages': sorted((contact or '(sans contact)', rel) for contact, rel in (contact_links or {}).items()),
        'integrator': integrator or {},
    }


def contact_data(report, contact, integrator=None):
    """What one contact's page shows: only that contact's structures, in French, for a mairie."""
    mine = [r for r in report['structures'] if (r['contact'] or '') == (contact or '')]
    # One SIRET may be served by several servers: the contact needs it once per status.
    by_siret = {}
    for row in sorted(mine, key=_report.worst_first_key):
        by_siret.setdefault((row['siret'], row['status']), row)
    rows = sorted(by_siret.values(), key=_report.worst_first_key)
    sirets = len(set(r['siret'] for r in rows))
    todo, fine = [], []
    for row in rows:
        view = {
            'siret': row['siret'], 'name': row.get('name') or row['siret'], 'account': row.get('account') or '',
            'status': _status(row['status']), 'expiry': expiry_of(row),
            'integrator_acts': row.get('action_by') == 'integrator',
        }
        # Where the mairie has steps to follow, they open on the cause: the sentence is said once.
        view['why'] = sentence(row.get('cause_detail_fr')) if view['integrator_acts'] else ''
        if _report.is_problem(row['status']):
            view['note'] = INTEGRATOR_NOTE if view['integrator_acts'] else None
            view['steps'] = None if view['integrator_acts'] else steps_of(remediation_for(row, 'gestionnaire'))
            todo.append(view)
        else:
            fine.append(view)
    yours = len(set(v['siret'] for v in todo if not v['integrator_acts']))
    theirs = len(set(v['siret'] for v in todo if v['integrator_acts']))
    parts = []
    if sirets == 1:
        if yours:
            parts.append('Votre structure demande une action de votre part')
        elif theirs:
            parts.append('Votre structure attend une intervention de votre intégrateur')
        else:
            parts.append('Votre structure ne demande aucune action')
    elif yours or theirs:
        if yours:
            parts.append('%d %s une action de votre part' % (yours, agree(yours, 'demande', 'demandent')))
        if theirs:
            parts.append('%d %s une intervention de votre intégrateur' % (theirs, agree(theirs, 'attend', 'attendent')))
        parts[0] = 'Sur vos %d structures, %s' % (sirets, parts[0])
    else:
        parts.append("Sur vos %d structures, aucune ne demande d'action" % sirets)
    intro = ' ; '.join(parts)
    todo_sirets = yours + theirs
    return {
        'title': 'Chorus Pro : actions à mener',
        'print_header': 'Chorus Pro — %s — vérification du %s' % (
            contact or '(sans contact désigné)', fr_datetime(report['generated_at'])),
        'who': contact or '(sans contact désigné)',
        'generated_long': fr_datetime(report['generated_at'], long=True),
        'intro': intro,
        'has_todo': bool(todo_sirets),
        'todo': todo,
        'fine': fine,
        'integrator': integrator or {},
    }


def changes_data(changes):
    """What changes.html shows."""
    sections = []
    for key, heading, with_previous in (
            ('new', 'Nouveaux problèmes', False),
            ('changed', 'Problèmes qui ont changé de nature', True),
            ('recurring', 'Problèmes persistants', False),
            ('fixed', 'Problèmes corrigés', True),
            ('not_rechecked', 'Problèmes non revérifiés cette fois (hors périmètre ou non vérifiés en ligne)', True)):
        items = []
        for e in changes['changes'][key]:
            items.append({
                'host': e.get('host') or '', 'siret': e.get('siret') or '', 'name': e.get('name') or '',
                'contact': e.get('contact') or '',
                'status': _status(e['status']) if e.get('status') in _statuses.STATUSES else None,
                'previous': _status(e['previous_status']) if e.get('previous_status') in _statuses.STATUSES else None,
                'since': fr_datetime(e.get('since')),
            })
        sections.append({'key': key, 'heading': heading, 'with_previous': with_previous, 'entries': items,
                         'count': changes['counts'][key]})
    return {
        'title': 'Chorus Pro : changements depuis le rapport précédent',
        'print_header': 'Chorus Pro — changements — rapport du %s' % fr_datetime(changes['generated_at']),
        'generated': fr_datetime(changes['generated_at']),
        'previous': fr_datetime(changes['previous']['generated_at']) if changes.get('previous') else None,
        'sections': sections,
    }


# --------------------------------------------------------------------------------------------
# Rendering


def environment(templates_dir=None):
    """The Jinja2 environment: the integrator's folder first, then the collection's (also as ``builtin/``)."""
    loaders = []
    if templates_dir:
        if not os.path.isdir(templates_dir):
            raise RenderError('templates_dir %s: not a folder' % templates_dir)
        loaders.append(FileSystemLoader(templates_dir))
    loaders.append(FileSystemLoader(BUILTIN_DIR))
    loaders.append(PrefixLoader({'builtin': FileSystemLoader(BUILTIN_DIR)}))
    env = SandboxedEnvironment(loader=ChoiceLoader(loaders), autoescape=True, undefined=StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(fr_date=fr_date, fr_long_date=fr_long_date, fr_datetime=fr_datetime, plural=plural,
                       css_string=css_string)
    return env


def _render(env, name, data):
    try:
        return env.get_template(TEMPLATES[name]).render(page=data)
    except (TemplateError, TypeError, ValueError, AttributeError, KeyError) as exc:
        # An integrator's template may be wrong in any of these ways: name it, whatever the error.
        where = getattr(exc, 'filename', None) or TEMPLATES[name]
        line = getattr(exc, 'lineno', None)
        raise RenderError('template %s%s: %s' % (where, ':%d' % line if line else '', exc))


class Renderer(object):
    """``render(report, changes, contact_links)`` for ``_report.write_report``."""

    def __init__(self, templates_dir=None, integrator=None):
        self.env = environment(templates_dir)
        self.integrator = dict((k, v) for k, v in (integrator or {}).items() if v)

    def report(self, report, changes=None, contact_links=None):
        return _render(self.env, 'report', report_data(report, changes, contact_links, self.integrator))

    def contact(self, report, contact):
        return _render(self.env, 'contact', contact_data(report, contact, self.integrator))

    def changes(self, changes):
        return _render(self.env, 'changes', changes_data(changes))

    def __call__(self, report, changes, contact_links):
        return {
            'report': self.report(report, changes, contact_links),
            'changes': self.changes(changes),
            'contacts': dict((contact, self.contact(report, contact)) for contact in contact_links),
        }
