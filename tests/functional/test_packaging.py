# -*- coding: utf-8 -*-
"""The collection as users get it: every plugin documented, a clean Galaxy artifact that installs."""
import glob
import json
import os
import tarfile

import pytest

from conftest import REPO, ansible_env, run_ansible
from fixtures import running_sandbox
from make_world import make_world, write_world

PLUGIN_DIRS = {'module': 'modules', 'filter': 'filter', 'inventory': 'inventory'}


def _plugins(kind):
    folder = os.path.join(REPO, 'plugins', PLUGIN_DIRS[kind])
    if kind == 'filter':
        return sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(folder, '*.yml')))
    return sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(folder, '*.py')) if not p.endswith('__init__.py'))


ALL_PLUGINS = [(kind, name) for kind in PLUGIN_DIRS for name in _plugins(kind)]


def test_ansible_doc_lists_every_module():
    proc = run_ansible(['-l', 'chorus.corail', '--json'], program='ansible-doc', check=True)
    listed = set(json.loads(proc.stdout))
    assert {'chorus.corail.' + name for name in _plugins('module')} <= listed
    assert listed, 'no module listed'


@pytest.mark.parametrize('kind, name', ALL_PLUGINS)
def test_every_plugin_renders_with_examples_and_return(kind, name):
    fqcn = 'chorus.corail.' + name
    proc = run_ansible(['-t', kind, '--json', fqcn], program='ansible-doc', check=True)
    doc = json.loads(proc.stdout)[fqcn]
    assert doc['doc']['short_description'], fqcn
    assert doc['doc'].get('author'), fqcn
    assert doc.get('examples') and len(doc['examples'].strip()) > 40, '%s has no real EXAMPLES' % fqcn
    if kind != 'inventory':  # inventory plugins have no RETURN by Ansible's convention
        assert doc.get('return'), '%s has no RETURN' % fqcn
    text = run_ansible(['-t', kind, fqcn], program='ansible-doc', check=True).stdout
    assert 'EXAMPLES' in text


def test_galaxy_artifact_is_clean_and_installs(tmp_path):
    out = tmp_path / 'dist'
    run_ansible(['collection', 'build', '--output-path', str(out), REPO], program='ansible-galaxy', check=True)
    tarball = glob.glob(str(out / 'chorus-corail-*.tar.gz'))
    assert len(tarball) == 1
    with tarfile.open(tarball[0]) as tar:
        names = tar.getnames()
    top_forbidden = ('.venv', '.tmp', '.git', '.ci', 'tools', 'demo', 'benchmarks', 'Makefile', 'requirements-dev.txt')
    anywhere_forbidden = ('__pycache__', '.pyc', 'tests/output', 'tests/functional', '.pytest_cache', '.hypothesis')
    leaked = [n for n in names if n.split('/')[0] in top_forbidden or any(f in n for f in anywhere_forbidden)]
    assert not leaked, leaked
    for required in ('MANIFEST.json', 'FILES.json', 'README.md', 'LICENSE', 'meta/runtime.yml', 'requirements.txt'):
        assert required in names, required
    assert any(n.startswith('plugins/modules/') for n in names)
    assert any(n.startswith('roles/') for n in names)
    assert any(n.startswith('playbooks/') for n in names)
    dest = tmp_path / 'collections'
    # Only the fresh path: the checkout must not be what Ansible finds.
    fresh = ansible_env(ANSIBLE_COLLECTIONS_PATH=str(dest))
    run_ansible(['collection', 'install', '-p', str(dest), tarball[0]], program='ansible-galaxy', env=fresh, check=True)
    installed = dest / 'ansible_collections' / 'chorus' / 'corail'
    assert (installed / 'MANIFEST.json').is_file()
    manifest = json.loads((installed / 'MANIFEST.json').read_text())
    assert manifest['collection_info']['version'] == '0.1.0'
    assert manifest['collection_info']['license'] == ['GPL-3.0-or-later']

    # The installed copy runs the check playbook against the sandbox.
    generated = make_world(12, hosts=2, seed=7)
    with running_sandbox(generated['world']) as sandbox:
        generated = make_world(12, hosts=2, seed=7, url=sandbox.url)
        out = write_world(generated, str(tmp_path / 'world'))
        reports = tmp_path / 'reports'
        proc = run_ansible(['chorus.corail.check', '-i', os.path.join(out, 'inventory', 'hosts.yml'), '-vvv',
                            '-e', 'chorus_check_report_dir=%s' % reports], cwd=str(tmp_path), env=fresh, check=True)
        assert str(installed) in proc.stdout  # the role and modules came from the installed artifact
        assert REPO + '/plugins' not in proc.stdout
        report = json.loads((reports / 'latest' / 'report.json').read_text())
        assert len(report['structures']) == 12
        assert {row['siret']: row['status'] for row in report['structures']} == generated['expected']


def test_execution_environment_renders_a_build_context(tmp_path):
    import subprocess
    import sys
    builder = os.path.join(os.path.dirname(sys.executable), 'ansible-builder')
    ctx = tmp_path / 'context'
    proc = subprocess.run([builder, 'create', '-f', os.path.join(REPO, 'execution-environment.yml'), '--context', str(ctx)],
                          cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    assert proc.returncode == 0, proc.stdout
    containerfile = (ctx / 'Dockerfile').read_text() if (ctx / 'Dockerfile').exists() else (ctx / 'Containerfile').read_text()
    assert 'ansible-core==2.19.14' in containerfile
    assert 'chorus.corail' in (ctx / '_build' / 'requirements.yml').read_text()
    assert 'requests' in (ctx / '_build' / 'requirements.txt').read_text()


def test_changelog_fragments_lint():
    import subprocess
    import sys
    tool = os.path.join(os.path.dirname(sys.executable), 'antsibull-changelog')
    proc = subprocess.run([tool, 'lint'], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout
