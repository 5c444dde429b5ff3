# -*- coding: utf-8 -*-
"""Interrupted writes: corail_config killed (SIGKILL) at many points of its write path.

A child process runs the module's ``main()`` under ``sys.settrace``. From the moment ``write()``
is entered, every executed line of any Python file (the module, tempfile, shutil, Ansible's
``atomic_move`` and ``backup_local``, ``os``...) is counted; a first run counts them all, then one
run per chosen point kills itself with SIGKILL at that line. The points are every line for small
totals, else evenly spaced plus a seeded random sample. After each kill the configuration file must
be exactly the old content or exactly the new one with its mode unchanged; a backup, when one was
made, must equal the old content, mode 0600; a left-over temporary file must be no more
readable than the file (the points are reproducible: fixed seed).
"""

import base64
import hashlib
import json
import os
import random
import subprocess
import sys
import textwrap

import pytest

from reliability_helpers import LINK, record, run_module

from ansible_collections.chorus.corail.plugins.modules import corail_config

SEED = 4242
S1, S2 = '21640000200012', '21640001000015'
APP = dict(name='corail_q', environment='qualification', client_id='cid-q', client_secret='csec-interrupt-1')
OLD = [dict(siret=S1, name='Commune de Lescar', account='TECH_1_lescar@cpro.fr', password='old-Pass-1;x')]
NEW = [dict(siret=S1, name='Commune de Lescar', account='TECH_1_lescar@cpro.fr', password='new-Pass-2;y'),
       dict(siret=S2, name='CCAS de Lescar', account='TECH_1_lescar@cpro.fr', password='new-Pass-2;y')]

CHILD = textwrap.dedent('''
    # argv: collection path, module args (JSON file), work folder, pristine files (JSON), points (JSON), output
    import base64, hashlib, json, os, signal, sys
    sys.path.insert(0, sys.argv[1])
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.chorus.corail.plugins.modules import corail_config
    from ansible_collections.chorus.corail.plugins.module_utils import _writer
    with open(sys.argv[2]) as handle:
        args = json.load(handle)
    work = sys.argv[3]
    with open(sys.argv[4]) as handle:
        pristine = json.load(handle)  # name -> [base64 bytes, mode]
    with open(sys.argv[5]) as handle:
        points = json.load(handle)
    WRITE = _writer.write.__code__

    def restore():
        for name in os.listdir(work):
            os.unlink(os.path.join(work, name))
        for name, (data, mode) in pristine.items():
            path = os.path.join(work, name)
            with open(path, 'wb') as handle:
                handle.write(base64.b64decode(data))
            os.chmod(path, mode)

    def run(limit):
        # In a forked child: trace from write() on, SIGKILL at the limit-th line (0: never).
        state = {'on': False, 'n': 0}

        def local(frame, event, arg):
            if event == 'line':
                state['n'] += 1
                if state['n'] == limit:
                    os.kill(os.getpid(), signal.SIGKILL)
            return local

        def tracer(frame, event, arg):
            if event == 'call' and frame.f_code is WRITE and not state['on']:
                state['on'] = True
                caller = frame.f_back
                while caller is not None:  # main() goes on after write(): trace its lines too
                    caller.f_trace = local
                    caller = caller.f_back
            return local if state['on'] else None

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        sys.settrace(tracer)
        try:
            with patch_module_args(args):
                corail_config.main()
        except SystemExit:
            pass
        sys.settrace(None)
        with open(os.path.join(work, '..', 'lines'), 'w') as handle:
            handle.write(str(state['n']))
        os._exit(0)

    results = []
    for point in points:
        restore()
        pid = os.fork()
        if pid == 0:
            run(point)
        _pid, status = os.waitpid(pid, 0)
        files = {}
        for name in sorted(os.listdir(work)):
            path = os.path.join(work, name)
            with open(path, 'rb') as handle:
                data = handle.read()
            files[name] = [hashlib.sha256(data).hexdigest(), os.stat(path).st_mode & 0o7777, len(data)]
        results.append({'point': point, 'killed': os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL,
                        'files': files})
    with open(sys.argv[6], 'w') as handle:
        json.dump(results, handle)
''')


