# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SecretMask gives exactly what AnsibleModule's remove_values gives, without its structures x secrets cost."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import random
import string

from hypothesis import given, settings, strategies as st

from ansible.module_utils.common.parameters import remove_values

from ansible_collections.chorus.corail.plugins.module_utils._chorus_api import NO_LOG_PLACEHOLDER, SecretMask

ALPHABET = 'ab*:;{| ' + string.digits


def _unique_lengths(secrets):
    """remove_values breaks ties between secrets of one length by set order: keep one per length."""
    out = {}
    for secret in secrets:
        out.setdefault(len(secret), secret)
    return set(out.values())


@settings(max_examples=300, deadline=None)
@given(secrets=st.lists(st.text(alphabet=ALPHABET, min_size=1, max_size=20), max_size=12),
       texts=st.lists(st.text(alphabet=ALPHABET, max_size=80), max_size=8),
       seed=st.integers(0, 10 ** 6))
def test_same_output_as_remove_values(secrets, texts, seed):
    secrets = _unique_lengths(secrets)
    rng = random.Random(seed)
    # Plant secrets inside, around and as whole values.
    values = list(texts)
    for secret in secrets:
        values.append(secret)
        values.append(rng.choice(texts or ['']) + secret + rng.choice(texts or ['']))
    value = {'structures': [{'detail': v, 'n': i, 'ok': True, 'none': None} for i, v in enumerate(values)],
             'tuple': tuple(values[:3]), 'number': 1234567, 'float': 1.5}
    # JSON is what reaches Ansible (tuples become lists either way).
    assert json.dumps(SecretMask(secrets).apply(value)) == json.dumps(remove_values(value, secrets))


def test_long_secrets_inside_long_texts():
    rng = random.Random(7)
    chars = string.ascii_letters + string.digits + '[{|:;!#%*-_=+.'
    secrets = set(''.join(rng.choice(chars) for dummy in range(rng.randint(8, 40))) for dummy in range(300))
    secrets = _unique_lengths(secrets) | set(rng.sample(sorted(secrets), 50))
    texts = []
    for secret in sorted(secrets):
        texts.append('answer %s quoted %s twice, then %s' % (secret, secret, secret[:-1]))
        texts.append(secret)
    texts.append('nothing here ' * 50)
    masked = SecretMask(secrets).apply({'texts': texts})['texts']
    for original, out in zip(texts, masked):
        if original in secrets:
            assert out == NO_LOG_PLACEHOLDER
        for secret in secrets:
            if secret in original and '*' not in secret:
                assert secret not in out
    assert masked[-1] == texts[-1]


def test_numbers_booleans_keys_and_no_secrets():
    mask = SecretMask(['12345', 'hunter2!'])
    value = {'12345': 12345, 'flag': True, 'none': None, 'n': 7, 'x': 'hunter2!', 'y': 'my hunter2! pass'}
    assert mask.apply(value) == {'12345': NO_LOG_PLACEHOLDER, 'flag': True, 'none': None, 'n': 7,
                                 'x': NO_LOG_PLACEHOLDER, 'y': 'my ******** pass'}
    assert SecretMask([]).apply(value) is value
    assert SecretMask(['', None]).apply(value) is value


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
    assert time.process_time() - started < 5
