# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""Controller side of the rule "module files holding secrets never rest on disk".

Without pipelining, Ansible copies each module, its arguments included, into an AnsiballZ file in the
target's temporary folder and deletes it when the module ends: a run killed meanwhile leaves the
passwords there in clear. With pipelining the module and its arguments go through stdin. The
collection's roles and playbooks set ``ansible_pipelining: true`` on their secret-bearing tasks; a
task of one's own that does not gets a warning.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

WARNING = ('%s runs without pipelining: while it runs, its arguments (passwords, client secrets) are in an '
           'AnsiballZ file in the temporary folder of %s, and stay there if the run is killed. Set '
           '"vars: {ansible_pipelining: true}" on the task, as the chorus.corail roles and playbooks do '
           '(docs/user-guide.md, "Secrets on disk").')


def pipelining_warning(action, module, host):
    """The warning for ``action`` (an ActionBase) about to run ``module`` without pipelining, or None."""
    try:
        enabled = action._is_pipelining_enabled('new', wrap_async=bool(action._task.async_val))
    except Exception:  # pylint: disable=broad-except
        return None  # a connection that cannot tell: no warning
    return None if enabled else WARNING % (module, host)
