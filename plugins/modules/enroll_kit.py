#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: enroll_kit
author: chorus.corail contributors (@chorus-corail)
version_added: 0.2.0
short_description: Write the enrolment kit of every structure that needs a technical account or a new password
description:
  - For every structure of a check result whose status calls for portal work on its technical account
    (C(missing_account) to create one; C(account_rejected), C(password_expired) or C(password_expiring) to
    reset its password), writes one self-contained French HTML page, C(<dest>/<siret>.html).
  - The page shows the Chorus Pro steps for that structure (SIRET and name filled in), then a form where the
    gestionnaire principal pastes the technical login and the password shown once. The browser encrypts both
    with WebCrypto to the integrator's public key embedded in the page (RSA-OAEP with SHA-256 wrapping an
    AES-256-GCM key) and shows a text block to copy into an e-mail, with the key's fingerprint and the kit's
    expiry. M(chorus.corail.enroll_blocks) (through the C(chorus.corail.enroll) playbook) reads it back.
  - The page works offline, from a file saved anywhere, and requests nothing (its Content-Security-Policy
    forbids every fetch); with JavaScript disabled it says what to do instead. It holds no secret.
  - The check role runs this when C(chorus_enroll_public_key) is set, after writing its report; the kits go
    to the C(kits/) folder of the report. Runs on the controller (action plugin).
  - Create the key pair once, see the user guide (C(docs/enrolment-kit.md)).
extends_documentation_fragment:
  - chorus.corail.attributes
attributes:
  check_mode:
    support: full
    details: Lists the kits that would be written, writes nothing.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
options:
  public_key:
    description:
      - The integrator's RSA public key (PEM, at least 2048 bits), the path C(chorus_enroll_public_key) names.
    type: path
    required: true
  structures:
    description:
      - The structures of a check, as M(chorus.corail.credentials_info) returns them (C(structures)); only those
        whose status calls for a kit get one, once per SIRET.
    type: list
    elements: dict
    required: true
  dest:
    description: The folder of the kits; created (C(0700)) when missing.
    type: path
    required: true
  valid_days:
    description: How many days the kit can be used, from today (Europe/Paris); C(enroll) refuses a block after that.
    type: int
    default: 30
  integrator:
    description: Name shown on the page as who prepared the kit.
    type: str
    default: ''
  template:
    description: Another Jinja2 template of the page (the default is the check role's C(templates/enroll_kit.html.j2)).
    type: path
seealso:
  - module: chorus.corail.enroll_blocks
  - module: chorus.corail.credentials_info
notes:
  - Every run writes new kits (a new kit identifier, a new expiry), so the task always reports a change when a kit is due.
'''

EXAMPLES = r'''
- name: Check every structure
  chorus.corail.credentials_info:
    structures: "{{ hostvars | chorus.corail.structures_of_hosts(ansible_play_hosts_all) }}"
    accounts: "{{ chorus_accounts }}"
    piste_apps: "{{ chorus_piste_apps }}"
  delegate_to: localhost
  run_once: true
  no_log: true
  register: check

- name: Write the enrolment kits next to the report
  chorus.corail.enroll_kit:
    public_key: /etc/chorus-corail/enroll_public.pem
    structures: "{{ check.structures }}"
    dest: /var/lib/chorus-corail/reports/latest/kits
    valid_days: 21
    integrator: Service informatique du SIVU
  run_once: true
  register: kits

- name: Say which kits to send
  ansible.builtin.debug:
    msg: "{{ kits.kits | map(attribute='path') | list }}"
  run_once: true
'''

RETURN = r'''
kits:
  description: The kits written (or that would be, in check mode), one per SIRET.
  returned: always
  type: list
  elements: dict
  contains:
    siret:
      description: The structure's SIRET.
      type: str
      sample: '21640000200012'
    kind:
      description: C(create) (a new technical account) or C(renew) (a new password for C(account)).
      type: str
      sample: create
    path:
      description: The page.
      type: str
      sample: /var/lib/chorus-corail/reports/20260301T020000Z/kits/21640000200012.html
    host:
      description: The Corail server of the structure.
      type: str
      sample: corail-pau
    contact:
      description: The structure's contact, to send the kit to.
      type: str
      sample: dgs@mairie-exemple.fr
    account:
      description: The technical login a renewal is for; null for C(create).
      type: str
      sample: TECH_021640000200012@cpp2017.fr
    status:
      description: The status that called for the kit.
      type: str
      sample: missing_account
    expires_on:
      description: Last day the kit can be used, C(YYYY-MM-DD).
      type: str
      sample: '2026-03-31'
skipped:
  description: Structures that needed a kit but got none, and why (no environment resolved, for example).
  returned: always
  type: list
  elements: dict
  sample: [{siret: '21640000300010', reason: 'structure 21640000300010: its environment is unknown'}]
fingerprint:
  description: SHA-256 fingerprint of the public key, as the pages show it (the integrator compares it).
  returned: always
  type: str
  sample: F65F 0755 5E1E 63AA F9AC 10C8 2547 041B C3DD E4CA FC0F 851C 1D50 F6D2 3551 DA68
dest:
  description: The folder of the kits.
  returned: always
  type: str
  sample: /var/lib/chorus-corail/reports/20260301T020000Z/kits
'''

from ansible.module_utils.basic import AnsibleModule

ARGUMENT_SPEC = dict(
    public_key=dict(type='path', required=True, no_log=False),
    structures=dict(type='list', elements='dict', required=True),
    dest=dict(type='path', required=True),
    valid_days=dict(type='int', default=30),
    integrator=dict(type='str', default=''),
    template=dict(type='path'),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(msg='chorus.corail.enroll_kit runs on the controller through its action plugin; '
                         'this module file only documents it')


if __name__ == '__main__':
    main()
