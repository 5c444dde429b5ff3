# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of chorus.corail.check_report: the report is built, rendered from the collection's
Jinja2 templates (or the integrator's) and written on the controller, in this process.

The reports are read on the controller (and mailed from it): the templates live in the collection
there, and nothing needs to travel to a managed host. Files go through the one writer (0600,
folders 0700); check mode computes everything and writes nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase

from ansible_collections.chorus.corail.plugins.module_utils import _report
from ansible_collections.chorus.corail.plugins.module_utils._result_file import ResultFileError, read_result
from ansible_collections.chorus.corail.plugins.modules.check_report import ARGUMENT_RULES, argument_spec
from ansible_collections.chorus.corail.plugins.plugin_utils import _report_html


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False  # everything happens on the controller

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # unused, as in every action plugin since 2.5
        validation, params = self.validate_argument_spec(argument_spec=argument_spec(), **ARGUMENT_RULES)
        del validation
        if params['result_file']:
            try:
                params['result'] = read_result(params['result_file'])
            except ResultFileError as exc:
                raise AnsibleActionFail(to_native(exc))
        try:
            renderer = _report_html.Renderer(params['templates_dir'], params['integrator'])
            if self._task.check_mode:
                report, changes, dummy = _report.prepare(params['result'], params['scope'], params['report_dir'])
                renderer(report, changes, {})  # a broken template fails in check mode too
                paths = {}
            else:
                report, changes, paths = _report.write_report(params['report_dir'], params['result'],
                                                              params['scope'], render=renderer)
        except (_report.ReportError, _report_html.RenderError) as exc:
            raise AnsibleActionFail(to_native(exc))
        except (IOError, OSError) as exc:
            raise AnsibleActionFail('report_dir %s: %s' % (params['report_dir'], to_native(exc)))

        failed_statuses, failed_hosts = _report.failing(report, params['fail_on'])
        result.update(
            changed=True,  # a new report folder is (or, in check mode, would be) written
            report_dir=paths.pop('folder', None),
            latest=paths.pop('latest', None),
            paths=paths,
            generated_at=report['generated_at'],
            total=report['total'],
            counts=report['counts'],
            actions=report['actions'],
            scope=dict((k, v) for k, v in report['scope'].items() if k != 'hosts'),
            changes=changes['counts'],
            summary=_report.summary_lines(report, changes, params['summary_limit']),
            failed_statuses=failed_statuses,
            failed_hosts=failed_hosts,
        )
        return result
