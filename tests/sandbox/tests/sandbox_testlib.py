# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the sandbox's own tests: a small hand-written world and a thin API client.

A module of its own (not conftest.py) so that `import` is unambiguous next to other conftest files.
"""

import base64
import os
import sys

import requests

SANDBOX_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if SANDBOX_DIR not in sys.path:
    sys.path.insert(0, SANDBOX_DIR)

# SIRETs are Luhn-valid (tests check it); S3 has no raccordement with app-q.
S1, S2, S3, S4, S5, S6, S7 = ('21640445900010', '21640122400011', '21640422800019', '21640102600010',
                              '26640010000019', '21640024200014', '21640361800012')
TODAY = '2025-06-01'
LOGIN = 'TECH_021640445900010@cpp2017.fr'
PASSWORD = 'p[a:s{s|w;o:rd'   # punctuation and colons, as in real sandbox examples
EXPIRED = 'TECH_1_EXPIRED@cpro.fr'
LONELY = 'TECH_1_LONELY@cpro.fr'  # its only structure has no raccordement with any app

WORLD = {
    'today': TODAY,
    'apps': [
        {'client_id': 'app-q', 'client_secret': 'secret-q+/=', 'environment': 'qualification'},
        {'client_id': 'app-p', 'client_secret': 'secret-p', 'environment': 'production'},
    ],
    'structures': [
        {'siret': S1, 'id_structure_cpp': 1001, 'designation': 'Commune de Pau', 'active': True,
         'services': [{'code': 'FIN', 'libelle': 'Finances'}, {'code': 'RH', 'libelle': 'Ressources humaines'},
                      {'code': 'TECH', 'libelle': 'Services techniques'}]},
        {'siret': S2, 'id_structure_cpp': 1002, 'designation': 'CCAS de Pau', 'active': True, 'services': [],
         'spaces': ['destinataire']},
        {'siret': S3, 'id_structure_cpp': 1003, 'designation': 'SIVU de Lescar', 'active': True},
        {'siret': S4, 'id_structure_cpp': 1004, 'designation': 'Commune de Lons', 'active': True,
         'services': [{'code': 'FIN', 'libelle': 'Finances'}]},
        {'siret': S5, 'id_structure_cpp': 1005, 'designation': 'Régie privée de Pau', 'type': 'PRIVEE'},
        {'siret': S6, 'id_structure_cpp': 1006, 'designation': 'Société privée de Gan', 'type': 'PRIVEE'},
        {'siret': S7, 'id_structure_cpp': 1007, 'designation': 'Commune de Nay', 'active': False},
    ],
    'accounts': [
        {'login': LOGIN, 'password': PASSWORD, 'environment': 'qualification', 'password_expires_on': '2026-02-01',
         'structures': [S1, S2, S3, S5, S7]},
        {'login': LOGIN, 'password': 'other-prod-password', 'environment': 'production',
         'password_expires_on': '2026-02-01', 'structures': [S1]},
        {'login': EXPIRED, 'password': 'still-right', 'environment': 'qualification',
         'password_expires_on': '2025-05-31', 'structures': [S1]},
        {'login': LONELY, 'password': 'lonely', 'environment': 'qualification',
         'password_expires_on': '2026-02-01', 'structures': [S4]},
    ],
    'raccordements': [
        {'client_id': 'app-q', 'siret': S1}, {'client_id': 'app-q', 'siret': S2},
        {'client_id': 'app-q', 'siret': S5}, {'client_id': 'app-q', 'siret': S7},
        {'client_id': 'app-p', 'siret': S1},
    ],
    'invoices': [
        {'siret': S1, 'numero': 'F-001', 'date_depot': '2025-05-01'},
        {'siret': S1, 'numero': 'F-002', 'date_depot': '2025-05-10'},
        {'siret': S1, 'numero': 'F-003', 'date_depot': '2025-05-20'},
        {'siret': S3, 'numero': 'F-004', 'date_depot': '2025-05-21'},
    ],
}


def cpro_account(login, password):
    return base64.b64encode(('%s:%s' % (login, password)).encode('utf-8')).decode('ascii')


class Client:
    """Just enough of a PISTE client to drive the sandbox from tests."""

    def __init__(self, sb, client_id='app-q', secret='secret-q+/=', login=LOGIN, password=PASSWORD):
        self.sb = sb
        self.http = requests.Session()
        self.http.trust_env = False  # loopback only, whatever the environment's proxies
        self.client_id, self.secret, self.login, self.password = client_id, secret, login, password
        self._token = None

    def token_response(self, **extra):
        data = {'grant_type': 'client_credentials', 'client_id': self.client_id, 'client_secret': self.secret,
                'scope': 'openid'}
        data.update(extra)
        return self.http.post(self.sb.oauth_url, data={k: v for k, v in data.items() if v is not None}, timeout=10)

    @property
    def token(self):
        if self._token is None:
            answer = self.token_response()
            assert answer.status_code == 200, answer.text
            self._token = answer.json()['access_token']
        return self._token

    def headers(self, **override):
        headers = {'Authorization': 'Bearer ' + self.token,
                   'cpro-account': cpro_account(self.login, self.password),
                   'Content-Type': 'application/json;charset=utf-8'}
        headers.update(override)
        return {k: v for k, v in headers.items() if v is not None}

    def post(self, path, body=None, **headers):
        return self.http.post(self.sb.api_url + '/cpro/' + path, json={} if body is None else body,
                              headers=self.headers(**headers), timeout=10)
