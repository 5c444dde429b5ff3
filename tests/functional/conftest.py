# -*- coding: utf-8 -*-
"""Shared helpers for tests that run Ansible (playbooks, roles, modules) and the sandbox.

Run from the development venv: `make functional` (or `.venv/bin/pytest tests/functional`).
"""
import os
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
LINK = os.path.join(REPO, '.tmp', 'link')
SANDBOX_DIR = os.path.join(REPO, 'tests', 'sandbox')

if LINK not in sys.path:
    sys.path.insert(0, LINK)  # import ansible_collections.chorus.corail... in tests
if SANDBOX_DIR not in sys.path:
    sys.path.insert(0, SANDBOX_DIR)


def ansible_env(**extra):
    """Environment for ansible-playbook runs: this checkout as chorus.corail, no colours."""
    if not os.path.exists(os.path.join(LINK, 'ansible_collections', 'chorus', 'corail')):
        subprocess.check_call([os.path.join(REPO, 'tools', 'stage_collection.sh')])
    env = dict(os.environ)
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': LINK,
        'ANSIBLE_COLLECTIONS_SCAN_SYS_PATH': 'false',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_HOST_KEY_CHECKING': 'false',
        'ANSIBLE_RETRY_FILES_ENABLED': 'false',
        'ANSIBLE_LOCALHOST_WARNING': 'false',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false',
        'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        'PATH': os.path.dirname(sys.executable) + os.pathsep + env.get('PATH', ''),
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_ansible(args, cwd=None, env=None, timeout=600, check=False, program='ansible-playbook'):
    """Run an Ansible command line; returns CompletedProcess with text stdout/stderr."""
    exe = os.path.join(os.path.dirname(sys.executable), program)
    proc = subprocess.run([exe] + list(args), cwd=cwd or REPO, env=env or ansible_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError('%s %s failed (%s):\n%s\n%s'
                             % (program, ' '.join(args), proc.returncode, proc.stdout[-6000:], proc.stderr[-4000:]))
    return proc


@pytest.fixture
def ansible_runner():
    return run_ansible
