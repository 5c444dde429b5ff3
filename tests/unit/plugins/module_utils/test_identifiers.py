# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.chorus.corail.plugins.module_utils import _identifiers as ids

# Public SIRETs of collectivités (annuaire des entreprises / INSEE Sirene).
REAL_SIRETS = [
    '21750001600019',  # Ville de Paris
    '21690123100011',  # Ville de Lyon
    '21130055300016',  # Ville de Marseille
    '21310555400017',  # Ville de Toulouse
    '21330063500017',  # Ville de Bordeaux
    '21670482500019',  # Ville de Strasbourg
]


@pytest.mark.parametrize('siret', REAL_SIRETS)
def test_real_collectivite_sirets_are_valid(siret):
    assert ids.siret_problem(siret) is None
    assert ids.siret_valid(siret)
    assert ids.siren_valid(siret[:9])
    assert ids.siren_of(siret) == siret[:9]


@pytest.mark.parametrize('siret, words', [
    ('21750001600018', 'checksum'),          # last digit changed
    ('21750001600091', 'checksum'),          # two digits swapped
    ('217500016000190', '14 digits'),
    ('2175000160001', '14 digits'),
    ('2175 0001600019', 'only digits'),
    ('2175000160001A', 'only digits'),
    ('２１７５０００１６００１９', 'only digits'),  # full-width digits are not ASCII digits
    ('', 'empty'),
    ('22750001800012', 'SIREN part'),         # SIREN checksum wrong, whole number right
    ('35600000000049', 'La Poste'),
])
def test_invalid_sirets_say_why(siret, words):
    problem = ids.siret_problem(siret)
    assert problem is not None and words in problem
    assert not ids.siret_valid(siret)


@pytest.mark.parametrize('value', [None, 21750001600019.0, ['21750001600019'], {'siret': 1}, True])
def test_non_strings_are_refused_with_their_type(value):
    problem = ids.siret_problem(value)
    assert 'must be a string' in problem
    assert type(value).__name__ in problem


def test_la_poste_exception():
    # 35600000052135: digit sum 30, not Luhn-valid as a whole, valid by INSEE's La Poste rule.
    assert not ids.luhn_valid('35600000052135')
    assert ids.siret_valid('35600000052135')
    assert not ids.siret_valid('35600000052136')


def test_la_poste_head_office_follows_luhn():
    assert ids.siret_problem('35600000000048') is None
    assert ids.siret_problem('35600000000048', 'production') is None
    assert not ids.siret_checksum_unusual('35600000000048')


@pytest.mark.parametrize('siret', ['00000000002145', '97395107368257', '21750001600018'])
def test_qualification_accepts_identifiers_that_fail_luhn_with_a_warning(siret):
    # Real qualification identifiers (chorus-pro-api.md section 8) do not satisfy Luhn.
    assert ids.siret_problem(siret, 'qualification') is None
    assert ids.siret_checksum_unusual(siret)
    assert 'checksum' in ids.siret_problem(siret, 'production')
    assert 'checksum' in ids.siret_problem(siret)  # unknown environment: the production rule


@pytest.mark.parametrize('siret', ['2175000160001', '2175000160001A', ''])
def test_qualification_still_needs_14_digits(siret):
    assert ids.siret_problem(siret, 'qualification') is not None


@pytest.mark.parametrize('value, expected', [
    ('217 500 016 00019', '21750001600019'), ('217.500.016.00019', '21750001600019'),
    ('21750001600019\u00a0', '21750001600019'), ('\u202f217500016\u202f00019', '21750001600019'),
    (21750001600019, '21750001600019'), (1125, 1125), (2175000160001, 2175000160001), (None, None), (True, True),
])
def test_one_normalisation(value, expected):
    assert ids.normalise_siret(value) == expected


@pytest.mark.parametrize('value', [1125, 2145, 2175000160001, 217500016000190])
def test_yaml_integers_without_14_digits_are_refused_with_quote_it(value):
    # YAML reads 00000000002145 as octal 1125: padding would invent 00000000001125.
    for environment in (None, 'qualification', 'production'):
        problem = ids.siret_problem(value, environment)
        assert 'YAML integer' in problem and 'quote it' in problem


def test_a_14_digit_yaml_integer_is_the_same_siret():
    assert ids.siret_problem(21750001600019) is None


def test_siren_of_invalid_siret_names_field_and_structure():
    with pytest.raises(ids.InvalidIdentifier) as err:
        ids.siren_of('21750001600018')
    assert str(err.value).startswith('siret of structure 21750001600018: ')
    assert err.value.field == 'siret'


def test_luhn():
    assert ids.luhn_valid('79927398713')
    assert not ids.luhn_valid('79927398710')


@pytest.mark.parametrize('login', [
    'TECH_053189130700021@cpp2017.fr',
    'TECH_000000000415049@cpp2017.fr',
    'TECH_1_abc123@cpro.fr',
    'DEV_DESTTAA012@cpp2017.fr',
])
def test_usual_login_shapes(login):
    assert ids.login_problem(login) is None
    assert ids.login_shape_usual(login)


@pytest.mark.parametrize('login', ['gestionnaire@mairie.fr', 'TECH_12@example.org'])
def test_unusual_but_acceptable_logins(login):
    assert ids.login_problem(login) is None
    assert not ids.login_shape_usual(login)


@pytest.mark.parametrize('login, words', [
    ('', 'empty'),
    ('   ', 'empty'),
    (' TECH_1@cpp2017.fr', 'white space'),
    ('TECH:1@cpp2017.fr', '":"'),
    ('TECH_1@cpp2017.fr\nX', 'control'),
    ('not-an-email', 'e-mail-like'),
    (42, 'must be a string'),
])
def test_impossible_logins(login, words):
    assert words in ids.login_problem(login)


@pytest.mark.parametrize('password, words', [
    ('', 'empty'),
    ('  \t', 'empty'),
    ('abc\ndef', 'control'),
    (None, 'must be a string'),
    ('x' * 2000, 'longer'),
])
def test_impossible_passwords_never_quote_the_value(password, words):
    problem = ids.password_problem(password)
    assert words in problem
    if isinstance(password, str) and password.strip():
        assert password not in problem


def test_password_with_colon_and_punctuation_is_fine():
    assert ids.password_problem('-shvun)en7jks0P:[{|;') is None


def test_environment():
    assert ids.check_environment('production') == 'production'
    with pytest.raises(ids.InvalidIdentifier) as err:
        ids.check_environment('prod', siret='21750001600019')
    assert 'environment of structure 21750001600019' in str(err.value)
    assert 'qualification, production' in str(err.value)
