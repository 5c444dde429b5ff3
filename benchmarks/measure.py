# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run one command and print what it cost, as one JSON line on stdout.

    python benchmarks/measure.py [--interval 0.1] [--stdout FILE] [--stderr FILE] -- CMD ARGS...

A fresh process per measurement, so that getrusage(RUSAGE_CHILDREN) covers this command only:

- ``wall_s``: elapsed time (monotonic clock) from start to exit;
- ``user_s`` / ``sys_s``: CPU time of the command and all its descendants (RUSAGE_CHILDREN);
- ``max_rss_mb``: RUSAGE_CHILDREN ``ru_maxrss``, the peak resident set of the *largest single*
  descendant (for ansible-playbook: the main controller process, or a module process if larger);
- ``peak_tree_pss_mb`` / ``peak_tree_rss_mb``: the largest sum over the whole process tree
  (controller, forked workers, module processes), sampled from /proc every ``--interval``
  seconds. PSS shares the copy-on-write pages of forked workers out between them, so it is the
  better "memory the run needs" figure; the RSS sum counts those pages once per worker.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

PAGE = os.sysconf('SC_PAGE_SIZE')


def _children_map():
    children = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name, 'rb') as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the ppid is the second field after the last ')'.
        fields = stat[stat.rfind(b')') + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(name))
    return children


def _tree(root):
    children = _children_map()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def _memory(pid):
    """(rss, pss) in bytes of one process, (0, 0) when it is gone."""
    rss = pss = 0
    try:
        with open('/proc/%d/smaps_rollup' % pid, 'rb') as handle:
            for line in handle:
                if line.startswith(b'Rss:'):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith(b'Pss:'):
                    pss = int(line.split()[1]) * 1024
        return rss, pss
    except OSError:
        pass
    try:
        with open('/proc/%d/statm' % pid, 'rb') as handle:
            rss = int(handle.read().split()[1]) * PAGE
        return rss, rss
    except (OSError, IndexError, ValueError):
        return 0, 0


def main(argv=None):
    parser = argparse.ArgumentParser(description='measure the wall time, CPU and memory of one command')
    parser.add_argument('--interval', type=float, default=0.1, help='seconds between /proc samples')
    parser.add_argument('--stdout', default=os.devnull)
    parser.add_argument('--stderr', default=os.devnull)
    parser.add_argument('--cwd', default=None)
    parser.add_argument('cmd', nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ['--'] else args.cmd
    if not cmd:
        parser.error('no command given')
    peak_rss = peak_pss = 0
    samples = 0
    with open(args.stdout, 'wb') as out, open(args.stderr, 'wb') as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=args.cwd)
        while proc.poll() is None:
            rss = pss = 0
            for pid in _tree(proc.pid):
                one_rss, one_pss = _memory(pid)
                rss += one_rss
                pss += one_pss
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            samples += 1
            try:
                proc.wait(timeout=args.interval)
            except subprocess.TimeoutExpired:
                pass
        wall = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        'cmd': cmd,
        'returncode': proc.returncode,
        'wall_s': round(wall, 3),
        'user_s': round(usage.ru_utime, 3),
        'sys_s': round(usage.ru_stime, 3),
        'max_rss_mb': round(usage.ru_maxrss / 1024.0, 1),  # Linux: kilobytes
        'peak_tree_rss_mb': round(peak_rss / 1048576.0, 1),
        'peak_tree_pss_mb': round(peak_pss / 1048576.0, 1),
        'samples': samples,
    }))
    return 0


if __name__ == '__main__':
    sys.exit(main())
