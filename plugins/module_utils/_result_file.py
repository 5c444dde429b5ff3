# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""The check's result handed from credentials_info to check_report through a controller-side file.

At 20,000 structures the registered result of credentials_info is tens of MB of JSON. Returned as
a module result, Ansible decodes it in the worker, pickles it to the main process, deep-copies it
to register it, and templates it again into check_report's arguments, which are encoded once more
for that module: several copies in memory at once (about 1 GB of PSS for the process tree) and
seconds of CPU per copy. Written to a file by the module that computed it and read by the module
that needs it, it crosses no process boundary of Ansible's.

The file holds the masked result (no password, secret or token: credentials_info masks it first),
is written 0600 in a 0700 folder through ``_writer`` (atomic, never half-written) and is deleted by
check_report once read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.chorus.corail.plugins.module_utils import _writer

# What the file holds and the module result then leaves out. by_host stays in the result, since
# each host reads its own entries from it (the check role's chorus_check_host_results), but with
# these keys only: a quarter of the memory of full entries (10 MB instead of 41 MB of Python
# objects at 20,000 structures, paid about twice in Ansible's main process and again in each
# worker that touches it). The full entries are in the file and the report.
FILE_KEYS = ('structures', 'accounts', 'api_calls')
RETURNED_KEYS = ('counts', 'api_calls')
HOST_ENTRY_KEYS = ('host', 'siret', 'name', 'status', 'warnings', 'password_expires_on', 'action_by', 'cause')


class ResultFileError(Exception):
    """The result file cannot be written or read; the message names the path."""


def write_result(path, result):
    """Write ``result`` (masked already) to ``path``; returns the compact result to return instead."""
    data = dict((key, result[key]) for key in FILE_KEYS if key in result)
    content = json.dumps(data, separators=(',', ':'), sort_keys=False).encode('utf-8')
    try:
        _writer.write(_writer.read(path), content, secret=True, create_parents=True)
    except _writer.WriteError as exc:
        raise ResultFileError('result_file: %s' % exc)
    compact = dict((key, result[key]) for key in RETURNED_KEYS if key in result)
    compact['by_host'] = dict((host, [dict((key, entry[key]) for key in HOST_ENTRY_KEYS if key in entry)
                                      for entry in entries])
                              for host, entries in (result.get('by_host') or {}).items())
    compact['result_file'] = path
    compact['total'] = len(result.get('structures') or [])
    return compact


def read_result(path, remove=True):
    """The result written by ``write_result``; the file is deleted once read unless ``remove`` is false."""
    try:
        with open(path, 'rb') as handle:
            data = json.loads(handle.read().decode('utf-8'))
    except (IOError, OSError) as exc:
        raise ResultFileError('result_file %s: cannot read: %s (was it written by chorus.corail.credentials_info '
                              'with result_file in this run?)' % (path, exc.strerror or exc))
    except ValueError as exc:
        raise ResultFileError('result_file %s: not the JSON credentials_info writes: %s' % (path, exc))
    if not isinstance(data, dict) or not isinstance(data.get('structures'), list):
        raise ResultFileError('result_file %s: no list of structures in it; not written by '
                              'chorus.corail.credentials_info' % path)
    if remove:
        try:
            os.unlink(path)
        except OSError:
            pass  # already gone, or a read-only folder: the next run replaces it
    return data
