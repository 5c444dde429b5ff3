# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""The bulk credentials check behind ``chorus.corail.credentials_info``.

Offline checks first, then structures are grouped by (environment, PISTE client_id, login) and each
group runs the check sequence of design.md once:

- once per application: the token (cached by the client);
- once per group: ``recuperer/structures/actives/destinataire`` (is the account accepted, which SIRETs
  is it attached to? ``tauxtva`` would only repeat the 401/403 of this call) and
  ``structures/v1/consulter`` on the structure the account belongs to (``TECH_0<SIRET>@cpp2017.fr``),
  else one it is attached to, for the password expiry date;
- once per structure: ``factures/v1/rechercher/recipiendaire`` when attached, else
  ``structures/v1/rechercher`` (unknown SIRET or known but not attached).

So a run costs at most P + 2A + N calls on the happy path (P applications, A groups, N distinct
structures per group). Every structure gets exactly one status of ``_statuses.STATUSES``, and says who
must act (``action_by``) on which cause (``cause``), see ``_statuses.cause_of``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re
from concurrent.futures import ThreadPoolExecutor

try:
    from zoneinfo import ZoneInfo
except ImportError:  # Python < 3.9 on the controller: the EU rule below
    ZoneInfo = None

from ansible_collections.chorus.corail.plugins.module_utils import _identifiers as ids
from ansible_collections.chorus.corail.plugins.module_utils import _schema as schema
from ansible_collections.chorus.corail.plugins.module_utils import _statuses
from ansible_collections.chorus.corail.plugins.module_utils._statuses import (
    STATUSES,
    remediation,
)
from ansible_collections.chorus.corail.plugins.module_utils._chorus_api import (
    EMPTY_RESULT_CODES,
    AccessForbidden,
    AccountRejected,
    ChorusError,
    PisteApp,
    PisteAuthError,
    TechnicalAccount,
    Trace,
    UnreadableAnswer,
    Unrouted,
    code_retour,
    status_of,
)
from ansible_collections.chorus.corail.plugins.module_utils._secrets import secret_problem

PASSWORD_LIFETIME_DAYS = 424
DEFAULT_WARNING_DAYS = 30
DEFAULT_CONCURRENCY = 8

OP_ACTIVE_STRUCTURES = 'transverses/v1/recuperer/structures/actives/destinataire'
OP_CONSULT_STRUCTURE = 'structures/v1/consulter'
OP_SEARCH_INVOICES = 'factures/v1/rechercher/recipiendaire'
OP_SEARCH_STRUCTURE = 'structures/v1/rechercher'
OP_ATTACHMENTS = 'utilisateurs/v1/monCompte/recuperer/rattachements'
ATTACHMENTS_PAGE = 100
ATTACHMENTS_MAX_PAGES = 20

STRUCTURE_FIELDS = ('host', 'siret', 'name', 'account', 'piste_app', 'service_code', 'contact')

# Statuses decided for a whole group (account level), before any per-structure call.
ACCOUNT_LEVEL = ('piste_auth_failed', 'account_rejected', 'password_expired', 'access_forbidden', 'api_unavailable')

_ISO_DATE = re.compile(r'^(\d{4})-(\d{2})-(\d{2})')
_FR_DATE = re.compile(r'^(\d{2})/(\d{2})/(\d{4})')
# 2017-01-03T10:55:48.859+01:00, 2016-10-25 17:42, 2026-03-01T00:00:00Z (chorus-pro-api.md section 8)
_DATE_TIME = re.compile(r'^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$',
                        re.IGNORECASE)
# The technical login that names its own structure: TECH_0<14-digit identifier>@cpp2017.fr.
_OWN_SIRET_LOGIN = re.compile(r'^TECH_0(\d{14})@cpp2017\.fr$', re.IGNORECASE)
_PARIS = 'Europe/Paris'


