# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Chorus Pro API paths: answers, pagination and every failure the sandbox models."""

import base64
import http.client
import json
from urllib.parse import urlsplit

import pytest
import requests

from sandbox_testlib import EXPIRED, LOGIN, LONELY, S1, S2, S3, S4, S5, S6, S7, Client, cpro_account

ACCOUNT_401 = 'Bearer realm="PISTE",error="Unauthorized",error_description="login or password incorrects"'
ALL_POST_PATHS = (
    'transverses/v1/recuperer/tauxtva',
    'transverses/v1/recuperer/structures/actives/destinataire',
    'transverses/v1/recuperer/structures/actives/fournisseur',
    'structures/v1/rechercher',
    'structures/v1/consulter',
    'structures/v1/rechercher/services',
    'utilisateurs/v1/monCompte/recuperer/rattachements',
    'factures/v1/rechercher/recipiendaire',
)


def search(client, siret, **extra):
    body = {'structure': {'identifiantStructure': siret, 'typeIdentifiantStructure': 'SIRET'}}
    body.update(extra)
    return client.post('structures/v1/rechercher', body)


# -- happy paths -----------------------------------------------------------------------------------

def test_health_check_is_a_get_that_needs_only_the_token(client):
    answer = client.http.get(client.sb.api_url + '/cpro/transverses/v1/health-check',
                             headers={'Authorization': 'Bearer ' + client.token}, timeout=5)
    assert answer.status_code == 200
    assert answer.json()['statusCodeValue'] == 200
    answer = client.http.get(client.sb.api_url + '/cpro/transverses/v1/health-check', timeout=5)
    assert answer.status_code == 401
    answer = client.http.post(client.sb.api_url + '/cpro/transverses/v1/health-check',
                              headers={'Authorization': 'Bearer ' + client.token}, timeout=5)
    assert answer.status_code == 405


def test_tauxtva(client):
    answer = client.post('transverses/v1/recuperer/tauxtva')
    assert answer.status_code == 200
    body = answer.json()
    assert body['codeRetour'] == 0 and body['libelle'] == 'TRA_MSG_00.000'
    assert {'codeTauxTva', 'libelleTauxTva', 'valeurTauxTva'} <= set(body['listeTauxTva'][0])


def test_actives_destinataire_lists_active_attached_structures(client):
    body = client.post('transverses/v1/recuperer/structures/actives/destinataire').json()
    assert body['codeRetour'] == 0
    assert body['listeStructures'] == [
        {'idStructureCPP': 1001, 'identifiant': S1, 'designationStructure': 'Commune de Pau'},
        {'idStructureCPP': 1002, 'identifiant': S2, 'designationStructure': 'CCAS de Pau'},
        {'idStructureCPP': 1003, 'identifiant': S3, 'designationStructure': 'SIVU de Lescar'},
        {'idStructureCPP': 1005, 'identifiant': S5, 'designationStructure': 'Régie privée de Pau'},
    ]  # S7 is inactive


def test_actives_fournisseur_follows_the_spaces_of_each_structure(client):
    body = client.post('transverses/v1/recuperer/structures/actives/fournisseur').json()
    assert [s['identifiant'] for s in body['listeStructures']] == [S1, S3, S5]  # S2 is destinataire only


def test_rechercher_finds_public_structures_attached_or_not(client):
    for siret, ident in ((S1, 1001), (S4, 1004)):
        body = search(client, siret).json()
        assert body['codeRetour'] == 0
        assert body['listeStructures'] == [{
            'idStructureCPP': ident, 'identifiantStructure': siret, 'typeIdentifiantStructure': 'SIRET',
            'designationStructure': body['listeStructures'][0]['designationStructure'], 'statut': 'ACTIVE'}]
        assert body['parametresRetour']['total'] == 1
    assert search(client, S7).json()['listeStructures'][0]['statut'] == 'INACTIVE'


def test_rechercher_unknown_siret_is_an_empty_list(client):
    body = search(client, '21640000000013').json()
    assert body['codeRetour'] == 0
    assert body['listeStructures'] == []
    assert body['parametresRetour'] == {'pageCourante': 1, 'pages': 0, 'nbResultatsParPage': 10, 'total': 0}
    client.sb.set_faults(empty_search_code=20000)
    body = search(client, '21640000000013').json()
    assert (body['codeRetour'], body['libelle'], body['listeStructures']) == (20000, 'TRA_MSG_00.015', [])


