# -*- coding: utf-8 -*-
"""The production SIRET rule against python-stdnum's ``stdnum.fr.siret`` (a test-only dependency,
pinned in requirements-dev.txt; never needed on servers), over many generated numbers.

stdnum encodes what INSEE publishes: Luhn on the SIREN and on the SIRET, except La Poste's
establishments (SIREN 356000000, digit sum a multiple of 5) but not its head office 35600000000048.
"""

import random

import pytest

from ansible_collections.chorus.corail.plugins.module_utils import _identifiers as ids

siret = pytest.importorskip('stdnum.fr.siret')

NUMBERS = 24000


def _luhn_complete(rng, prefix, length):
    head = prefix + ''.join(rng.choice('0123456789') for dummy in range(length - 1 - len(prefix)))
    return head + next(d for d in '0123456789' if ids.luhn_valid(head + d))


def generated(seed=13):
    """Random 14-digit strings, SIRETs made valid on purpose, and La Poste's establishments."""
    rng = random.Random(seed)
    for dummy in range(NUMBERS // 3):
        yield ''.join(rng.choice('0123456789') for dummy in range(14))
    for dummy in range(NUMBERS // 3):
        siren = _luhn_complete(rng, '', 9)
        yield _luhn_complete(rng, siren, 14)
    for dummy in range(NUMBERS // 3):
        yield ids.LA_POSTE_SIREN + ''.join(rng.choice('0123456789') for dummy in range(5))
    yield ids.LA_POSTE_HEAD_OFFICE


def test_production_rule_is_stdnums_over_many_numbers():
    disagreements = []
    valid = 0
    for number in generated():
        ours = ids.siret_problem(number, 'production') is None
        valid += ours
        if ours != siret.is_valid(number):
            disagreements.append(number)
    assert not disagreements, disagreements[:10]
    assert NUMBERS // 3 <= valid < NUMBERS  # both sides of the rule were exercised


def test_qualification_accepts_every_14_digit_number_and_warns_where_stdnum_refuses():
    for number in generated(seed=14):
        assert ids.siret_problem(number, 'qualification') is None
        assert ids.siret_checksum_unusual(number) == (not siret.is_valid(number))


@pytest.mark.parametrize('value', ['35600000000048', '00000000002145', '97395107368257', '21640000200012'])
def test_known_identifiers(value):
    assert (ids.siret_problem(value, 'production') is None) == siret.is_valid(value)
