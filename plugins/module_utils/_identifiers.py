# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""Offline identifier checks: SIRET, SIREN, environment names and technical-login shapes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.chorus.corail.plugins.module_utils._secrets import refusal_of

ENVIRONMENTS = ('qualification', 'production')

# La Poste's establishments share SIREN 356000000 and do not follow Luhn on the SIRET:
# INSEE's rule is that the sum of the 14 digits is a multiple of 5. Its head office does follow Luhn
# (chorus-pro-api.md section 8; python-stdnum's stdnum.fr.siret encodes the same rule).
LA_POSTE_SIREN = '356000000'
LA_POSTE_HEAD_OFFICE = '35600000000048'

# What a SIRET may carry from a spreadsheet or a form: spaces (also non-breaking) and dots.
_SIRET_SEPARATORS = re.compile(r'[\s.\u00a0\u202f]+')

# Shapes seen in public material (chorus-pro-api.md section 5); anything else is only a warning.
USUAL_LOGIN_SHAPES = (
    re.compile(r'^TECH_\d+@cpp2017\.fr$', re.IGNORECASE),
    re.compile(r'^TECH_1_[A-Za-z0-9._-]+@cpro\.fr$', re.IGNORECASE),
    re.compile(r'^DEV_[A-Za-z0-9._-]+@cpp2017\.fr$', re.IGNORECASE),
)
EMAIL_LIKE = re.compile(r'^[^@\s:]+@[^@\s:]+\.[A-Za-z]{2,}$')


class InvalidIdentifier(ValueError):
    """An offline check failed. ``str()`` names the field, the structure and the reason."""

    def __init__(self, field, reason, siret=None):
        self.field = field
        self.reason = reason
        self.siret = siret
        where = ' of structure %s' % siret if siret else ''
        super(InvalidIdentifier, self).__init__('%s%s: %s' % (field, where, reason))


def luhn_valid(digits):
    """Return True when the string of digits passes the Luhn checksum."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _digits_problem(value, length, name):
    if not isinstance(value, str):
        return 'must be a string of %d digits, got %s' % (length, type(value).__name__)
    if not value:
        return 'is empty (%s has %d digits)' % (name, length)
    if not value.isdigit() or not value.isascii():
        return 'must contain only digits 0-9 (spaces and separators are not allowed)'
    if len(value) != length:
        return 'must have %d digits, got %d' % (length, len(value))
    return None


def siren_problem(value):
    """Return why ``value`` is not a valid SIREN, or None when it is."""
    problem = _digits_problem(value, 9, 'SIREN')
    if problem:
        return problem
    if not luhn_valid(value):
        return 'checksum (Luhn) is wrong'
    return None


def normalise_siret(value):
    """The one SIRET normalisation (inventory, register, check, deploy): separators removed from text.

    A YAML integer is turned into text only when it has 14 digits: YAML reads ``00000000002145`` as
    octal 1125 and drops leading zeros silently, so padding a shorter integer would invent an identifier
    (``siret_problem`` then says to quote it). Anything else is returned as given, for the checks to name.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if 10 ** 13 <= value < 10 ** 14 else value
    if isinstance(value, str):
        return _SIRET_SEPARATORS.sub('', value)
    return value


def _checksum_problem(value):
    """The production rule on 14 digits: Luhn on SIREN and SIRET, La Poste's rule for its establishments."""
    if value[:9] == LA_POSTE_SIREN and value != LA_POSTE_HEAD_OFFICE:
        if sum(int(c) for c in value) % 5 != 0:
            return 'checksum is wrong (La Poste rule: the digit sum must be a multiple of 5)'
        return None
    if not luhn_valid(value[:9]):
        return 'SIREN part %s has a wrong checksum (Luhn)' % value[:9]
    if not luhn_valid(value):
        return 'checksum (Luhn) is wrong'
    return None


