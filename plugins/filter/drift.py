# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""deployed_state; documentation in deployed_state.yml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.chorus.corail.plugins.module_utils import _drift

ANSWER = 'chorus_check_drift_answer'


def deployed_state(result, hostvars, hosts, drift=False, left_out=None):
    """``result`` (credentials_info's) with each server's drift and the structures a deployment left out."""
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError('chorus.corail.deployed_state: the first argument must be hostvars, got %s'
                                 % type(hostvars).__name__)
    if left_out is not None and not isinstance(left_out, (list, tuple)):
        raise AnsibleFilterError('chorus.corail.deployed_state: left_out must be a list of {host, siret, reason}')
    answers = {}
    # Off, no host's variables are read: the check costs nothing more.
    if boolean(drift, strict=False):
        for host in [hosts] if isinstance(hosts, str) else hosts or []:
            answer = hostvars[str(host)].get(ANSWER) if str(host) in hostvars else None
            if isinstance(answer, Mapping):
                answers[str(host)] = dict(answer)
    return _drift.mark_left_out(_drift.merge(result, answers), left_out)


class FilterModule(object):
    def filters(self):
        return {'deployed_state': deployed_state}
