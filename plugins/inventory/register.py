# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: register
author: chorus.corail contributors (@chorus-corail)
version_added: 0.1.0
short_description: Corail servers and their structures from the integrator's register of collectivités
description:
  - Reads the integrator's register of collectivités (one row per structure), a CSV or YAML file, and builds
    one inventory host per Corail server with the host variable C(corail_structures), the list of the
    structures that server serves (C(siret), C(name), C(account), C(piste_app), C(service_code), C(contact)).
  - Groups every server by environment (C(env_qualification), C(env_production)), by PISTE application
    (C(app_<name>)) and by each column named in O(group_by_columns) (C(<column>_<value>), for example
    C(departement_64) or C(epci_cc_du_haut_bearn)). Group names are lower case ASCII, accents removed, any
    other character replaced by C(_).
  - Passwords and secrets never come from the register. A column whose name looks like one (password,
    mot de passe, mdp, secret, token, ...) makes the plugin stop with an error naming the column and the
    file, before any row is read. Technical passwords live in C(chorus_accounts), written by the
    C(chorus.corail.enroll) and C(chorus.corail.renew) playbooks or filled by any lookup.
  - Each row is checked offline. The SIRET must pass the rule of its environment (white space inside it, as
    spreadsheets often add, is removed first); the server must be given; the environment, when given, must be
    C(qualification) or C(production) (case and accents do not matter, C(Production) is fine); one SIRET must
    not be given two different technical accounts or PISTE applications. Every bad row is found in one pass;
    the messages name the file, the line, the field and the SIRET of each.
  - By default (O(on_invalid=keep)) a bad row stays in the inventory, as a structure carrying its problem, so
    that the check reports it C(invalid_input) with the row's line and field, in every report and on its
    contact's page, and the deploy role leaves it out. A bad row without a server goes to the host
    C(register_unassigned) (group C(chorus_register_unassigned), local connection), which the rollout does
    not deploy but the check reports.
  - A register kept in an inventory directory is also offered to Ansible's other inventory plugins, which
    warn that they cannot parse it. Keep the register outside the inventory directory (O(path) may be
    C(../registre.csv)), or tell Ansible to skip it, for example C(ANSIBLE_INVENTORY_IGNORE=.csv) or
    C(inventory_ignore_extensions) in C(ansible.cfg) (the default list plus C(.csv)).
  - The inventory configuration file must be named C(*.chorus.yml), C(*.chorus.yaml), C(chorus_register.yml)
    or C(chorus_register.yaml) and set O(plugin) to C(chorus.corail.register).
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: Marks this file as a configuration for this plugin.
    type: str
    required: true
    choices: [chorus.corail.register]
  path:
    description:
      - The register file. A relative path is relative to the directory of this configuration file; C(~) is
        expanded.
    type: str
    required: true
  format:
    description:
      - C(csv) or C(yaml); C(auto) chooses from the extension (C(.yml), C(.yaml) and C(.json) are YAML,
        anything else CSV).
      - A YAML register is either a list of rows or a mapping whose C(structures) key holds that list; each row
        is a mapping from column name to value.
    type: str
    choices: [auto, csv, yaml]
    default: auto
  delimiter:
    description:
      - Field separator of a CSV register. C(auto) picks C(;) (what French spreadsheets write), C(,) or a tab,
        whichever splits the header line into the most columns.
    type: str
    choices: [auto, ';', ',', "\t"]
    default: auto
  encoding:
    description:
      - Character encoding of the register. A UTF-8 byte order mark is always accepted.
      - Use C(cp1252) for a CSV saved by an older Excel in its "CSV (séparateur point-virgule)" format.
    type: str
    default: utf-8
  column_map:
    description:
      - Maps a column header of the register to one of the fields C(name), C(siret), C(server), C(account),
        C(piste_app), C(service_code), C(contact) or C(environment).
      - Merged over the default map, which already knows the canonical names and the French headers
        C(Collectivité), C(Nom), C(SIRET), C(Serveur Corail), C(Serveur), C(Compte technique), C(Login),
        C(Application PISTE), C(Code service), C(Contact) and C(Environnement).
      - Headers are compared without case, accents or surrounding white space.
    type: dict
    default: {}
  group_by_columns:
    description:
      - Other columns of the register (département, EPCI, ...) whose values become groups named
        C(<column>_<value>). The column must exist in the register.
    type: list
    elements: str
    default: []
  servers_group:
    description:
      - A group holding every server of the register. Empty string for none.
    type: str
    default: corail_servers
  host_vars:
    description:
      - Static variables given to every server of the register (C(ansible_user), C(corail_config_path), ...).
        Variables from the register, O(compose) and the inventory's C(host_vars) directory win over them.
    type: dict
    default: {}
  on_invalid:
    description:
      - What to do with rows that fail the offline checks. C(keep) keeps each one as a structure carrying its
        problem (file, line, field, SIRET), with a warning, so that the check reports it C(invalid_input) and
        the deploy role leaves it out. C(error) stops with one error listing every bad row. C(warn) skips
        them with a warning each; a skipped structure is then absent from the inventory and from the reports.
      - A password or secret column is always an error. When the inventory stops, the same messages are left
        in the variable C(chorus_inventory_errors) of the group C(all), which the collection's playbooks
        report and fail on even when Ansible was told to go on with the inventory sources it could parse.
    type: str
    choices: [keep, error, warn]
    default: keep
  environment:
    description:
      - The environment (C(qualification) or C(production)) of the rows that name none. It decides the SIRET
        rule applied to those rows and their C(env_*) group.
      - Empty for none; such rows are then checked with the production rule.
    type: str
    default: ""
