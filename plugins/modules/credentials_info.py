#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: credentials_info
short_description: Validate and check Chorus Pro technical accounts for many structures at once
version_added: 0.1.0
description:
  - Takes the C(corail_structures) of any number of hosts, each tagged with its host, with the
    C(chorus_accounts) and C(chorus_piste_apps) they refer to, and returns one entry per structure with
    exactly one status, warnings, a technical detail (English) and a remediation text (French), plus one
    summary per technical account.
  - Offline checks always run (SIRET checksum, PISTE application and account definitions, environments,
    conflicting definitions). Online checks run unless O(online=false).
  - Online, structures are grouped by (environment, PISTE client_id, login). Each application asks for one
    token, each group makes two calls (C(transverses/v1/recuperer/structures/actives/destinataire), then
    C(structures/v1/consulter) for the password expiry date, on the structure a C(TECH_0<SIRET>@cpp2017.fr)
    login names when the account is attached to it) and each structure one call
    (C(factures/v1/rechercher/recipiendaire) when the account is attached to it, else
    C(structures/v1/rechercher)), so at most P + 2A + N calls without faults. Groups are checked concurrently.
  - For an account with structures outside its active list, one more call
    (C(utilisateurs/v1/monCompte/recuperer/rattachements), every page) tells a structure the account is
    attached to whose "factures reçues" space is not enabled (V(not_attached) with the warning
    V(reception_space_disabled), no search needed) from one it is not attached to.
  - A verdict is given only on an answer that is recognisably the API's own (PISTE's OAuth error JSON,
    PISTE's C(WWW-Authenticate) on a 401, Chorus Pro's JSON with a known C(codeRetour) and the expected
    list). Anything else (an HTML page, a proxy's status, truncated JSON, a missing field) is retried like
    a 5xx, then V(api_unavailable) with the reason.
  - In V(qualification), a SIRET that fails the Luhn checksum is accepted with the warning
    V(siret_checksum_unusual) (real qualification identifiers do not satisfy it); in V(production) the
    checksum is required, with La Poste's rule. A SIRET given as a YAML integer is refused unless it has 14
    digits (quote it); spaces and dots in a SIRET are removed.
  - The status of a structure is the first that applies in this order - V(invalid_input),
    V(missing_account), V(unchecked), V(piste_auth_failed), V(account_rejected), V(password_expired),
    V(access_forbidden), V(api_unavailable), V(structure_unknown), V(not_attached), V(password_expiring),
    V(ok).
  - A structure without an account, or whose account is not in O(accounts), is V(missing_account); it is never skipped.
  - Timeouts, HTTP 5xx, HTTP 429 after the retries and unreadable answers give V(api_unavailable), never a
    status that blames the account or the structure.
  - Read-only. Passwords, client secrets and tokens never appear in the result.
  - "Runs where it is called; use it on the controller (C(delegate_to: localhost), C(run_once: true))."
author:
  - chorus.corail contributors (@chorus-corail)
options:
  structures:
    description:
      - The structures to check, typically the C(corail_structures) of every targeted host, each tagged with
        its C(host). Entries are kept in this order in RV(structures).
      - "Keys of an entry: C(siret) (14 digits, as a string: quote it in YAML), C(host) (inventory host, the
        Corail server), C(name), C(account) (login, a key of O(accounts)), C(piste_app) (a key of
        O(piste_apps)), C(service_code) and C(contact) (reported as they are). Other keys are ignored."
      - A malformed entry does not stop the run; it comes back V(invalid_input) with the field at fault.
    type: list
    elements: dict
    required: true
  accounts:
    description:
      - The technical accounts (C(chorus_accounts)), keyed by login. Each value has C(password),
        C(password_changed_on) (YYYY-MM-DD, used for the expiry date when the API does not give it; it
        expires 424 days later) and C(environment) (V(qualification) or V(production)).
      - Passwords are never returned or logged.
    type: dict
    default: {}
  piste_apps:
    description:
      - The PISTE applications (C(chorus_piste_apps)), keyed by name. Each value has C(client_id),
        C(client_secret) and C(environment) (V(qualification) or V(production)).
      - Client secrets are never returned or logged.
    type: dict
    default: {}
  online:
    description:
      - Run the online checks. With V(false), structures that pass the offline checks are V(unchecked)
        and no network call is made.
    type: bool
    default: true
  concurrency:
    description:
      - How many groups (and then structures) are checked at the same time; also the size of the HTTP
        connection pool.
    type: int
    default: 8
  password_warning_days:
    description:
      - A password that expires within this many days makes an otherwise working structure
        V(password_expiring), and adds the C(password_expiring) warning next to other statuses.
    type: int
    default: 30
  today:
    description:
      - Date (YYYY-MM-DD) the expiry dates are compared with. Defaults to the current date of the host
        running the module; set it for reproducible runs.
    type: str
  result_file:
    description:
      - Write RV(structures), RV(accounts) and RV(api_calls) to this JSON file (mode C(0600), missing folders
        created C(0700), replaced atomically) and leave RV(structures) and RV(accounts) out of the result,
        which then holds RV(by_host) (shortened entries), RV(counts), RV(api_calls), RV(result_file) and RV(total).
      - For thousands of structures - M(chorus.corail.check_report) reads the file (and deletes it), so the
        result does not go through Ansible's processes several times (docs/performance.md). Like the
        result, the file holds no password, secret or token.
      - Written in check mode too, since it is the result of a read-only module (the M(chorus.corail.check)
        role does not set it in check mode, where nothing is written).
    type: path
