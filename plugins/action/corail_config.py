# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of chorus.corail.corail_config: POSIX targets run the module, Windows targets are
planned here, on the controller, and written through ansible.windows's own modules (as its
win_template does). ansible.windows is an optional dependency: only Windows targets need it.

The order on Windows keeps the passwords unreadable by others at every moment (docs/windows.md):
read (slurp) -> plan -> restrict the folder's ACL (explicit rules first, then inheritance off) ->
write (the bytes in Ansible's own temporary folder, then win_copy with backup). win_copy replaces
the file, so the new file and its backups take their ACL from the folder, restricted before.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import ntpath
import re

from ansible.errors import AnsibleActionFail
from ansible.module_utils.basic import FILE_COMMON_ARGUMENTS
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase

from ansible_collections.chorus.corail.plugins.module_utils import _corail_config as cc
from ansible_collections.chorus.corail.plugins.module_utils import _writer as writer
from ansible_collections.chorus.corail.plugins.module_utils import _drift
from ansible_collections.chorus.corail.plugins.module_utils._identifiers import InvalidIdentifier
from ansible_collections.chorus.corail.plugins.modules.corail_config import argument_spec
from ansible_collections.chorus.corail.plugins.plugin_utils._pipelining import pipelining_warning

MODULE = 'chorus.corail.corail_config'
# The accounts given the folder of the configuration file, besides windows_service_account.
WINDOWS_ADMINS = (('BUILTIN\\Administrators', 'FullControl'), ('NT AUTHORITY\\SYSTEM', 'FullControl'))
# The service reads its configuration and runs from the folder (.NET: Corail.exe.config next to Corail.exe).
WINDOWS_SERVICE_RIGHTS = 'ReadAndExecute'
POSIX_ONLY = tuple(sorted(FILE_COMMON_ARGUMENTS)) + ('validate',)
# Windows's text for ERROR_SHARING_VIOLATION, English and French systems.
_HELD_OPEN_RE = re.compile(r'being used by another process|utilis. par un autre processus|0x80070020', re.IGNORECASE)
_NOT_FOUND_RE = re.compile(r'is not found|cannot find|introuvable', re.IGNORECASE)


def is_windows(connection, task_vars):
    """True for a PowerShell connection, or a host whose facts say Windows."""
    shell = getattr(connection, '_shell', None)
    return (getattr(shell, 'SHELL_FAMILY', None) == 'powershell'
            or task_vars.get('ansible_os_family') == 'Windows')


class ActionModule(ActionBase):

    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # unused, as in every action plugin since 2.5
        if not is_windows(self._connection, task_vars):
            # POSIX: today's path, one module call (the module writes atomically, on the target).
            warning = pipelining_warning(self, MODULE, task_vars.get('inventory_hostname', 'the target'))
            result.update(self._execute_module(module_name=MODULE, module_args=self._task.args,
                                               task_vars=task_vars, wrap_async=self._task.async_val))
            if warning:
                result.setdefault('warnings', []).append(warning)
            return result
        try:
            result.update(WindowsDeploy(self, task_vars).run())
        except AnsibleActionFail as exc:
            result.update(failed=True, msg=to_native(exc.message))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def windows_module(self, name, args, task_vars):
        """Run one ansible.windows module; its result, whose failure the caller reads."""
        return self._execute_module(module_name=name, module_args=args, task_vars=task_vars)

    def transfer(self, data):
        """Put ``data`` in Ansible's own temporary folder on the target (readable by the connecting user only)."""
        tmpdir = self._connection._shell.tmpdir or self._make_tmp_path()
        remote = self._connection._shell.join_path(tmpdir, 'corail_config')
        self._transfer_data(remote, data)
        return remote


class WindowsDeploy(object):
    """One run of corail_config on a Windows target: plan with the engine, write with ansible.windows."""

    def __init__(self, action, task_vars):
        self.action = action
        self.task_vars = task_vars
        spec = argument_spec()
        spec.update(dict((name, dict(FILE_COMMON_ARGUMENTS[name], no_log=False)) for name in FILE_COMMON_ARGUMENTS))
        try:
            _validation, args = action.validate_argument_spec(argument_spec=spec)
        except Exception as exc:  # AnsibleActionFail from ArgumentSpecValidator: names the option
            raise AnsibleActionFail(to_native(exc))
        self.args = args
        self.path = args['path']
        self.check_mode = action._task.check_mode
        self.diff_mode = action._task.diff
        self.service = args['windows_service'] or None

    def call(self, module, **args):
        return self.action.windows_module(module, args, self.task_vars)

    def fail(self, msg):
        raise AnsibleActionFail(msg)

    def run(self):
        args = self.args
        given = [name for name in POSIX_ONLY if args.get(name) not in (None, FILE_COMMON_ARGUMENTS.get(name, {}).get('default'))]
        if given:
            self.fail('%s: %s only apply to POSIX targets; on Windows the folder is left to Administrators, '
                      'SYSTEM and windows_service_account; nothing was written' % (self.path, ', '.join(given)))
        try:
            writer.check_retention(args['backup_keep'], args['backup_keep_days'])
        except writer.WriteError as exc:
            self.fail(to_native(exc))
        if args['windows_stop_service_for_write'] and not self.service:
            self.fail('windows_stop_service_for_write: needs windows_service (corail_service_name), the service to stop')

        original = self.read()
        try:
            layout = cc.resolve_layout(args['format'], args['key_layout'])
            plan = cc.plan(args['format'], original, layout, args['piste_apps'], args['structures'], args['prune'])
        except (InvalidIdentifier, cc.LayoutError) as exc:
            self.fail('%s; nothing was written' % to_native(exc))
        except cc.CorruptConfig as exc:
            self.fail('%s: %s; the file was left untouched' % (self.path, to_native(exc)))

        result = dict(changed=plan.changed, path=self.path, windows=True,
                      structures=cc.written_structures(plan.blocks), pruned=plan.pruned_structures,
                      drift=_drift.plan_drift(plan))
        if self.diff_mode:
            result['diff'] = cc.masked_diff(layout, plan.before, plan.after, self.path)
        if self.check_mode:
            return result  # check mode writes nothing, ACL included
        if self.restrict_folder():
            result['changed'] = True
        if plan.changed:
            backup_file = self.write(plan.content, original is not None)
            if backup_file:
                result['backup_file'] = backup_file
        return result

    def read(self):
        """The file's bytes, or None when it does not exist (and create allows it)."""
        answer = self.call('ansible.windows.slurp', src=self.path)
        if not answer.get('failed'):
            return base64.b64decode(answer['content'])
        msg = to_native(answer.get('msg', ''))
        if _NOT_FOUND_RE.search(msg):
            if not self.args['create']:
                self.fail('%s: does not exist (create=false)' % self.path)
            return None
        self.fail('%s: cannot read: %s' % (self.path, msg))

    def folder(self):
        return ntpath.dirname(self.path) or '.'

    def restrict_folder(self):
        """Leave the folder to Administrators, SYSTEM and the service account; True when it changed.

        Explicit rules first (inherited by new files), then the inherited rules removed: at no moment
        is the folder open to more accounts than before, nor closed to the administrators.
        """
        folder = self.folder()
        accounts = list(WINDOWS_ADMINS)
        if self.args['windows_service_account']:
            accounts.append((self.args['windows_service_account'], WINDOWS_SERVICE_RIGHTS))
        changed = False
        for user, rights in accounts:
            answer = self.call('ansible.windows.win_acl', path=folder, user=user, rights=rights, type='allow', state='present')
            self.check(answer, 'cannot give %s to %s on the folder %s' % (rights, user, folder))
            changed = changed or bool(answer.get('changed'))
        answer = self.call('ansible.windows.win_acl_inheritance', path=folder, state='absent', reorganize=False)
        self.check(answer, 'cannot stop the folder %s inheriting the permissions of its parent' % folder)
        return changed or bool(answer.get('changed'))

    def write(self, content, exists):
        """win_copy of exactly ``content``, with backup; the service stopped around it when asked."""
        stop = self.args['windows_stop_service_for_write'] and self.service
        if stop:
            self.check(self.call('ansible.windows.win_service', name=self.service, state='stopped'),
                       'cannot stop the service %s before writing' % self.service)
        try:
            source = self.action.transfer(content)
            answer = self.call('ansible.windows.win_copy', src=source, dest=self.path, remote_src=True,
                               backup=bool(self.args['backup'] and exists))
        finally:
            if stop:
                self.check(self.call('ansible.windows.win_service', name=self.service, state='started'),
                           'cannot start the service %s again after writing' % self.service)
        if answer.get('failed'):
            msg = to_native(answer.get('msg', ''))
            if _HELD_OPEN_RE.search(msg):
                if self.service:
                    self.fail('%s: the file is held open by the service %s; set corail_windows_stop_service_for_write '
                              'to stop it around the write; nothing was written' % (self.path, self.service))
                self.fail('%s: the file is held open by another process (the Corail service?); set corail_service_name '
                          'and corail_windows_stop_service_for_write; nothing was written' % self.path)
            self.fail('%s: cannot write: %s' % (self.path, msg))
        return answer.get('backup_file')

    def check(self, answer, what):
        if answer.get('failed'):
            self.fail('%s: %s: %s' % (self.path, what, to_native(answer.get('msg', ''))))
