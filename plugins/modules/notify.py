#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: notify
short_description: Tell the integrator and the contacts what a Chorus Pro check found, once per change
version_added: 0.2.0
author:
  - chorus.corail contributors (@chorus-corail)
description:
  - Reads a report folder written by M(chorus.corail.check_report) and sends, by SMTP, at most one mail
    to the integrator (summary in French, C(report.html) attached) and, when O(contacts=true), to each
    contact of the register their own French page (only their structures).
  - A mail goes out only when what its reader cares about changed since the last mail sent to them
    (for each structure its status and its password threshold, 60, 30 or 7 days or expired; never the
    daily count of days), so a re-run sends nothing. O(integrator_every_run=true) sends the integrator
    one mail every run.
  - Also posts to a webhook (Teams Workflows Adaptive Card, Slack or Mattermost, generic JSON) on the
    same rule as the integrator mail.
  - Who was sent what, and when, is kept in O(state_file), beside the reports, replaced atomically after
    the sends; what was sent before a failure is never sent again.
  - Runs on the controller; the M(chorus.corail.notify) role calls it after the check.
options:
  report_dir:
    description: The reports folder (C(chorus_check_report_dir)).
    type: path
    required: true
  report_folder:
    description: The report of this run (the C(report_dir) returned by M(chorus.corail.check_report)); default the C(latest) link.
    type: path
  state_file:
    description: Where the state of the notifications is kept; default C(notify-state.json) in O(report_dir).
    type: path
  smtp_host:
    description: SMTP server. Without it, no mail is sent (the webhook still is).
    type: str
  smtp_port:
    description: SMTP port; default 587 for C(starttls), 465 for C(tls), 25 for C(none).
    type: int
  smtp_security:
    description:
      - C(starttls) upgrades a plain connection (refused if the server does not offer it); C(tls) is TLS from
        the start; C(none) is only allowed without login.
    type: str
    choices: [starttls, tls, none]
    default: starttls
  smtp_user:
    description: Login on the SMTP server, with O(smtp_password).
    type: str
  smtp_password:
    description: Password of O(smtp_user). Never shown, logged or written.
    type: str
  smtp_ca_path:
    description: CA bundle (PEM) that signed the SMTP server certificate; default the system's.
    type: path
  smtp_validate_certs:
    description: Check the SMTP server certificate and name. Turn off only for a test server.
    type: bool
    default: true
  sender:
    description: The C(From) address of every mail. Required when O(smtp_host) is set.
    type: str
  integrator_to:
    description: Addresses of the integrator's mail.
    type: list
    elements: str
    default: []
  integrator_every_run:
    description: Send the integrator mail every run, even when nothing changed.
    type: bool
    default: false
  contacts:
    description: Mail the contacts of the register (opt-in).
    type: bool
    default: false
  redirect_to:
    description:
      - Test mode. Every contact mail goes to this address instead, its subject naming the real recipient.
        Its sends are remembered apart, so that leaving test mode sends the real mails.
    type: str
  max_contact_mails:
    description: At most this many contact mails in one run, worst situations first; the others wait for the next run.
    type: int
    default: 50
  webhook_url:
    description: Webhook to post to. Such URLs carry their own secret, so it is never shown.
    type: str
  webhook_format:
    description: C(teams) (Adaptive Card for a Teams Workflows webhook), C(slack) (Slack, Mattermost) or C(generic) JSON.
    type: str
    choices: [teams, slack, generic]
    default: generic
  webhook_validate_certs:
    description: Check the webhook server certificate.
    type: bool
    default: true
  timeout:
    description: Seconds for each SMTP or webhook operation.
    type: int
    default: 30
extends_documentation_fragment:
  - chorus.corail.attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode the module says who would be sent what, and sends and writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: chorus.corail.check_report
  - ref: chorus.corail.notify role <ansible_collections.chorus.corail.notify_role>
    description: The role that calls this module after the check.
"""

EXAMPLES = r"""
- name: Tell the integrator and the contacts what changed
  chorus.corail.notify:
    report_dir: /var/lib/chorus-corail/reports
    report_folder: "{{ chorus_check_report.report_dir }}"
    smtp_host: smtp.integrateur.example
    smtp_user: chorus-bot
    smtp_password: "{{ vault_smtp_password }}"
    sender: chorus-bot@integrateur.example
    integrator_to: [exploitation@integrateur.example]
    contacts: true
    webhook_url: "{{ vault_teams_webhook_url }}"
    webhook_format: teams
  delegate_to: localhost
  run_once: true

