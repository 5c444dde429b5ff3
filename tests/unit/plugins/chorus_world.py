# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A hand-made sandbox world and matching inventory that reaches every status, for the unit tests
of the Chorus Pro client, the bulk check and credentials_info.

Also makes the sandbox importable: tests/sandbox is added to sys.path relative to this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import sys

COLLECTION_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
SANDBOX_DIR = os.path.join(COLLECTION_ROOT, 'tests', 'sandbox')
if SANDBOX_DIR not in sys.path:
    sys.path.insert(0, SANDBOX_DIR)

TODAY = '2025-06-01'


def luhn_siret(prefix):
    """Complete a 13-digit prefix into a SIRET whose SIREN and SIRET both pass Luhn."""
    from ansible_collections.chorus.corail.plugins.module_utils._identifiers import siret_valid
    for digit in '0123456789':
        candidate = prefix + digit
        if siret_valid(candidate):
            return candidate
    raise ValueError('no SIRET for prefix %s (its SIREN part is wrong)' % prefix)


# Real public SIRETs of collectivités, plus a few crafted ones.
S_PARIS = '21750001600019'      # ok
S_LYON = '21690123100011'       # attached, no raccordement for the app -> access_forbidden
S_MARSEILLE = '21130055300016'  # exists, not attached to the account -> not_attached
S_TOULOUSE = '21310555400017'   # account password expiring -> password_expiring
S_BORDEAUX = '21330063500017'   # account with wrong password -> account_rejected
S_STRASBOURG = '21670482500019'  # account expired -> password_expired
S_UNKNOWN = '21350238800019'    # Ville de Rennes, valid checksum, not in Chorus Pro -> structure_unknown
S_NORACC = '21590350100017'     # account whose app has no raccordement at all -> access_forbidden (account level)
S_BADAPP = '21440109300015'     # application refused by PISTE -> piste_auth_failed
S_MISSING = '21060088800015'    # no account -> missing_account
S_INVALID = '21750001600018'    # checksum wrong -> invalid_input in production (accepted, with a warning, in qualification)
S_SHORT = '2175000160001'       # 13 digits -> invalid_input in every environment

SECRETS = {
    'app_secret': 'app-secret-Qx7!v2',
    'pw_ok': 'Pw:ok{|[;x}9',  # contains ':' on purpose: split on the first colon only
    'pw_soon': 'Pw-soon-44AB',
    'pw_rejected_real': 'Pw-real-77CD',
    'pw_rejected_given': 'Pw-given-88EF',
    'pw_old': 'Pw-old-99GH',
    'pw_noracc': 'Pw-noracc-11IJ',
    'bad_app_secret': 'wrong-app-secret-55',
}

LOGIN_OK = 'TECH_021750001600019@cpp2017.fr'
LOGIN_SOON = 'TECH_1_toulouse@cpro.fr'
LOGIN_REJECTED = 'TECH_021330063500017@cpp2017.fr'
LOGIN_OLD = 'TECH_021670482500019@cpp2017.fr'
LOGIN_NORACC = 'TECH_021590350100017@cpp2017.fr'


def world():
    """The sandbox side: what PISTE and Chorus Pro know."""
    structures = [
        (S_PARIS, 1001, 'VILLE DE PARIS'),
        (S_LYON, 1002, 'VILLE DE LYON'),
        (S_MARSEILLE, 1003, 'VILLE DE MARSEILLE'),
        (S_TOULOUSE, 1004, 'VILLE DE TOULOUSE'),
        (S_BORDEAUX, 1005, 'VILLE DE BORDEAUX'),
        (S_STRASBOURG, 1006, 'VILLE DE STRASBOURG'),
        (S_NORACC, 1007, 'VILLE DE LILLE'),
        (S_BADAPP, 1008, 'VILLE DE NANTES'),
    ]
    return {
        'today': TODAY,
        'apps': [
            {'client_id': 'cid-corail', 'client_secret': SECRETS['app_secret'], 'environment': 'qualification'},
            {'client_id': 'cid-noracc', 'client_secret': 'noracc-secret-1', 'environment': 'qualification'},
            {'client_id': 'cid-refused', 'client_secret': 'the-real-secret-2', 'environment': 'qualification'},
        ],
        'structures': [{'siret': s, 'id_structure_cpp': i, 'designation': d} for s, i, d in structures],
        'accounts': [
            {'login': LOGIN_OK, 'password': SECRETS['pw_ok'], 'environment': 'qualification',
             'password_expires_on': '2026-03-01', 'structures': [S_PARIS, S_LYON]},
            {'login': LOGIN_SOON, 'password': SECRETS['pw_soon'], 'environment': 'qualification',
             'password_expires_on': '2025-06-20', 'structures': [S_TOULOUSE]},
            {'login': LOGIN_REJECTED, 'password': SECRETS['pw_rejected_real'], 'environment': 'qualification',
             'password_expires_on': '2026-01-01', 'structures': [S_BORDEAUX]},
            {'login': LOGIN_OLD, 'password': SECRETS['pw_old'], 'environment': 'qualification',
             'password_expires_on': '2025-01-01', 'structures': [S_STRASBOURG]},
            {'login': LOGIN_NORACC, 'password': SECRETS['pw_noracc'], 'environment': 'qualification',
             'password_expires_on': '2026-01-01', 'structures': [S_NORACC]},
        ],
        'raccordements': [
            {'client_id': 'cid-corail', 'siret': S_PARIS},
            {'client_id': 'cid-corail', 'siret': S_TOULOUSE},
            {'client_id': 'cid-corail', 'siret': S_BORDEAUX},
            {'client_id': 'cid-corail', 'siret': S_STRASBOURG},
        ],
    }


