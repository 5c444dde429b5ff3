#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: accounts_file
author: chorus.corail contributors (@chorus-corail)
version_added: 0.1.0
short_description: Record one technical account in a vault-protected chorus_accounts vars file
description:
  - Adds, updates or removes the entry of one technical login (compte technique) in a vars file holding
    C(chorus_accounts), typically C(<inventory>/group_vars/all/chorus_accounts.yml).
  - The password arrives already vault-encrypted (the C(ansible.builtin.vault) filter); the module never sees
    the clear password, never decrypts anything and refuses a value that is not vault ciphertext.
  - Only the text of the edited entry changes. The other accounts' ciphertexts, comments and other variables
    stay byte for byte as they were, and the result is parsed back before it replaces the file; if anything
    but the intended entry would change, nothing is written.
  - Writes atomically (temporary file in the same directory, then rename), sets O(mode) (C(0600) by
    default) and can keep a backup. The file is created, with its directory, when missing. A symlink stays a
    link, and the file it points to is edited.
  - Runs that edit the same file at once take turns. The whole read-edit-write happens under an exclusive lock
    (C(fcntl)) on a hidden lock file next to it (C(.<name>.lock), removed at the end), and the file is read again
    under the lock.
    Twenty enrolments started together keep twenty entries. A run waits up to 120 seconds for the lock.
  - The file must use block style for C(chorus_accounts) (one C(login:) line per account, as this module
    writes it); a one-line flow mapping other than C({}) is refused rather than rewritten.
  - This module runs on the controller, where the inventory lives (delegate it to C(localhost), or run it in a
    play on C(localhost)). It needs PyYAML, which ansible-core already requires.
extends_documentation_fragment:
  - chorus.corail.attributes
attributes:
  check_mode:
    support: full
    details: Reports what would change without writing.
  diff_mode:
    support: full
    details: Shows the edited entry before and after, the password replaced by C(<vault-encrypted>).
  platform:
    support: full
    platforms: posix
  idempotent:
    description: When run twice in a row with the same arguments, the second run reports no change.
    support: partial
    details: >-
      Metadata updates are idempotent. A new O(vaulted_password) always counts as a change, because vault
      ciphertext is salted and the module cannot tell, without decrypting, that it holds the same password.