def test_rechercher_private_structures_follow_restreindre_rule(client):
    assert len(search(client, S5).json()['listeStructures']) == 1  # private but attached
    assert search(client, S6).json()['listeStructures'] == []  # private, not attached
    assert search(client, S6, restreindreStructuresPrivees=True).json()['listeStructures'] == []
    assert len(search(client, S6, restreindreStructuresPrivees=False).json()['listeStructures']) == 1


def test_rechercher_by_name_type_and_pagination(client):
    body = client.post('structures/v1/rechercher', {
        'structure': {'raisonSocialeStructure': 'commune', 'typeStructure': 'PUBLIQUE'},
        'parametres': {'nbResultatsParPage': 2, 'pageResultatDemandee': 2, 'triColonne': 'IdStructure',
                       'triSens': 'Descendant'}}).json()
    assert body['parametresRetour'] == {'pageCourante': 2, 'pages': 2, 'nbResultatsParPage': 2, 'total': 3}
    assert [s['idStructureCPP'] for s in body['listeStructures']] == [1001]  # 1007, 1004 | 1001
    other_type = client.post('structures/v1/rechercher', {
        'structure': {'identifiantStructure': S1, 'typeIdentifiantStructure': 'RIDET'}}).json()
    assert other_type['listeStructures'] == []


def test_consulter_gives_the_expiry_date_for_a_managed_structure(client):
    body = client.post('structures/v1/consulter', {'idStructureCPP': 1001, 'codeLangue': 'fr'}).json()
    assert body['codeRetour'] == 0 and body['libelle'] == 'GCU_MSG_01_000'
    info = body['informationGenerales']
    assert info['identifiantStructure'] == S1 and info['idStructureCPP'] == 1001
    # A date-time as in the official Swagger (API brief section 8): midnight in Paris, with its offset.
    assert info['dateExpirationMotPasseCompteTech'] == '2026-02-01T00:00:00.000+01:00'
    assert info['structurePriveePublique'] == 'PUBLIQUE'
    assert 'adressePostaleDuSiege' in body and 'codeServiceDoitEtreRenseigne' in body['parametres']


def test_expiry_as_a_plain_date_with_the_knob(sandbox, client):
    sandbox.set_faults(expiry_format='date')
    info = client.post('structures/v1/consulter', {'idStructureCPP': 1001, 'codeLangue': 'fr'}).json()['informationGenerales']
    assert info['dateExpirationMotPasseCompteTech'] == '2026-02-01'


def test_summer_expiry_has_the_summer_offset(sandbox):
    import chorus_sandbox  # pylint: disable=import-outside-toplevel,import-error
    import datetime  # pylint: disable=import-outside-toplevel
    assert chorus_sandbox._expiry_value(datetime.date(2026, 7, 1), 'date-time') == '2026-07-01T00:00:00.000+02:00'
    assert chorus_sandbox._expiry_value(datetime.date(2026, 3, 29), 'date-time').endswith('+01:00')  # DST starts at 02:00
    assert chorus_sandbox._expiry_value(datetime.date(2026, 3, 30), 'date-time').endswith('+02:00')
    assert chorus_sandbox._expiry_value(datetime.date(2026, 10, 25), 'date-time').endswith('+02:00')
    assert chorus_sandbox._expiry_value(datetime.date(2026, 10, 26), 'date-time').endswith('+01:00')


def test_routes_real_clients_call(client):
    devises = client.post('transverses/v1/recuperer/devises', {'codeLangue': 'FR'}).json()
    assert devises['libelle'] == 'TRA_MSG_00.000' and 'EUR' in [d['codeDevise'] for d in devises['listeDevises']]
    types = client.post('transverses/v1/recuperer/typeidentifiant/structure', {}).json()
    assert len(types['listeTypeIdentifiant']) == 7
    found = client.post('transverses/v1/rechercher/destinataire', {'identifiant': S1}).json()
    assert found['codeRetour'] == 0 and [d['identifiant'] for d in found['listeDestinataires']] == [S1]
    assert client.post('transverses/v1/rechercher/destinataire', {'identifiant': '00000000000000'}).json()['codeRetour'] == 20000


