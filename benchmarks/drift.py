#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""The cost of the check with chorus_check_drift next to the check without it (issue 14).

    python benchmarks/drift.py [--hosts 200] [--per-host 5] [--repeat 2] [--out DIR]

One world of HOSTS local-connection servers (make_world, PER_HOST structures each, no problem
injected) served by a fresh sandbox at run.py's 50 ms per call; every server deployed once with the
deploy role, then one structure's password edited by hand on one server in five. Then, REPEAT times
each, alternately: the check role without drift, and with ``-e chorus_check_drift=true``. The
harness, its measures and its conventions are run.py's (measure.py, the task timer, the medians);
this script only adds the scenario and prints a Markdown table for docs/performance.md ("Drift").
Each drift run's report must show exactly the structures edited by hand as ``config_drift``.
"""

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import run as bench  # noqa: E402  pylint: disable=wrong-import-position


def edit_by_hand(folder, hosts, every=5):
    """Change the first structure's password in one server's file out of ``every``: the expected drift."""
    edited = []
    for index, host in enumerate(sorted(hosts)):
        if index % every:
            continue
        path = os.path.join(folder, 'servers', host, 'corail.ini')
        with open(path, encoding='utf-8') as handle:
            lines = handle.read().split('\n')
        section = next(i for i, line in enumerate(lines) if line.startswith('[chorus.structure.'))
        siret = lines[section][len('[chorus.structure.'):-1]
        key = next(i for i in range(section + 1, len(lines)) if lines[i].startswith('password = '))
        lines[key] = 'password = typed-by-hand-%d' % index
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write('\n'.join(lines))
        edited.append((host, siret))
    return edited


def drifting(report_dir):
    with open(os.path.join(report_dir, 'latest', 'report.json'), encoding='utf-8') as handle:
        report = json.load(handle)
    return sorted((r['host'], r['siret']) for r in report['structures'] if 'config_drift' in r['warnings'])


def bench_drift(out, hosts, per_host, repeat):
    folder = os.path.join(out, 'drift-%d' % hosts)
    bench.log('drift: %d hosts, %d structures each, sandbox at %d ms per call' % (hosts, per_host, bench.LATENCY_MS))
    if os.path.exists(folder):
        shutil.rmtree(folder)
    shares = dict.fromkeys(bench.SHARE_KINDS, 0)
    bench.new_world(folder, hosts * per_host, hosts=hosts, shares=shares)
    sandbox = bench.Sandbox(os.path.join(folder, 'world.yml'), os.path.join(folder, 'sandbox'))
    runs = {'off': [], 'on': []}
    try:
        generated = bench.new_world(folder, hosts * per_host, hosts=hosts, shares=shares, url=sandbox.url)
        inventory = os.path.join(folder, 'inventory', 'hosts.yml')
        deployed = bench.run_measured('deploy', ['-i', inventory, os.path.join(bench.PLAYBOOKS, 'deploy.yml')], folder)
        edited = edit_by_hand(folder, generated['inventory']['hosts'])
        for i in range(repeat):
            for kind in ('off', 'on'):
                reports = os.path.join(folder, 'reports-%s-%d' % (kind, i))
                runs[kind].append(bench.run_measured('check-drift-%s-%d' % (kind, i), [
                    '-i', inventory, os.path.join(bench.PLAYBOOKS, 'check.yml'), '-e', 'chorus_check_report_dir=%s' % reports,
                    '-e', 'chorus_check_concurrency=%d' % bench.CONCURRENCY,
                    '-e', 'chorus_check_drift=%s' % ('true' if kind == 'on' else 'false')], folder, sandbox))
                found = drifting(reports)
                if found != (sorted(edited) if kind == 'on' else []):
                    raise SystemExit('drift %s run %d: expected %d structure(s) with config_drift, found %d'
                                     % (kind, i, len(edited) if kind == 'on' else 0, len(found)))
    finally:
        sandbox.stop()
    off, on = bench.summarise(runs['off']), bench.summarise(runs['on'])
    return {
        'hosts': hosts, 'structures': hosts * per_host, 'edited': len(edited), 'deploy_wall_s': deployed['wall_s'],
        'off': off, 'on': on,
        'extra_s': round(on['wall_s'] - off['wall_s'], 2),
        'extra_per_host_s': round((on['wall_s'] - off['wall_s']) / hosts, 4),
        'ratio': round(on['wall_s'] / off['wall_s'], 3),
    }


def markdown(result, machine, command):
    off, on = result['off'], result['on']
    rows = [('check, `chorus_check_drift: false` (default)', off), ('check, `chorus_check_drift: true`', on)]
    lines = [
        '%d servers (local connection), %d structures, %d of them edited by hand; sandbox at %d ms per call, '
        'concurrency %d, Ansible defaults (forks 5). Median of %d run(s); load average %s at the start. `%s`'
        % (result['hosts'], result['structures'], result['edited'], bench.LATENCY_MS, bench.CONCURRENCY,
           len(off['walls']), machine['load_at_start'], command),
        '',
        '| run | wall s | CPU s | peak tree PSS MB | API calls |',
        '|---|---:|---:|---:|---:|',
    ]
    for label, figures in rows:
        lines.append('| %s | %s | %s | %s | %s |' % (label, bench._f(figures['wall_s']), bench._f(figures['cpu_s']),
                                                     bench._f(figures.get('peak_tree_pss_mb')),
                                                     figures.get('api_calls_total')))
    lines += ['', 'Drift costs %s s more over %d servers (%s s per server, x%s); the same API calls.'
              % (bench._f(result['extra_s']), result['hosts'], result['extra_per_host_s'], result['ratio'])]
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description='the check with and without chorus_check_drift')
    parser.add_argument('--hosts', type=int, default=200)
    parser.add_argument('--per-host', type=int, default=5)
    parser.add_argument('--repeat', type=int, default=2)
    parser.add_argument('--out', default=None)
    args = parser.parse_args(argv)
    started = datetime.datetime.now()
    out = os.path.abspath(args.out or os.path.join(bench.REPO, '.tmp', 'bench', 'drift-' + started.strftime('%Y%m%d-%H%M%S')))
    os.makedirs(out, exist_ok=True)
    subprocess.run([os.path.join(bench.REPO, 'tools', 'stage_collection.sh')], check=True)
    machine = bench.machine()
    result = bench_drift(out, args.hosts, args.per_host, args.repeat)
    machine['load_at_end'] = [round(x, 2) for x in os.getloadavg()]
    command = 'python benchmarks/drift.py' + ''.join(' ' + a for a in (argv if argv is not None else sys.argv[1:]))
    text = markdown(result, machine, command)
    with open(os.path.join(out, 'results.json'), 'w', encoding='utf-8') as handle:
        json.dump({'drift': result, 'machine': machine, 'command': command}, handle, indent=1, sort_keys=True)
    with open(os.path.join(out, 'results.md'), 'w', encoding='utf-8') as handle:
        handle.write(text)
    sys.stdout.write(text)
    bench.log('results: %s' % os.path.join(out, 'results.md'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