extends_documentation_fragment:
  - chorus.corail.attributes
  - chorus.corail.attributes.INFO_MODULE
  - chorus.corail.attributes.ACTION_GROUP
  - chorus.corail.connection
attributes:
  platform:
    support: full
    platforms: posix
notes:
  - The expiry date comes from C(dateExpirationMotPasseCompteTech) of C(structures/v1/consulter) when Chorus Pro
    gives it, else from C(password_changed_on) + 424 days; without either the C(expiry_unknown) warning is set.
  - Chorus Pro answers an expired password like a wrong one (HTTP 401); the module reports
    V(password_expired) instead of V(account_rejected) when the expiry date has passed.
seealso:
  - name: Chorus Pro API via PISTE
    description: Where PISTE applications are created and subscribed to the Chorus Pro APIs.
    link: https://piste.gouv.fr
'''

EXAMPLES = r'''
- name: Check every structure of every Corail server, once, from the controller
  chorus.corail.credentials_info:
    structures: "{{ hostvars | chorus.corail.structures_of_hosts(ansible_play_hosts_all) }}"
    accounts: "{{ chorus_accounts }}"
    piste_apps: "{{ chorus_piste_apps }}"
  delegate_to: localhost
  run_once: true
  no_log: true  # the passwords go in; the result holds none
  register: chorus_check

- name: Offline validation only (checksums, definitions), no network
  chorus.corail.credentials_info:
    structures:
      - host: corail-pau
        siret: "21640445900002"
        name: Commune de Pau
        account: TECH_021640445900002@cpp2017.fr
        piste_app: corail-pau
    accounts: "{{ chorus_accounts }}"
    piste_apps: "{{ chorus_piste_apps }}"
    online: false
  delegate_to: localhost
  register: chorus_offline

- name: Against a sandbox, with the connection options shared by the chorus action group
  module_defaults:
    group/chorus.corail.chorus:
      oauth_url: http://127.0.0.1:8080/api/oauth/token
      api_url: http://127.0.0.1:8080
      timeout: 5
  block:
    - name: Check with a fixed date for a reproducible run
      chorus.corail.credentials_info:
        structures: "{{ my_structures }}"
        accounts: "{{ chorus_accounts }}"
        piste_apps: "{{ chorus_piste_apps }}"
        today: "2025-06-01"
      register: chorus_sandbox_check

- name: Fail when a structure is in error
  ansible.builtin.assert:
    that: chorus_check.counts.ok + chorus_check.counts.password_expiring == chorus_check.structures | length
    fail_msg: "{{ chorus_check.structures | rejectattr('status', 'in', ['ok', 'password_expiring'])
                  | map(attribute='siret') | join(', ') }}"
