# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""One schema of a PISTE application, a technical account and a structure: normalisation and value rules.

The register plugin, the deploy gate (offline_problems, through the check), the check and
corail_config all ask here, so what deploy accepts is what corail_config writes and what the check
validates. SIRET, login and password rules stay in ``_identifiers``. A reason never quotes the value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Plain (non-secret) text fields of a structure and of an application, as the check and corail_config read them.
STRUCTURE_TEXT_FIELDS = ('name', 'account', 'piste_app', 'service_code', 'id_structure_cpp')
APP_TEXT_FIELDS = ('client_id',)
APP_URL_FIELDS = ('oauth_url', 'api_url')

# PISTE application names become part of section names and keys: keep them plain.
APP_NAME_RE = re.compile(r'^[A-Za-z0-9](?:[A-Za-z0-9 _.@+-]*[A-Za-z0-9_.@+-])?$')
URL_RE = re.compile(r'^https?://[^\s"<>\\]+$', re.IGNORECASE)
# No setting of a Corail server is this long: a longer value is a pasted file or a template gone wrong.
MAX_VALUE_LENGTH = 4096


def normalise(value):
    """Trimmed text, once, before validation and before writing; None for absent or blank. Other types as given."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        return value.strip() or None
    return value


def text_problem(value):
    """Why a normalised plain value cannot be written into a configuration file, or None."""
    if value is None:
        return None
    if not isinstance(value, str):
        return 'must be a string, got %s' % type(value).__name__
    if len(value) > MAX_VALUE_LENGTH:
        return 'is longer than %d characters (%d)' % (MAX_VALUE_LENGTH, len(value))
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return 'contains control characters (newline, tab...), which would break the file'
    if any(0xD800 <= ord(c) <= 0xDFFF or ord(c) in (0xFFFE, 0xFFFF) for c in value):
        return 'contains characters that a configuration file cannot hold'
    return None


def app_name_problem(name):
    if not isinstance(name, str) or not APP_NAME_RE.match(name):
        return 'must be letters, digits, " _.@+-" (no leading or trailing space)'
    return None


def id_structure_cpp_problem(value):
    problem = text_problem(value)
    if problem is None and value is not None and not value.isdigit():
        problem = 'must be a number'
    return problem


def url_problem(value):
    problem = text_problem(value)
    if problem is None and value is not None and not URL_RE.match(value):
        problem = 'must be an http(s) URL without spaces or quotes'
    return problem


_STRUCTURE_RULES = {'id_structure_cpp': id_structure_cpp_problem, 'piste_app': lambda v: v and app_name_problem(v)}


def structure_problems(structure):
    """[(field, reason)] of the plain fields of a structure (a mapping, values normalised here)."""
    problems = []
    for field in STRUCTURE_TEXT_FIELDS:
        value = normalise(structure.get(field))
        problem = text_problem(value) or (_STRUCTURE_RULES[field](value) if field in _STRUCTURE_RULES else None)
        if problem:
            problems.append((field, problem))
    return problems


def app_problems(name, app):
    """[(field, reason)] of a PISTE application's name and plain fields (secret and environment checked elsewhere)."""
    problems = []
    problem = app_name_problem(name)
    if problem:
        problems.append(('name', problem))
    for field in APP_TEXT_FIELDS + APP_URL_FIELDS:
        value = normalise(app.get(field))
        problem = url_problem(value) if field in APP_URL_FIELDS else text_problem(value)
        if problem:
            problems.append((field, problem))
    return problems


# One structure, one environment: one account and one PISTE application. (field, what differs)
_CONFLICT_FIELDS = (('account', 'accounts'), ('piste_app', 'PISTE applications'))


def siret_conflicts(entries):
    """{index: [reason]} of the entries whose SIRET is declared with different accounts or applications in one environment.

    ``entries``: the check's entries (``siret``, ``account``, ``piste_app``, ``environment``, ``host``),
    from one host or from the whole inventory. Neither declaration can be trusted, so every entry of the
    SIRET in that environment gets the reason, which names each declaration and its host.
    """
    groups = {}
    for index, entry in enumerate(entries):
        if isinstance(entry.get('siret'), str) and entry.get('environment'):
            groups.setdefault((entry['siret'], entry['environment']), []).append(index)
    found = {}
    for (siret, environment), indexes in sorted(groups.items()):
        for field, plural in _CONFLICT_FIELDS:
            declared = [i for i in indexes if entries[i].get(field) is not None]
            values = []
            for i in declared:
                if entries[i][field] not in values:
                    values.append(entries[i][field])
            if len(values) < 2:
                continue
            where = ', '.join('%s on %s' % (entries[i][field], entries[i].get('host') or '?') for i in declared)
            reason = ('%s: SIRET %s is declared %d times in %s with different %s (%s)'
                      % (field, siret, len(declared), environment, plural, where))
            for i in declared:
                found.setdefault(i, []).append(reason)
    return found
