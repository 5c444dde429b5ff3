#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: check_metrics
short_description: Write the Chorus Pro check's figures as a Prometheus textfile
version_added: 0.2.0
author:
  - chorus.corail contributors (@chorus-corail)
description:
  - Reads C(report.json) of a report folder written by M(chorus.corail.check_report) and writes, in
    Prometheus text format, the structures per status and per server, the days until the earliest known
    password expiry (overall and per server), whether the check was partial, and the time of the last
    check that completed.
  - The file is replaced atomically (temporary file in the same folder, one rename), so node_exporter's
    textfile collector never reads half of it; point O(path) at a C(.prom) file of the collector's folder.
  - The file holds counts, server names and dates, never an account or a secret.
  - Runs on the controller; the M(chorus.corail.check) role calls it when C(chorus_check_metrics_file) is set.
options:
  report:
    description: C(report.json) of the report to publish.
    type: path
    required: true
  path:
    description: The metrics file (for example C(/var/lib/node_exporter/textfile/chorus_corail.prom)). Its folder must exist.
    type: path
    required: true
  mode:
    description: Mode of the metrics file; the collector usually runs as another user.
    type: raw
    default: '0644'
extends_documentation_fragment:
  - chorus.corail.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: chorus.corail.check_report
"""

EXAMPLES = r"""
- name: Publish the check for Prometheus
  chorus.corail.check_metrics:
    report: "{{ chorus_check_report.paths.json }}"
    path: /var/lib/node_exporter/textfile/chorus_corail.prom
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
path:
  description: The metrics file.
  returned: always
  type: str
  sample: /var/lib/node_exporter/textfile/chorus_corail.prom
samples:
  description: Number of samples written.
  returned: always
  type: int
  sample: 31
"""

import json

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.chorus.corail.plugins.module_utils import _metrics
from ansible_collections.chorus.corail.plugins.module_utils import _writer


def main():
    module = AnsibleModule(
        argument_spec=dict(
            report=dict(type='path', required=True),
            path=dict(type='path', required=True),
            mode=dict(type='raw', default='0644'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        mode = int(str(params['mode']), 8)
    except ValueError:
        module.fail_json(msg='mode: expected an octal mode such as 0644, got %r' % (params['mode'],))
    try:
        with open(params['report'], 'rb') as handle:
            report = json.loads(handle.read().decode('utf-8'))
        text = _metrics.render(report)
    except (IOError, OSError) as exc:
        module.fail_json(msg='report %s: cannot read it (%s)' % (params['report'], exc.strerror or exc))
    except (ValueError, KeyError, TypeError) as exc:
        module.fail_json(msg='report %s: not a chorus.corail report.json (%s)' % (params['report'], exc))
    samples = sum(1 for line in text.splitlines() if line and not line.startswith('#'))
    changed = True
    if not module.check_mode:
        try:
            changed = _metrics.write(params['path'], text, mode)
        except _writer.WriteError as exc:
            module.fail_json(msg='chorus_check_metrics_file: %s' % exc)
    module.exit_json(changed=changed, path=params['path'], samples=samples)


if __name__ == '__main__':
    main()