def test_actives_answer_has_pagination_at_the_root(client):
    body = client.post('transverses/v1/recuperer/structures/actives/destinataire', {}).json()
    assert body['total'] == len(body['listeStructures']) and body['pageCourante'] == 1 and body['pages'] == 1


def test_search_accepts_the_identifier_as_a_number(client):
    body = client.post('structures/v1/rechercher', {'structure': {'identifiantStructure': int(S1),
                                                                  'typeIdentifiantStructure': 'SIRET'}}).json()
    assert body['libelle'] == 'TRA_MSG_00.000' and [r['identifiantStructure'] for r in body['listeStructures']] == [S1]


def test_consulter_public_structure_not_managed_has_no_expiry_date(client):
    body = client.post('structures/v1/consulter', {'idStructureCPP': '1004', 'codeLangue': 'FR'}).json()
    assert body['codeRetour'] == 0
    assert 'dateExpirationMotPasseCompteTech' not in body['informationGenerales']


def test_consulter_business_errors(client):
    assert client.post('structures/v1/consulter', {'idStructureCPP': 999}).json()['codeRetour'] == 20001
    assert client.post('structures/v1/consulter', {'idStructureCPP': 1006}).json()['codeRetour'] == 20002
    for body in ({'idStructure': 1001}, {'idStructureCPP': 'x'}, {'idStructureCPP': 1001, 'codeLangue': 'de'}):
        answer = client.post('structures/v1/consulter', body)
        assert answer.status_code == 400, body
        assert answer.json()['codeRetour'] == 400 and answer.json()['libelle']


def test_rechercher_services_with_pagination_and_sort(client):
    body = client.post('structures/v1/rechercher/services', {
        'idStructure': 1001, 'parametresRechercherServicesStructure': {
            'nbResultatsParPage': 2, 'pageResultatDemandee': 1, 'triColonne': 'CodeService',
            'triSens': 'Ascendant '}}).json()
    assert body['codeRetour'] == 0
    assert body['parametresRetour'] == {'pageCourante': 1, 'pages': 2, 'nbResultatsParPage': 2, 'total': 3}
    assert [s['codeService'] for s in body['listeServices']] == ['FIN', 'RH']
    assert body['listeServices'][0]['estActif'] is True
    public = client.post('structures/v1/rechercher/services', {'idStructure': 1004}).json()
    assert [s['codeService'] for s in public['listeServices']] == ['FIN']
    assert client.post('structures/v1/rechercher/services', {'idStructure': 1006}).json()['codeRetour'] == 20002
    assert client.post('structures/v1/rechercher/services', {'idStructure': 5}).json()['codeRetour'] == 20001


def test_rattachements_list_and_pagination(client):
    body = client.post('utilisateurs/v1/monCompte/recuperer/rattachements', {'parametresRecherche': {
        'nbResultatsParPage': 2, 'pageResultatDemandee': 1, 'triColonne': 'IdentifiantStructure',
        'triSens': 'Descendant'}}).json()
    assert body['codeRetour'] == 0
    assert body['parametresRetour'] == {'pageCourante': 1, 'pages': 3, 'nbResultatsParPage': 2, 'total': 5}
    sirets = sorted([S1, S2, S3, S5, S7], reverse=True)
    assert [r['identifiantStructure'] for r in body['listeStructureRattachement']] == sirets[:2]
    everything = client.post('utilisateurs/v1/monCompte/recuperer/rattachements',
                             {'parametresRecherche': {'nbResultatsParPage': 50}}).json()
    first = everything['listeStructureRattachement'][0]
    assert first['idStructure'] == 1001 and first['typeIdentifiantStructure'] == 'SIRET'
    assert first['statutRattachementStructure'] == 'ACTIF'
    assert [s['codeService'] for s in first['listeServicesRattache']] == ['FIN', 'RH', 'TECH']