options:
  path:
    description: The vars file.
    type: path
    required: true
  login:
    description: The technical login, key of the entry (C(TECH_...@cpp2017.fr) or C(TECH_1_...@cpro.fr)).
    type: str
    required: true
  state:
    description: C(present) adds or updates the entry, C(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  vaulted_password:
    description:
      - The password as vault ciphertext (C($ANSIBLE_VAULT;...)), for example
        C("{{ password | ansible.builtin.vault(vault_secret, vault_id='integrator') }}").
      - Required to add an entry; omitted, an existing entry keeps its password and only the other fields change.
    type: str
  password_changed_on:
    description: Day the password was set, C(YYYY-MM-DD); its expiry is 424 days later.
    type: str
  environment:
    description: Chorus Pro environment the account lives in.
    type: str
    choices: [qualification, production]
  structures:
    description:
      - SIRETs of the structures this account serves, added to those the entry already lists. A structure without
        C(account) takes the account whose entry lists its SIRET.
    type: list
    elements: str
    version_added: 0.2.0
  validated:
    description: Whether Chorus Pro accepted the login and password when they were recorded.
    type: bool
  last_check_status:
    description: Status of the last online check (a status of the collection's vocabulary, for example C(ok) or C(access_forbidden)).
    type: str
  last_check_detail:
    description: What the last online check found, in words.
    type: str
  last_check_on:
    description: Day of the last online check, C(YYYY-MM-DD).
    type: str
  mode:
    description: Permissions of the file, set on every write and checked on every run.
    type: raw
    default: '0600'
  backup:
    description:
      - Keep a private (C(0600)) copy of the previous file next to it. Its name ends with C(~), so Ansible does not
        load it as vars.
    type: bool
    default: false
  backup_keep:
    description: How many backups of the file to keep when O(backup=true); older ones are deleted.
    type: int
    default: 10
  replace_validated:
    description:
      - Whether a new O(vaulted_password) that is not validated (O(validated) not V(true)) may replace a password
        the file marks as validated.
      - When V(false) (the default) the module fails and writes nothing, so that a mistyped password never replaces
        one Chorus Pro accepted. The enroll and renew playbooks set it from C(chorus_enroll_replace).
    type: bool
    default: false
notes:
  - Why not load and dump the file with Ansible's YAML loader? In ansible-core 2.19 a C(!vault) value loads as
    an encrypted string that is emitted again only while the vault secrets are loaded, and comments are lost;
    a textual edit checked by a parse keeps every other byte and needs no secret.
seealso:
  - module: chorus.corail.credentials_info
  - name: Enrolment and renewal
    description: The chorus.corail.enroll and chorus.corail.renew playbooks use this module.
    link: https://github.com/chorus-corail/chorus.corail/blob/main/docs/user-guide.md
'''

EXAMPLES = r'''
- name: Record a freshly created technical account
  chorus.corail.accounts_file:
    path: "{{ inventory_dir }}/group_vars/all/chorus_accounts.yml"
    login: TECH_021640000200012@cpp2017.fr
    vaulted_password: "{{ chorus_new_password | ansible.builtin.vault(lookup('ansible.builtin.file', '~/.vault_pass'), vault_id='default') }}"
    password_changed_on: "{{ now().strftime('%Y-%m-%d') }}"
    environment: production
    validated: true
    last_check_status: ok
    backup: true
  delegate_to: localhost
  no_log: true

- name: Record that the raccordement is still missing, keeping the password
  chorus.corail.accounts_file:
    path: inventory/group_vars/all/chorus_accounts.yml
    login: TECH_021640000200012@cpp2017.fr
    last_check_status: access_forbidden
    last_check_detail: HTTP 403 on factures/v1/rechercher/recipiendaire for 21640000200012
    last_check_on: "{{ now().strftime('%Y-%m-%d') }}"
  delegate_to: localhost

- name: Forget an account that no structure uses any more
  chorus.corail.accounts_file:
    path: inventory/group_vars/all/chorus_accounts.yml
    login: TECH_1_old@cpro.fr
    state: absent
  delegate_to: localhost
'''

RETURN = r'''
action:
  description: What happened to the entry.
  returned: always
  type: str
  choices: [added, updated, removed, unchanged]
  sample: added
login:
  description: The login edited.
  returned: always
  type: str
  sample: TECH_021640000200012@cpp2017.fr
entry:
  description: The entry as the file now holds it, the password replaced by C(<vault-encrypted>); null once removed.
  returned: always
  type: dict
  sample:
    password: <vault-encrypted>
    password_changed_on: '2025-06-02'
    environment: production
    validated: true
    last_check_status: ok
backup_file:
  description: The backup made before writing.
  returned: when O(backup=true) and the file existed and changed
  type: str
  sample: inventory/group_vars/all/chorus_accounts.yml.2025-06-02@10:11:12.123456~
'''

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.chorus.corail.plugins.module_utils import _accounts_file as accounts
from ansible_collections.chorus.corail.plugins.module_utils import _writer as writer


def _edit(module, params, updates):
    """Read, plan and write the file; under the lock when not in check mode, so that no enrolment is lost."""
    path = params['path']
    login = params['login']
    snapshot = writer.read(path)
    text = None
    if snapshot.exists:
        try:
            text = snapshot.content.decode('utf-8')
        except UnicodeDecodeError as exc:
            # Otherwise YAML would only say "parse error"; say where the file stops being UTF-8.
            raise accounts.AccountsFileError('is not valid UTF-8 (byte %d); nothing was written' % exc.start)

    new_text, before, after, action = accounts.plan(text, login, state=params['state'], updates=updates,
                                                    vaulted_password=params['vaulted_password'],
                                                    replace_validated=params['replace_validated'])
    result = dict(changed=action != 'unchanged', action=action, login=login,
                  entry=accounts.public_entry(after if params['state'] == 'present' else None))
    if module._diff and result['changed']:
        result['diff'] = dict(before=accounts.diff_text(login, before), after=accounts.diff_text(login, after),
                              before_header='%s (%s)' % (path, login), after_header='%s (%s)' % (path, login))
    if result['changed'] and not module.check_mode:
        # The one writer: temporary file, check that nobody changed the file since it was read, 0600
        # private backup (pruned to backup_keep), one atomic rename; a symlink stays a link.
        backup_file = writer.write(snapshot, to_bytes(new_text, errors='surrogate_or_strict'), secret=True,
                                   keep_mode=True, backup=params['backup'], backup_keep=params['backup_keep'])
        if backup_file:
            result['backup_file'] = backup_file
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            login=dict(type='str', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            vaulted_password=dict(type='str', no_log=True),
            password_changed_on=dict(type='str', no_log=False),
            environment=dict(type='str', choices=['qualification', 'production']),
            structures=dict(type='list', elements='str'),
            validated=dict(type='bool'),
            last_check_status=dict(type='str'),
            last_check_detail=dict(type='str'),
            last_check_on=dict(type='str'),
            mode=dict(type='raw', default='0600'),
            backup=dict(type='bool', default=False),
            backup_keep=dict(type='int', default=10),
            replace_validated=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    if not accounts.HAS_YAML:
        module.fail_json(msg=missing_required_lib('PyYAML'), exception=accounts.YAML_IMPORT_ERROR)

    params = module.params
    path = params['path']
    login = params['login']
    updates = dict((key, params[key]) for key in ('password_changed_on', 'environment', 'structures', 'validated',
                                                  'last_check_status', 'last_check_detail', 'last_check_on'))
    try:
        if module.check_mode:
            # Check mode writes nothing, not even the folder or the lock file: a plain read will do.
            result = _edit(module, params, updates)
        else:
            writer.make_parents(os.path.dirname(os.path.abspath(writer.target_of(path))))
            with accounts.locked(writer.target_of(path)):
                result = _edit(module, params, updates)
    except accounts.AccountsFileError as exc:
        module.fail_json(msg='%s %s (login %s)' % (path, to_native(exc), login), login=login)
    except writer.WriteError as exc:
        module.fail_json(msg='%s (login %s)' % (to_native(exc), login), login=login)

    if os.path.exists(path):
        # Also in check mode: a file left readable by others is reported as a change.
        file_args = module.load_file_common_arguments(dict(path=path, mode=params['mode']))
        result['changed'] = module.set_fs_attributes_if_different(file_args, result['changed'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