def piste_apps():
    return {
        'corail': {'client_id': 'cid-corail', 'client_secret': SECRETS['app_secret'], 'environment': 'qualification'},
        'noracc': {'client_id': 'cid-noracc', 'client_secret': 'noracc-secret-1', 'environment': 'qualification'},
        'refused': {'client_id': 'cid-refused', 'client_secret': SECRETS['bad_app_secret'], 'environment': 'qualification'},
    }


def accounts():
    return {
        LOGIN_OK: {'password': SECRETS['pw_ok'], 'password_changed_on': '2024-01-03', 'environment': 'qualification'},
        LOGIN_SOON: {'password': SECRETS['pw_soon'], 'environment': 'qualification'},
        LOGIN_REJECTED: {'password': SECRETS['pw_rejected_given'], 'password_changed_on': '2025-01-10',
                         'environment': 'qualification'},
        LOGIN_OLD: {'password': SECRETS['pw_old'], 'password_changed_on': '2023-11-04', 'environment': 'qualification'},
        LOGIN_NORACC: {'password': SECRETS['pw_noracc'], 'password_changed_on': '2025-01-10',
                       'environment': 'qualification'},
    }


# (host, siret, account, piste_app, expected status)
CASES = [
    ('corail-paris', S_PARIS, LOGIN_OK, 'corail', 'ok'),
    ('corail-paris', S_LYON, LOGIN_OK, 'corail', 'access_forbidden'),
    ('corail-paris', S_MARSEILLE, LOGIN_OK, 'corail', 'not_attached'),
    ('corail-paris', S_UNKNOWN, LOGIN_OK, 'corail', 'structure_unknown'),
    ('corail-sud', S_TOULOUSE, LOGIN_SOON, 'corail', 'password_expiring'),
    ('corail-sud', S_BORDEAUX, LOGIN_REJECTED, 'corail', 'account_rejected'),
    ('corail-est', S_STRASBOURG, LOGIN_OLD, 'corail', 'password_expired'),
    ('corail-nord', S_NORACC, LOGIN_NORACC, 'noracc', 'access_forbidden'),
    ('corail-ouest', S_BADAPP, LOGIN_OK, 'refused', 'piste_auth_failed'),
    ('corail-ouest', S_MISSING, None, 'corail', 'missing_account'),
    ('corail-ouest', S_MISSING, 'TECH_nobody@cpp2017.fr', 'corail', 'missing_account'),
    ('corail-ouest', S_SHORT, LOGIN_OK, 'corail', 'invalid_input'),
]


def structures(cases=None):
    result = []
    for host, siret, account, app, _status in (CASES if cases is None else cases):
        entry = {'host': host, 'siret': siret, 'name': 'Structure %s' % siret, 'piste_app': app,
                 'service_code': 'FACTURES', 'contact': 'finances@example.org'}
        if account is not None:
            entry['account'] = account
        result.append(entry)
    return result


def expected(cases=None):
    return [case[4] for case in (CASES if cases is None else cases)]


def all_secret_values():
    """Every secret of the inventory and the world, for "never in the output" assertions."""
    values = set(SECRETS.values()) | {'noracc-secret-1', 'the-real-secret-2'}
    return values


def fresh():
    return copy.deepcopy(world()), structures(), accounts(), piste_apps()