def test_recipiendaire_pages_the_invoices_at_the_root(client):
    body = client.post('factures/v1/rechercher/recipiendaire', {
        'idDestinataire': 1001, 'paramRecherche': {'nbResultatsParPage': 2, 'pageResultatDemandee': 2}}).json()
    assert body['codeRetour'] == 0
    assert (body['pageCourante'], body['pages'], body['nbResultatsParPage'], body['total']) == (2, 2, 2, 3)
    assert [f['numeroFacture'] for f in body['listeFactures']] == ['F-003']
    invoice = body['listeFactures'][0]
    assert invoice['idDestinataire'] == 1001 and invoice['codeDestinataire'] == S1
    assert invoice['dateDepot'] == '2025-05-20'


def test_recipiendaire_without_invoice_is_codretour_20000(client):
    body = client.post('factures/v1/rechercher/recipiendaire', {
        'idDestinataire': 1002, 'paramRecherche': {'nbResultatsParPage': 1, 'pageResultatDemandee': 1}}).json()
    assert (body['codeRetour'], body['libelle']) == (20000, 'TRA_MSG_00.015')
    assert body['listeFactures'] == [] and body['total'] == 0


def test_recipiendaire_filters_and_scope(client):
    body = client.post('factures/v1/rechercher/recipiendaire', {
        'idDestinataire': 1001, 'periodeDateDepotDu': '2025-05-05', 'periodeDateDepotAu': '2025-05-15'}).json()
    assert [f['numeroFacture'] for f in body['listeFactures']] == ['F-002']
    # Without idDestinataire: invoices of every structure with a raccordement (S3 has none).
    body = client.post('factures/v1/rechercher/recipiendaire', {}).json()
    assert sorted(f['numeroFacture'] for f in body['listeFactures']) == ['F-001', 'F-002', 'F-003']
    answer = client.post('factures/v1/rechercher/recipiendaire', {'idDestinataire': 1004})
    assert answer.status_code == 200 and answer.json()['codeRetour'] == 20002  # not attached
    assert client.post('factures/v1/rechercher/recipiendaire', {'idDestinataire': 77}).json()['codeRetour'] == 20001
    bad = client.post('factures/v1/rechercher/recipiendaire', {'periodeDateDepotDu': 'hier'})
    assert bad.status_code == 400


@pytest.mark.parametrize('params', [{'nbResultatsParPage': 0}, {'pageResultatDemandee': -1},
                                    {'nbResultatsParPage': 'beaucoup'}, 'page 2'])
def test_nonsense_pagination_is_400(client, params):
    answer = client.post('utilisateurs/v1/monCompte/recuperer/rattachements', {'parametresRecherche': params})
    assert answer.status_code == 400
    assert answer.json()['codeRetour'] == 400


def test_page_past_the_end_is_empty(client):
    body = client.post('structures/v1/rechercher/services', {
        'idStructure': 1001, 'parametresRechercherServicesStructure': {'pageResultatDemandee': 9}}).json()
    assert body['listeServices'] == [] and body['parametresRetour']['total'] == 3


# -- failures --------------------------------------------------------------------------------------

@pytest.mark.parametrize('path', ALL_POST_PATHS)
def test_every_path_checks_token_and_account(sandbox, path):
    client = Client(sandbox)
    url = sandbox.api_url + '/cpro/' + path
    no_token = requests.post(url, json={}, headers={'cpro-account': cpro_account(LOGIN, 'x')}, timeout=5)
    assert no_token.status_code == 401
    assert 'error="invalid_token"' in no_token.headers['WWW-Authenticate']
    bad_token = client.post(path, Authorization='Bearer forged')
    assert bad_token.status_code == 401
    assert bad_token.headers['WWW-Authenticate'].startswith('Bearer realm="PISTE",error="invalid_token"')
    wrong = Client(sandbox, password='wrong').post(path)
    assert wrong.status_code == 401
    assert wrong.headers['WWW-Authenticate'] == ACCOUNT_401
    assert wrong.content == b''


def test_expired_password_is_the_same_401_as_a_wrong_one(sandbox):
    answer = Client(sandbox, login=EXPIRED, password='still-right').post('transverses/v1/recuperer/tauxtva')
    assert answer.status_code == 401
    assert answer.headers['WWW-Authenticate'] == ACCOUNT_401


