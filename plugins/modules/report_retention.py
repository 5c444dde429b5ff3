#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: report_retention
short_description: Delete old Chorus Pro report folders, never the one C(latest) points at
version_added: 0.2.0
author:
  - chorus.corail contributors (@chorus-corail)
description:
  - Keeps the newest O(keep) report folders of O(report_dir), or those younger than O(keep) days, and
    deletes the others. The folder C(latest) points at, and the C(latest) link, are always kept.
  - Only folders named as M(chorus.corail.check_report) names them (C(YYYYMMDDTHHMMSSZ)) are candidates;
    anything else in O(report_dir) (the notification state, an operator's file) is left alone.
  - Runs on the controller; the M(chorus.corail.check) role calls it when C(chorus_check_keep_reports) is set.
options:
  report_dir:
    description: The reports folder.
    type: path
    required: true
  keep:
    description:
      - A count (C(30)) keeps that many newest folders; days (C(90d)) keep the folders of the last 90 days.
      - C(0) keeps only the folder C(latest) points at.
    type: raw
    required: true
extends_documentation_fragment:
  - chorus.corail.attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode the folders that would be deleted are returned and none is.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: chorus.corail.check_report
"""

EXAMPLES = r"""
- name: Keep three months of reports
  chorus.corail.report_retention:
    report_dir: /var/lib/chorus-corail/reports
    keep: 90d
  delegate_to: localhost
  run_once: true

- name: Keep the last 30 reports
  chorus.corail.report_retention:
    report_dir: /var/lib/chorus-corail/reports
    keep: 30
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
deleted:
  description: The report folders deleted (or, in check mode, that would be), oldest first.
  returned: always
  type: list
  elements: str
  sample: [/var/lib/chorus-corail/reports/20260101T010000Z]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.chorus.corail.plugins.module_utils import _retention


def main():
    module = AnsibleModule(
        argument_spec=dict(
            report_dir=dict(type='path', required=True),
            keep=dict(type='raw', required=True),
        ),
        supports_check_mode=True,
    )
    try:
        deleted = _retention.prune(module.params['report_dir'], module.params['keep'], check_mode=module.check_mode)
    except _retention.RetentionError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=bool(deleted), deleted=deleted)


if __name__ == '__main__':
    main()
