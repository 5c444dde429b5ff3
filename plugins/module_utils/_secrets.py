# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""Keep Ansible's no_log masking to the real secrets of options that are no_log as wholes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def keep_only_secrets(no_log_values, entries):
    """Remove from ``no_log_values`` every value that is not a secret.

    An option that carries secrets (a list of structures, a dict of accounts) is no_log as a whole,
    so Ansible would mask every value inside it everywhere in the result: SIRETs, names, even
    "production". ``entries`` yields ``(mapping, secret_keys)`` pairs; values under a secret key
    stay masked, the others are let back into the output unless they are also a secret.
    """
    secrets = set()
    public = set()
    for mapping, secret_keys in entries:
        if not isinstance(mapping, dict):
            continue
        for key, value in mapping.items():
            if value is None or isinstance(value, (bool, dict, list)):
                continue
            (secrets if key in secret_keys else public).add(str(value))
    no_log_values.difference_update(public - secrets)
    # A blank "secret" hides nothing but would mask every space of the error that refuses it.
    no_log_values.difference_update([value for value in no_log_values if not value.strip()])
