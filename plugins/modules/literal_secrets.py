#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: literal_secrets
author: chorus.corail contributors (@chorus-corail)
version_added: 0.2.0
short_description: Read the Chorus Pro passwords and PISTE client secrets as written, never templated
description:
  - Ansible templates the strings it reads from vars files whenever a task uses them. A generated password that
    happens to hold C({#) loses a part (C(Ab1{#x#}Zz) becomes C(Ab1Zz)). One that holds C({{) or C({%) fails, with
    an error that quotes the lines of the vars file around it.
  - This action reads C(chorus_accounts), C(chorus_piste_apps) and C(chorus_piste_app_credential) as the inventory
    holds them, before any template touched them. It sets them again as facts, in memory only, as
    M(ansible.builtin.set_fact) does, never in the fact cache. In these facts every password and client secret is
    data that Ansible does not template again. The roles C(chorus.corail.deploy) and C(chorus.corail.check) run it
    first, and so do the renew and rollout playbooks.
  - A secret that is inline C(!vault), C(!unsafe), a prompt's answer or a lookup's result is taken as it is. A
    clear-text secret without Jinja delimiters is taken as it is too.
  - A clear-text secret that is exactly C({{ name }}) is read from the variable C(name), itself as written. A secret
    that is one C({{ ... }}) expression (a lookup, a filter) is evaluated, and its result is taken as it is.
  - A clear-text secret holding delimiters among other characters is a password that Ansible would change. It is
    refused, never used, and never shown. The offline checks report every structure using it as C(invalid_input),
    naming the login or the application and saying how to keep it literal (C(!unsafe) or C(ansible-vault
    encrypt_string)).
  - Other fields (environment, dates) are templated as Ansible always does.
notes:
  - The facts take precedence over inventory variables, play and role variables for the rest of the run, as
    C(set_fact) does. Extra variables (C(-e)) take precedence over them, so give secrets in extra vars only
    vault-encrypted or marked C(!unsafe).
  - Always run it with C(no_log: true); its result is hidden anyway, and a warning says when no_log is missing.
extends_documentation_fragment:
  - chorus.corail.attributes
attributes:
  check_mode:
    support: full
    details: Reads variables only; runs in check mode too.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: all
  action:
    description: Runs on the controller as an action plugin; no module is sent to the host.
    support: full
options: {}
seealso:
  - name: Secrets that stay literal
    description: How to write passwords and client secrets that Ansible must not template.
    link: https://github.com/chorus-corail/chorus.corail/blob/main/docs/user-guide.md
'''

EXAMPLES = r'''
- name: Read the Chorus Pro secrets as written, before anything templates them
  chorus.corail.literal_secrets:
  no_log: true

- name: Deploy with the secrets as written
  ansible.builtin.include_role:
    name: chorus.corail.deploy
'''

RETURN = r'''
refused:
  description: The secrets refused, named by login or application (never the value).
  returned: always
  type: list
  elements: str
  sample: ['the password of account TECH_1_MAIRIE@cpro.fr']
ansible_facts:
  description: C(chorus_accounts), C(chorus_piste_apps) and C(chorus_piste_app_credential), those defined, with their
    secrets as data. Hidden from the output.
  returned: always
  type: dict
'''
