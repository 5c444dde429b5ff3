#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: corail_config
short_description: Write the Chorus Pro connector settings into a Corail configuration file
version_added: 0.1.0
description:
  - Writes, on the Corail server, the settings of each PISTE application (environment, client id and
    secret, URLs when overridden) and one block per structure (SIRET, name, technical login and password,
    PISTE application, optional service code and idStructureCPP) into the Corail configuration file.
  - Corail's real configuration format is not public. The module writes a documented B(model) of it, an
    INI file or a .NET C(appSettings) file, whose key layout is data (O(key_layout)) so that it can be
    adapted to a Corail version without changing code. See C(docs/corail-config-model.md) in the collection.
  - Only the keys the collection owns are merged. Every other byte of the file stays as it was - comments,
    order, other sections and keys, encoding (byte order mark included) and line endings. For O(format=xml)
    the C(appSettings) entries are edited as text, so the rest of the document stays byte for byte.
  - Values that could break the file are escaped (XML entities; double quotes in INI when a value holds
    C(;), C(#), quotes, a backslash or surrounding spaces) or refused (control characters such as newlines).
  - The diff shows only the keys the collection owns, never the rest of the file (it may hold other secrets
    such as SQL connection strings). A secret is never shown, nor anything derived from it; it reads
    C(<secret>), and C(<secret changed>) when it changes.
  - On any error (invalid input, a file that cannot be read reliably, a failed O(validate) command) nothing
    is written and the message names the field and the structure (SIRET).
  - The new content goes to a temporary file in the same directory, then replaces the file atomically. When
    the file changes between the read and the replacement, the settings are merged again on its new content.
  - On Windows targets (PowerShell connection, or C(ansible_os_family=Windows)) the action plugin plans the change
    on the controller and writes with the modules of the B(ansible.windows) collection, which must then be
    installed - M(ansible.windows.slurp) to read, M(ansible.windows.win_acl) and M(ansible.windows.win_acl_inheritance)
    to leave the file's folder to Administrators, SYSTEM and O(windows_service_account) B(before) anything is
    written, M(ansible.windows.win_copy) to write the planned bytes with a backup. See C(docs/windows.md).
author:
  - chorus.corail contributors (@chorus-corail)
options:
  path:
    description:
      - Path of the Corail configuration file on the target.
      - A symlink is followed - its target is updated and the link stays a link (as with M(ansible.builtin.copy)).
      - Its directory must exist. A FIFO, socket or device is refused.
    type: path
    required: true
    aliases: [dest]
  format:
    description:
      - V(ini) - one section per PISTE application and per structure (C([chorus.piste.NAME]),
        C([chorus.structure.SIRET]) by default).
      - V(xml) - a .NET configuration file; entries C(<add key="..." value="..."/>) of its C(appSettings)
        element (C(Chorus.Structure.SIRET.Password) by default). An C(appSettings) element is added to the
        root element when there is none.
    type: str
    choices: [ini, xml]
    default: ini
  piste_apps:
    description:
      - The PISTE applications the structures of this server use.
      - The whole list is C(no_log); only the client secrets stay hidden in the output.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - Name of the application (a key of C(chorus_piste_apps)). Letters, digits and C( _.@+-).
        type: str
        required: true
      environment:
        description:
          - V(qualification) or V(production). Required.
        type: str
      client_id:
        description:
          - PISTE client id. Required.
        type: str
      client_secret:
        description:
          - PISTE client secret. Required. Never returned nor shown in a diff.
        type: str
      oauth_url:
        description:
          - PISTE token URL, written only when set (an override of the environment's URL).
        type: str
      api_url:
        description:
          - Chorus Pro API base URL, written only when set (an override of the environment's URL).
        type: str
  structures:
    description:
      - One entry per structure (collectivité) Corail fetches invoices for on this server.
      - The whole list is C(no_log); only the passwords stay hidden in the output.
    type: list
    elements: dict
    default: []
    suboptions:
      siret:
        description:
          - SIRET, 14 digits. Quote it in YAML - an integer is refused unless it has 14 digits (YAML drops
            leading zeros and reads C(0...) as octal). Spaces and dots are removed.
          - The checksum is required in production (La Poste's rule for its establishments); in qualification,
            whose identifiers do not satisfy Luhn, 14 digits are enough.
        type: raw
        required: true
      name:
        description:
          - Name of the structure.
        type: str
      account:
        description:
          - Login of the technical account (C(TECH_...@cpp2017.fr) or C(TECH_1_...@cpro.fr)). Required.
        type: str
      password:
        description:
          - Password of the technical account. Required. Never returned nor shown in a diff.
        type: str
      piste_app:
        description:
          - Name of the entry of O(piste_apps) this structure uses.
          - May be left out when O(piste_apps) has exactly one entry.
        type: str
      service_code:
        description:
          - Code of the destination service, when Corail fetches the invoices of one service only.
        type: str
      id_structure_cpp:
        description:
          - Chorus Pro's internal id of the structure (C(idStructureCPP)), when known.
        type: str
  key_layout:
    description:
      - Changes to the default key layout of O(format), merged over it. See C(docs/corail-config-model.md).
      - For V(ini) - C(app_section) and C(structure_section) (section names, with C({name}) and C({siret})),
        and under C(app) and C(structure) the key of each field in its section.
      - For V(xml) - under C(app) and C(structure) the full C(appSettings) key of each field, with
        C({name}) or C({siret}).
      - "Fields: C(app) - C(environment), C(client_id), C(client_secret), C(oauth_url), C(api_url);
        C(structure) - C(name), C(account), C(password), C(piste_app), C(service_code), C(id_structure_cpp).
        A field set to null or an empty string is not written nor read."
    type: dict
    default: {}
  prune:
    description:
      - Remove the structures, and the PISTE applications, the file holds (sections or keys matching the
        layout) but that are not listed in O(structures) and O(piste_apps).
      - With V(false), they are left as they are.
    type: bool
    default: false
  backup:
    description:
      - Before changing the file, copy it to C(PATH.YYYY-MM-DD@HH:MM:SS.ffffff~), mode C(0600).
      - Each backup holds old passwords; O(backup_keep) and O(backup_keep_days) limit how many are kept (backups
        named by release 0.1.0, C(PATH.PID.YYYY-MM-DD@HH:MM:SS~), count too), and the kept ones lose any access for others.
      - Pruning only deletes regular files named as backups of O(path), never the file itself nor the newest backup.
    type: bool
    default: false
  backup_keep:
    description:
      - How many backups of the file to keep when O(backup=true); older ones are deleted after a new one is made.
    type: int
    default: 3
  backup_keep_days:
    description:
      - When O(backup=true), also delete, after a new backup is made, the backups older than this many days
        (by the date in their name). The newest backup is always kept.
      - Both limits apply - a backup goes when it is beyond O(backup_keep) or older than O(backup_keep_days).
      - Without it, backups are kept whatever their age.
    type: int
    version_added: 0.2.0
  validate:
    description:
      - Command that checks the new content before it replaces the file, as in M(ansible.builtin.template).
      - C(%s) stands for the path of the temporary file and is required; any other C(%) is passed as is.
        The command runs without a shell (quote arguments as in a shell command line; paths may hold spaces).
        When the command fails, nothing is written.
    type: str
  create:
    description:
      - Create the file when it does not exist, with mode C(0600) unless O(mode) says otherwise.
      - The file holds secrets - without O(mode), an existing file readable or writable by others loses that
        access, with a warning.
      - With V(false), a missing file is an error.
    type: bool
    default: true
  windows_service_account:
    description:
      - Windows targets only. The account the Corail service runs as (for example C(NT SERVICE\\Corail) or
        C(CORP\\svc-corail)); it gets C(ReadAndExecute) on the folder of O(path), next to Administrators and
        SYSTEM (C(FullControl)). Inherited permissions of the folder are removed.
      - Ignored on POSIX targets (use O(owner), O(group) and O(mode) there).
    type: str
  windows_service:
    description:
      - Windows targets only. Name of the Corail service, named in the error when it holds the file open and
        stopped around the write with O(windows_stop_service_for_write=true).
      - Ignored on POSIX targets.
    type: str
  windows_stop_service_for_write:
    description:
      - Windows targets only. Stop O(windows_service) just before the file is written and start it right after,
        for a service that holds its configuration file open. Only when the file changes.
      - Ignored on POSIX targets.
    type: bool
    default: false
extends_documentation_fragment:
  - chorus.corail.attributes
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - Shows only the keys the collection owns; secrets read C(<secret>) or C(<secret changed>).
  platform:
    support: full
    platforms: [posix, windows]
  safe_file_operations:
    description: Uses Ansible's strict file operation functions to ensure proper permissions and avoid data corruption.
    support: full
notes:
  - The file is read as UTF-8 (or the encoding its byte order mark or XML declaration names); an INI file
    that is not UTF-8 is read as Windows-1252. It is written back in the same encoding.
  - An existing file that cannot be read reliably is an error and is left untouched - XML that is not
    well-formed or has a DOCTYPE, two sections or keys for the same owned entry, a line of an owned INI
    section that is neither C(key = value) nor a comment.
  - Runs on POSIX targets, and on Windows targets through ansible.windows (an optional dependency).
  - On Windows, O(validate), O(owner), O(group), O(mode) and the other POSIX file options are refused, and
    O(backup_keep) and O(backup_keep_days) do not prune the backups.
seealso:
  - module: ansible.builtin.template
  - module: ansible.windows.win_copy
  - name: The Corail configuration model
    description: The model of Corail's Chorus settings, the default key layouts and how to override them.
    link: https://github.com/chorus-corail/chorus.corail/blob/main/docs/corail-config-model.md
'''

EXAMPLES = r'''
- name: Write the Chorus settings of this server's structures
  chorus.corail.corail_config:
    path: /opt/corail/conf/chorus.ini
    piste_apps:
      - name: corail-prod
        environment: production
        client_id: "{{ chorus_piste_apps['corail-prod'].client_id }}"
        client_secret: "{{ chorus_piste_apps['corail-prod'].client_secret }}"
    structures:
      - siret: "21640445900002"
        name: Commune de Pau
        account: TECH_021640445900002@cpp2017.fr
        password: "{{ chorus_accounts['TECH_021640445900002@cpp2017.fr'].password }}"
        piste_app: corail-prod
    backup: true
  no_log: true

- name: A .NET configuration file, with a layout adapted to a Corail version
  chorus.corail.corail_config:
    path: /srv/corail/Corail.exe.config
    format: xml
    key_layout:
      structure:
        account: "ChorusPro:{siret}:User"
        password: "ChorusPro:{siret}:Password"
        id_structure_cpp: null
    piste_apps: "{{ my_apps }}"
    structures: "{{ my_structures }}"
    prune: true
    owner: corail
    group: corail
    mode: "0640"
    validate: /usr/local/bin/corail-config-check %s
  no_log: true

- name: A Corail server on Windows (needs the ansible.windows collection)
  chorus.corail.corail_config:
    path: C:\Program Files (x86)\Cosoluce\Corail\Corail.exe.config
    format: xml
    piste_apps: "{{ my_apps }}"
    structures: "{{ my_structures }}"
    backup: true
    windows_service_account: NT SERVICE\CorailServeur
    windows_service: CorailServeur
    windows_stop_service_for_write: true
  no_log: true
'''

RETURN = r'''
path:
  description: Path of the configuration file.
  returned: always
  type: str
  sample: /opt/corail/conf/chorus.ini
backup_file:
  description: Path of the backup made before the file was changed.
  returned: when O(backup=true) and the file was changed
  type: str
  sample: /opt/corail/conf/chorus.ini.2025-01-31@10:12:45.123456~
structures:
  description: The structures written, in input order, without any secret.
  returned: always
  type: list
  elements: dict
  contains:
    siret:
      description: SIRET.
      type: str
      sample: "21640445900002"
    name:
      description: Name, or null.
      type: str
      sample: Commune de Pau
    account:
      description: Login of the technical account.
      type: str
      sample: TECH_021640445900002@cpp2017.fr
    piste_app:
      description: PISTE application.
      type: str
      sample: corail-prod
pruned:
  description: SIRETs of the structures removed from the file because O(prune=true) and they are not listed.
  returned: always
  type: list
  elements: str
  sample: ["21330063500017"]
drift:
  description:
    - The structures whose settings in the file differed from O(structures) and O(piste_apps) before this run,
      by SIRET, with the names of the fields that differ (what a run writes); in check mode, what a run would change.
      The check role reads it to report C(config_drift) (C(chorus_check_drift=true)).
    - C(not_deployed) when the structure is not in the file; C(piste_app.FIELD) for a field of its PISTE application.
    - Only names, never a value nor anything derived from one; structures in sync are left out.
  returned: always
  type: dict
  sample: {"21640445900002": ["password"], "21330063500017": ["not_deployed"]}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.chorus.corail.plugins.module_utils import _corail_config as cc
from ansible_collections.chorus.corail.plugins.module_utils import _drift
from ansible_collections.chorus.corail.plugins.module_utils import _writer as writer
from ansible_collections.chorus.corail.plugins.module_utils._identifiers import InvalidIdentifier
from ansible_collections.chorus.corail.plugins.module_utils._secrets import keep_only_secrets

SECRET_SUBOPTIONS = {'piste_apps': ('client_secret',), 'structures': ('password',)}


def argument_spec():
    return dict(
        path=dict(type='path', required=True, aliases=['dest']),
        format=dict(type='str', default='ini', choices=list(cc.FORMATS)),
        # The lists are no_log as wholes (they carry the secrets); _unmask_public_values then lets the
        # non-secret values (SIRETs, names, logins...) back into the output, which reports them.
        # Presence of the fields is checked in module_utils, whose messages name the SIRET or the
        # application; Ansible's would not.
        piste_apps=dict(type='list', elements='dict', default=[], no_log=True, options=dict(
            name=dict(type='str', required=True),
            environment=dict(type='str'),
            client_id=dict(type='str'),
            client_secret=dict(type='str', no_log=True),
            oauth_url=dict(type='str'),
            api_url=dict(type='str'),
        )),
        structures=dict(type='list', elements='dict', default=[], no_log=True, options=dict(
            siret=dict(type='raw', required=True),
            name=dict(type='str'),
            account=dict(type='str'),
            password=dict(type='str', no_log=True),
            piste_app=dict(type='str'),
            service_code=dict(type='str'),
            id_structure_cpp=dict(type='str'),
        )),
        key_layout=dict(type='dict', default={}, no_log=False),
        prune=dict(type='bool', default=False),
        backup=dict(type='bool', default=False),
        backup_keep=dict(type='int', default=3),
        backup_keep_days=dict(type='int'),
        validate=dict(type='str'),
        create=dict(type='bool', default=True),
        # Windows only: read by the action plugin (plugins/action/corail_config.py), ignored here.
        windows_service_account=dict(type='str'),
        windows_service=dict(type='str'),
        windows_stop_service_for_write=dict(type='bool', default=False),
    )


def _unmask_public_values(module):
    """Keep only the secrets among the no_log values: Ansible masks every listed value everywhere."""
    keep_only_secrets(module.no_log_values, ((item, SECRET_SUBOPTIONS[option])
                                             for option in SECRET_SUBOPTIONS
                                             for item in module.params.get(option) or []))


def _plan(module, layout, snapshot):
    params = module.params
    try:
        return cc.plan(params['format'], snapshot.content, layout, params['piste_apps'], params['structures'], params['prune'])
    except InvalidIdentifier as exc:
        module.fail_json(msg='%s; nothing was written' % to_native(exc))
    except cc.CorruptConfig as exc:
        module.fail_json(msg='%s: %s; the file was left untouched' % (params['path'], to_native(exc)))


def _read(module, path):
    try:
        return writer.read(path)
    except writer.WriteError as exc:
        module.fail_json(msg=to_native(exc))


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, add_file_common_args=True)
    _unmask_public_values(module)
    params = module.params
    path = params['path']

    try:
        writer.check_retention(params['backup_keep'], params['backup_keep_days'])
    except writer.WriteError as exc:
        module.fail_json(msg=to_native(exc))
    if params['validate']:
        try:
            writer.validate_argv(params['validate'], 'x')
        except (writer.WriteError, ValueError) as exc:
            module.fail_json(msg='validate: %s; nothing was written' % to_native(exc).replace('validate: ', ''))
    snapshot = _read(module, path)
    if not snapshot.exists and not params['create']:
        module.fail_json(msg='%s: does not exist (create=false)' % path)
    try:
        layout = cc.resolve_layout(params['format'], params['key_layout'])
    except cc.LayoutError as exc:
        module.fail_json(msg='%s; nothing was written' % to_native(exc))
    plan = _plan(module, layout, snapshot)

    result = dict(changed=False, path=path, structures=cc.written_structures(plan.blocks), pruned=plan.pruned_structures,
                  drift=_drift.plan_drift(plan))
    if module._diff:
        result['diff'] = cc.masked_diff(layout, plan.before, plan.after, path)

    file_args = module.load_file_common_arguments(params)
    explicit_mode = file_args['mode'] is not None
    tighten = snapshot.exists and not explicit_mode and writer.secured_mode(snapshot.mode) != snapshot.mode
    if not module.check_mode:
        # Someone editing the file meanwhile: merge again on what they wrote (a few times at most).
        for attempt in range(3):
            if not plan.changed:
                break
            try:
                backup_file = writer.write(snapshot, plan.content, keep_mode=explicit_mode, backup=params['backup'],
                                           backup_keep=params['backup_keep'], backup_keep_days=params['backup_keep_days'],
                                           validate=params['validate'],
                                           run=module.run_command, warn=module.warn)
            except writer.ChangedMeanwhile as exc:
                if attempt == 2:
                    module.fail_json(msg=to_native(exc))
                snapshot = _read(module, path)
                plan = _plan(module, layout, snapshot)
                continue
            except writer.ValidateFailed as exc:
                module.fail_json(msg=to_native(exc), exit_status=exc.rc, stdout=exc.stdout, stderr=exc.stderr)
            except writer.WriteError as exc:
                module.fail_json(msg=to_native(exc))
            if backup_file:
                result['backup_file'] = backup_file
            break
        if not plan.changed and tighten:
            writer.secure_existing(snapshot, warn=module.warn)
        if module._diff:
            result['diff'] = cc.masked_diff(layout, plan.before, plan.after, path)
    elif tighten:
        module.warn('%s: is readable or writable by others (mode %04o); the run would remove that access'
                    % (path, snapshot.mode))

    changed = plan.changed or tighten
    if snapshot.exists or not module.check_mode:
        file_args['path'] = snapshot.path  # a symlink stays a link: its target gets the attributes
        result['changed'] = module.set_fs_attributes_if_different(file_args, changed)
    else:
        result['changed'] = True
    module.exit_json(**result)


if __name__ == '__main__':
    main()
