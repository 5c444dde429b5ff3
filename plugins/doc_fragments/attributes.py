# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Descriptions of the attributes; each module states its own support level, or uses
    # INFO_MODULE for read-only modules.
    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
'''

    # Read-only modules: they never change anything, so check mode is complete and there is no diff.
    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
'''

    # Modules listed under action_groups.chorus in meta/runtime.yml.
    ACTION_GROUP = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/chorus.corail.chorus) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - chorus.corail.chorus
'''
