# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A deliberately small oracle of the design's check sequence, used to prove that a generated
world's expected.json follows from the sandbox's answers. It is NOT the collection's client
(plugins/module_utils does that job, with retries, concurrency and remediation); keep it simple.

    statuses, calls = reference_check(inventory, oauth_url, api_url)
"""

import base64
import datetime

import requests

LIFETIME = datetime.timedelta(days=424)


def _structures(inventory):
    for hvars in inventory['host_vars'].values():
        for st in hvars.get('corail_structures') or []:
            yield dict(st, piste_app=st.get('piste_app') or hvars.get('chorus_piste_app'))


def reference_check(inventory, oauth_url, api_url, today=None, warning_days=30, basic_auth=False):
    """Return ({siret: status}, {path: calls made})."""
    today = today or datetime.date.today()
    gvars = inventory['group_vars']
    apps, accounts = gvars['chorus_piste_apps'], gvars['chorus_accounts']
    session = requests.Session()
    session.trust_env = False
    calls = {}

    def token(name):
        app = apps[name]
        calls['/api/oauth/token'] = calls.get('/api/oauth/token', 0) + 1
        if basic_auth:
            answer = session.post(oauth_url, data={'grant_type': 'client_credentials', 'scope': 'openid'},
                                  auth=(app['client_id'], app['client_secret']), timeout=10)
        else:
            answer = session.post(oauth_url, data={'grant_type': 'client_credentials', 'scope': 'openid',
                                                   'client_id': app['client_id'],
                                                   'client_secret': app['client_secret']}, timeout=10)
        return answer.json()['access_token'] if answer.status_code == 200 else None

    tokens = {name: token(name) for name in sorted({s['piste_app'] for s in _structures(inventory)})}

    def call(app, login, path, body):
        calls[path] = calls.get(path, 0) + 1
        account = base64.b64encode(('%s:%s' % (login, accounts[login]['password'])).encode('utf-8')).decode()
        headers = {'Authorization': 'Bearer %s' % tokens[app], 'cpro-account': account,
                   'Content-Type': 'application/json;charset=utf-8', 'Accept': 'application/json'}
        answer = session.post(api_url + '/cpro/' + path, json=body, headers=headers, timeout=10)
        if answer.status_code == 401 and 'invalid_token' in answer.headers.get('WWW-Authenticate', ''):
            tokens[app] = token(app)
            headers['Authorization'] = 'Bearer %s' % tokens[app]
            calls[path] += 1
            answer = session.post(api_url + '/cpro/' + path, json=body, headers=headers, timeout=10)
        return answer

    status, groups = {}, {}
    for st in _structures(inventory):
        login = st.get('account')
        if not login or login not in accounts:
            status[st['siret']] = 'missing_account'
        elif tokens[st['piste_app']] is None:
            status[st['siret']] = 'piste_auth_failed'
        else:
            groups.setdefault((accounts[login]['environment'], st['piste_app'], login), []).append(st)

    for (_env, app, login), members in groups.items():
        answer = call(app, login, 'transverses/v1/recuperer/tauxtva', {})
        if answer.status_code in (401, 403):
            if answer.status_code == 403:
                verdict = 'access_forbidden'
            else:
                changed = datetime.date.fromisoformat(accounts[login]['password_changed_on'])
                verdict = 'password_expired' if changed + LIFETIME < today else 'account_rejected'
            for st in members:
                status[st['siret']] = verdict
            continue
        listed = call(app, login, 'transverses/v1/recuperer/structures/actives/destinataire', {}).json()
        attached = {s['identifiant']: s['idStructureCPP'] for s in listed['listeStructures']}
        expires = None
        first = next((st for st in members if st['siret'] in attached), None)
        if first is not None:
            info = call(app, login, 'structures/v1/consulter',
                        {'idStructureCPP': attached[first['siret']], 'codeLangue': 'fr'})
            if info.status_code == 200:
                value = info.json().get('informationGenerales', {}).get('dateExpirationMotPasseCompteTech')
                expires = datetime.date.fromisoformat(value[:10]) if value else None
        if expires is None:
            expires = datetime.date.fromisoformat(accounts[login]['password_changed_on']) + LIFETIME
        for st in members:
            if st['siret'] in attached:
                answer = call(app, login, 'factures/v1/rechercher/recipiendaire', {
                    'idDestinataire': attached[st['siret']],
                    'paramRecherche': {'nbResultatsParPage': 1, 'pageResultatDemandee': 1}})
                if answer.status_code == 403:
                    status[st['siret']] = 'access_forbidden'
                elif answer.status_code == 200 and answer.json()['codeRetour'] in (0, 20000):
                    days_left = (expires - today).days
                    status[st['siret']] = 'password_expiring' if days_left <= warning_days else 'ok'
                else:
                    status[st['siret']] = 'api_unavailable'
            else:
                found = call(app, login, 'structures/v1/rechercher', {
                    'structure': {'identifiantStructure': st['siret'], 'typeIdentifiantStructure': 'SIRET'}}).json()
                status[st['siret']] = 'not_attached' if found.get('listeStructures') else 'structure_unknown'
    return status, calls