'''

RETURN = r'''
structures:
  description: One entry per input structure, in input order.
  returned: when O(result_file) is not set (then in the file)
  type: list
  elements: dict
  contains:
    host:
      description: Host the structure was given for.
      type: str
      sample: corail-pau
    siret:
      description: SIRET as given.
      type: str
      sample: "21640445900002"
    name:
      description: Name as given.
      type: str
    account:
      description: Login of the technical account, or null.
      type: str
      sample: TECH_021640445900002@cpp2017.fr
    piste_app:
      description: Name of the PISTE application, or null.
      type: str
    environment:
      description: V(qualification) or V(production), from the application (or the account), or null.
      type: str
    contact:
      description: Contact as given.
      type: str
    service_code:
      description: Service code as given.
      type: str
    status:
      description: The one status of the structure (see the description for the list and their order).
      type: str
      sample: not_attached
    warnings:
      description:
        - Other things worth knowing - V(password_expiring), V(password_expired) (date passed but the account
          still works), V(expiry_unknown) (neither the API nor C(password_changed_on) gives a date),
          V(login_shape_unusual), V(retried) (transient errors were retried), V(siret_checksum_unusual)
          (qualification identifier that fails Luhn), V(reception_space_disabled) (attached, but the
          "factures reçues" space is not enabled for the account).
      type: list
      elements: str
      sample: [password_expiring]
    detail:
      description: Technical explanation in English (HTTP status, API path, codeRetour, field at fault). Never a secret.
      type: str
    remediation:
      description: What to do, in French, for the gestionnaire principal or the integrator.
      type: str
    id_structure_cpp:
      description: Chorus Pro id of the structure when the API gave it, else null.
      type: int
    designation:
      description: Chorus Pro name of the structure when the API gave it, else null.
      type: str
    password_expires_on:
      description: Expiry date (YYYY-MM-DD) of the account's password, or null when unknown.
      type: str
      sample: "2026-03-01"
    days_left:
      description: Days from O(today) to RV(structures[].password_expires_on) (negative when passed), or null.
      type: int
    password_expiry_source:
      description:
        - Where RV(structures[].password_expires_on) comes from - V(api) (C(dateExpirationMotPasseCompteTech),
          a date or a date-time read in Europe/Paris), V(estimated) (C(password_changed_on) + 424 days), or
          null when unknown.
      type: str
      sample: api
    action_by:
      description:
        - Who must act - V(gestionnaire) (portal work at the collectivite - create an account, a raccordement,
          attach, renew), V(integrator) (the inventory, the PISTE application, a URL, a proxy, a re-run after
          an outage) or V(nobody) (V(ok), V(unchecked)).
        - A cause that cannot be one structure's is the integrator's - the token refused or unreachable, every
          account of an application answering the unrouted shape (403 C({}), 404), or at least two accounts
          of one application failing identically with none accepted.
      type: str
      sample: gestionnaire
    cause:
      description:
        - What one action fixes, or null when nobody must act - C(kind) (V(piste_app_refused),
          V(piste_app_unreachable), V(api_route), V(api_unavailable), V(account_rejected), V(password_expired),
          V(password_expiring), V(raccordement_missing), V(not_attached), V(structure_unknown),
          V(missing_account), V(invalid_input)) and C(subject) (the PISTE application, the login, the SIRET
          or V(run)).
      type: dict
      sample: {"kind": "raccordement_missing", "subject": "21640445900002"}
    cause_detail_fr:
      description: The cause in one French sentence (dates as DD/MM/YYYY), or null when nobody must act.
      type: str
by_host:
  description:
    - The same entries as RV(structures), grouped by host.
    - With O(result_file), each entry holds only C(siret), C(name), C(status), C(warnings),
      C(password_expires_on) (and C(action_by), C(cause) when the entries have them); the full entries are in
      the file.
  returned: always
  type: dict
  sample: {"corail-pau": [{"siret": "21640445900002", "status": "ok"}]}
