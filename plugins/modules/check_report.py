#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: check_report
short_description: Write the Chorus Pro check report (JSON, CSV, HTML, per-contact pages, changes)
version_added: 0.1.0
author:
  - chorus.corail contributors (@chorus-corail)
description:
  - Turns the registered result of M(chorus.corail.credentials_info) and the scope of the run into
    report files, in a new timestamped folder of O(report_dir), and points the C(latest) link of
    O(report_dir) at it.
  - Writes C(report.json) (for machines), C(report.csv) (UTF-8 with BOM, C(;) separator, CRLF line
    endings, ISO dates, SIRET written as C(="21750001600019") so that French Excel and LibreOffice keep
    it as text with its leading zeros), C(report.html) (self-contained, counts per status, table sortable
    and filterable by server, status and contact), one page per contact in C(contacts/), and
    C(changes.json) / C(changes.html) (new, changed, recurring, fixed problems since the previous report
    of the same folder).
  - Statuses, French labels and remediation texts come from the collection's one status vocabulary.
  - Reports name accounts and structures, never a password, secret or token; folders are created
    C(0700) and files C(0600).
  - The HTML pages are Jinja2 templates shipped with the collection (C(templates/reports/)), rendered
    on the controller with autoescape on; O(templates_dir) replaces any of them by the integrator's own.
    C(report.html) opens with "Actions à mener", one line per cause (a PISTE application refused, a
    technical account rejected, expired or expiring, a raccordement to create, a setting to fix), with
    the structures and servers one action unblocks, the most useful first; the per-structure table
    follows. C(report.json) holds the same list as C(actions).
  - Contact pages are for mairies - French only, dates in French, times in Europe/Paris, no technical
    detail and no command; a password expiry computed from C(password_changed_on) reads "estimée".
  - Runs on the controller through its action plugin, whatever C(delegate_to) says; the
    M(chorus.corail.check) role calls it once per run.
