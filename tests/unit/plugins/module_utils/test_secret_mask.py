# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SecretMask: every encoded form masked, inventory text never rewritten, short secrets refused, linear cost."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import html
import json
import random
import string

from urllib.parse import quote, quote_plus

from ansible_collections.chorus.corail.plugins.module_utils._secrets import (
    MIN_SECRET_LENGTH,
    NO_LOG_PLACEHOLDER,
    SecretMask,
    secret_problem,
)

SECRET = 'cs+/Ab1{#x#}Zz{{ y }}&<"\'%'


def test_every_encoded_form_is_masked():
    mask = SecretMask([SECRET])
    forms = [SECRET, quote(SECRET, safe=''), quote_plus(SECRET), json.dumps(SECRET)[1:-1], html.escape(SECRET),
             base64.b64encode(SECRET.encode()).decode()]
    for form in forms:
        out = mask.text('server said client_secret=%s; end' % form)
        assert form not in out and out == 'server said client_secret=********; end', out


def test_base64_of_login_and_password_is_masked():
    pair = base64.b64encode(('TECH_1_A@cpro.fr:' + SECRET).encode()).decode()
    assert pair not in SecretMask([SECRET], pairs=[('TECH_1_A@cpro.fr', SECRET)]).text('cpro-account: ' + pair)


def test_inventory_text_is_never_rewritten():
    secret = 'agglomération'
    name = "Communauté d'agglomération Pau"
    login = 'TECH_1_agglomération@cpro.fr'
    mask = SecretMask([secret], keep=[name, login])
    value = {'name': name, 'account': login, 'detail': 'account %s rejected for %s; echo %s' % (login, name, secret)}
    out = mask.apply(value)
    assert out['name'] == name and out['account'] == login
    assert out['detail'] == 'account %s rejected for %s; echo ********' % (login, name)


def test_short_secrets_are_refused_not_masked():
    assert secret_problem('x') and secret_problem('Commune') and secret_problem('_')
    assert 'shorter than %d' % MIN_SECRET_LENGTH in secret_problem('Commune')
    assert 'Commune' not in secret_problem('Commune')
    assert secret_problem('Ab1{#x#}Zz{{ y }}') is None
    assert SecretMask(['x', '_', 'Commune']).apply({'s': 'invalid_input Commune'}) == {'s': 'invalid_input Commune'}


def test_numbers_booleans_keys_and_whole_values():
    mask = SecretMask(['12345678', 'hunter2!!'])
    value = {'12345678': 12345678, 'flag': True, 'none': None, 'n': 7, 'x': 'hunter2!!', 'y': 'my hunter2!! pass'}
    assert mask.apply(value) == {'12345678': NO_LOG_PLACEHOLDER, 'flag': True, 'none': None, 'n': 7,
                                 'x': NO_LOG_PLACEHOLDER, 'y': 'my ******** pass'}
    assert SecretMask([]).apply(value) is value


def test_linear_in_secrets():
    """Thousands of secrets and structures: one pass, not one pass per secret (a few seconds at most)."""
    import time  # pylint: disable=import-outside-toplevel
    rng = random.Random(3)
    secrets = set(''.join(rng.choice(string.ascii_letters) for dummy in range(16)) for dummy in range(2000))
    result = [{'detail': 'account TECH_%d accepted, structure attached, invoice search answered codeRetour 0; '
                         'password expires on 2026-01-01 (200 days left)' % i,
               'remediation': 'Rien à faire pour la structure %014d.' % i} for i in range(5000)]
    started = time.process_time()
    SecretMask(secrets).apply(result)
    assert time.process_time() - started < 10