- name: Try the contact mails on one mailbox first
  chorus.corail.notify:
    report_dir: /var/lib/chorus-corail/reports
    smtp_host: localhost
    smtp_security: none
    sender: chorus-bot@integrateur.example
    contacts: true
    redirect_to: moi@integrateur.example
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
integrator:
  description: The addresses of the integrator mail sent this run, or null when none was.
  returned: always
  type: list
  elements: str
  sample: [exploitation@integrateur.example]
contacts:
  description: The contacts mailed this run (their own address, also in test mode).
  returned: always
  type: list
  elements: str
  sample: [dgs@mairie-exemple.fr]
deferred:
  description: Contacts that had news but exceeded O(max_contact_mails); they are mailed next run.
  returned: always
  type: list
  elements: str
  sample: []
unreachable:
  description: Structures with news whose contact is no usable address.
  returned: always
  type: list
  elements: str
  sample: ['sans contact (SIRET 21640000200012)']
webhook:
  description: The format posted to the webhook this run, or null.
  returned: always
  type: str
  sample: teams
redirect_to:
  description: The test-mode address, or null.
  returned: always
  type: str
  sample: null
state_file:
  description: The state file.
  returned: always
  type: str
  sample: /var/lib/chorus-corail/reports/notify-state.json
report:
  description: The report folder that was read.
  returned: always
  type: str
  sample: /var/lib/chorus-corail/reports/20261202T010000Z
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.chorus.corail.plugins.module_utils import _notify
from ansible_collections.chorus.corail.plugins.module_utils import _writer


def _post(validate_certs):
    def post(url, body, timeout):
        try:
            response = open_url(url, data=body, method='POST', timeout=timeout, validate_certs=validate_certs,
                                headers={'Content-Type': 'application/json; charset=utf-8'})
            code = response.getcode()
        except Exception as exc:  # HTTPError, URLError, socket errors: the URL itself is a secret
            code = getattr(exc, 'code', None)
            reason = 'HTTP %s' % code if code else type(exc).__name__
            raise _notify.NotifyError('webhook: the post failed (%s)' % reason)
        if not 200 <= code < 300:
            raise _notify.NotifyError('webhook: the post failed (HTTP %s)' % code)
    return post


def main():
    module = AnsibleModule(
        argument_spec=dict(
            report_dir=dict(type='path', required=True),
            report_folder=dict(type='path'),
            state_file=dict(type='path'),
            smtp_host=dict(type='str'),
            smtp_port=dict(type='int'),
            smtp_security=dict(type='str', default='starttls', choices=list(_notify.SECURITY)),
            smtp_user=dict(type='str'),
            smtp_password=dict(type='str', no_log=True),
            smtp_ca_path=dict(type='path'),
            smtp_validate_certs=dict(type='bool', default=True),
            sender=dict(type='str'),
            integrator_to=dict(type='list', elements='str', default=[]),
            integrator_every_run=dict(type='bool', default=False),
            contacts=dict(type='bool', default=False),
            redirect_to=dict(type='str'),
            max_contact_mails=dict(type='int', default=50),
            webhook_url=dict(type='str', no_log=True),
            webhook_format=dict(type='str', default='generic', choices=list(_notify.WEBHOOK_FORMATS)),
            webhook_validate_certs=dict(type='bool', default=True),
            timeout=dict(type='int', default=30),
        ),
        required_by={'smtp_host': ['sender']},
        required_together=[['smtp_user', 'smtp_password']],
        supports_check_mode=True,
    )
    params = module.params
    folder = params['report_folder'] or os.path.join(params['report_dir'], 'latest')
    folder = os.path.realpath(folder)
    smtp = None
    try:
        if params['smtp_host']:
            smtp = _notify.Smtp(params['smtp_host'], params['smtp_port'], params['smtp_security'],
                                params['smtp_user'], params['smtp_password'], params['smtp_ca_path'],
                                params['smtp_validate_certs'], params['timeout'])
        result = _notify.run(folder, params['report_dir'], params, post=_post(params['webhook_validate_certs']),
                             smtp=smtp, check_mode=module.check_mode)
    except (_notify.NotifyError, _writer.WriteError) as exc:
        module.fail_json(msg=str(exc))
    errors = result.pop('errors', [])
    if errors:
        module.fail_json(msg='Notifications: %s. What was sent is recorded in %s and will not be sent again.'
                         % ('; '.join(errors), result['state_file']), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
