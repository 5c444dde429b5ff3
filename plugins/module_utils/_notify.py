# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""Who is told what after a check: integrator mail, contact mails, webhook, and the state that stops re-sending.

Pure Python (``smtplib``, ``email``, ``ssl``) so that it is unit-tested on its own; the
``chorus.corail.notify`` module only gathers options. Reads a written report folder (report.json,
report.html, contacts/*.html: rendering is the report's job) and a state file beside the reports,
written with ``_writer`` so that it is never half-written.

A *signature* says what a reader cares about, without what changes every day: for each structure
its status and its expiry threshold (60, 30, 7 days, expired), never ``days_left`` itself. A mail
goes out when the signature differs from the one of the last mail sent to that reader, so a re-run,
or a password one day closer to its expiry, sends nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import email.utils
import json
import os
import re
import smtplib
import socket
import ssl

from email.message import EmailMessage

from ansible_collections.chorus.corail.plugins.module_utils import _report
from ansible_collections.chorus.corail.plugins.module_utils import _statuses
from ansible_collections.chorus.corail.plugins.module_utils import _writer

try:
    from zoneinfo import ZoneInfo
    PARIS = ZoneInfo('Europe/Paris')
except Exception:  # Python < 3.9 or no tz database: dates stay correct, times say UTC
    PARIS = None

STATE_VERSION = 1
STATE_FILE = 'notify-state.json'
# Thresholds of a password's remaining days, from the farthest; crossing one is news for its contact.
THRESHOLDS = (60, 30, 7)
SECURITY = ('starttls', 'tls', 'none')
DEFAULT_PORTS = {'starttls': 587, 'tls': 465, 'none': 25}
WEBHOOK_FORMATS = ('teams', 'slack', 'generic')
SUBJECT_PREFIX = '[Chorus Pro]'
_ADDRESS_RE = re.compile(r'^[^@\s<>(),;:"]+@[^@\s<>(),;:"]+\.[^@\s<>(),;:"]+$')
_BUCKET_LABELS = {
    'expired': 'mot de passe expiré',
    'j-7': 'mot de passe expirant dans 7 jours ou moins',
    'j-30': 'mot de passe expirant dans 30 jours ou moins',
    'j-60': 'mot de passe expirant dans 60 jours ou moins',
}


class NotifyError(Exception):
    """A notification could not be prepared or sent; the message names what, never a secret."""


# --------------------------------------------------------------------------------------------
# Dates for people


def _parse_iso(value):
    try:
        return datetime.datetime.strptime(value, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def fr_datetime(iso):
    """'2026-12-02T01:00:00Z' -> '02/12/2026 à 02:00' (Europe/Paris); UTC said when no tz database."""
    moment = _parse_iso(iso)
    if moment is None:
        return iso or ''
    if PARIS is None:
        return moment.strftime('%d/%m/%Y à %H:%M UTC')
    return moment.astimezone(PARIS).strftime('%d/%m/%Y à %H:%M')


def fr_date(iso):
    return _statuses._fr_date(iso)


# --------------------------------------------------------------------------------------------
# What a reader cares about


def expiry_bucket(row):
    """The threshold a structure's password has crossed: 'expired', 'j-7', 'j-30', 'j-60' or None."""
    if row.get('status') == 'password_expired' or 'password_expired' in (row.get('warnings') or ()):
        return 'expired'
    days = row.get('days_left')
    if not isinstance(days, int):
        return None
    if days < 0:
        return 'expired'
    for limit in reversed(THRESHOLDS):
        if days <= limit:
            return 'j-%d' % limit
    return None


def concerns(row):
    """A row someone must hear about: a problem, or a password past a threshold."""
    return _report.is_problem(row['status']) or expiry_bucket(row) is not None


def _item(row, with_host):
    parts = [row.get('host') or ''] if with_host else []
    parts.extend([row.get('siret') or '', row['status'], expiry_bucket(row) or '-'])
    return '|'.join(parts)


def integrator_signature(report):
    """Every structure that concerns someone (per server), and the hosts that failed before the check."""
    items = set(_item(row, True) for row in report['structures'] if concerns(row))
    items.update('failed_before|%s' % host for host in report['scope'].get('failed_before') or [])
    return sorted(items)


def contact_signature(rows):
    """What one contact cares about: each SIRET's status and threshold, whatever the server."""
    return sorted(set(_item(row, False) for row in rows if concerns(row)))


def address_of(contact):
    """The e-mail address of a register's contact ('Mme X <x@y.fr>' or 'x@y.fr'), lower-case, or None."""
    if not contact or ',' in contact or ';' in contact:
        return None  # several addresses: the integrator is told to fix the register
    dummy, address = email.utils.parseaddr(contact.strip())
    return address.lower() if address and _ADDRESS_RE.match(address) else None


def carried(before, now, checked, partial):
    """A partial run (--limit) says nothing of what it did not check: keep those items of the last mail."""
    if not partial or not before:
        return now
    kept = [i for i in before if i.split('|')[0] not in checked and not i.startswith('failed_before|')]
    return sorted(set(now) | set(kept))


def _diff(before, after):
    before, after = set(before or ()), set(after or ())
    return sorted(after - before), sorted(before - after)


# --------------------------------------------------------------------------------------------
# State beside the reports


def state_path(report_dir, state_file=None):
    return state_file or os.path.join(report_dir, STATE_FILE)


def load_state(path):
    """(snapshot, state): an absent file is an empty state; an unreadable one is an error (no re-sending blindly)."""
    snapshot = _writer.read(path)
    if not snapshot.exists:
        return snapshot, {'schema_version': STATE_VERSION, 'integrator': None, 'webhook': None,
                          'contacts': {}, 'redirected': {}}
    try:
        state = json.loads(snapshot.content.decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotifyError('%s: not a notification state file (%s); move it away to start afresh' % (path, exc))
    if not isinstance(state, dict) or state.get('schema_version') != STATE_VERSION:
        raise NotifyError('%s: unknown schema_version %r (expected %d)'
                          % (path, state.get('schema_version') if isinstance(state, dict) else None, STATE_VERSION))
    for key in ('contacts', 'redirected'):
        state.setdefault(key, {})
    state.setdefault('integrator', None)
    state.setdefault('webhook', None)
    return snapshot, state


def save_state(snapshot, state):
    _writer.write(snapshot, (json.dumps(state, ensure_ascii=False, indent=2, sort_keys=True) + '\n').encode('utf-8'),
                  secret=True)


# --------------------------------------------------------------------------------------------
# The plan: who gets what this run


def load_folder(folder):
    """report.json of a report folder, with the folder's own path."""
    path = os.path.join(folder, 'report.json')
    try:
        with open(path, 'rb') as handle:
            report = json.loads(handle.read().decode('utf-8'))
    except (IOError, OSError) as exc:
        raise NotifyError('%s: cannot read the report (%s)' % (path, exc.strerror or exc))
    except ValueError as exc:
        raise NotifyError('%s: not JSON (%s)' % (path, exc))
    if not isinstance(report, dict) or not isinstance(report.get('structures'), list):
        raise NotifyError('%s: no structures; is it a chorus.corail report?' % path)
    return report


def contact_page(folder, report, contact):
    """The contact's own page as the report step wrote it (contacts/<slug>.html), or None."""
    name = _report.contact_files(report).get(contact or '')
    path = os.path.join(folder, 'contacts', name) if name else None
    return path if path and os.path.isfile(path) else None


def plan(report, state, every_run=False, contacts=False, redirect_to=None, max_contact_mails=None):
    """What to send: {'integrator': {...}, 'contacts': [...], 'deferred': [...], 'unreachable': [...]}.

    ``contacts``: the register's contacts are mailed at all (opt-in). ``redirect_to``: test mode,
    whose sends are remembered apart, so that leaving it sends the real mails. ``max_contact_mails``:
    the mails beyond it wait for the next run, worst first.
    """
    partial = bool(report['scope'].get('partial'))
    hosts = set(report['scope'].get('hosts') or ()) | set(row.get('host') or '' for row in report['structures'])
    sirets = set(row.get('siret') or '' for row in report['structures'])
    last = state.get('integrator') or {}
    signature = carried(last.get('signature'), integrator_signature(report), hosts, partial)
    news, gone = _diff(last.get('signature'), signature)
    hooked = (state.get('webhook') or {}).get('signature')
    hook_signature = carried(hooked, integrator_signature(report), hosts, partial)
    out = {
        'integrator': {'signature': signature, 'send': bool(every_run or last.get('signature') != signature),
                       'new': news, 'gone': gone, 'first': not last},
        'webhook': {'signature': hook_signature, 'send': bool(every_run or hooked != hook_signature)},
        'contacts': [], 'deferred': [], 'unreachable': [],
    }
    if not contacts:
        return out
    memory = state['redirected'] if redirect_to else state['contacts']
    by_address, unreachable = {}, set()
    for row in report['structures']:
        address = address_of(row.get('contact'))
        if address is None:
            if concerns(row):
                unreachable.add((row.get('contact') or '', row.get('siret') or ''))
            continue
        by_address.setdefault(address, {'contact': row.get('contact'), 'rows': []})['rows'].append(row)
    # An address mailed before whose structures are all gone from the report is not told anything:
    # the report does not say the structures are fine.
    due = []
    for address, mine in by_address.items():
        before = (memory.get(address) or {}).get('signature') or []
        sig = carried(before, contact_signature(mine['rows']), sirets, partial)
        if sig == before:
            continue
        news, gone = _diff(before, sig)
        worst = min(_report.worst_first_key(r) for r in mine['rows'])
        due.append((worst, address, {'address': address, 'contact': mine['contact'], 'signature': sig,
                                     'rows': mine['rows'], 'new': news, 'gone': gone}))
    due.sort(key=lambda item: (item[0], item[1]))
    cap = max_contact_mails if max_contact_mails is not None and max_contact_mails >= 0 else len(due)
    out['contacts'] = [entry for dummy, dummy2, entry in due[:cap]]
    out['deferred'] = [address for dummy, address, dummy2 in due[cap:]]
    out['unreachable'] = sorted('%s (SIRET %s)' % (contact or 'sans contact', siret) for contact, siret in unreachable)
    return out


# --------------------------------------------------------------------------------------------
# Texts (French: gestionnaires and integrators read them)


def _problem_rows(rows):
    seen, out = set(), []
    for row in sorted(rows, key=_report.worst_first_key):
        key = (row.get('siret'), row['status'])
        if concerns(row) and key not in seen:
            seen.add(key)
            out.append(row)
    return out


def _row_line(row, with_host=False):
    label = _statuses.LABELS[row['status']]
    line = '- %s (SIRET %s) : %s' % (row.get('name') or row.get('designation') or 'structure', row.get('siret'), label)
    if with_host and row.get('host'):
        line += ', serveur %s' % row['host']
    if row.get('password_expires_on'):
        days = row.get('days_left')
        line += " ; mot de passe du compte %s valable jusqu'au %s" % (row.get('account') or '?',
                                                                      fr_date(row['password_expires_on']))
        if isinstance(days, int) and days >= 0:
            line += ' (dans %d jour%s)' % (days, 's' if days > 1 else '')
    return line


def _counts_lines(report):
    lines = []
    for status in _statuses.STATUSES:
        count = report['counts'].get(status, 0)
        if count:
            lines.append('- %s : %d' % (_statuses.LABELS[status], count))
    return lines


def _item_text(item, report_rows):
    """'21640000200012 sur srv1 : Compte technique manquant' from a signature item."""
    parts = item.split('|')
    if parts[0] == 'failed_before':
        return 'serveur %s en échec avant la vérification' % parts[1]
    host, siret, status, bucket = parts if len(parts) == 4 else [''] + parts
    name = next((r.get('name') for r in report_rows if r.get('siret') == siret and r.get('name')), None)
    text = '%s%s' % (siret, ' (%s)' % name if name else '')
    if host:
        text += ' sur %s' % host
    text += ' : %s' % _statuses.LABELS.get(status, status)
    if bucket != '-' and status not in ('password_expired', 'password_expiring'):
        text += ', %s' % _BUCKET_LABELS.get(bucket, bucket)
    return text


def integrator_subject(report, redirect_to=None):
    problems = sum(1 for row in report['structures'] if _report.is_problem(row['status']))
    when = fr_datetime(report['generated_at']).split(' ')[0]
    if problems:
        return '%s Vérification du %s : %d structure(s) sur %d à traiter' % (
            SUBJECT_PREFIX, when, problems, report['total'])
    return '%s Vérification du %s : aucune action à mener (%d structure(s))' % (SUBJECT_PREFIX, when, report['total'])


def integrator_text(report, the_plan, sent_contacts, redirect_to=None, report_path=None):
    rows = report['structures']
    hosts = len(set(row.get('host') for row in rows))
    lines = ['Bonjour,', '',
             'Vérification Chorus Pro du %s : %d structure(s) sur %d serveur(s).' % (
                 fr_datetime(report['generated_at']), report['total'], hosts)]
    scope = report['scope']
    if scope.get('partial'):
        lines.append('Attention : vérification partielle (limite : %s ; serveurs en échec avant la vérification : %s).'
                     % (scope.get('limit'), ', '.join(scope.get('failed_before') or []) or 'aucun'))
    lines += ['', 'Répartition par statut :'] + _counts_lines(report)
    actions = report.get('actions')
    if isinstance(actions, list) and actions:
        lines += ['', 'Actions à mener :']
        for action in actions:
            who = _statuses.ACTOR_LABELS.get(action.get('action_by'), action.get('action_by'))
            what = _statuses.CAUSE_LABELS.get(action.get('kind'), action.get('kind') or '')
            count = int(action.get('count') or 0)
            lines.append('- %s : %s (%d structure%s)' % (who, what.replace('{subject}', str(action.get('subject'))),
                                                         count, 's' if count > 1 else ''))
    integ = the_plan['integrator']
    if integ['first']:
        lines += ['', 'Premier message de ce dossier de rapports : toutes les situations ci-dessous sont nouvelles.']
    if integ['new']:
        lines += ['', 'Nouveau depuis le dernier message :'] + ['- ' + _item_text(i, rows) for i in integ['new']]
    if integ['gone'] and not integ['first']:
        lines += ['', 'Réglé ou changé depuis le dernier message :'] + ['- ' + _item_text(i, rows) for i in integ['gone']]
    todo = _problem_rows(rows)
    if todo:
        lines += ['', 'Structures à suivre :'] + [_row_line(row, with_host=True) for row in todo[:50]]
        if len(todo) > 50:
            lines.append('- ... et %d autre(s) : voir le rapport joint.' % (len(todo) - 50))
    if sent_contacts:
        target = ' (redirigés vers %s, mode test)' % redirect_to if redirect_to else ''
        lines += ['', 'Contacts prévenus cette fois%s :' % target] + ['- ' + a for a in sent_contacts]
    if the_plan['deferred']:
        lines += ['', 'Contacts à prévenir au prochain passage (plafond chorus_notify_max_contact_mails atteint) :']
        lines += ['- ' + a for a in the_plan['deferred']]
    if the_plan['unreachable']:
        lines += ['', 'Structures concernées sans adresse de contact utilisable (à compléter dans le registre) :']
        lines += ['- ' + a for a in the_plan['unreachable']]
    lines += ['', 'Le rapport complet est joint (report.html).']
    if report_path:
        lines.append('Sur le contrôleur : %s' % report_path)
    lines += ['', '-- ', 'Message automatique de chorus.corail.']
    return '\n'.join(lines) + '\n'


def contact_subject(entry, redirect_to=None):
    # A password to renew is said as such; other problems come first.
    todo = [r for r in _problem_rows(entry['rows']) if _report.is_problem(r['status']) and r['status'] != 'password_expiring']
    buckets = [expiry_bucket(r) for r in _problem_rows(entry['rows'])]
    if todo:
        count = len(set(r['siret'] for r in todo))
        subject = '%s %d structure%s demande%s une action' % (SUBJECT_PREFIX, count, 's' if count > 1 else '',
                                                              'nt' if count > 1 else '')
    elif any(buckets):
        order = ['expired', 'j-7', 'j-30', 'j-60']
        soonest = min((b for b in buckets if b), key=order.index)
        subject = '%s %s' % (SUBJECT_PREFIX, {
            'expired': 'Mot de passe du compte technique expiré',
            'j-7': 'Mot de passe du compte technique à renouveler sous 7 jours',
            'j-30': 'Mot de passe du compte technique à renouveler sous 30 jours',
            'j-60': 'Mot de passe du compte technique à renouveler sous 60 jours',
        }[soonest])
    else:
        subject = '%s Plus aucune action à mener pour vos structures' % SUBJECT_PREFIX
    if redirect_to:
        subject = '[TEST : destiné à %s] %s' % (entry['address'], subject)
    return subject


def contact_text(report, entry):
    rows = _problem_rows(entry['rows'])
    lines = ['Bonjour,', '',
             'Votre intégrateur vérifie chaque nuit la connexion entre Chorus Pro et Corail pour vos structures '
             '(vérification du %s).' % fr_datetime(report['generated_at']), '']
    if rows:
        lines.append('Ce qui demande votre attention :')
        lines += [_row_line(row) for row in rows]
    else:
        lines.append('Plus aucune action n\'est nécessaire : les factures reçues dans Chorus Pro arrivent dans Corail.')
    now = set(r.get('siret') for r in rows)
    fixed = sorted(set(item.split('|')[0] for item in entry['gone']) - now)
    if fixed:
        lines += ['', 'Réglé depuis notre dernier message :'] + ['- SIRET %s' % siret for siret in fixed]
    lines += ['', 'La marche à suivre, structure par structure, est dans la page jointe (version HTML de ce message).',
              'Ne répondez jamais à un message en y mettant un mot de passe : votre intégrateur vous indiquera un '
              'canal sûr.', '', '-- ', 'Message automatique envoyé pour votre intégrateur par chorus.corail.']
    return '\n'.join(lines) + '\n'


def _message(sender, to, subject, text, html=None, attachments=(), redirected_from=None):
    msg = EmailMessage()
    msg['From'] = sender
    msg['To'] = ', '.join(to)
    msg['Subject'] = subject
    msg['Date'] = email.utils.formatdate(localtime=False)
    msg['Message-ID'] = email.utils.make_msgid(domain=(sender.rsplit('@', 1)[-1].strip('>') or 'localhost'))
    msg['Auto-Submitted'] = 'auto-generated'  # RFC 3834: no vacation replies, no loops
    if redirected_from:
        msg['X-Chorus-Corail-Original-To'] = redirected_from
    msg.set_content(text, charset='utf-8')
    if html:
        msg.add_alternative(html, subtype='html', charset='utf-8')
    for path in attachments:
        with open(path, 'rb') as handle:
            data = handle.read()
        maintype, subtype = ('text', 'html') if path.endswith('.html') else ('text', 'csv')
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=os.path.basename(path))
    # Last: set_content and add_* move or drop the Content-* headers set before them.
    msg['Content-Language'] = 'fr'
    return msg


def integrator_message(report, folder, the_plan, sender, to, sent_contacts, redirect_to=None):
    html = os.path.join(folder, 'report.html')
    attachments = [html] if os.path.isfile(html) else []
    return _message(sender, to, integrator_subject(report), integrator_text(
        report, the_plan, sent_contacts, redirect_to, html if attachments else folder), attachments=attachments)


def contact_message(report, folder, entry, sender, redirect_to=None):
    page = contact_page(folder, report, entry['contact'])
    html = None
    if page:
        with open(page, 'rb') as handle:
            html = handle.read().decode('utf-8')
    to = [redirect_to] if redirect_to else [entry['address']]
    return _message(sender, to, contact_subject(entry, redirect_to), contact_text(report, entry), html=html,
                    redirected_from=entry['address'] if redirect_to else None)


# --------------------------------------------------------------------------------------------
# SMTP


class Smtp(object):
    """One SMTP session for the whole run, opened on the first mail. Errors name the server, never the password."""

    def __init__(self, host, port=None, security='starttls', user=None, password=None, ca_path=None,
                 validate_certs=True, timeout=30, local_hostname=None):
        if security not in SECURITY:
            raise NotifyError('chorus_notify_smtp_security: %r is not one of %s' % (security, ', '.join(SECURITY)))
        if bool(user) != bool(password):
            raise NotifyError('chorus_notify_smtp_user and chorus_notify_smtp_password go together')
        if user and security == 'none':
            raise NotifyError('chorus_notify_smtp_user: refusing to send a password over an unencrypted '
                              'connection (chorus_notify_smtp_security: none)')
        self.host = host
        self.port = port or DEFAULT_PORTS[security]
        self.security = security
        self.user = user
        self._password = password
        self.ca_path = ca_path
        self.validate_certs = validate_certs
        self.timeout = timeout
        self.local_hostname = local_hostname
        self._conn = None

    def _context(self):
        context = ssl.create_default_context(cafile=self.ca_path or None)
        if not self.validate_certs:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _where(self):
        return 'SMTP %s:%d (%s)' % (self.host, self.port, self.security)

    def _open(self):
        try:
            if self.security == 'tls':
                conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context(),
                                        local_hostname=self.local_hostname)
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname)
                if self.security == 'starttls':
                    conn.ehlo()
                    if not conn.has_extn('starttls'):
                        conn.close()
                        raise NotifyError('%s: the server does not offer STARTTLS; nothing was sent' % self._where())
                    conn.starttls(context=self._context())
                    conn.ehlo()
            if self.user:
                conn.login(self.user, self._password)
        except NotifyError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise NotifyError('%s: login of %s refused (%s)' % (self._where(), self.user, exc.smtp_code))
        except ssl.SSLError as exc:
            raise NotifyError('%s: TLS failed (%s); set chorus_notify_smtp_ca_path to the CA that signed the '
                              'server certificate' % (self._where(), getattr(exc, 'reason', None) or exc))
        except (smtplib.SMTPException, socket.error, OSError) as exc:
            raise NotifyError('%s: cannot connect (%s)' % (self._where(), exc))
        self._conn = conn

    def send(self, msg):
        if self._conn is None:
            self._open()
        try:
            refused = self._conn.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise NotifyError('%s: every recipient refused (%s)' % (self._where(), ', '.join(sorted(exc.recipients))))
        except (smtplib.SMTPException, socket.error, OSError) as exc:
            raise NotifyError('%s: sending "%s" failed (%s)' % (self._where(), msg['Subject'], exc))
        if refused:
            raise NotifyError('%s: recipient(s) refused: %s' % (self._where(), ', '.join(sorted(refused))))

    def close(self):
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, socket.error, OSError):
                pass
            self._conn = None


# --------------------------------------------------------------------------------------------
# Webhook


def webhook_payload(report, fmt, the_plan, report_path=None):
    """The JSON body for a Teams Workflows webhook (Adaptive Card), Slack/Mattermost, or any receiver."""
    if fmt not in WEBHOOK_FORMATS:
        raise NotifyError('chorus_notify_webhook_format: %r is not one of %s' % (fmt, ', '.join(WEBHOOK_FORMATS)))
    title = integrator_subject(report)
    counts = [(s, report['counts'].get(s, 0)) for s in _statuses.STATUSES if report['counts'].get(s)]
    rows = report['structures']
    news = ['- ' + _item_text(i, rows) for i in the_plan['integrator']['new'][:20]]
    if fmt == 'generic':
        return {
            'source': 'chorus.corail', 'title': title, 'generated_at': report['generated_at'],
            'total': report['total'], 'counts': report['counts'], 'scope': dict(
                (k, v) for k, v in report['scope'].items() if k != 'hosts'),
            'new': the_plan['integrator']['new'], 'resolved_or_changed': the_plan['integrator']['gone'],
            'actions': report.get('actions') or [], 'report': report_path,
        }
    lines = ['%s : %d' % (_statuses.LABELS[s], n) for s, n in counts]
    if fmt == 'slack':
        text = '*%s*\n%s' % (title, '\n'.join(lines))
        if news:
            text += '\n\n*Nouveau :*\n' + '\n'.join(news)
        if report_path:
            text += '\n\nRapport : `%s`' % report_path
        return {'text': text}
    body = [
        {'type': 'TextBlock', 'text': title, 'weight': 'Bolder', 'size': 'Medium', 'wrap': True},
        {'type': 'FactSet', 'facts': [{'title': _statuses.LABELS[s], 'value': str(n)} for s, n in counts]},
    ]
    if news:
        body.append({'type': 'TextBlock', 'text': 'Nouveau :', 'weight': 'Bolder', 'wrap': True})
        body.append({'type': 'TextBlock', 'text': '\n'.join(news), 'wrap': True})
    if report_path:
        body.append({'type': 'TextBlock', 'text': 'Rapport : %s' % report_path, 'wrap': True, 'isSubtle': True})
    return {'type': 'message', 'attachments': [{
        'contentType': 'application/vnd.microsoft.card.adaptive', 'contentUrl': None,
        'content': {'$schema': 'http://adaptivecards.io/schemas/adaptive-card.json', 'type': 'AdaptiveCard',
                    'version': '1.4', 'body': body}}]}


# --------------------------------------------------------------------------------------------
# One run


def run(folder, report_dir, options, post=None, smtp=None, check_mode=False, now=None):
    """Send what the plan says and remember it. Returns the result dict of the notify module.

    ``options``: the module's parameters. ``post(url, body_bytes, timeout)`` sends the webhook and
    raises on failure (the module passes Ansible's open_url). ``smtp``: an ``Smtp`` (tests may pass
    their own). State is saved after every attempt, so what was sent before a failure is never sent again.
    """
    report = load_folder(folder)
    path = state_path(report_dir, options.get('state_file'))
    snapshot, state = load_state(path)
    redirect_to = options.get('redirect_to') or None
    mail_on = bool(options.get('smtp_host'))
    the_plan = plan(report, state, every_run=options.get('integrator_every_run'),
                    contacts=mail_on and options.get('contacts'), redirect_to=redirect_to,
                    max_contact_mails=options.get('max_contact_mails'))
    stamp = (now or _report.now_utc()).isoformat().replace('+00:00', 'Z')
    result = {'changed': False, 'state_file': path, 'report': folder, 'integrator': None, 'contacts': [],
              'deferred': the_plan['deferred'], 'unreachable': the_plan['unreachable'], 'webhook': None,
              'redirect_to': redirect_to}
    integrator_to = list(options.get('integrator_to') or [])
    want_integrator = mail_on and bool(integrator_to) and the_plan['integrator']['send']
    want_webhook = bool(options.get('webhook_url')) and the_plan['webhook']['send']
    if check_mode:
        result['contacts'] = [e['address'] for e in the_plan['contacts']]
        result['integrator'] = integrator_to if want_integrator else None
        result['webhook'] = options.get('webhook_format') if want_webhook else None
        result['changed'] = bool(result['contacts'] or want_integrator or want_webhook)
        return result
    errors = []
    memory = state['redirected'] if redirect_to else state['contacts']
    sender = options.get('sender')
    try:
        for entry in the_plan['contacts']:
            try:
                smtp.send(contact_message(report, folder, entry, sender, redirect_to))
            except NotifyError as exc:
                errors.append(str(exc))
                break  # the server is likely down for every mail; the rest wait for the next run
            memory[entry['address']] = {'signature': entry['signature'], 'sent_at': stamp,
                                        'report': os.path.basename(folder)}
            result['contacts'].append(entry['address'])
        if want_integrator and not errors:
            try:
                smtp.send(integrator_message(report, folder, the_plan, sender, integrator_to,
                                             result['contacts'], redirect_to))
                state['integrator'] = {'signature': the_plan['integrator']['signature'], 'sent_at': stamp,
                                       'report': os.path.basename(folder), 'to': integrator_to}
                result['integrator'] = integrator_to
            except NotifyError as exc:
                errors.append(str(exc))
        if want_webhook:
            body = json.dumps(webhook_payload(report, options.get('webhook_format') or 'generic', the_plan,
                                              os.path.join(folder, 'report.html')), ensure_ascii=False).encode('utf-8')
            try:
                post(options['webhook_url'], body, options.get('timeout') or 30)
                state['webhook'] = {'signature': the_plan['webhook']['signature'], 'sent_at': stamp,
                                    'report': os.path.basename(folder), 'format': options.get('webhook_format')}
                result['webhook'] = options.get('webhook_format')
            except NotifyError as exc:
                errors.append(str(exc))
    finally:
        if smtp is not None:
            smtp.close()
        if result['contacts'] or result['integrator'] or result['webhook']:
            save_state(snapshot, state)
            result['changed'] = True
    result['errors'] = errors
    return result