def parse_date(value):
    """A ``datetime.date`` from a date, a datetime, ``YYYY-MM-DD[...]``, ``DD/MM/YYYY`` or epoch
    milliseconds (how Java services often serialise dates); None when it cannot be read."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, (int, float)):
        try:
            return datetime.datetime.fromtimestamp(value / 1000.0, tz=datetime.timezone.utc).date()
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _ISO_DATE.match(text)
    if match:
        year, month, day = (int(x) for x in match.groups())
    else:
        match = _FR_DATE.match(text)
        if not match:
            return None
        day, month, year = (int(x) for x in match.groups())
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _paris_offset(utc):
    """Offset of Europe/Paris at a naive UTC datetime, by the EU rule (used when zoneinfo has no data)."""
    def last_sunday(month):
        day = datetime.datetime(utc.year, month, 31, 1)
        return day - datetime.timedelta(days=(day.weekday() + 1) % 7)
    summer = last_sunday(3) <= utc < last_sunday(10)
    return datetime.timedelta(hours=2 if summer else 1)


def _paris_date(moment):
    """The date in Europe/Paris of an aware datetime."""
    zone = None
    if ZoneInfo is not None:
        try:
            zone = ZoneInfo(_PARIS)
        except Exception:  # pylint: disable=broad-except  # no tz database on this controller
            zone = None
    if zone is not None:
        return moment.astimezone(zone).date()
    utc = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return (utc + _paris_offset(utc)).date()


def parse_expiry(value):
    """The expiry date an API value means, in Europe/Paris: a date, a date-time (naive = Paris time,
    or with an offset / Z) or epoch milliseconds; None when it cannot be read.

    Read as UTC, ``2026-03-01T00:00:00+01:00`` would fall on 28/02: the date is taken in Paris.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return _paris_date(datetime.datetime.fromtimestamp(value / 1000.0, tz=datetime.timezone.utc))
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        match = _DATE_TIME.match(value.strip())
        if match:
            year, month, day, hour, minute = (int(x) for x in match.groups()[:5])
            zone = match.group(7)
            try:
                moment = datetime.datetime(year, month, day, hour, minute)
            except ValueError:
                return None
            if not zone:
                return moment.date()  # naive: already Paris time
            if zone.upper() == 'Z':
                offset = datetime.timedelta(0)
            else:
                digits = zone[1:].replace(':', '')
                offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
                offset = -offset if zone[0] == '-' else offset
            return _paris_date(moment.replace(tzinfo=datetime.timezone(offset)))
        if len(value.strip()) > 10 and _ISO_DATE.match(value.strip()):
            return None  # a date followed by something this parser does not know: not guessed
    return parse_date(value)


def own_siret(login):
    """The SIRET a technical login names (``TECH_0<SIRET>@cpp2017.fr``), or None."""
    match = _OWN_SIRET_LOGIN.match(login) if isinstance(login, str) else None
    return match.group(1) if match else None


def _api_siret(value):
    """An identifier as the API gives it: text, or a JSON number (some clients see numbers): 14 digits."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return '%014d' % value  # a JSON number, not YAML: no octal reading, only leading zeros lost
    if isinstance(value, str):
        return ids.normalise_siret(value)
    return None


def _text(value):
    """A plain optional string field: None and '' are 'absent'."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    return value


class _Group(object):
    """Structures sharing (environment, client_id, login): checked with one token and one account."""

    def __init__(self, key, app, account, app_name):
        self.key = key
        self.app = app
        self.account = account
        self.app_name = app_name
        self.sirets = []
        self.entries = []
        self.trace = Trace()
        self.error = None
        self.attached = {}
        self.rattached = {}
        self.api_expiry = None
        self.notes = []
        self.results = {}

    def add(self, index, siret):
        self.entries.append(index)
        if siret not in self.sirets:
            self.sirets.append(siret)


class _Result(object):
    """Outcome of the per-structure call."""

    def __init__(self, status, detail, id_structure_cpp=None, designation=None, trace=None, error=None):
        self.status = status
        self.detail = detail
        self.id_structure_cpp = id_structure_cpp
        self.designation = designation
        self.trace = trace
        self.error = error
        self.operation = None
        self.warnings = []


def accounts_listing(accounts, siret, environment=None):
    """Logins of ``accounts`` whose ``structures`` list ``siret`` (in ``environment`` when it is known)."""
    logins = []
    for login, spec in accounts.items():
        if not isinstance(spec, dict) or not isinstance(spec.get('structures'), (list, tuple)):
            continue
        if siret not in [str(item) for item in spec['structures']]:
            continue
        if environment is not None and _text(spec.get('environment')) not in (None, environment):
            continue
        logins.append(login)
    return sorted(logins)