def siret_problem(value, environment=None):
    """Return why ``value`` is not a valid SIRET in ``environment``, or None when it is.

    In qualification, 14 digits are enough: real qualification identifiers do not satisfy Luhn
    (chorus-pro-api.md section 8); ``siret_checksum_unusual`` tells when to warn. In production (and
    when the environment is unknown) the checksum is a hard check.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if 10 ** 13 <= value < 10 ** 14:
            value = str(value)
        else:
            return ('is a YAML integer of %d digits: quote it ("00000000002145"); YAML drops leading zeros and '
                    'reads a number starting with 0 as octal, so the identifier cannot be trusted' % len(str(abs(value))))
    problem = _digits_problem(value, 14, 'SIRET')
    if problem:
        return problem
    if environment == 'qualification':
        return None
    return _checksum_problem(value)


def siret_checksum_unusual(value):
    """True for a 14-digit SIRET that fails the production checksum (warn in qualification)."""
    return isinstance(value, str) and _digits_problem(value, 14, 'SIRET') is None and _checksum_problem(value) is not None


_SIRET_LIST_SEPARATORS = re.compile(r'[,;\n]+')


def sirets_of_text(text):
    """The SIRETs typed in ``text``, as 14-digit strings where the digits allow it.

    People type a SIRET as the INSEE prints it, in groups ("216 400 002 00012", "216.400.002.00012"),
    and several SIRETs separated by commas, semicolons, new lines or spaces. Groups of digits are
    joined until they make 14 digits; what cannot make a SIRET is returned as typed, so that the
    offline checks name it.
    """
    found = []
    for chunk in _SIRET_LIST_SEPARATORS.split(text or ''):
        current = ''
        for token in chunk.split():
            digits = token.replace('.', '')
            if not digits.isdigit():
                if current:
                    found.append(current)
                found.append(token)
                current = ''
                continue
            if current and len(current) + len(digits) > 14:
                found.append(current)
                current = ''
            current += digits
            if len(current) >= 14:
                found.append(current)
                current = ''
        if current:
            found.append(current)
    return found


def siret_valid(value):
    return siret_problem(value) is None


def siren_valid(value):
    return siren_problem(value) is None


def siren_of(siret):
    """Return the SIREN (first nine digits) of a valid SIRET; raise InvalidIdentifier otherwise."""
    siret = normalise_siret(siret)
    check_siret(siret)
    return siret[:9]


def check_siret(siret, field='siret', environment=None):
    problem = siret_problem(siret, environment)
    if problem:
        shown = siret if isinstance(siret, str) and len(siret) <= 40 else None
        raise InvalidIdentifier(field, problem, siret=shown)
    return siret


def check_environment(value, field='environment', siret=None):
    if value not in ENVIRONMENTS:
        raise InvalidIdentifier(field, 'must be one of %s, got %r' % (', '.join(ENVIRONMENTS), value), siret)
    return value


def login_problem(login):
    """Return why ``login`` cannot be a Chorus Pro login at all, or None."""
    if not isinstance(login, str):
        return 'must be a string, got %s' % type(login).__name__
    if not login.strip():
        return 'is empty'
    if login != login.strip():
        return 'has leading or trailing white space'
    if ':' in login:
        return 'contains ":", which the cpro-account header uses as separator'
    if any(ord(c) < 32 or ord(c) == 127 for c in login):
        return 'contains control characters'
    if len(login) > 254:
        return 'is longer than 254 characters'
    if not EMAIL_LIKE.match(login):
        return 'is not an e-mail-like login (TECH_...@cpp2017.fr or TECH_1_...@cpro.fr)'
    return None


def login_shape_usual(login):
    """True for the login shapes seen in public material; False means warn (login_shape_unusual)."""
    return any(shape.match(login) for shape in USUAL_LOGIN_SHAPES)


def password_problem(password):
    """Return why ``password`` cannot be a technical password, or None. Never quotes the value."""
    if not isinstance(password, str):
        return 'must be a string, got %s' % type(password).__name__
    if refusal_of(password):  # chorus.corail.literal_secrets refused it (a template in disguise)
        return refusal_of(password)
    if not password.strip():
        return 'is empty or only white space'
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        return 'contains control characters (newline, tab...)'
    if len(password) > 1024:
        return 'is longer than 1024 characters'
    return None