notes:
  - The rows' values are data, never templates; only O(compose), O(groups) and O(keyed_groups) are templated.
  - With caching on, the parsed register is reused until O(cache_timeout) or until the register file changes
    (its size or modification time).
seealso:
  - name: Corail user guide
    description: Inventory from the register, enrolment and renewal of technical accounts.
    link: https://github.com/chorus-corail/chorus.corail/blob/main/docs/user-guide.md
'''

EXAMPLES = r'''
# inventory/register.chorus.yml
# ---
# plugin: chorus.corail.register
# path: registre.csv                  # next to this file
# group_by_columns: [Département, EPCI]
# host_vars:
#   ansible_user: corail
#   corail_config_path: /etc/corail/chorus.ini
# keyed_groups:
#   - key: corail_structures | length > 50
#     prefix: big
# compose:
#   ansible_host: inventory_hostname ~ '.corail.example.net'
#
# inventory/registre.csv (semicolon-separated, as French spreadsheets export it):
# Collectivité;SIRET;Serveur Corail;Compte technique;Application PISTE;Code service;Contact;Environnement;Département;EPCI
# Commune de Lescar;21640335700014;corail-pau-01;TECH_021640335700014@cpp2017.fr;CORAIL_PAU;FACTURES;dgs@lescar.example;production;64;CA Pau Béarn Pyrénées
# Commune de Lons;21640347100013;corail-pau-01;TECH_021640335700014@cpp2017.fr;CORAIL_PAU;;compta@lons.example;production;64;CA Pau Béarn Pyrénées
#
# ansible-inventory -i inventory/register.chorus.yml --graph
#   @env_production: corail-pau-01      @app_corail_pau: corail-pau-01
#   @departement_64: corail-pau-01      @epci_ca_pau_bearn_pyrenees: corail-pau-01