class BulkCheck(object):
    """One run of the check. ``client`` is a ``_chorus_api.ChorusClient`` (only needed online)."""

    def __init__(self, structures, accounts, piste_apps, online=True, concurrency=DEFAULT_CONCURRENCY,
                 password_warning_days=DEFAULT_WARNING_DAYS, today=None, client=None):
        self.structures = list(structures or [])
        self.accounts = accounts or {}
        self.piste_apps = piste_apps or {}
        self.online = online
        self.concurrency = max(1, int(concurrency or 1))
        self.warning_days = int(password_warning_days if password_warning_days is not None else DEFAULT_WARNING_DAYS)
        self.today = parse_date(today) if today is not None else datetime.date.today()
        if self.today is None:
            raise ValueError('today: must be a date (YYYY-MM-DD), got %r' % (today,))
        self.client = client
        self.entries = []
        self.groups = {}
        self._apps = {}
        self._app_problems = {}
        self._accounts = {}
        self._account_problems = {}
        self._api_expiry = {}

    # -- offline ----------------------------------------------------------------------------------

    def _check_apps(self):
        if not isinstance(self.piste_apps, dict):
            return
        by_client = {}
        for name, spec in self.piste_apps.items():
            problems = []
            if not isinstance(spec, dict):
                self._app_problems[name] = ['piste_apps.%s: must be a dict with client_id, client_secret and environment' % name]
                continue
            client_id = _text(spec.get('client_id'))
            secret = spec.get('client_secret')
            environment = _text(spec.get('environment'))
            # The schema's value rules, as corail_config applies them (an unwritable name or value).
            problems.extend('piste_apps.%s.%s: %s' % (name, field, reason) for field, reason in schema.app_problems(name, spec))
            if not isinstance(client_id, str) or not client_id:
                problems.append('piste_apps.%s.client_id: is empty or not a string' % name)
            if not isinstance(secret, str) or not secret.strip():
                problems.append('piste_apps.%s.client_secret: is empty or not a string' % name)
            elif secret_problem(secret):
                problems.append('piste_apps.%s.client_secret: %s' % (name, secret_problem(secret)))
            if environment not in ids.ENVIRONMENTS:
                problems.append('piste_apps.%s.environment: must be one of %s, got %r'
                                % (name, ', '.join(ids.ENVIRONMENTS), environment))
            if problems:
                self._app_problems[name] = problems
                continue
            self._apps[name] = PisteApp(name, environment, client_id, secret)
            by_client.setdefault((environment, client_id), []).append(name)
        # One client_id is one application: two names giving it different secrets cannot both be right.
        for (environment, client_id), names in by_client.items():
            secrets = set(self._apps[n].client_secret for n in names)
            if len(secrets) > 1:
                for name in names:
                    self._app_problems[name] = ['piste_app: %s share one client_id in %s with different client_secret '
                                                '(conflicting definitions)' % (', '.join(sorted(names)), environment)]
                    del self._apps[name]

    def _check_account(self, login):
        """Validate one account of ``accounts``, once; True when it has problems.

        Only the accounts the structures name are read: the deploy role checks each host's few
        structures against the whole inventory's ``accounts``, host after host."""
        if login not in self._accounts and login not in self._account_problems:
            problems = self._account_definition_problems(login, self.accounts[login])
            if problems:
                self._account_problems[login] = problems
            else:
                spec = self.accounts[login]
                self._accounts[login] = {
                    'account': TechnicalAccount(login, spec['password']),
                    'environment': _text(spec.get('environment')),
                    'changed_on': parse_date(spec.get('password_changed_on'))
                    if spec.get('password_changed_on') not in (None, '') else None,
                }
        return login in self._account_problems

    @staticmethod
    def _account_definition_problems(login, spec):
        problems = []
        problem = ids.login_problem(login)
        if problem:
            problems.append('account %s: login %s' % (login, problem))
        if not isinstance(spec, dict):
            return problems + ['accounts.%s: must be a dict with password, password_changed_on and environment' % login]
        problem = ids.password_problem(spec.get('password')) or secret_problem(spec.get('password'))
        if problem:
            problems.append('accounts.%s.password: %s' % (login, problem))
        environment = _text(spec.get('environment'))
        if environment not in ids.ENVIRONMENTS:
            problems.append('accounts.%s.environment: must be one of %s, got %r'
                            % (login, ', '.join(ids.ENVIRONMENTS), environment))
        changed_on = spec.get('password_changed_on')
        if changed_on not in (None, '') and parse_date(changed_on) is None:
            problems.append('accounts.%s.password_changed_on: must be a date YYYY-MM-DD, got %r' % (login, changed_on))
        return problems

    def _new_entry(self, index, raw):
        if not isinstance(raw, dict):
            raw = {}
            problems = ['structures[%d]: must be a dict with at least siret' % index]
        else:
            problems = []
        entry = dict((field, raw.get(field)) for field in STRUCTURE_FIELDS)
        for field in ('account', 'piste_app'):
            entry[field] = _text(entry[field])
        # The schema's value rules, as corail_config applies them: what the check passes can be written.
        problems.extend('%s: %s' % (field, reason) for field, reason in schema.structure_problems(raw))
        entry.update({
            'environment': None,
            'status': None,
            'warnings': [],
            'detail': '',
            'remediation': '',
            'id_structure_cpp': None,
            'designation': None,
            'password_expires_on': None,
            'password_expiry_source': None,
            'days_left': None,
            'action_by': None,
            'cause': None,
            'cause_detail_fr': None,
        })
        return entry, problems

    def _offline(self):
        self._check_apps()
        offline = []
        for index, raw in enumerate(self.structures):
            entry, problems = self._new_entry(index, raw)
            siret = entry['siret'] = ids.normalise_siret(entry['siret'])
            # A bad row the register plugin kept (on_invalid: keep) says its line and field here.
            if isinstance(raw, dict) and raw.get('register_problem'):
                problems.append(str(raw['register_problem']))
            app_name = entry['piste_app']
            app = None
            if not isinstance(self.piste_apps, dict):
                problems.append('piste_apps: must be a dict of applications by name')
            elif app_name is None:
                problems.append('piste_app: is empty (set piste_app on the structure or chorus_piste_app on the host)')
            elif not isinstance(app_name, str) or app_name not in self.piste_apps:
                problems.append('piste_app: %r is not defined in chorus_piste_apps' % (app_name,))
            elif app_name in self._app_problems:
                problems.extend(self._app_problems[app_name])
            else:
                app = self._apps[app_name]
                entry['environment'] = app.environment
            login = entry['account']
            account = None
            missing = None
            if login is None and isinstance(self.accounts, dict):
                # No account named: the one whose entry lists this SIRET (filled in by enroll).
                listed = accounts_listing(self.accounts, siret, entry['environment'])
                if len(listed) == 1:
                    login = entry['account'] = listed[0]
                elif listed:
                    problems.append('account: SIRET %s is listed in the structures of %d accounts (%s); keep it in one, '
                                    'or set account on the structure' % (siret, len(listed), ', '.join(listed)))
            if login is None:
                missing = 'no account is set for this structure'
            elif not isinstance(self.accounts, dict):
                problems.append('accounts: must be a dict of technical accounts by login')
            elif not isinstance(login, str) or login not in self.accounts:
                missing = 'account %s is not in chorus_accounts' % (login,)
            elif self._check_account(login):
                problems.extend(self._account_problems[login])
            else:
                account = self._accounts[login]
                if entry['environment'] is None:
                    entry['environment'] = account['environment']
                elif account['environment'] != app.environment:
                    problems.append('account: %s is in environment %s but piste_app %s is in %s'
                                    % (login, account['environment'], app_name, app.environment))
                if not ids.login_shape_usual(login):
                    entry['warnings'].append('login_shape_unusual')
            # The SIRET rule of the structure's environment (its application's, else its account's).
            if 'siret' not in (raw if isinstance(raw, dict) else {}):
                problems.append('siret: is missing')
            else:
                problem = ids.siret_problem(siret, entry['environment'])
                if problem:
                    problems.append('siret: %s' % problem)
                elif entry['environment'] == 'qualification' and ids.siret_checksum_unusual(siret):
                    entry['warnings'].append('siret_checksum_unusual')
            offline.append((entry, problems, missing, app, account))
            self.entries.append(entry)
        self._conflicts(offline)
        return offline

    def _conflicts(self, offline):
        """The same SIRET with different accounts or applications in one environment: none can be trusted."""
        for index, reasons in schema.siret_conflicts([item[0] for item in offline]).items():
            offline[index][1].extend(reasons)

    # -- online -----------------------------------------------------------------------------------

    def _check_group(self, group):
        """Account-level calls; sets ``group.error`` or ``group.attached``."""
        client, app, account, trace = self.client, group.app, group.account['account'], group.trace
        try:
            answer = client.call(app, account, OP_ACTIVE_STRUCTURES, {}, trace, expect='listeStructures')
            group.attached = self._read_active_structures(answer, group)
        except ChorusError as exc:
            group.error = exc

    def _read_attachments(self, group):
        """``utilisateurs/v1/monCompte/recuperer/rattachements``, all pages: the structures the account is
        attached to, whatever its spaces. A SIRET found there but not in the active "factures reçues" list
        is attached with that space disabled; one found nowhere needs ``structures/v1/rechercher``.
        Any failure only means falling back to that search."""
        client, app, account = self.client, group.app, group.account['account']
        page = 1
        try:
            while page <= ATTACHMENTS_MAX_PAGES:
                body = {'parametresRecherche': {'nbResultatsParPage': ATTACHMENTS_PAGE, 'pageResultatDemandee': page,
                                                'triColonne': 'IdStructure', 'triSens': 'Ascendant'}}
                answer = client.call(app, account, OP_ATTACHMENTS, body, group.trace)
                items = answer.get('listeStructureRattachement', answer.get('listeRattachements'))
                items = [items] if isinstance(items, dict) else items if isinstance(items, list) else None
                if items is None:
                    if code_retour(answer) in EMPTY_RESULT_CODES:
                        return
                    group.notes.append('attachments list not understood (no listeStructureRattachement), ignored')
                    group.rattached = {}
                    return
                for item in items:
                    if isinstance(item, dict):
                        siret = _api_siret(item.get('identifiantStructure'))
                        status = str(item.get('statutRattachementStructure') or 'ACTIF').upper()
                        if siret and status.startswith('ACTI'):
                            group.rattached.setdefault(siret, (item.get('idStructure'), item.get('designationStructure')))
                meta = answer.get('parametresRetour') if isinstance(answer.get('parametresRetour'), dict) else answer
                pages = meta.get('pages')
                if not isinstance(pages, int) or isinstance(pages, bool) or page >= pages or not items:
                    return
                page += 1
        except ChorusError:
            group.rattached = {}  # not a verdict on anything: the per-structure search decides

    def _read_expiry(self, group):
        """``structures/v1/consulter`` once per group for ``dateExpirationMotPasseCompteTech``.

        Run after the per-structure calls so that it targets a structure known to answer (a structure
        without raccordement would give a 403 and no date)."""
        if group.error is not None:
            return
        # The date is in the structure's information: it describes that structure's own technical
        # account, so consult the structure the login names when the account is attached to it.
        own = own_siret(group.account['account'].login)
        candidates = [own] if own in group.attached and (own not in group.results or group.results[own].status == 'ok') else []
        candidates += [s for s in group.sirets if s in group.attached and group.results[s].status == 'ok']
        candidates += [s for s in group.sirets if s in group.attached and s not in candidates]
        candidates += [s for s in group.attached if s not in candidates]
        pick = next((group.attached[s][0] for s in candidates if group.attached[s][0] is not None), None)
        if pick is None:
            group.notes.append('password expiry not read from the API (no attached structure to consult)')
            return
        client, app, account = self.client, group.app, group.account['account']
        try:
            answer = client.call(app, account, OP_CONSULT_STRUCTURE, {'idStructureCPP': pick, 'codeLangue': 'FR'},
                                 group.trace, expect='informationGenerales')
        except ChorusError as exc:
            group.notes.append('password expiry not read from the API (%s)' % exc)
            return
        info = answer.get('informationGenerales')
        raw = info.get('dateExpirationMotPasseCompteTech') if isinstance(info, dict) else None
        if raw in (None, ''):
            return
        expiry = parse_expiry(raw)
        if expiry is None:
            group.notes.append('dateExpirationMotPasseCompteTech not understood, ignored')
        else:
            group.api_expiry = expiry

    def _read_active_structures(self, answer, group=None):
        code = code_retour(answer)
        items = answer.get('listeStructures')
        if items is None and code in EMPTY_RESULT_CODES:
            items = []
        if isinstance(items, dict):
            items = [items]  # one structure may come as an object (Pastell accepts both)
        total = answer.get('total')
        if group is not None and isinstance(total, int) and not isinstance(total, bool) and isinstance(items, list) \
                and total > len(items):
            group.notes.append('the active structures list holds %d of %d structures (pagination?): a structure '
                               'reported not attached may be on another page' % (len(items), total))
        if code is None or (code != 0 and code not in EMPTY_RESULT_CODES) or not isinstance(items, list):
            raise UnreadableAnswer('unexpected answer on /cpro/%s (codeRetour %s, listeStructures %s)'
                                   % (OP_ACTIVE_STRUCTURES, answer.get('codeRetour'),
                                      'absent' if items is None else type(items).__name__),
                                   path='/cpro/' + OP_ACTIVE_STRUCTURES, code_retour=code, cause='unreadable answer')
        attached = {}
        for item in items:
            if not isinstance(item, dict):
                continue
            siret = _api_siret(item.get('identifiant', item.get('identifiantStructure')))
            if isinstance(siret, str) and siret and siret not in attached:
                attached[siret] = (item.get('idStructureCPP'), item.get('designationStructure'))
        return attached

    def _check_structure(self, group, siret):
        trace = Trace()
        client, app, account = self.client, group.app, group.account['account']
        try:
            if siret in group.attached:
                id_cpp, designation = group.attached[siret]
                body = {
                    'idDestinataire': id_cpp,
                    'typeDemandePaiement': 'FACTURE',
                    'paramRecherche': {'pageResultatDemandee': 1, 'nbResultatsParPage': 1, 'nbResultatsMaximum': 1},
                }
                answer = client.call(app, account, OP_SEARCH_INVOICES, body, trace, expect='listeFactures')
                code = code_retour(answer)
                if code == 0 or code in EMPTY_RESULT_CODES:
                    return _Result('ok', 'account accepted, structure attached (idStructureCPP %s), invoice search '
                                   'answered codeRetour %s' % (id_cpp, code), id_cpp, designation, trace)
                return _Result('api_unavailable', 'unexpected codeRetour %s%s on /cpro/%s'
                               % (answer.get('codeRetour'), self._libelle(answer), OP_SEARCH_INVOICES), id_cpp, designation, trace)
            if siret in group.rattached:
                id_cpp, designation = group.rattached[siret]
                result = _Result('not_attached', 'the account is attached to SIRET %s (/cpro/%s) but it is not among its '
                                 'active structures of the "factures reçues" space (/cpro/%s): the reception space is '
                                 'not enabled' % (siret, OP_ATTACHMENTS, OP_ACTIVE_STRUCTURES),
                                 id_cpp, designation, trace)
                result.warnings.append('reception_space_disabled')
                return result
            body = {'structure': {'identifiantStructure': siret, 'typeIdentifiantStructure': 'SIRET'}}
            answer = client.call(app, account, OP_SEARCH_STRUCTURE, body, trace, expect='listeStructures')
            return self._read_search(siret, answer, trace)
        except ChorusError as exc:
            id_cpp, designation = group.attached.get(siret, (None, None))
            return _Result(status_of(exc), str(exc), id_cpp, designation, trace, exc)

    def _read_search(self, siret, answer, trace):
        code = code_retour(answer)
        items = answer.get('listeStructures')
        if code == 0 and not isinstance(items, list):
            return _Result('api_unavailable', 'unexpected answer on /cpro/%s (codeRetour 0 without listeStructures)'
                           % OP_SEARCH_STRUCTURE, trace=trace)
        found = None
        items = [items] if isinstance(items, dict) else items if isinstance(items, list) else []
        for item in items:
            if isinstance(item, dict) and _api_siret(item.get('identifiantStructure')) == siret:
                found = item
                break
        if found is None and len(items) == 1 and isinstance(items[0], dict) \
                and not items[0].get('identifiantStructure') and items[0].get('idStructureCPP'):
            found = items[0]
        if found is None:
            return _Result('structure_unknown', 'SIRET %s not found by /cpro/%s (codeRetour %s%s)'
                           % (siret, OP_SEARCH_STRUCTURE, answer.get('codeRetour'), self._libelle(answer)), trace=trace)
        return _Result('not_attached', 'account accepted but SIRET %s is not among its active structures '
                       '(/cpro/%s); the structure exists in Chorus Pro (idStructureCPP %s)'
                       % (siret, OP_ACTIVE_STRUCTURES, found.get('idStructureCPP')),
                       found.get('idStructureCPP'), found.get('designationStructure'), trace)

    def _libelle(self, answer):
        libelle = answer.get('libelle') if isinstance(answer, dict) else None
        if not libelle:
            return ''
        text = ' '.join(str(libelle).split())[:120]
        return ', %s' % (self.client.scrub(text),)

    def _pool_map(self, func, items):
        if not items:
            return []
        if len(items) == 1 or self.concurrency == 1:
            return [func(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(items))) as pool:
            return list(pool.map(func, items))

    def _online(self, offline):
        for index, (entry, problems, missing, app, account) in enumerate(offline):
            if problems or missing:
                continue
            key = (app.environment, app.client_id, entry['account'])
            group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = _Group(key, app, account, app.name)
            group.add(index, entry['siret'])
        groups = list(self.groups.values())
        self._pool_map(self._check_group, groups)
        # Only for accounts with structures outside their active list: a happy run stays P + 2A + N.
        self._pool_map(self._read_attachments, [g for g in groups if g.error is None
                                                and any(s not in g.attached for s in g.sirets)])
        tasks = [(g, s) for g in groups if g.error is None for s in g.sirets]
        results = self._pool_map(lambda task: self._check_structure(*task), tasks)
        for (group, siret), result in zip(tasks, results):
            result.operation = OP_SEARCH_INVOICES if siret in group.attached else OP_SEARCH_STRUCTURE
            group.results[siret] = result
        self._pool_map(self._read_expiry, groups)
        # The expiry date belongs to the account, not to the application it was read with.
        for group in groups:
            if group.api_expiry is not None:
                self._api_expiry.setdefault((group.key[0], group.key[2]), group.api_expiry)

    # -- assembly ---------------------------------------------------------------------------------

    def _expiry(self, account, group):
        """``(date, source, 'api' | 'estimated')`` of the account's password expiry, or Nones."""
        if group is not None and group.api_expiry is not None:
            return group.api_expiry, 'API dateExpirationMotPasseCompteTech', 'api'
        api_expiry = self._api_expiry.get((account['environment'], account['account'].login))
        if api_expiry is not None:
            return api_expiry, 'API dateExpirationMotPasseCompteTech', 'api'
        if account is not None and account['changed_on'] is not None:
            return (account['changed_on'] + datetime.timedelta(days=PASSWORD_LIFETIME_DAYS),
                    'password_changed_on + %d days' % PASSWORD_LIFETIME_DAYS, 'estimated')
        return None, None, None

    def _finish(self, entry, status, details, account, group, retried=False):
        warnings = entry['warnings']
        expires_on = source = origin = None
        if account is not None and status not in ('invalid_input', 'missing_account'):
            expires_on, source, origin = self._expiry(account, group)
        days_left = (expires_on - self.today).days if expires_on is not None else None
        if status == 'account_rejected' and days_left is not None and days_left < 0:
            status = 'password_expired'
        if status == 'ok' and days_left is not None and days_left <= self.warning_days:
            status = 'password_expiring'
        if account is not None and status not in ('invalid_input', 'missing_account'):
            if expires_on is None:
                warnings.append('expiry_unknown')
                details.append('password expiry unknown (no API date, no password_changed_on)')
            else:
                details.append('password expires on %s (%d days left; from %s)' % (expires_on.isoformat(), days_left, source))
                if days_left < 0 and status != 'password_expired':
                    warnings.append('password_expired')
                elif 0 <= days_left <= self.warning_days and status != 'password_expiring':
                    warnings.append('password_expiring')
        if retried:
            warnings.append('retried')
        entry['status'] = status
        entry['detail'] = '; '.join(d for d in details if d)
        entry['password_expires_on'] = expires_on.isoformat() if expires_on is not None else None
        entry['password_expiry_source'] = origin
        entry['days_left'] = days_left

    def _decide(self, entry, kind, action_by=None):
        """Who must act on which cause, and the French texts that follow from it."""
        status = entry['status']
        if status in ('ok', 'unchecked'):
            kind = None
        elif kind is None or status in ('password_expired', 'password_expiring'):
            kind = _statuses.STATUS_CAUSES[status]  # an expiry date is each account's own
        cause = _statuses.make_cause(kind, entry) if kind else None
        entry['action_by'] = action_by or (_statuses.CAUSE_KINDS[kind][0] if kind else 'nobody')
        entry['cause'] = cause
        context = dict(siret=entry['siret'] if isinstance(entry['siret'], str) else None, account=entry['account'],
                       piste_app=entry['piste_app'], environment=entry['environment'], detail=entry['detail'],
                       password_expires_on=entry['password_expires_on'], days_left=entry['days_left'])
        entry['cause_detail_fr'] = _statuses.cause_detail_fr(cause, **context)
        entry['remediation'] = remediation(status, cause=cause, action_by=entry['action_by'], **context)

    def _app_wide(self):
        """Causes that cannot be one structure's, per application: ``{app name: kind}`` for group errors and
        ``{(app name, operation): kind}`` for per-structure calls.

        - every account of the application answered the unrouted shape (403 ``{}``, 404): ``api_route``;
        - at least two accounts, all failing identically (same refusal on the same call) and none
          accepted: the application or its URL, not each account (``api_route``).
        """
        by_app = {}
        for group in self.groups.values():
            by_app.setdefault(group.app_name, []).append(group)
        groups_kind = {}
        calls_kind = {}
        for name, groups in by_app.items():
            errors = [g.error for g in groups]
            if all(isinstance(e, Unrouted) for e in errors):
                groups_kind[name] = 'api_route'
            elif len(groups) >= 2 and all(isinstance(e, (AccessForbidden, AccountRejected)) for e in errors) \
                    and len(set((type(e), e.http_status, e.path, e.code_retour, e.libelle) for e in errors)) == 1:
                groups_kind[name] = 'api_route'
            by_operation = {}
            for group in groups:
                for result in group.results.values():
                    by_operation.setdefault(result.operation, []).append(result.error)
            for operation, results in by_operation.items():
                if all(isinstance(e, Unrouted) for e in results):
                    calls_kind[(name, operation)] = 'api_route'
        return groups_kind, calls_kind

    def _cause_kind(self, group, result, app_wide):
        """The cause kind of an online outcome, before the status-only fallback."""
        groups_kind, calls_kind = app_wide
        error = group.error if group.error is not None else result.error
        if error is None:
            return None
        if isinstance(error, PisteAuthError):
            return 'piste_app_refused'
        if error.token_failure:
            return 'piste_app_unreachable'
        if group.error is not None:
            if group.app_name in groups_kind:
                return groups_kind[group.app_name]
        elif (group.app_name, result.operation) in calls_kind:
            return calls_kind[(group.app_name, result.operation)]
        if isinstance(error, Unrouted):
            return 'api_unavailable'
        return None

    def _assemble(self, offline):
        group_of = {}
        for group in self.groups.values():
            for index in group.entries:
                group_of[index] = group
        app_wide = self._app_wide()
        for index, (entry, problems, missing, _app, account) in enumerate(offline):
            if problems:
                self._finish(entry, 'invalid_input', list(problems), account, None)
                self._decide(entry, 'invalid_input')
            elif missing:
                self._finish(entry, 'missing_account', [missing], None, None)
                # No account at all: the gestionnaire creates one; one the inventory names but lacks: the integrator.
                self._decide(entry, 'missing_account', 'gestionnaire' if entry['account'] is None else 'integrator')
            elif not self.online:
                self._finish(entry, 'unchecked', ['offline checks passed; online checks skipped (online: false)'],
                             account, None)
                self._decide(entry, None)
            else:
                group = group_of[index]
                if group.error is not None:
                    result = _Result(status_of(group.error), str(group.error))
                else:
                    result = group.results[entry['siret']]
                    entry['id_structure_cpp'] = result.id_structure_cpp
                    entry['designation'] = result.designation
                    entry['warnings'].extend(w for w in result.warnings if w not in entry['warnings'])
                retried = group.trace.retries > 0 or (result.trace is not None and result.trace.retries > 0)
                self._finish(entry, result.status, [result.detail] + group.notes, account, group, retried)
                self._decide(entry, self._cause_kind(group, result, app_wide))

    def _account_summaries(self, offline):
        summaries = {}
        group_of = {}
        for group in self.groups.values():
            for index in group.entries:
                group_of[index] = group
        for index, (entry, _problems, _missing, app, account) in enumerate(offline):
            login = entry['account']
            if login is None or not isinstance(login, str) or not isinstance(self.accounts, dict) or login not in self.accounts:
                continue
            app_name = entry['piste_app'] if isinstance(entry['piste_app'], str) else None
            key = (entry['environment'], app_name, login)
            summary = summaries.get(key)
            if summary is None:
                summary = summaries[key] = {
                    'login': login, 'environment': entry['environment'], 'piste_app': app_name,
                    'status': None, 'structures': 0, 'password_expires_on': None, 'days_left': None,
                    'detail': '', '_group': None, '_invalid': False, '_why': '',
                }
            why = self._account_level_problem(entry, app, login)
            if why and not summary['_invalid']:
                summary['_invalid'], summary['_why'] = True, why
            summary['structures'] += 1
            if index in group_of:
                summary['_group'] = group_of[index]
            if entry['password_expires_on'] and not summary['password_expires_on']:
                summary['password_expires_on'] = entry['password_expires_on']
                summary['days_left'] = entry['days_left']
        result = []
        for summary in summaries.values():
            group = summary.pop('_group')
            if summary.pop('_invalid'):
                summary['status'] = 'invalid_input'
                summary['detail'] = summary.pop('_why')
            elif group is None:
                summary['status'] = 'unchecked'
                summary['detail'] = 'not checked online: %s' % (
                    'online: false' if not self.online else 'none of its structures passed the offline checks')
            elif group.error is not None:
                status = status_of(group.error)
                if status == 'account_rejected' and summary['days_left'] is not None and summary['days_left'] < 0:
                    status = 'password_expired'
                summary['status'] = status
                summary['detail'] = str(group.error)
            else:
                days = summary['days_left']
                summary['status'] = 'password_expiring' if days is not None and days <= self.warning_days else 'ok'
                summary['detail'] = '; '.join(['account accepted, %d active structure(s) visible' % len(group.attached)]
                                              + group.notes)
            summary.pop('_why', None)
            result.append(summary)
        return result

    def _account_level_problem(self, entry, app, login):
        """Why the account or application definition itself is invalid, or None."""
        if login in self._account_problems:
            return '; '.join(self._account_problems[login])
        if isinstance(entry['piste_app'], str) and entry['piste_app'] in self._app_problems:
            return '; '.join(self._app_problems[entry['piste_app']])
        account = self._accounts.get(login)
        if app is not None and account is not None and account['environment'] != app.environment:
            return 'account in %s, piste_app %s in %s' % (account['environment'], app.name, app.environment)
        return None

    def run(self):
        offline = self._offline()
        if self.online and any(not problems and not missing for _e, problems, missing, _a, _b in offline):
            if self.client is None:
                raise ValueError('an API client is needed for online checks')
            self._online(offline)
        self._assemble(offline)
        counts = dict((status, 0) for status in STATUSES)
        by_host = {}
        for entry in self.entries:
            counts[entry['status']] += 1
            by_host.setdefault(str(entry['host']) if entry['host'] is not None else '', []).append(entry)
        return {
            'structures': self.entries,
            'by_host': by_host,
            'counts': counts,
            'accounts': self._account_summaries(offline),
            'api_calls': dict(self.client.calls) if self.client is not None else {},
        }


def run_check(structures, accounts, piste_apps, client=None, **options):
    """Check every structure; see ``BulkCheck`` and the module's RETURN for the result's shape."""
    return BulkCheck(structures, accounts, piste_apps, client=client, **options).run()
