# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the sandbox's own tests (helpers live in sandbox_testlib.py)."""

import copy
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
for path in (HERE, os.path.dirname(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

from fixtures import running_sandbox  # noqa: E402  pylint: disable=wrong-import-position
from sandbox_testlib import WORLD, Client  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def world():
    return copy.deepcopy(WORLD)


@pytest.fixture
def sandbox(world):
    with running_sandbox(world) as sb:
        yield sb


@pytest.fixture
def client(sandbox):
    return Client(sandbox)
