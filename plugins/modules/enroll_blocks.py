#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: enroll_blocks
author: chorus.corail contributors (@chorus-corail)
version_added: 0.2.0
short_description: Decrypt the blocks of enrolment kits with the integrator's private key
description:
  - Reads one or more blocks made by enrolment kits (M(chorus.corail.enroll_kit)) from a file or from the standard
    input of C(ansible-playbook), decrypts each with the integrator's private key (the C(cryptography) library) and
    checks it; returns the technical accounts, grouped by login, for the C(chorus.corail.enroll) playbook to
    validate online and store vault-encrypted.
  - A block is refused, with a message saying which, when it was changed (C(tampered)), made for another key
    (C(foreign_key)), cut (C(malformed)), used after its kit's expiry (C(expired)), for a SIRET absent from
    O(known_sirets) (C(unknown_structure)), holds an unusable login or password (C(invalid_content)), or gives
    another password for a login than a previous block (C(conflict)). Messages name the block and the SIRET,
    never the login's password.
  - Runs on the controller only (action plugin); the private key and the passwords stay in memory. The result is
    marked C(no_log).
extends_documentation_fragment:
  - chorus.corail.attributes
  - chorus.corail.attributes.INFO_MODULE
attributes:
  platform:
    support: full
    platforms: posix
requirements:
  - cryptography (an ansible-core dependency)
options:
  src:
    description:
      - The file holding the blocks (an e-mail saved as text is fine; mail quoting with C(>) is ignored).
      - C(-) or C(/dev/stdin) reads the standard input of C(ansible-playbook) (Linux controllers).
    type: str
    required: true
  private_key:
    description:
      - The integrator's RSA private key (PEM, no passphrase), C(chorus_enroll_private_key). A clear file must be
        readable by its owner only (C(0600)); a file encrypted with C(ansible-vault) is decrypted in memory with the
        vault secrets of the run.
    type: path
    required: true
  known_sirets:
    description: The SIRETs of the inventory; a block for another SIRET is refused.
    type: list
    elements: str
    required: true
seealso:
  - module: chorus.corail.enroll_kit
  - module: chorus.corail.accounts_file
'''

EXAMPLES = r'''
- name: Decrypt the blocks the gestionnaires sent
  chorus.corail.enroll_blocks:
    src: /home/integrator/blocks.txt
    private_key: /home/integrator/.chorus/enroll_private.pem
    known_sirets: "{{ hostvars | chorus.corail.structures_of_hosts(groups['all']) | map(attribute='siret') | list }}"
  register: blocks  # the result is marked no_log by the plugin: callbacks never show it

- name: Stop on a refused block, saying why
  ansible.builtin.fail:
    msg: "{{ blocks.refused | join(' ') }}"
  when: blocks.refused | length > 0
'''

RETURN = r'''
accounts:
  description: The accounts of the accepted blocks, one per login. Holds clear passwords, keep the task C(no_log).
  returned: always
  type: list
  elements: dict
  contains:
    login:
      description: Technical login.
      type: str
      sample: TECH_021640000200012@cpp2017.fr
    password:
      description: The password, in clear. Pass it to the C(ansible.builtin.vault) filter at once.
      type: str
      sample: VALUE_SPECIFIED_IN_NO_LOG_PARAMETER
    environment:
      description: Chorus Pro environment of the structure the kit was made for.
      type: str
      sample: production
    sirets:
      description: SIRETs of the blocks of this login.
      type: list
      elements: str
      sample: ['21640000200012']
    kinds:
      description: C(create) and/or C(renew).
      type: list
      elements: str
      sample: [create]
    kits:
      description: Kit identifiers.
      type: list
      elements: str
      sample: [ea5fac5be8831693]
    blocks:
      description: Positions of the blocks in O(src), from 1.
      type: list
      elements: int
      sample: [1]
    expires_on:
      description: Earliest expiry of the kits, C(YYYY-MM-DD).
      type: str
      sample: '2026-03-31'
refused:
  description: One message per refused block, in English and French.
  returned: always
  type: list
  elements: str
  sample:
    - >-
      block 1 (SIRET 21640000200012) refused, tampered: the encrypted data does not match its authentication tag
      (bloc modifié après son chiffrement ...).
refused_reasons:
  description: The reason of each refused block, in the order of RV(refused).
  returned: always
  type: list
  elements: str
  sample: [tampered]
blocks:
  description: How many blocks O(src) holds.
  returned: always
  type: int
  sample: 2
'''

from ansible.module_utils.basic import AnsibleModule

ARGUMENT_SPEC = dict(
    src=dict(type='str', required=True),
    private_key=dict(type='path', required=True, no_log=False),
    known_sirets=dict(type='list', elements='str', required=True),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(msg='chorus.corail.enroll_blocks runs on the controller through its action plugin; '
                         'this module file only documents it')


if __name__ == '__main__':
    main()
