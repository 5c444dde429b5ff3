# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PISTE OAuth: both client authentication styles, standard errors, token lifetime."""

import base64
import time
from urllib.parse import quote_plus

import requests

from sandbox_testlib import Client


def _basic(client_id, secret):
    return 'Basic ' + base64.b64encode(('%s:%s' % (client_id, secret)).encode()).decode()


def test_form_fields_give_a_bearer_token(sandbox):
    answer = requests.post(sandbox.oauth_url, data={'grant_type': 'client_credentials', 'client_id': 'app-q',
                                                    'client_secret': 'secret-q+/=', 'scope': 'openid'}, timeout=5)
    assert answer.status_code == 200
    body = answer.json()
    assert body['token_type'] == 'Bearer'
    assert body['expires_in'] == 3600
    assert body['scope'] == 'openid'
    assert len(body['access_token']) > 20
    assert answer.headers['Cache-Control'] == 'no-store'
    assert answer.headers['Content-Type'].startswith('application/json')


def test_http_basic_gives_a_token_raw_or_form_encoded(sandbox):
    for secret in ('secret-q+/=', quote_plus('secret-q+/=')):
        answer = requests.post(sandbox.oauth_url, data={'grant_type': 'client_credentials'},
                               headers={'Authorization': _basic('app-q', secret)}, timeout=5)
        assert answer.status_code == 200, secret
        assert answer.json()['scope'] == 'openid'  # scope optional: defaults to openid


def test_basic_with_matching_client_id_in_body_is_accepted(sandbox):
    answer = requests.post(sandbox.oauth_url, data={'grant_type': 'client_credentials', 'client_id': 'app-q'},
                           auth=('app-q', 'secret-q+/='), timeout=5)
    assert answer.status_code == 200


def test_basic_and_body_naming_different_clients_is_invalid_request(sandbox):
    answer = requests.post(sandbox.oauth_url, data={'grant_type': 'client_credentials', 'client_id': 'app-p'},
                           auth=('app-q', 'secret-q+/='), timeout=5)
    assert answer.status_code == 400
    assert answer.json()['error'] == 'invalid_request'


def test_requested_scope_is_echoed(sandbox):
    answer = Client(sandbox).token_response(scope='openid resource.READ')
    assert answer.json()['scope'] == 'openid resource.READ'


def test_wrong_secret_is_invalid_client_401_both_styles(sandbox):
    answer = Client(sandbox, secret='nope').token_response()
    assert answer.status_code == 401
    assert answer.json() == {'error': 'invalid_client', 'error_description': 'Client authentication failed'}
    assert answer.headers['WWW-Authenticate'].startswith('Bearer')
    answer = requests.post(sandbox.oauth_url, data={'grant_type': 'client_credentials'},
                           auth=('app-q', 'nope'), timeout=5)
    assert answer.status_code == 401
    assert answer.json()['error'] == 'invalid_client'
    assert answer.headers['WWW-Authenticate'] == 'Basic realm="PISTE"'


def test_unknown_client_and_missing_authentication(sandbox):
    assert Client(sandbox, client_id='ghost').token_response().status_code == 401
    answer = requests.post(sandbox.oauth_url, data={'grant_type': 'client_credentials'}, timeout=5)
    assert answer.status_code == 401
    assert answer.json()['error'] == 'invalid_client'


def test_grant_type_errors(sandbox):
    answer = Client(sandbox).token_response(grant_type=None)
    assert answer.status_code == 400
    assert answer.json()['error'] == 'invalid_request'
    answer = Client(sandbox).token_response(grant_type='password')
    assert answer.status_code == 400
    assert answer.json()['error'] == 'unsupported_grant_type'


def test_token_request_must_be_a_form_post(sandbox):
    answer = requests.post(sandbox.oauth_url, json={'grant_type': 'client_credentials', 'client_id': 'app-q',
                                                    'client_secret': 'secret-q+/='}, timeout=5)
    assert answer.status_code == 400
    assert answer.json()['error'] == 'invalid_request'
    answer = requests.post(sandbox.oauth_url, data='grant_type=client_credentials&grant_type=x&client_id=app-q',
                           headers={'Content-Type': 'application/x-www-form-urlencoded'}, timeout=5)
    assert answer.status_code == 400
    answer = requests.get(sandbox.oauth_url, timeout=5)
    assert answer.status_code == 405
    assert answer.headers['Allow'] == 'POST'


def test_token_expires_and_the_api_says_so(sandbox):
    sandbox.set_faults(token_ttl_s=0.3)
    client = Client(sandbox)
    first = client.token_response().json()
    assert first['expires_in'] == 1  # a positive integer even for sub-second test lifetimes
    client._token = first['access_token']  # pylint: disable=protected-access
    assert client.post('transverses/v1/recuperer/tauxtva').status_code == 200
    time.sleep(0.4)
    answer = client.post('transverses/v1/recuperer/tauxtva')
    assert answer.status_code == 401
    assert answer.headers['WWW-Authenticate'] == (
        'Bearer realm="PISTE",error="invalid_token",error_description="access token expired"')
    client._token = None  # pylint: disable=protected-access
    assert client.post('transverses/v1/recuperer/tauxtva').status_code == 200


def test_each_token_request_is_a_new_token(sandbox):
    client = Client(sandbox)
    one, two = client.token_response().json(), client.token_response().json()
    assert one['access_token'] != two['access_token']
    assert sandbox.stats()['calls']['/api/oauth/token'] == {'app-q': 2}


def test_token_calls_are_counted_by_the_client_id_that_asked(sandbox):
    Client(sandbox, secret='wrong').token_response()
    requests.post(sandbox.oauth_url, data={'grant_type': 'client_credentials'}, auth=('app-p', 'secret-p'),
                  timeout=5)
    requests.post(sandbox.oauth_url, data={'grant_type': 'client_credentials'}, timeout=5)
    assert sandbox.stats()['calls']['/api/oauth/token'] == {'app-q': 1, 'app-p': 1, '-': 1}
