# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of chorus.corail.enroll_blocks: decrypts enrolment-kit blocks on the controller.

Nothing is sent to a host: the private key and the clear passwords stay in this process's memory;
the result is marked no_log so that no callback prints it, and the playbook hands each password
to the vault filter at once."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.parsing.vault import is_encrypted

from ansible_collections.chorus.corail.plugins.action.enroll_kit import ControllerAction, paris_today
from ansible_collections.chorus.corail.plugins.module_utils import _enroll_kit as ek
from ansible_collections.chorus.corail.plugins.modules.enroll_blocks import ARGUMENT_SPEC

STDIN = ('-', '/dev/stdin')


def _controller_stdin():
    """ansible-playbook's standard input. Task workers have /dev/null as stdin (ansible-core >= 2.19);
    the controller process that forked this worker still holds the pipe or file given to it."""
    for candidate in ('/proc/%d/fd/0' % os.getppid(), '/dev/stdin'):
        if os.path.exists(candidate) and os.path.realpath(candidate) != os.devnull:
            with open(candidate, 'rb') as handle:
                return handle.read()
    raise AnsibleActionFail('src: standard input cannot be read here (no pipe or file on the standard input of '
                            'ansible-playbook, or not a Linux controller); save the blocks in a file and give its path')


class ActionModule(ControllerAction):

    ARGUMENT_SPEC = ARGUMENT_SPEC

    def act(self, result, args):
        result['_ansible_no_log'] = True  # the accounts carry clear passwords
        private_key = self._private_key(args['private_key'])
        try:
            if args['src'] in STDIN:
                text = _controller_stdin()
            else:
                with open(args['src'], 'rb') as handle:
                    text = handle.read()
        except (IOError, OSError) as exc:
            raise AnsibleActionFail('src: cannot read %s: %s' % (exc.filename, exc.strerror))
        try:
            accounts, refused = ek.read_blocks(to_text(text, errors='surrogate_or_replace'), private_key,
                                               paris_today(), [str(s) for s in args['known_sirets']])
        except ek.KitError as exc:
            raise AnsibleActionFail('src %s: %s' % (args['src'], to_native(exc)))
        result.update(changed=False, accounts=accounts, refused=[to_native(exc) for exc in refused],
                      refused_reasons=[exc.reason for exc in refused],
                      blocks=sum(len(a['blocks']) for a in accounts) + len(refused))
        return result

    def _private_key(self, path):
        try:
            with open(path, 'rb') as handle:
                data = handle.read()
        except (IOError, OSError) as exc:
            raise AnsibleActionFail('private_key: cannot read %s: %s' % (path, exc.strerror))
        if is_encrypted(data):
            try:
                # In memory only: DataLoader.get_real_file would leave a clear copy in a temporary file.
                data = self._loader._vault.decrypt(data)
            except AnsibleError as exc:
                raise AnsibleActionFail('private_key %s: cannot decrypt it with the vault secrets of this run (give '
                                        '--vault-password-file): %s' % (path, to_native(exc.message)))
        else:
            problem = ek.private_key_mode_problem(path)
            if problem:
                raise AnsibleActionFail('private_key: %s' % problem)
        try:
            return ek.load_private_key(data, 'private_key %s' % path)
        except ek.KitError as exc:
            raise AnsibleActionFail(to_native(exc))
