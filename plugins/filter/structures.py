# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""structures_of_hosts, offline_problems and inventory_conflicts; documentation in the matching .yml files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.chorus.corail.plugins.module_utils import _schema as schema
from ansible_collections.chorus.corail.plugins.module_utils._check import run_check

# Statuses that stop a deployment: what cannot be written into a Corail configuration.
BLOCKING_STATUSES = ('invalid_input', 'missing_account')


def structures_of_hosts(hostvars, hosts):
    """Each host's ``corail_structures``, tagged with ``host``, ``piste_app`` defaulting to ``chorus_piste_app``.

    One pass over ``hosts``; each host's variables are read once, so thousands of hosts cost
    thousands of dictionary reads, not thousands of tasks.
    """
    if isinstance(hosts, str):
        hosts = [hosts]
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError('chorus.corail.structures_of_hosts: the input must be hostvars, got %s'
                                 % type(hostvars).__name__)
    out = []
    seen = set()
    for host in hosts or []:
        host = str(host)
        if host in seen:
            continue
        seen.add(host)
        try:
            variables = hostvars[host]
        except KeyError:
            raise AnsibleFilterError('chorus.corail.structures_of_hosts: host %s is not in the inventory' % host)
        structures = variables.get('corail_structures')
        if structures is None or structures == '':
            continue
        if not isinstance(structures, (list, tuple)):
            raise AnsibleFilterError('chorus.corail.structures_of_hosts: host %s: corail_structures must be a list '
                                     'of structures, got %s' % (host, type(structures).__name__))
        default_app = variables.get('chorus_piste_app')
        for index, structure in enumerate(structures):
            if not isinstance(structure, Mapping):
                raise AnsibleFilterError('chorus.corail.structures_of_hosts: host %s: corail_structures[%d] must be a '
                                         'mapping with at least siret, got %s' % (host, index, type(structure).__name__))
            item = dict(structure)
            item['host'] = host
            if not item.get('piste_app') and default_app:
                item['piste_app'] = default_app
            out.append(item)
    return out


def offline_problems(structures, accounts, piste_apps, default_app=None, details=False, conflicts=None):
    """What stops these structures from being deployed, one sentence per structure, naming its SIRET.

    The same offline checks as credentials_info (run_check with online=False), so that deploy and
    check never disagree on what is invalid; plus a SIRET listed twice, which one file cannot hold.
    ``conflicts``: this host's part of ``inventory_conflicts`` (``[{index, siret, problem}]``), SIRETs
    that other hosts declare otherwise; their reason joins the structure's own.
    With ``details``, each item is ``{index, siret, problem}`` so that the deploy role can leave out
    exactly those structures and deploy the others.
    """
    if structures is None or structures == '':
        structures = []
    if not isinstance(structures, (list, tuple)):
        problem = 'corail_structures must be a list of structures, got %s' % type(structures).__name__
        return [{'index': None, 'siret': None, 'problem': problem}] if details else [problem]
    items = []
    for structure in structures:
        item = dict(structure) if isinstance(structure, Mapping) else structure
        if isinstance(item, dict) and not item.get('piste_app') and default_app:
            item['piste_app'] = default_app
        items.append(item)
    result = run_check(items, accounts if accounts is not None else {}, piste_apps if piste_apps is not None else {},
                       online=False)
    elsewhere = {}
    for item in conflicts or []:
        if isinstance(item, Mapping) and isinstance(item.get('index'), int):
            elsewhere.setdefault(item['index'], []).append(item.get('problem'))
    problems = []
    seen = set()
    for index, entry in enumerate(result['structures']):
        siret = entry['siret']
        where = 'structure %s' % siret if isinstance(siret, str) and siret else 'corail_structures[%d]' % index
        reasons = [entry['detail']] if entry['status'] in BLOCKING_STATUSES else []
        if not reasons and isinstance(siret, str) and siret in seen:
            reasons.append('listed twice in corail_structures')
        # A conflict within this host is already in the check's detail, word for word.
        reasons.extend(r for r in elsewhere.get(index, []) if r and not any(r in known for known in reasons))
        seen.add(siret if isinstance(siret, str) else None)
        problem = '%s: %s' % (where, '; '.join(reasons)) if reasons else None
        if problem:
            problems.append({'index': index, 'siret': siret if isinstance(siret, str) else None, 'problem': problem}
                            if details else problem)
    return problems


def _readable_structures(variables, host):
    """[(index, plain structure)] of one host, every value read here (templating errors raise here, not later)."""
    structures = variables.get('corail_structures')
    if not isinstance(structures, (list, tuple)):
        return []
    default_app = variables.get('chorus_piste_app')
    out = []
    for index, structure in enumerate(structures):
        if not isinstance(structure, Mapping):
            continue
        item = dict((key, structure[key]) for key in structure)
        item['host'] = host
        if not item.get('piste_app') and default_app:
            item['piste_app'] = default_app
        out.append((index, item))
    return out


def inventory_conflicts(hostvars, hosts, accounts, piste_apps):
    """``{host: [{index, siret, problem}]}``: the structures whose SIRET the inventory declares with
    different accounts or applications in one environment, computed once for every host.

    Made to run once per run (the deploy role's first task), so it never fails: a host whose
    structures cannot be read, or a bad accounts or applications dict, is left to that host's own
    offline check, which names the problem; a bad host must not stop the others.
    """
    items, origin = [], []
    for host in hosts or []:
        host = str(host)
        try:
            mine = _readable_structures(hostvars[host], host)
        except Exception:  # pylint: disable=broad-except  # any templating error: that host's own gate says it
            continue
        for index, item in mine:
            items.append(item)
            origin.append((host, index))
    if not items or not isinstance(accounts, Mapping) or not isinstance(piste_apps, Mapping):
        return {}
    entries = run_check(items, dict(accounts), dict(piste_apps), online=False)['structures']
    found = {}
    for position, reasons in sorted(schema.siret_conflicts(entries).items()):
        host, index = origin[position]
        for reason in reasons:
            found.setdefault(host, []).append({'index': index, 'siret': entries[position]['siret'], 'problem': reason})
    return found


class FilterModule(object):
    def filters(self):
        return {
            'structures_of_hosts': structures_of_hosts,
            'offline_problems': offline_problems,
            'inventory_conflicts': inventory_conflicts,
        }
