#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make the golden files of release 0.1.0: what its deploy role wrote for inventory/.

Run once, from a checkout of the commit that released 0.1.0, never with newer code:

    git worktree add --detach /tmp/golden-020 <0.1.0 commit>
    .venv/bin/python tests/golden/0.1.0/make_golden.py --collection /tmp/golden-020

Each host of inventory/ gets a folder under files/: ini-new (a file created from nothing),
ini-crlf (a Windows-1252 ini file with CRLF line endings and foreign sections), xml-bom (a .NET
configuration file, UTF-8 with a byte order mark, CRLF). The seeds (the files before the
collection touched them) are written here byte for byte; files/SOURCE names the commit used.
The files are kept gzipped (reproducibly: no name, no date) so that no tool normalises their
CRLF, Windows-1252 or byte order mark; ``zcat`` shows them.
tests/functional/test_upgrade_golden.py deploys the same inventory over them with today's code.
"""
import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
HOSTS = {'ini-new': 'chorus.ini', 'ini-crlf': 'Corail.ini', 'xml-bom': 'Corail.exe.config'}
# Modes the files have on a server after 0.1.0: 0600 for a file it created, the seed's own for the
# others (0640: the Corail service's group reads it). git does not keep modes: the test sets them.
MODES = {'ini-new': 0o600, 'ini-crlf': 0o640, 'xml-bom': 0o640}

SEEDS = {
    'ini-crlf': (
        u'; Corail - paramètres du poste serveur\r\n'
        u'[Database]\r\n'
        u'ConnectionString = Server=sql01;Database=CORAIL;Password=NotOurs\r\n'
        u'Timeout=30\r\n'
        u'\r\n'
        u'[Editions]\r\n'
        u'; Répertoire des éditions\r\n'
        u'Dossier = D:\\Corail\\Éditions\r\n'
    ).encode('cp1252'),
    'xml-bom': b'\xef\xbb\xbf' + (
        u'<?xml version="1.0" encoding="utf-8"?>\r\n'
        u'<configuration>\r\n'
        u'  <connectionStrings>\r\n'
        u'    <add name="Corail" connectionString="Server=sql01;Database=CORAIL;Password=NotOurs" />\r\n'
        u'  </connectionStrings>\r\n'
        u'  <appSettings>\r\n'
        u'    <!-- Réglages du poste -->\r\n'
        u'    <add key="Corail.Edition.Dossier" value="D:\\Corail\\Éditions" />\r\n'
        u'    <add key="Corail.Journal.Niveau" value="Info" />\r\n'
        u'  </appSettings>\r\n'
        u'  <startup>\r\n'
        u'    <supportedRuntime version="v4.0" sku=".NETFramework,Version=v4.8" />\r\n'
        u'  </startup>\r\n'
        u'</configuration>\r\n'
    ).encode('utf-8'),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--collection', required=True, help='root of a checkout of the 0.1.0 commit')
    parser.add_argument('--out', default=os.path.join(HERE, 'files'))
    args = parser.parse_args()
    collection = os.path.abspath(args.collection)
    commit = subprocess.check_output(['git', '-C', collection, 'rev-parse', 'HEAD'], text=True).strip()
    work = tempfile.mkdtemp(prefix='golden-')
    try:
        link = os.path.join(work, 'collections', 'ansible_collections', 'chorus')
        os.makedirs(link)
        os.symlink(collection, os.path.join(link, 'corail'))
        servers = os.path.join(work, 'servers')
        for host in HOSTS:
            os.makedirs(os.path.join(servers, host))
        for host, seed in SEEDS.items():
            with open(os.path.join(servers, host, HOSTS[host]), 'wb') as handle:
                handle.write(seed)
            os.chmod(os.path.join(servers, host, HOSTS[host]), MODES[host])
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(work, 'collections'),
                   ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='false', ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                   ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='false')
        playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
        subprocess.check_call([playbook, os.path.join(HERE, 'deploy.yml'), '-i', os.path.join(HERE, 'inventory'),
                               '-e', 'golden_dir=%s' % servers], env=env, cwd=work)
        for host, name in HOSTS.items():
            os.makedirs(os.path.join(args.out, host), exist_ok=True)
            source = os.path.join(servers, host, name)
            if os.stat(source).st_mode & 0o777 != MODES[host]:
                raise SystemExit('%s: mode %o, expected %o' % (host, os.stat(source).st_mode & 0o777, MODES[host]))
            with open(source, 'rb') as handle:
                data = handle.read()
            with open(os.path.join(args.out, host, name + '.gz'), 'wb') as handle:
                handle.write(gzip.compress(data, mtime=0))
        with open(os.path.join(args.out, 'SOURCE'), 'w') as handle:
            handle.write('Written by tests/golden/0.1.0/make_golden.py with chorus.corail at commit %s.\n' % commit)
    finally:
        shutil.rmtree(work)


if __name__ == '__main__':
    main()