def run_child(tmp_path, args_file, work, pristine, points):
    (tmp_path / 'pristine.json').write_text(json.dumps(pristine))
    (tmp_path / 'points.json').write_text(json.dumps(points))
    out = tmp_path / 'results.json'
    proc = subprocess.run([sys.executable, '-c', CHILD, LINK, str(args_file), str(work), str(tmp_path / 'pristine.json'),
                           str(tmp_path / 'points.json'), str(out)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def kill_points(total, count, rng):
    if total <= count:
        return list(range(1, total + 1))
    even = [1 + (total - 1) * i // (count // 2 - 1) for i in range(count // 2)]
    points = set(even) | set(rng.sample(range(1, total + 1), count - len(set(even))))
    return sorted(points)


def snapshot(folder):
    return dict((name, (folder / name).read_bytes()) for name in os.listdir(str(folder)))


@pytest.mark.parametrize('fmt, existing, points', [
    ('ini', True, 150),
    ('xml', True, 100),
    ('ini', False, 100),
], ids=['ini file replaced, backup', 'xml file replaced, backup', 'ini file created'])
def test_killed_write_leaves_old_or_new(tmp_path, capsys, fmt, existing, points):
    rng = random.Random('%s|%s|%s' % (SEED, fmt, existing))
    work = tmp_path / 'server'
    work.mkdir()
    config = work / ('corail.%s' % fmt)
    args = dict(path=str(config), format=fmt, piste_apps=[APP], structures=NEW, backup=True, backup_keep=50)
    old = None
    pristine = {}
    if existing:
        run_module(corail_config, dict(args, structures=OLD, backup=False), capsys)
        with open(str(config), 'ab') as handle:  # a hand-written tail the merge must keep
            handle.write(b'\n<!-- kept -->\n' if fmt == 'xml' else b'\n; kept by hand\n[other]\nkeep = 1\n')
        old = config.read_bytes()
        pristine[config.name] = [base64.b64encode(old).decode(), 0o640]
    args_file = tmp_path / 'args.json'
    args_file.write_text(json.dumps(args))

    # Reference run (never killed): counts the traced lines and gives the new content.
    reference = run_child(tmp_path, args_file, work, pristine, [0])[0]
    assert not reference['killed']
    total = int((tmp_path / 'lines').read_text())
    assert total > 50, 'the write path was not traced (%d lines)' % total
    new = config.read_bytes()
    assert new != old and b'new-Pass-2;y' in new
    digest = dict((hashlib.sha256(data).hexdigest(), label) for data, label in ((old, 'old'), (new, 'new')) if data)

    outcomes = {'old': 0, 'new': 0}
    for result in run_child(tmp_path, args_file, work, pristine, kill_points(total, points, rng)):
        where = 'killed at traced line %d of %d' % (result['point'], total)
        assert result['killed'], '%s: the child was not killed' % where
        files = result['files']
        if config.name in files:
            sha, mode, size = files[config.name]
            assert sha in digest, '%s: the file is partial (%d bytes, neither old nor new)' % (where, size)
            outcomes[digest[sha]] += 1
            expected_mode = 0o640 if existing else 0o600
            assert mode == expected_mode, '%s: mode %o, expected %o' % (where, mode, expected_mode)
        else:
            assert not existing, '%s: the file disappeared' % where
            outcomes['old'] += 1
        for name, (sha, mode, size) in files.items():
            if name == config.name:
                continue
            if name.endswith('~'):  # backup: the old content, private (it holds old passwords)
                assert digest.get(sha) == 'old', '%s: backup %s differs from the old file' % (where, name)
                assert mode == 0o600, '%s: backup mode %o' % (where, mode)
            else:  # temporary file of the interrupted run: holds secrets, so no looser than the file
                assert mode & ~(0o640 if existing else 0o600) == 0, '%s: %s mode %o' % (where, name, mode)
                assert digest.get(sha) in ('old', 'new') or size < len(new), '%s: %s' % (where, name)
    assert outcomes['old'] and outcomes['new'], outcomes  # the points span the switch-over
    record('interrupted_writes', scenario='%s %s' % (fmt, 'replaced' if existing else 'created'),
           traced_lines=total, kills=sum(outcomes.values()), left_old=outcomes['old'], left_new=outcomes['new'],
           partial=0)