# An English register with other headers, in YAML, cached in a JSON file for an hour.
# ---
# plugin: chorus.corail.register
# path: /srv/integrator/register.yml
# column_map:
#   Customer: name
#   Host: server
#   Technical login: account
# on_invalid: warn
# cache: true
# cache_plugin: ansible.builtin.jsonfile
# cache_connection: /var/cache/ansible/chorus_register
# cache_timeout: 3600
#
# /srv/integrator/register.yml
# structures:
#   - Customer: Commune de Lescar
#     siret: "21640335700014"
#     Host: corail-pau-01
#     Technical login: TECH_021640335700014@cpp2017.fr
#     piste_app: CORAIL_PAU
'''

import csv
import io
import os
import re
import unicodedata

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseFileInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display

from ansible_collections.chorus.corail.plugins.module_utils._identifiers import ENVIRONMENTS, normalise_siret, siret_problem
from ansible_collections.chorus.corail.plugins.module_utils._schema import structure_problems

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML is a dependency of ansible-core
    yaml = None

display = Display()

FIELDS = ('name', 'siret', 'server', 'account', 'piste_app', 'service_code', 'contact', 'environment')
STRUCTURE_KEYS = ('siret', 'name', 'account', 'piste_app', 'service_code', 'contact')

DEFAULT_COLUMN_MAP = {
    'collectivité': 'name',
    'collectivite': 'name',
    'nom': 'name',
    'structure': 'name',
    'serveur corail': 'server',
    'serveur': 'server',
    'compte technique': 'account',
    'login': 'account',
    'application piste': 'piste_app',
    'code service': 'service_code',
    'environnement': 'environment',
    'env': 'environment',
}

# Compared against the header with case, accents and separators removed.
SECRET_COLUMN = re.compile(r'(password|passwd|passphrase|pwd|motdepasse|mdp|secret|token|apikey|credential)')

_BLANKS = re.compile(r'[\s\u00a0\u202f]+')


def _fold(text):
    """Header key for comparisons: no accents, lower case, single spaces."""
    text = unicodedata.normalize('NFKD', text)
    text = ''.join(c for c in text if not unicodedata.combining(c))
    return _BLANKS.sub(' ', text).strip().casefold()


# A header that also speaks of a date ("Mot de passe changé le", "password_changed_on") names a date.
_DATE_WORDS = frozenset(('date', 'le', 'du', 'on', 'since', 'depuis', 'expiration', 'expire', 'expires', 'expiry',
                         'changement', 'change', 'changed', 'modification', 'modifie', 'renouvellement', 'renouvele',
                         'renewal', 'renewed', 'echeance', 'validite', 'jour', 'jours', 'days', 'age'))
_DATE_VALUE = re.compile(r'^(\d{4}-\d{2}-\d{2}([ T][\d:.+-]*)?|\d{1,2}/\d{1,2}/\d{2,4})$')


def _mentions_secret(header):
    return bool(SECRET_COLUMN.search(re.sub(r'[^a-z0-9]', '', _fold(header))))


def _is_date_column(header):
    return bool(_DATE_WORDS & set(re.split(r'[^a-z0-9]+', _fold(header))))


def _is_secret_column(header):
    return _mentions_secret(header) and not _is_date_column(header)


def _looks_like_date(value):
    return value is None or _text(value) == '' or bool(_DATE_VALUE.match(_text(value)))


def _siret_problem(siret, environment):
    """The SIRET rule of the row's environment (qualification accepts identifiers that fail Luhn, when
    _identifiers knows that rule); the production rule when the environment is unknown."""
    return siret_problem(siret, environment=environment or None)


def safe_group_part(text):
    """Lower-case ASCII group name part: accents dropped, anything else becomes '_'."""
    text = unicodedata.normalize('NFKD', text)
    text = ''.join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r'_+', '_', re.sub(r'[^a-z0-9_]', '_', text)).strip('_')


UNASSIGNED_HOST = 'register_unassigned'
UNASSIGNED_GROUP = 'chorus_register_unassigned'


class RegisterErrors(AnsibleParserError):
    """Every bad row of the register, in one error."""

    def __init__(self, messages):
        self.messages = list(messages)
        super(RegisterErrors, self).__init__('%d bad row(s) in the register (on_invalid: error):\n%s'
                                             % (len(self.messages), '\n'.join(self.messages)))


class RegisterRowError(Exception):
    def __init__(self, line, field, reason, siret=None):
        self.line = line
        self.field = field
        self.reason = reason
        self.siret = siret
        super(RegisterRowError, self).__init__(reason)

    def describe(self, path):
        where = 'line %s' % self.line if self.line else 'an unknown line'
        structure = ', SIRET %s' % self.siret if self.siret else ''
        return '%s, %s: field %s%s: %s' % (path, where, self.field, structure, self.reason)


if yaml is not None:
    class _LineLoader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
        """SafeLoader whose mappings remember their line, for error messages."""

    class _LineDict(dict):
        line = None

    def _construct_line_mapping(loader, node):
        mapping = _LineDict(loader.construct_mapping(node, deep=True))
        mapping.line = node.start_mark.line + 1
        return mapping

    _LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_line_mapping)


def _text(value):
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return to_native(value).strip()


class RegisterParser(object):
    """Turns the register's text into {'hosts': {server: {...}}}; pure, so unit tests need no inventory."""

    def __init__(self, path, column_map=None, group_by_columns=None, on_invalid='keep', warn=None, environment=None):
        self.path = path
        self.environment = _fold(environment or '')
        if self.environment and self.environment not in ENVIRONMENTS:
            raise AnsibleParserError('chorus.corail.register: environment must be one of %s, got %r'
                                     % (', '.join(ENVIRONMENTS), environment))
        self.errors = []
        self.group_by_columns = list(group_by_columns or [])
        self.on_invalid = on_invalid
        self.warn = warn or display.warning
        self.column_map = dict((_fold(k), v) for k, v in DEFAULT_COLUMN_MAP.items())
        for field in FIELDS:
            self.column_map[_fold(field)] = field
        for header, field in (column_map or {}).items():
            if field not in FIELDS:
                raise AnsibleParserError('chorus.corail.register: column_map maps %r to %r, which is not one of %s'
                                         % (header, field, ', '.join(FIELDS)))
            self.column_map[_fold(to_native(header))] = field

    # -- reading -------------------------------------------------------------------------------

    def rows_from_csv(self, text, delimiter='auto'):
        lines = text.splitlines()
        first = next((line for line in lines if line.strip()), None)
        if first is None:
            return [], []
        if delimiter == 'auto':
            delimiter = max((';', ',', '\t'), key=lambda d: len(next(csv.reader([first], delimiter=d))))
        reader = csv.reader(io.StringIO(text, newline=''), delimiter=delimiter)
        header = None
        rows = []
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [cell.strip() for cell in record]
                # Refuse secrets before a single data row is read.
                self.check_headers(header)
                continue
            row = dict((header[i], record[i]) for i in range(min(len(header), len(record))) if header[i])
            rows.append((reader.line_num, row))
        return header or [], rows

    def rows_from_yaml(self, text):
        try:
            data = yaml.load(text, Loader=_LineLoader)  # nosec B506 - SafeLoader subclass
        except yaml.YAMLError as exc:
            raise AnsibleParserError('chorus.corail.register: %s is not valid YAML: %s' % (self.path, exc))
        if data is None:
            return [], []
        if isinstance(data, dict):
            if 'structures' not in data:
                raise AnsibleParserError('chorus.corail.register: %s is a mapping without a "structures" key; '
                                         'give a list of rows or "structures: [rows]"' % self.path)
            data = data['structures'] or []
        if not isinstance(data, list):
            raise AnsibleParserError('chorus.corail.register: %s must hold a list of rows, got %s'
                                     % (self.path, type(data).__name__))
        headers = []
        rows = []
        for index, item in enumerate(data):
            if not isinstance(item, dict):
                raise AnsibleParserError('chorus.corail.register: %s, row %d: a row must be a mapping of column to value, got %s'
                                         % (self.path, index + 1, type(item).__name__))
            for key in item:
                key = to_native(key)
                if key not in headers:
                    headers.append(key)
            rows.append((getattr(item, 'line', None), dict((to_native(k), v) for k, v in item.items())))
        self.check_headers(headers)
        return headers, rows

    # -- checking ------------------------------------------------------------------------------

    def check_headers(self, headers):
        secret = [h for h in headers if _is_secret_column(h)]
        if secret:
            raise AnsibleParserError(
                'chorus.corail.register: %s has a password or secret column (%s). Passwords never come from the '
                'register: remove that column (and the secrets from the file), then record technical accounts '
                'with the chorus.corail.enroll playbook, which stores them vault-encrypted.'
                % (self.path, ', '.join(repr(h) for h in secret)))
        mapped = {}
        for header in headers:
            field = self.column_map.get(_fold(header))
            if field:
                if field in mapped:
                    raise AnsibleParserError('chorus.corail.register: %s: columns %r and %r both map to field %s'
                                             % (self.path, mapped[field], header, field))
                mapped[field] = header
        if headers:
            for field in ('siret', 'server'):
                if field not in mapped:
                    raise AnsibleParserError(
                        'chorus.corail.register: %s has no %s column (headers: %s); name it %s or map it with column_map'
                        % (self.path, field, ', '.join(repr(h) for h in headers), field))
        folded = [_fold(h) for h in headers]
        for column in self.group_by_columns:
            if headers and _fold(column) not in folded:
                raise AnsibleParserError('chorus.corail.register: group_by_columns names %r, which is not a column of %s '
                                         '(headers: %s)' % (column, self.path, ', '.join(repr(h) for h in headers)))

    def normalise_row(self, line, row):
        """The row's fields and group values, and the list of what is wrong with it (RegisterRowError)."""
        values = {}
        groups = {}
        errors = []
        folded_groups = dict((_fold(c), c) for c in self.group_by_columns)
        for header, value in row.items():
            folded = _fold(header)
            field = self.column_map.get(folded)
            if field:
                values[field] = _text(value)
            if folded in folded_groups:
                groups[folded_groups[folded]] = _text(value)
            elif not field and _mentions_secret(header) and not _looks_like_date(value):
                # A "mot de passe ... le" column is a date; anything else in it may be a password.
                errors.append(RegisterRowError(line, header, 'holds something that is not a date; a column named '
                                               'like a password may only hold dates (the value is not shown)'))
        # Spreadsheets group digits with (non-breaking) spaces or dots; the checksum decides the rest.
        siret = normalise_siret(values.get('siret', ''))
        values['siret'] = siret
        shown = siret if siret else None
        environment = _fold(values.get('environment', '')) or self.environment
        values['environment'] = environment
        if environment and environment not in ENVIRONMENTS:
            errors.append(RegisterRowError(line, 'environment', 'must be one of %s, got %r'
                                           % (', '.join(ENVIRONMENTS), values.get('environment')), shown))
            values['environment'] = environment = ''
        if not siret:
            errors.append(RegisterRowError(line, 'siret', 'is empty'))
        else:
            problem = _siret_problem(siret, environment)
            if problem:
                hint = ''
                if siret.isdigit() and len(siret) == 13:
                    hint = ' (a spreadsheet may have dropped a leading zero: quote the SIRET or store the column as text)'
                errors.append(RegisterRowError(line, 'siret', problem + hint, shown))
        if not values.get('server'):
            errors.append(RegisterRowError(line, 'server', 'is empty: every structure needs the Corail server that '
                                           'serves it', shown))
        # The other value rules, as deploy and the check apply them (the SIRET and environment
        # rules above know the row's environment and the register's spreadsheet habits).
        for field, message in structure_problems(values):
            if field not in ('siret', 'environment'):
                errors.append(RegisterRowError(line, field, message, shown))
        return values, groups, errors

    # -- building ------------------------------------------------------------------------------

    def _conflicts(self, line, values, seen):
        """Errors of a SIRET seen before with another account or application; True when it repeats a row."""
        siret = values['siret']
        if not siret or siret not in seen:
            if siret:
                seen[siret] = (line, values)
            return [], False
        first_line, first = seen[siret]
        errors = []
        for field in ('account', 'piste_app'):
            if first.get(field, '') != values.get(field, ''):
                errors.append(RegisterRowError(
                    line, field, 'conflicts with line %s: %r here, %r there; one structure has one %s'
                    % (first_line, values.get(field, ''), first.get(field, ''),
                       'technical account' if field == 'account' else 'PISTE application'), siret))
        if errors:
            return errors, False
        if first['server'] == values['server']:
            self.warn('chorus.corail.register: %s, line %s: SIRET %s repeats line %s for server %s; '
                      'the repeated row is ignored' % (self.path, line, siret, first_line, values['server']))
            return [], True
        self.warn('chorus.corail.register: %s, line %s: SIRET %s is served by %s and, at line %s, by %s'
                  % (self.path, line, siret, values['server'], first_line, first['server']))
        return [], False

    def _add(self, hosts, values, groups, problem=None):
        server = values.get('server') or UNASSIGNED_HOST
        host = hosts.setdefault(server, {'structures': [], 'environments': [], 'piste_apps': [], 'groups': []})
        structure = dict((key, values[key]) for key in STRUCTURE_KEYS if values.get(key))
        if problem:
            structure['siret'] = values.get('siret', '')
            structure['register_problem'] = problem
        host['structures'].append(structure)
        for key, bucket in (('environment', 'environments'), ('piste_app', 'piste_apps')):
            if values.get(key) and values[key] not in host[bucket]:
                host[bucket].append(values[key])
        for column, value in groups.items():
            if value:
                name = '%s_%s' % (safe_group_part(column), safe_group_part(value))
                if name not in host['groups']:
                    host['groups'].append(name)

    def build(self, rows):
        """Every row checked, every problem collected, then the policy of on_invalid applied once."""
        hosts = {}
        seen = {}  # siret -> (line, values)
        self.errors = []
        for line, row in rows:
            values, groups, errors = self.normalise_row(line, row)
            if not errors:
                errors, repeated = self._conflicts(line, values, seen)
                if repeated:
                    continue
            self.errors.extend(errors)
            if not errors:
                self._add(hosts, values, groups)
            elif self.on_invalid == 'keep':
                self._add(hosts, values, groups, problem='; '.join(e.describe(self.path) for e in errors))
        messages = ['chorus.corail.register: ' + e.describe(self.path) for e in self.errors]
        if messages and self.on_invalid == 'error':
            raise RegisterErrors(messages)
        for message in messages:
            self.warn(message + (' (row kept: the check reports it invalid_input)' if self.on_invalid == 'keep'
                                 else ' (row skipped)'))
        return {'hosts': hosts}

    def parse_text(self, text, fmt, delimiter='auto'):
        if fmt == 'yaml':
            dummy, rows = self.rows_from_yaml(text)
        else:
            dummy, rows = self.rows_from_csv(text, delimiter)
        return self.build(rows)


class InventoryModule(BaseFileInventoryPlugin, Constructable, Cacheable):

    NAME = 'chorus.corail.register'

    def verify_file(self, path):
        if super(InventoryModule, self).verify_file(path):
            return path.endswith(('.chorus.yml', '.chorus.yaml', 'chorus_register.yml', 'chorus_register.yaml'))
        return False

    def _register_path(self, config_path):
        path = os.path.expanduser(self.get_option('path'))
        if not os.path.isabs(path):
            path = os.path.join(os.path.dirname(os.path.abspath(config_path)), path)
        return os.path.normpath(path)

    def _register_format(self, path):
        fmt = self.get_option('format')
        if fmt == 'auto':
            fmt = 'yaml' if path.lower().endswith(('.yml', '.yaml', '.json')) else 'csv'
        return fmt

    def _read_register(self, path):
        try:
            with open(path, 'rb') as handle:
                raw = handle.read()
        except (IOError, OSError) as exc:
            raise AnsibleParserError('chorus.corail.register: cannot read the register %s: %s' % (path, to_native(exc)))
        encoding = self.get_option('encoding')
        if encoding.replace('-', '').replace('_', '').lower() == 'utf8':
            encoding = 'utf-8-sig'  # drops a BOM if there is one
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise AnsibleParserError('chorus.corail.register: %s is not valid %s (byte %d); set the encoding option '
                                     '(cp1252 for an older Excel CSV export)' % (path, self.get_option('encoding'), exc.start))
        except LookupError:
            raise AnsibleParserError('chorus.corail.register: unknown encoding %r' % self.get_option('encoding'))

    def _load(self, path):
        parser = RegisterParser(path, column_map=self.get_option('column_map'),
                                group_by_columns=self.get_option('group_by_columns'),
                                on_invalid=self.get_option('on_invalid'),
                                environment=self.get_option('environment'))
        return parser.parse_text(self._read_register(path), self._register_format(path), self.get_option('delimiter'))

    @staticmethod
    def _source_stamp(path):
        try:
            stat = os.stat(path)
        except OSError:
            return None
        return [path, stat.st_size, stat.st_mtime_ns]

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache=cache)
        try:
            self._parse(path, cache)
        except AnsibleParserError as exc:
            # Ansible may be told to go on without this source: leave the reason where the collection's
            # playbooks look for it, so that they fail loudly instead of running on an emptier inventory.
            messages = list(getattr(exc, 'messages', None) or [to_native(getattr(exc, 'message', exc))])
            errors = list(self.inventory.groups['all'].get_vars().get('chorus_inventory_errors') or [])
            self.inventory.set_variable('all', 'chorus_inventory_errors', errors + [m for m in messages if m not in errors])
            raise

    def _parse(self, path, cache):
        self._read_config_data(path)
        register = self._register_path(path)

        use_cache = self.get_option('cache')
        cache_key = self.get_cache_key(path)
        data = None
        if use_cache and cache:
            try:
                cached = self._cache[cache_key]
            except KeyError:
                cached = None
            # A changed register invalidates the entry, whatever the timeout.
            if isinstance(cached, dict) and cached.get('source') == self._source_stamp(register):
                data = cached.get('data')
        if data is None:
            data = self._load(register)
            if use_cache:
                self._cache[cache_key] = {'source': self._source_stamp(register), 'data': data}
        self._populate(data)

    def _populate(self, data):
        strict = self.get_option('strict')
        servers_group = self.get_option('servers_group')
        if servers_group:
            servers_group = self.inventory.add_group(servers_group)
        static_vars = self.get_option('host_vars') or {}
        for server in sorted(data['hosts']):
            entry = data['hosts'][server]
            self.inventory.add_host(server)
            if servers_group and server != UNASSIGNED_HOST:
                self.inventory.add_child(servers_group, server)
            for key, value in static_vars.items():
                self.inventory.set_variable(server, key, value)
            self.inventory.set_variable(server, 'corail_structures', entry['structures'])
            if server == UNASSIGNED_HOST:
                # Bad rows without a server: reported by the check, never deployed nor connected to.
                self.inventory.add_child(self.inventory.add_group(UNASSIGNED_GROUP), server)
                self.inventory.set_variable(server, 'ansible_connection', 'local')
            if len(entry['piste_apps']) == 1:
                self.inventory.set_variable(server, 'chorus_piste_app', entry['piste_apps'][0])
            group_names = ['env_%s' % env for env in entry['environments']]
            group_names += ['app_%s' % safe_group_part(app) for app in entry['piste_apps']]
            group_names += entry['groups']
            for name in group_names:
                name = self.inventory.add_group(name)
                self.inventory.add_child(name, server)

            hostvars = self.inventory.get_host(server).get_vars()
            self._set_composite_vars(self.get_option('compose'), hostvars, server, strict=strict)
            self._add_host_to_composed_groups(self.get_option('groups'), hostvars, server, strict=strict)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), hostvars, server, strict=strict)
