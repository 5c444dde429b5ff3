# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""Drift: which deployed Chorus settings of a Corail server differ from the inventory.

``plan_drift`` reads a plan of ``_corail_config`` (the module's check mode, or the Windows action
plugin's plan on the controller) and names, per SIRET, the fields a deployment would change. Only
field names leave the server: never a value read from the file, nor anything derived from a secret
(no hash, no length). ``merge`` turns that into the ``config_drift`` warning of the check's entries.
Pure Python, no Ansible import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.chorus.corail.plugins.module_utils._config_model import APP, SECRET_FIELDS, STRUCTURE

WARNING = 'config_drift'
# The structure's settings are not in the file at all (never deployed, or removed by hand).
NOT_DEPLOYED = 'not_deployed'
# The file could not be read or planned (unreachable server, corrupt file): nothing can be said.
UNREADABLE = 'settings_unreadable'
SECRET_DIFFERS = '<secret differs>'
# A field of the structure's PISTE application reads "piste_app.client_secret".
APP_PREFIX = 'piste_app.'
# Structures that were never meant to be deployed: their status already says why.
NOT_DEPLOYABLE = ('invalid_input', 'missing_account')
MAX_REASON = 200


def _differing(before, after):
    """Field names whose value differs between two owner dicts (a field on one side only counts)."""
    return sorted(field for field in set(before) | set(after) if before.get(field) != after.get(field))


def plan_drift(plan):
    """{siret: [field, ...]} for every structure of ``plan`` whose deployed settings differ.

    ``plan.before`` holds what the file has for the owned entries, ``plan.after`` what a deployment
    would leave there; a structure missing from the file reads ``not_deployed``. The fields of a
    structure's PISTE application are listed as ``piste_app.FIELD`` (the client secret shared by
    several structures drifts for each of them). Structures in sync are left out.
    """
    drift = {}
    for block in plan.blocks:
        if block.kind != STRUCTURE:
            continue
        owner = (STRUCTURE, block.ident)
        if owner not in plan.before:
            fields = [NOT_DEPLOYED]
        else:
            fields = _differing(plan.before[owner], plan.after.get(owner, {}))
        app = (APP, block.values.get('piste_app'))
        if NOT_DEPLOYED not in fields:
            fields += [APP_PREFIX + field for field in _differing(plan.before.get(app, {}), plan.after.get(app, {}))]
        if fields:
            drift[block.ident] = fields
    return drift


def describe(fields):
    """The fields as a report shows them: a secret reads ``password <secret differs>``."""
    out = []
    for field in fields:
        name = field[len(APP_PREFIX):] if field.startswith(APP_PREFIX) else field
        out.append('%s %s' % (field, SECRET_DIFFERS) if name in SECRET_FIELDS else field)
    return out


def host_drift(answer):
    """What one host's drift task answered: ({siret: [field, ...]}, None), (None, reason), or (None, None) when skipped."""
    answer = answer if isinstance(answer, dict) else {}
    if answer.get('skipped'):
        return None, None
    if answer.get('unreachable') or answer.get('failed') or not isinstance(answer.get('drift'), dict):
        reason = ' '.join(str(answer.get('msg') or 'no answer').split())
        return None, reason[:MAX_REASON]
    return answer['drift'], None


def merge(result, answers):
    """A copy of a credentials_info ``result`` whose entries carry the drift of their host.

    ``answers`` maps a host to its drift task's registered result (skipped ones count as not
    checked). An entry that drifts gains the ``config_drift`` warning and ``drift`` (described
    fields); when the host's settings could not be read, every deployable entry of it gets
    ``settings_unreadable (reason)``; the reason names the file and the failure, never a value.
    The result gains ``drift``: how many hosts were compared, which could not be read, and how many
    structures drift. Without any host compared, the result is returned as it is.
    """
    if not isinstance(result, dict) or not isinstance(result.get('structures'), list):
        return result
    checked = {}
    unreadable = []
    for host, answer in (answers or {}).items():
        drift, reason = host_drift(answer)
        if drift is not None:
            checked[str(host)] = drift
        elif reason is not None:
            checked[str(host)] = reason
            unreadable.append(str(host))
    if not checked:
        return result
    entries = []
    drifting = 0
    for entry in result['structures']:
        host = entry.get('host') if isinstance(entry, dict) else None
        if host not in checked or entry.get('status') in NOT_DEPLOYABLE:
            entries.append(entry)
            continue
        found = checked[host]
        if isinstance(found, dict):
            fields = describe(found.get(str(entry.get('siret'))) or [])
        else:
            fields = ['%s (%s)' % (UNREADABLE, found)]
        if fields:
            entry = dict(entry, warnings=list(entry.get('warnings') or []) + [WARNING], drift=fields)
            drifting += 1
        entries.append(entry)
    out = dict(result, structures=entries)
    out['drift'] = {'hosts_checked': len(checked), 'hosts_unreadable': sorted(unreadable), 'structures': drifting}
    return out
