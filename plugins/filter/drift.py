# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""config_drift; documentation in config_drift.yml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.chorus.corail.plugins.module_utils import _drift

ANSWER = 'chorus_check_drift_answer'


def config_drift(result, hostvars, hosts):
    """``result`` (credentials_info's) with the config_drift warning of every host of ``hosts`` compared."""
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError('chorus.corail.config_drift: the first argument must be hostvars, got %s'
                                 % type(hostvars).__name__)
    answers = {}
    for host in [hosts] if isinstance(hosts, str) else hosts or []:
        answer = hostvars[str(host)].get(ANSWER) if str(host) in hostvars else None
        if isinstance(answer, Mapping):
            answers[str(host)] = dict(answer)
    return _drift.merge(result, answers)


class FilterModule(object):
    def filters(self):
        return {'config_drift': config_drift}
