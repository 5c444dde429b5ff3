# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where an ansible-playbook run spends its CPU, per kind of process, from py-spy samples.

    python benchmarks/profile.py record OUT.txt -- ansible-playbook -i INV PLAYBOOK ...
    python benchmarks/profile.py report OUT.txt [--top 25]

``record`` runs the command under ``py-spy record --subprocesses --nonblocking --format raw``
(py-spy from requirements-dev.txt); ``report`` groups the samples by process kind - the
controller's main process, its forked workers (one per host and task), and each module
(AnsiballZ_<name>) - then lists, for each kind, the functions that hold the most samples,
on their own (self) and with what they call (inclusive), and the imports that cost the most.
Run the command from the same environment benchmarks/run.py uses (ANSIBLE_COLLECTIONS_PATH
pointing at .tmp/link).
"""

import argparse
import collections
import os
import re
import subprocess
import sys

_PROCESS = re.compile(r'process (\d+):"(.*)"')
_MODULE = re.compile(r'<module> \((.*?):\d+\)')


def kind_of(cmdline, depth):
    """'main', 'worker' or 'module NAME' for one sampled process."""
    match = re.search(r'AnsiballZ_(\w+)\.py', cmdline)
    if match:
        return 'module ' + match.group(1)
    if 'ansible-playbook' in cmdline:
        return 'main' if depth == 0 else 'worker'
    return os.path.basename(cmdline.split(' ')[0]) or 'other'


def load(path):
    """[(kind, frames, samples)] from a py-spy raw file."""
    out = []
    with open(path, encoding='utf-8') as handle:
        for line in handle:
            line = line.rstrip('\n')
            if not line.strip() or ' ' not in line:
                continue
            stack, count = line.rsplit(' ', 1)
            frames = stack.split(';')
            positions = [i for i, frame in enumerate(frames) if frame.startswith('process ')]
            if not positions:
                continue
            last = positions[-1]
            match = _PROCESS.match(frames[last])
            depth = len(positions) - 1
            out.append((kind_of(match.group(2) if match else '', depth), frames[last + 1:], int(count)))
    return out


def _short(frame):
    name, _sep, where = frame.partition(' (')
    return '%s (%s)' % (name, where.rstrip(')').split('/')[-1]) if where else name


def report(path, top=20):
    samples = load(path)
    total = sum(n for _k, _f, n in samples)
    by_kind = collections.Counter()
    self_of = collections.defaultdict(collections.Counter)
    incl_of = collections.defaultdict(collections.Counter)
    imports_of = collections.defaultdict(collections.Counter)
    for kind, frames, count in samples:
        by_kind[kind] += count
        if frames:
            self_of[kind][_short(frames[-1])] += count
        for frame in set(frames):
            incl_of[kind][_short(frame)] += count
        seen = set()
        for frame in frames:
            match = _MODULE.match(frame)
            if match and match.group(1) not in seen:
                seen.add(match.group(1))
                imports_of[kind][match.group(1).split('/')[-1]] += count
    lines = ['%d samples' % total, '', 'by process kind:']
    for kind, count in by_kind.most_common():
        lines.append('  %6d  %5.1f%%  %s' % (count, 100.0 * count / max(total, 1), kind))
    for kind, count in by_kind.most_common():
        lines += ['', '== %s (%d samples)' % (kind, count), '  self:']
        lines += ['    %6d  %s' % (n, f) for f, n in self_of[kind].most_common(top)]
        lines.append('  inclusive:')
        lines += ['    %6d  %s' % (n, f) for f, n in incl_of[kind].most_common(top * 2)]
        lines.append('  module-level code (imports):')
        lines += ['    %6d  %s' % (n, f) for f, n in imports_of[kind].most_common(top)]
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description='profile an ansible-playbook run with py-spy, per process kind')
    sub = parser.add_subparsers(dest='action', required=True)
    rec = sub.add_parser('record')
    rec.add_argument('out')
    rec.add_argument('--rate', type=int, default=100, help='samples per second')
    rec.add_argument('cmd', nargs=argparse.REMAINDER)
    rep = sub.add_parser('report')
    rep.add_argument('raw')
    rep.add_argument('--top', type=int, default=20)
    args = parser.parse_args(argv)
    if args.action == 'record':
        cmd = args.cmd[1:] if args.cmd[:1] == ['--'] else args.cmd
        spy = os.path.join(os.path.dirname(sys.executable), 'py-spy')
        code = subprocess.call([spy, 'record', '--subprocesses', '--nonblocking', '--rate', str(args.rate),
                                '--format', 'raw', '--output', args.out, '--'] + cmd)
        if code == 0:
            print(report(args.out))
        return code
    print(report(args.raw, args.top))
    return 0


if __name__ == '__main__':
    sys.exit(main())