def test_expiry_uses_the_world_today(sandbox, world):
    world['today'] = '2025-05-31'  # the last valid day
    sandbox.set_world(world)
    answer = Client(sandbox, login=EXPIRED, password='still-right').post('transverses/v1/recuperer/tauxtva')
    assert answer.status_code == 200


@pytest.mark.parametrize('header', [None, '', 'not base64!', base64.b64encode(b'no-colon').decode(),
                                    base64.b64encode(b'\xff\xfe:x').decode(),
                                    cpro_account('TECH_1_NOBODY@cpro.fr', 'x')])
def test_malformed_or_unknown_cpro_account_is_401(client, header):
    answer = client.post('transverses/v1/recuperer/tauxtva', **{'cpro-account': header})
    assert answer.status_code == 401
    assert answer.headers['WWW-Authenticate'] == ACCOUNT_401


def test_accounts_live_in_the_environment_of_the_application(sandbox):
    # LOGIN exists in both environments with different passwords.
    assert Client(sandbox, 'app-p', 'secret-p', password='other-prod-password').post(
        'transverses/v1/recuperer/tauxtva').status_code == 200
    assert Client(sandbox, 'app-q', password='other-prod-password').post(
        'transverses/v1/recuperer/tauxtva').status_code == 401
    assert Client(sandbox, 'app-p', 'secret-p').post('transverses/v1/recuperer/tauxtva').status_code == 401


@pytest.mark.parametrize('ctype', [None, 'text/plain', 'application/x-www-form-urlencoded'])
def test_post_without_json_content_type_is_415(client, ctype):
    answer = client.http.post(client.sb.api_url + '/cpro/transverses/v1/recuperer/tauxtva', data=b'{}',
                              headers=client.headers(**{'Content-Type': ctype}), timeout=5)
    assert answer.status_code == 415


def test_plain_application_json_is_fine(client):
    assert client.post('transverses/v1/recuperer/tauxtva', **{'Content-Type': 'application/json'}).status_code == 200


@pytest.mark.parametrize('raw', [b'{not json', b'[1, 2]', b'', b'"text"'])
def test_body_must_be_a_json_object(client, raw):
    answer = client.http.post(client.sb.api_url + '/cpro/transverses/v1/recuperer/tauxtva', data=raw,
                              headers=client.headers(), timeout=5)
    assert answer.status_code == 400
    assert answer.json()['codeRetour'] == 400


@pytest.mark.parametrize('path', ALL_POST_PATHS)
def test_no_raccordement_at_all_is_403_empty_on_every_call(sandbox, path):
    answer = Client(sandbox, login=LONELY, password='lonely').post(path, {'idStructureCPP': 1004})
    assert answer.status_code == 403
    assert answer.content == b''


def test_missing_raccordement_for_one_structure_is_403_only_where_scoped(client):
    assert client.post('transverses/v1/recuperer/tauxtva').status_code == 200
    assert S3 in [s['identifiant'] for s in client.post(
        'transverses/v1/recuperer/structures/actives/destinataire').json()['listeStructures']]
    assert search(client, S3).status_code == 200
    for path, body in (('structures/v1/consulter', {'idStructureCPP': 1003}),
                       ('structures/v1/rechercher/services', {'idStructure': 1003}),
                       ('factures/v1/rechercher/recipiendaire', {'idDestinataire': 1003})):
        answer = client.post(path, body)
        assert answer.status_code == 403, path
        assert answer.content == b''
    assert client.post('factures/v1/rechercher/recipiendaire', {'idDestinataire': 1001}).status_code == 200


def test_forbidden_body_echo_knob_echoes_the_request_with_defaults(sandbox, client):
    sandbox.set_faults(forbidden_body='echo')
    answer = client.post('factures/v1/rechercher/recipiendaire', {'idDestinataire': 1003})
    assert answer.status_code == 403
    assert answer.json() == {'idDestinataire': 1003, 'idUtilisateurCourant': 0}
    lonely = Client(sandbox, login=LONELY, password='lonely').post('transverses/v1/recuperer/structures/actives/destinataire', {})
    assert lonely.status_code == 403 and lonely.json() == {'idUtilisateurCourant': 0}


