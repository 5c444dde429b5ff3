# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of chorus.corail.credentials_info: run the module as it is, and warn when it would
run without pipelining (its arguments hold the passwords; plugin_utils/_pipelining.py says why)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.chorus.corail.plugins.plugin_utils._pipelining import pipelining_warning

MODULE = 'chorus.corail.credentials_info'


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        warning = pipelining_warning(self, MODULE, task_vars.get('inventory_hostname', 'the target'))
        # As ansible.builtin.normal does.
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        result.update(self._execute_module(module_name=MODULE, module_args=self._task.args, task_vars=task_vars,
                                           wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        if warning:
            result.setdefault('warnings', []).append(warning)
        return result
