# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""account_of; documentation in account_of.yml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.chorus.corail.plugins.module_utils._check import accounts_listing


def account_of(structure, accounts, environment=None):
    """The login a structure uses: its ``account``, else the one entry of ``accounts`` listing its SIRET.

    The check's own rule (``_check.accounts_listing``), so that deploy writes the account the check validated."""
    if not isinstance(structure, Mapping):
        raise AnsibleFilterError('account_of: the input must be a structure (a mapping with siret), got %s'
                                 % type(structure).__name__)
    login = structure.get('account')
    if isinstance(login, str) and login.strip():
        return login.strip()
    listed = accounts_listing(accounts if isinstance(accounts, Mapping) else {}, str(structure.get('siret')), environment)
    return listed[0] if len(listed) == 1 else None


class FilterModule(object):
    def filters(self):
        return {'account_of': account_of}
