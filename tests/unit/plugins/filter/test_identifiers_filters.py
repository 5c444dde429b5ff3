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
