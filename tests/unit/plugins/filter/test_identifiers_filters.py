# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.chorus.corail.plugins.filter.identifiers import FilterModule

FILTERS = FilterModule().filters()


def test_filters_are_exposed():
    assert set(FILTERS) >= {'siret_valid', 'siren_valid', 'siret_problem', 'siren'}


def test_siret_valid_never_raises():
    assert FILTERS['siret_valid']('21750001600019') is True
    assert FILTERS['siret_valid']('21750001600018') is False
    assert FILTERS['siret_valid'](None) is False


def test_siret_problem():
    assert FILTERS['siret_problem']('21750001600019') is None
    assert 'checksum' in FILTERS['siret_problem']('21750001600018')


def test_siren():
    assert FILTERS['siren']('21750001600019') == '217500016'
    with pytest.raises(AnsibleFilterError, match='siret of structure 21750001600018'):
        FILTERS['siren']('21750001600018')


def test_siret_list_accepts_what_people_type():
    siret_list = FILTERS['siret_list']
    assert siret_list('216 400 002 00012') == ['21640000200012']
    assert siret_list('216.400.002.00012') == ['21640000200012']
    assert siret_list('21640000200012 21640000200020') == ['21640000200012', '21640000200020']
    assert siret_list('216 400 002 00012 216 400 002 00020') == ['21640000200012', '21640000200020']
    assert siret_list(' 21640000200012,21640000200020 ; 216 400 002 00038\n') == [
        '21640000200012', '21640000200020', '21640000200038']
    # What cannot make a SIRET is kept as typed, for the offline checks to name.
    assert siret_list('2164000020001, abc 21640000200012') == ['2164000020001', 'abc', '21640000200012']
    assert siret_list([21640000200012, '216 400 002 00020']) == ['21640000200012', '21640000200020']
    assert siret_list('') == [] and siret_list(None) == []
