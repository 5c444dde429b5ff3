# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter plugins run in every Ansible worker (one per host and task): they must not import requests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

PROBE = '''
import json, sys
import ansible_collections.chorus.corail.plugins.filter.structures as structures
problems = structures.offline_problems([{"siret": "21640122400011", "account": "TECH_1_X@cpro.fr"}], {}, {})
before = "requests" in sys.modules
from ansible_collections.chorus.corail.plugins.module_utils import _chorus_api as api
ok, error = api.import_requests()
print(json.dumps({"before": before, "after": "requests" in sys.modules, "ok": ok, "error": error,
                  "problems": len(problems)}))
'''


def test_offline_checks_do_not_import_requests():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run([sys.executable, '-c', PROBE], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env, check=False, universal_newlines=True)
    assert proc.returncode == 0, proc.stderr
    probe = json.loads(proc.stdout.strip().splitlines()[-1])
    assert probe == {'before': False, 'after': True, 'ok': True, 'error': None, 'problems': 1}