def test_raccordement_is_per_application(sandbox, world):
    world['raccordements'] = [r for r in world['raccordements'] if r['client_id'] != 'app-p']
    sandbox.set_world(world)
    answer = Client(sandbox, 'app-p', 'secret-p', password='other-prod-password').post(
        'transverses/v1/recuperer/tauxtva')
    assert answer.status_code == 403


def test_unrouted_path_is_403_with_empty_json(client):
    answer = client.post('structures/v1/rechercherStructure')
    assert answer.status_code == 403
    assert answer.content == b'{}'
    assert client.http.get(client.sb.url + '/', timeout=5).status_code == 403


def test_wrong_method_on_a_known_path_is_405(client):
    answer = client.http.get(client.sb.api_url + '/cpro/transverses/v1/recuperer/tauxtva',
                             headers=client.headers(), timeout=5)
    assert answer.status_code == 405
    assert answer.headers['Allow'] == 'POST'


def test_keep_alive_serves_several_requests_on_one_connection(client):
    parts = urlsplit(client.sb.api_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    headers = client.headers()
    for dummy in range(3):
        conn.request('POST', '/cpro/transverses/v1/recuperer/tauxtva', body=b'{}', headers=headers)
        answer = conn.getresponse()
        assert answer.status == 200
        assert json.loads(answer.read())['codeRetour'] == 0
    first_sock = conn.sock
    conn.request('POST', '/cpro/transverses/v1/recuperer/tauxtva', body=b'{}', headers=headers)
    conn.getresponse().read()
    assert conn.sock is first_sock  # never reconnected
    conn.close()


def test_chunked_request_body_is_read(client):
    def chunks():
        yield b'{"idStructureCPP": '
        yield b'1001}'
    answer = client.http.post(client.sb.api_url + '/cpro/structures/v1/consulter', data=chunks(),
                              headers=client.headers(), timeout=5)
    assert answer.status_code == 200
    assert answer.json()['informationGenerales']['idStructureCPP'] == 1001


def test_world_reference_checks_are_enforced():
    from chorus_sandbox import World, WorldError  # pylint: disable=import-outside-toplevel
    base = {'apps': [], 'structures': [], 'accounts': [], 'raccordements': []}
    bad_worlds = [
        ([], 'must be a mapping'),
        (dict(base, extra=1), 'unknown keys extra'),
        (dict(base, apps=[{'client_id': 'a'}]), 'apps[0]: missing client_secret, environment'),
        (dict(base, apps=[{'client_id': 'a', 'client_secret': 'b', 'environment': 'prod'}]), 'apps[0].environment'),
        (dict(base, accounts=[{'login': 'l', 'password': 'p', 'environment': 'qualification',
                               'password_expires_on': '2025-13-01'}]), 'not a YYYY-MM-DD date'),
        (dict(base, accounts=[{'login': 'l', 'password': 'p', 'environment': 'qualification',
                               'password_expires_on': '2025-01-01', 'structures': [S1]}]), 'not in structures'),
        (dict(base, raccordements=[{'client_id': 'x', 'siret': S1}]), 'is not in apps'),
        (dict(base, structures=[{'siret': S1, 'id_structure_cpp': 1, 'designation': 'a'},
                                {'siret': S1, 'id_structure_cpp': 2, 'designation': 'b'}]), 'duplicate'),
        (dict(base, invoices=[{'siret': S1, 'numero': 'x', 'date_depot': '2025-01-01'}]), 'not in structures'),
    ]
    for data, message in bad_worlds:
        with pytest.raises(WorldError, match=message.replace('[', r'\[').replace(']', r'\]')):
            World(data)


def test_world_can_be_replaced_through_the_control_api(sandbox, world):
    world['accounts'][0]['password'] = 'renewed'
    answer = requests.post(sandbox.url + '/_sandbox/world', json=world, timeout=5)
    assert answer.status_code == 200
    assert Client(sandbox).post('transverses/v1/recuperer/tauxtva').status_code == 401
    assert Client(sandbox, password='renewed').post('transverses/v1/recuperer/tauxtva').status_code == 200
    answer = requests.post(sandbox.url + '/_sandbox/world', json={'apps': 'nope'}, timeout=5)
    assert answer.status_code == 400
