# -*- coding: utf-8 -*-
"""The chorus action group holds exactly the modules sharing the connection options.

A module_defaults for group/chorus.corail.chorus sets connection options: a member without them
would fail with "Unsupported parameters" (tests/integration/targets/corail_config/tasks/action_group.yml
runs both kinds under one group).
"""
import ast
import glob
import os

import yaml

from conftest import REPO


def _documentation(path):
    with open(path) as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', None) == 'DOCUMENTATION':
            return yaml.safe_load(node.value.value)
    raise AssertionError('%s has no DOCUMENTATION' % path)


def test_the_group_holds_exactly_the_modules_with_the_connection_options():
    with open(os.path.join(REPO, 'meta', 'runtime.yml')) as handle:
        group = set(yaml.safe_load(handle)['action_groups']['chorus'])
    connected, documented = set(), set()
    for path in glob.glob(os.path.join(REPO, 'plugins', 'modules', '*.py')):
        name = os.path.splitext(os.path.basename(path))[0]
        fragments = _documentation(path).get('extends_documentation_fragment') or []
        if 'chorus.corail.connection' in fragments:
            connected.add(name)
        if 'chorus.corail.attributes.ACTION_GROUP' in fragments:
            documented.add(name)
    assert connected and group == connected
    assert documented == group  # the docs' action_group attribute says the same
