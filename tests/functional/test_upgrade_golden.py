# -*- coding: utf-8 -*-
"""Upgrade safety: files deployed by release 0.1.0 are left byte for byte by today's code.

tests/golden/0.1.0/files/ was written by the 0.1.0 code (make_golden.py, from a worktree of the
commit that released it) for tests/golden/0.1.0/inventory/. Deploying the same inventory again
must change nothing: changed=0, no backup, no handler (no restart of a Corail server).
"""
import gzip
import os
import re
import sys

from conftest import REPO, run_ansible

GOLDEN = os.path.join(REPO, 'tests', 'golden', '0.1.0')
sys.path.insert(0, GOLDEN)
from make_golden import HOSTS, MODES  # noqa: E402  pylint: disable=wrong-import-position


def golden(host):
    with gzip.open(os.path.join(GOLDEN, 'files', host, HOSTS[host] + '.gz'), 'rb') as handle:
        return handle.read()


def _lay_out(servers):
    for host, name in HOSTS.items():
        os.makedirs(os.path.join(servers, host))
        target = os.path.join(servers, host, name)
        with open(target, 'wb') as handle:
            handle.write(golden(host))
        os.chmod(target, MODES[host])


def test_files_deployed_by_0_1_0_are_left_byte_for_byte(tmp_path):
    servers = str(tmp_path / 'servers')
    _lay_out(servers)
    proc = run_ansible([os.path.join(GOLDEN, 'deploy.yml'), '-i', os.path.join(GOLDEN, 'inventory'),
                        '-e', 'golden_dir=%s' % servers], cwd=str(tmp_path), check=True)
    for host, name in HOSTS.items():
        recap = re.search(r'^%s\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0' % re.escape(host), proc.stdout, re.M)
        assert recap, proc.stdout[-3000:]
        assert recap.group(1) == '0', '%s changed:\n%s' % (host, proc.stdout[-3000:])
        with open(os.path.join(servers, host, name), 'rb') as handle:
            assert handle.read() == golden(host), host
        assert os.listdir(os.path.join(servers, host)) == [name], 'a backup or temporary file was left'
        assert os.stat(os.path.join(servers, host, name)).st_mode & 0o777 == MODES[host]
        assert not os.path.exists(os.path.join(servers, '%s.reloaded' % host)), 'the handler ran'
    assert 'RUNNING HANDLER' not in proc.stdout


def test_golden_files_keep_the_byte_forms_they_were_made_for():
    """Guards the fixtures themselves: CRLF and Windows-1252, a UTF-8 byte order mark."""
    crlf = golden('ini-crlf')
    assert b'\r\n' in crlf and b'\n' not in crlf.replace(b'\r\n', b'') and u'Métropole'.encode('cp1252') in crlf
    assert golden('xml-bom').startswith(b'\xef\xbb\xbf<?xml')
    assert b'\r' not in golden('ini-new')