counts:
  description: Number of structures per status; every status is present, zeros included.
  returned: always
  type: dict
  sample: {"invalid_input": 0, "missing_account": 1, "ok": 41}
accounts:
  description:
    - One summary per (environment, piste_app, login) used by at least one structure whose account is in O(accounts).
    - C(status) is the account-level outcome (V(ok), V(password_expiring), V(unchecked), V(invalid_input),
      V(piste_auth_failed), V(account_rejected), V(password_expired), V(access_forbidden), V(api_unavailable)).
  returned: when O(result_file) is not set (then in the file)
  type: list
  elements: dict
  contains:
    login:
      description: Login of the technical account.
      type: str
    environment:
      description: Environment of the group.
      type: str
    piste_app:
      description: PISTE application of the group.
      type: str
    status:
      description: Account-level status.
      type: str
    structures:
      description: Number of structures using this account with this application.
      type: int
    password_expires_on:
      description: Expiry date of the password (YYYY-MM-DD), or null.
      type: str
    days_left:
      description: Days left before expiry, or null.
      type: int
    detail:
      description: Technical explanation in English.
      type: str
api_calls:
  description: HTTP requests made by this run per URL path, retries and token requests included.
  returned: always
  type: dict
  sample: {"/api/oauth/token": 1, "/cpro/transverses/v1/recuperer/structures/actives/destinataire": 2}
result_file:
  description: The file RV(structures) and RV(accounts) were written to.
  returned: when O(result_file) is set
  type: str
  sample: /var/lib/chorus-corail/reports/.credentials_info.json
total:
  description: Number of structures checked (the length of RV(structures) in the file).
  returned: when O(result_file) is set
  type: int
  sample: 20000
'''

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.chorus.corail.plugins.module_utils._connection import (
    connection_argspec,
    connection_params,
)
from ansible_collections.chorus.corail.plugins.module_utils._chorus_api import (
    ChorusClient,
    import_requests,
)
from ansible_collections.chorus.corail.plugins.module_utils._result_file import (
    ResultFileError,
    write_result,
)
from ansible_collections.chorus.corail.plugins.module_utils._secrets import (
    NO_LOG_PLACEHOLDER,
    SecretMask,
    keep_only_secrets,
)
from ansible_collections.chorus.corail.plugins.module_utils._check import (
    DEFAULT_CONCURRENCY,
    DEFAULT_WARNING_DAYS,
    parse_date,
    run_check,
)

SECRET_KEYS = ('password', 'client_secret', 'client_id')
HAS_REQUESTS = import_requests()[0]
REQUESTS_IMPORT_ERROR = import_requests()[1]


def argument_spec():
    # No suboptions on purpose: a bad entry (int SIRET, missing key, extra register column) must
    # become invalid_input for that structure, not stop the check of all the others.
    return connection_argspec(
        structures=dict(type='list', elements='dict', required=True),
        accounts=dict(type='dict', default={}, no_log=True),
        piste_apps=dict(type='dict', default={}, no_log=True),
        online=dict(type='bool', default=True),
        concurrency=dict(type='int', default=DEFAULT_CONCURRENCY),
        password_warning_days=dict(type='int', default=DEFAULT_WARNING_DAYS, no_log=False),
        today=dict(type='str'),
        result_file=dict(type='path'),
    )


def _unmask_public_values(module):
    """Keep only true secrets in the no_log values.

    ``accounts`` and ``piste_apps`` are no_log as wholes; the secrets (passwords, client secrets,
    client ids) stay masked, environments and dates, which the result must show, do not.
    """
    keep_only_secrets(module.no_log_values, ((spec, secret_keys)
                                             for option, secret_keys in (('accounts', ('password',)),
                                                                         ('piste_apps', ('client_secret', 'client_id')))
                                             for spec in (module.params.get(option) or {}).values()))


def _secret_pairs(params):
    """(user, secret) as the cpro-account header and HTTP Basic carry them, base64 of user:secret."""
    pairs = []
    for option, user_key, secret_key in (('accounts', None, 'password'), ('piste_apps', 'client_id', 'client_secret')):
        for name, spec in (params.get(option) or {}).items():
            if isinstance(spec, dict):
                pairs.append((spec.get(user_key) if user_key else name, spec.get(secret_key)))
    return pairs


def _inventory_texts(params):
    """Texts that come from the inventory and are shown as they are, even if a secret is part of them."""
    texts = set()
    for structure in params.get('structures') or []:
        if isinstance(structure, dict):
            texts.update(str(value) for key, value in structure.items()
                         if key not in SECRET_KEYS and isinstance(value, (str, int)) and not isinstance(value, bool))
    for option in ('accounts', 'piste_apps'):
        for name, spec in (params.get(option) or {}).items():
            texts.add(str(name))
            if isinstance(spec, dict):
                texts.update(value for key, value in spec.items() if key not in SECRET_KEYS and isinstance(value, str))
    return texts


def _without_secret_fields(params):
    """The module arguments with every secret field replaced by the placeholder, whatever its value."""
    def strip(spec):
        if not isinstance(spec, dict):
            return spec
        return dict((key, NO_LOG_PLACEHOLDER if key in SECRET_KEYS and value not in (None, '') else value)
                    for key, value in spec.items())
    shown = dict(params)
    for option in ('accounts', 'piste_apps'):
        shown[option] = dict((name, strip(spec)) for name, spec in (params.get(option) or {}).items())
    shown['structures'] = [strip(structure) for structure in params.get('structures') or []]
    return shown


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    _unmask_public_values(module)
    params = module.params

    if params['concurrency'] < 1:
        module.fail_json(msg='concurrency: must be 1 or more, got %d' % params['concurrency'])
    if params['password_warning_days'] < 0:
        module.fail_json(msg='password_warning_days: must be 0 or more, got %d' % params['password_warning_days'])
    if params['timeout'] is not None and params['timeout'] <= 0:
        module.fail_json(msg='timeout: must be more than 0 seconds, got %d' % params['timeout'])
    if params['retries'] is not None and params['retries'] < 0:
        module.fail_json(msg='retries: must be 0 or more, got %d' % params['retries'])
    if params['rate_limit'] is not None and params['rate_limit'] < 0:
        module.fail_json(msg='rate_limit: must be 0 (no limit) or more calls per second, got %s' % params['rate_limit'])
    today = None
    if params['today']:
        today = parse_date(params['today'])
        if today is None:
            module.fail_json(msg='today: must be a date YYYY-MM-DD, got %r' % params['today'])

    client = None
    if params['online']:
        if not HAS_REQUESTS:
            module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
        client = ChorusClient(concurrency=params['concurrency'], **connection_params(params))
    try:
        result = run_check(
            params['structures'], params['accounts'], params['piste_apps'], client=client,
            online=params['online'], concurrency=params['concurrency'],
            password_warning_days=params['password_warning_days'], today=today)
    except Exception as exc:  # pylint: disable=broad-except
        # An unexpected error must not leak a secret through its message: report its type only.
        module.fail_json(msg='credentials_info failed unexpectedly (%s); run with -vvv for the traceback'
                         % type(exc).__name__, exception=client.scrub(traceback.format_exc()) if client else None)
    finally:
        if client is not None:
            client.close()
    # AnsibleModule masks its no_log values by trying each one on every string of the result, which
    # grows as structures x accounts (minutes for thousands) and rewrites names and logins that
    # happen to hold a secret. SecretMask masks in one pass, only outside inventory text, in every
    # encoded form; the invocation is masked here too, then nothing is left for exit_json to mask.
    mask = SecretMask(module.no_log_values, pairs=_secret_pairs(params), keep=_inventory_texts(params))
    shown = _without_secret_fields(params)
    if params['result_file']:
        shown['structures'] = '%d structures (not echoed with result_file)' % len(params['structures'] or [])
    invocation = {'module_args': mask.apply(shown)}
    result = mask.apply(result)
    if params['result_file']:
        try:
            result = write_result(params['result_file'], result)
        except ResultFileError as exc:
            module.fail_json(msg=str(exc))
    module.no_log_values.clear()
    module.exit_json(changed=False, invocation=invocation, **result)


if __name__ == '__main__':
    main()