options:
  result:
    description:
      - The whole registered result of M(chorus.corail.credentials_info) (C(structures), C(accounts),
        C(api_calls)).
      - Exactly one of O(result) and O(result_file) is required.
    type: dict
  result_file:
    description:
      - The file M(chorus.corail.credentials_info) wrote with its O(chorus.corail.credentials_info#module:result_file)
        option, read instead of O(result) and deleted once read. For thousands of structures, since the result
        then goes through no Ansible process (docs/performance.md).
    type: path
  scope:
    description: What the run covered; every report states it, so that a partial report never looks complete.
    type: dict
    default: {}
    suboptions:
      limit:
        description: The C(--limit) of the run (C(ansible_limit)), or C(none).
        type: str
        default: none
      hosts:
        description: The hosts the play targeted (C(ansible_play_hosts_all)).
        type: list
        elements: str
        default: []
      failed_before:
        description: The targeted hosts that had already failed before the check.
        type: list
        elements: str
        default: []
  report_dir:
    description:
      - Folder that keeps the reports, one timestamped subfolder per run and a C(latest) link.
      - Created C(0700) when missing.
    type: path
    required: true
  fail_on:
    description:
      - Statuses that make the check fail. The module only reports them in RV(failed_statuses) and
        RV(failed_hosts); the role fails the hosts concerned.
    type: list
    elements: str
    default: []
    choices: [invalid_input, missing_account, unchecked, piste_auth_failed, account_rejected, password_expired,
              access_forbidden, api_unavailable, structure_unknown, not_attached, password_expiring, ok]
  summary_limit:
    description: How many problems, worst first, the RV(summary) lists.
    type: int
    default: 10
  templates_dir:
    description:
      - A folder of the integrator's own report templates, searched before the collection's
        (C(report.html.j2), C(contact.html.j2), C(changes.html.j2) and their parts C(_base.html.j2),
        C(_macros.html.j2), C(_style.css), C(_report.js)). A file missing there comes from the collection;
        C({% extends "builtin/report.html.j2" %}) reaches the collection's own page.
      - Templates run in Jinja2's sandbox with autoescape on; each page receives one variable, C(page).
      - The role sets it from C(chorus_report_templates_dir).
    type: path
    version_added: 0.2.0
  integrator:
    description:
      - Who the mairies call, shown at the top of every contact page. The role sets it from
        C(chorus_report_integrator).
    type: dict
    default: {}
    version_added: 0.2.0
    suboptions:
      name:
        description: The integrator's name.
        type: str
      email:
        description: An e-mail address for the mairies.
        type: str
      phone:
        description: A phone number for the mairies.
        type: str
      text:
        description: A free text (opening hours, how to send a password safely...).
        type: str
extends_documentation_fragment:
  - chorus.corail.attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode the report is computed (counts, summary, changes) but no file is written.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: chorus.corail.credentials_info
  - ref: chorus.corail.check role <ansible_collections.chorus.corail.check_role>
    description: The role that runs the bulk check and this module.
"""

EXAMPLES = r"""
- name: Check every structure of the play's hosts at once
  chorus.corail.credentials_info:
    structures: "{{ hostvars | chorus.corail.structures_of_hosts(ansible_play_hosts_all) }}"
    accounts: "{{ chorus_accounts }}"
    piste_apps: "{{ chorus_piste_apps }}"
  delegate_to: localhost
  run_once: true
  no_log: true
  register: check

- name: Write the report
  chorus.corail.check_report:
    result: "{{ check }}"
    scope:
      limit: "{{ ansible_limit | default('none') }}"
      hosts: "{{ ansible_play_hosts_all }}"
      failed_before: "{{ ansible_play_hosts_all | difference(ansible_play_hosts) }}"
    report_dir: /var/lib/chorus-corail/reports
    fail_on: [missing_account, account_rejected, password_expired]
    integrator:
      name: Service informatique du syndicat mixte
      email: support-corail@syndicat.example
      phone: 05 59 00 00 00
      text: Du lundi au vendredi, de 9 h à 17 h.
  run_once: true
  register: report

- name: Same, with the integrator's own page layout (report.html.j2 and friends in that folder)
  chorus.corail.check_report:
    result: "{{ check }}"
    report_dir: /var/lib/chorus-corail/reports
    templates_dir: "{{ inventory_dir }}/report-templates"
  run_once: true

- name: Show where it is
  ansible.builtin.debug:
    msg: "{{ report.summary + [report.paths.html] }}"
  run_once: true
"""

RETURN = r"""
report_dir:
  description: The timestamped folder of this report (null in check mode).
  returned: always
  type: str
  sample: /var/lib/chorus-corail/reports/20250301T020000Z
latest:
  description: The C(latest) link of O(report_dir), which now points at RV(report_dir) (null in check mode).
  returned: always
  type: str
  sample: /var/lib/chorus-corail/reports/latest
paths:
  description: The files written (empty in check mode).
  returned: always
  type: dict
  contains:
    json:
      description: report.json.
      type: str
      returned: success
    csv:
      description: report.csv.
      type: str
      returned: success
    html:
      description: report.html.
      type: str
      returned: success
    changes_json:
      description: changes.json.
      type: str
      returned: success
    changes_html:
      description: changes.html.
      type: str
      returned: success
    contacts:
      description: One page per contact, keyed by contact (an empty key for structures without contact).
      type: dict
      returned: success
  sample:
    json: /var/lib/chorus-corail/reports/20250301T020000Z/report.json
    html: /var/lib/chorus-corail/reports/20250301T020000Z/report.html
    contacts:
      dgs@mairie-exemple.fr: /var/lib/chorus-corail/reports/20250301T020000Z/contacts/dgs-at-mairie-exemple.fr.html
generated_at:
  description: When the report was made (ISO 8601, UTC).
  returned: always
  type: str
  sample: '2025-03-01T02:00:00Z'
total:
  description: Number of structures in the report.
  returned: always
  type: int
  sample: 120
actions:
  description:
    - The "Actions à mener" of the report, one per cause, the one fixing the most structures first
      (also in C(report.json)). C(action_by) is C(gestionnaire) or C(integrator).
  returned: always
  type: list
  elements: dict
  version_added: 0.2.0
  sample:
    - kind: piste_app_refused
      subject: CORAIL_PAU
      action_by: integrator
      label: Corriger les identifiants de l'application PISTE CORAIL_PAU
      structures: ['21640445500017', '21640102200012']
      hosts: [corail01]
      statuses: [piste_auth_failed]
      count: 2
counts:
  description: Structures per status, every status of the vocabulary included; adds up to RV(total).
  returned: always
  type: dict
  sample: {ok: 110, missing_account: 6, not_attached: 2, password_expiring: 2}
scope:
  description: The scope as written in the report, with C(partial) true for a C(--limit) run or when hosts had failed before.
  returned: always
  type: dict
  sample: {limit: none, hosts_count: 12, failed_before: [], partial: false}
changes:
  description: How many problems are new, changed, recurring, fixed or not rechecked since the previous report.
  returned: always
  type: dict
  sample: {new: 2, changed: 0, recurring: 8, fixed: 1, not_rechecked: 0}
summary:
  description: A few lines for the end of the play, counts first, then the worst problems.
  returned: always
  type: list
  elements: str
  sample:
    - 'Chorus Pro check: 120 structure(s) on 12 host(s): missing_account 6, not_attached 2, password_expiring 2, ok 110'
    - 'ERROR missing_account 21750001600019 on corail01 (Ville de Paris): no technical account'
failed_statuses:
  description: The statuses of O(fail_on) that occur in this report, in precedence order.
  returned: always
  type: list
  elements: str
  sample: [missing_account]
failed_hosts:
  description: For each host with a structure in a O(fail_on) status, the SIRETs concerned.
  returned: always
  type: dict
  sample: {corail01: ['21750001600019']}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.chorus.corail.plugins.module_utils._statuses import STATUSES


# result (registered) or result_file (written by credentials_info's result_file), never both.
ARGUMENT_RULES = dict(mutually_exclusive=[('result', 'result_file')], required_one_of=[('result', 'result_file')])


def argument_spec():
    """The options, shared with the action plugin that does the work on the controller."""
    return dict(
        result=dict(type='dict'),
        result_file=dict(type='path'),
        scope=dict(type='dict', default={}, options=dict(
            limit=dict(type='str', default='none'),
            hosts=dict(type='list', elements='str', default=[]),
            failed_before=dict(type='list', elements='str', default=[]),
        )),
        report_dir=dict(type='path', required=True),
        fail_on=dict(type='list', elements='str', default=[], choices=list(STATUSES)),
        summary_limit=dict(type='int', default=10),
        templates_dir=dict(type='path'),
        integrator=dict(type='dict', default={}, options=dict(
            name=dict(type='str'),
            email=dict(type='str'),
            phone=dict(type='str'),
            text=dict(type='str'),
        )),
    )


def main():
    # The reports are rendered from the collection's templates, on the controller: the action
    # plugin of the same name does it. Reaching this code means it was bypassed.
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, **ARGUMENT_RULES)
    module.fail_json(msg='chorus.corail.check_report runs on the controller through its action plugin; '
                         'call it as a task (chorus.corail.check_report), not as a module file')


if __name__ == '__main__':
    main()
