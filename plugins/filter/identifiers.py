# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SIRET / SIREN filters; documentation lives in the matching .yml files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.chorus.corail.plugins.module_utils._identifiers import (
    InvalidIdentifier,
    siren_of,
    siren_valid,
    siret_problem,
    siret_valid,
    sirets_of_text,
)


def _siret_valid(value):
    return siret_valid(value)


def _siren_valid(value):
    return siren_valid(value)


def _siret_problem(value):
    return siret_problem(value)


def _siret_list(value):
    if isinstance(value, (list, tuple)):
        return [siret for item in value for siret in sirets_of_text(str(item))]
    if value is None:
        return []
    return sirets_of_text(str(value))


def _siren(value):
    try:
        return siren_of(value)
    except InvalidIdentifier as exc:
        raise AnsibleFilterError('chorus.corail.siren: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {
            'siret_valid': _siret_valid,
            'siren_valid': _siren_valid,
            'siret_problem': _siret_problem,
            'siren': _siren,
            'siret_list': _siret_list,
        }
