# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run every chorus.corail benchmark side by side and write the results.

    python benchmarks/run.py [--quick] [--only check,baseline,deploy] [--repeat N] [--out DIR]
                             [--docs | --no-docs]

Check (the check role against the sandbox at 50 ms per call, concurrency 8) at two sizes, next to
its floor (Ansible's own cost for a one-task run_once play over the same inventory, plus calls x
50 ms / 8) and next to the playbook an integrator writes without the collection (per host,
ansible.builtin.uri for a token and each call, default forks; linear in structures, so it runs at
a smaller size and is compared per structure). Deploy (the deploy role on local-connection hosts
with per-host folders) next to a one-task ansible.builtin.copy playbook over the same hosts, first
run and unchanged re-run.

Every figure comes from one run of this script on one machine; nothing here is a test and no
timing is asserted anywhere. Raw results go to DIR/results.json and DIR/results.md (DIR defaults to
.tmp/bench/<timestamp>); a full run also rewrites the generated part of docs/performance.md.
"""

import argparse
import collections
import csv
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SANDBOX_DIR = os.path.join(REPO, 'tests', 'sandbox')
sys.path.insert(0, SANDBOX_DIR)

from make_world import SHARE_KINDS, make_world, write_world  # noqa: E402  pylint: disable=wrong-import-position

PYTHON = sys.executable
BIN = os.path.dirname(PYTHON)
PLAYBOOKS = os.path.join(HERE, 'playbooks')
DOCS = os.path.join(REPO, 'docs', 'performance.md')
BEGIN = '<!-- BEGIN GENERATED RESULTS (benchmarks/run.py) -->'
END = '<!-- END GENERATED RESULTS -->'
BEGIN_LARGE = '<!-- BEGIN GENERATED DEPLOY-LARGE RESULTS (benchmarks/run.py --only deploy-large) -->'
END_LARGE = '<!-- END GENERATED DEPLOY-LARGE RESULTS -->'

LATENCY_MS = 50
CONCURRENCY = 8
TARGET_SIZE = 1000  # the check targets are set at this many structures
LARGE_SIZE = 20000  # a national concentrator: its own time and memory targets
DEPLOY_LARGE = {'hosts': 800, 'structures_per_host': 5, 'forks': (5, 20), 'repeat': 1}
SEED = 20250308

FULL = {
    'check_sizes': [1000, 5000, 20000],
    'baseline_size': 200,
    'deploy_hosts': 200,
    'deploy_structures_per_host': 5,
    'repeat': {'check_small': 3, 'check_large': 1, 'baseline': 1, 'deploy': 2},
    'rate': (1000, 60.0),  # structures, calls per second
}
QUICK = {
    'check_sizes': [200, 1000],
    'baseline_size': 100,
    'deploy_hosts': 40,
    'deploy_structures_per_host': 5,
    'repeat': {'check_small': 1, 'check_large': 1, 'baseline': 1, 'deploy': 1},
    'rate': (200, 30.0),
}

# What the targets of issues 8 and 19 ask, checked against the figures (reported, never asserted).
TARGETS = {
    'check_vs_baseline_min': 20.0,
    'check_vs_floor_max': 1.2,
    'check_large_vs_floor_max': 1.25,  # at LARGE_SIZE
    'check_large_pss_max_mb': 600.0,
    'deploy_first_vs_copy_max': 1.3,
    'deploy_rerun_vs_copy_max': 1.1,
    'scaling_time_max': 5.5,
}

# Statuses the baseline can tell apart (it reads no expiry date).
BASELINE_READS_AS = {'password_expired': 'account_rejected', 'password_expiring': 'ok'}

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def log(message):
    sys.stderr.write('[%s] %s\n' % (time.strftime('%H:%M:%S'), message))
    sys.stderr.flush()


# -- environment ----------------------------------------------------------------------------------

def _read(path):
    try:
        with open(path, encoding='utf-8') as handle:
            return handle.read()
    except OSError:
        return ''


def _first_line(cmd):
    try:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=False, cwd=REPO)
        return out.stdout.strip().splitlines()[0] if out.stdout.strip() else ''
    except OSError:
        return ''


def _pip_version(name):
    try:
        from importlib.metadata import version  # pylint: disable=import-outside-toplevel
        return version(name)
    except Exception:  # pylint: disable=broad-except
        return 'not installed'


def machine():
    cpu = re.search(r'^model name\s*:\s*(.+)$', _read('/proc/cpuinfo'), re.M)
    mem = re.search(r'^MemTotal:\s*(\d+) kB', _read('/proc/meminfo'), re.M)
    galaxy = re.search(r'^version:\s*(\S+)', _read(os.path.join(REPO, 'galaxy.yml')), re.M)
    dirty = subprocess.run(['git', 'status', '--porcelain'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           text=True, check=False, cwd=REPO).stdout
    return {
        'nproc': os.cpu_count(),
        'cpu': cpu.group(1).strip() if cpu else platform.processor() or 'unknown',
        'ram_gib': round(int(mem.group(1)) / 1048576.0, 1) if mem else None,
        'kernel': platform.release(),
        'python': platform.python_version(),
        'ansible_core': _pip_version('ansible-core'),
        'requests': _pip_version('requests'),
        'pyyaml': _pip_version('PyYAML'),
        'collection': 'chorus.corail %s' % (galaxy.group(1) if galaxy else '?'),
        'commit': _first_line(['git', 'rev-parse', '--short', 'HEAD']),
        'uncommitted_files': len([line for line in dirty.splitlines() if line.strip()]),
        'load_at_start': [round(x, 2) for x in os.getloadavg()],
    }


def ansible_env(timings=None, config=None):
    env = dict(os.environ)
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': os.path.join(REPO, '.tmp', 'link'),
        'ANSIBLE_COLLECTIONS_SCAN_SYS_PATH': 'false',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_HOST_KEY_CHECKING': 'false',
        'ANSIBLE_RETRY_FILES_ENABLED': 'false',
        'ANSIBLE_LOCALHOST_WARNING': 'false',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false',
        'ANSIBLE_PYTHON_INTERPRETER': PYTHON,
        'ANSIBLE_CALLBACK_PLUGINS': os.path.join(HERE, 'callback_plugins'),
        'ANSIBLE_CALLBACKS_ENABLED': 'task_timer',
        'PATH': BIN + os.pathsep + env.get('PATH', ''),
    })
    for name in ('ANSIBLE_FORKS', 'ANSIBLE_STRATEGY', 'ANSIBLE_PIPELINING', 'ANSIBLE_CONFIG'):
        env.pop(name, None)  # Ansible's defaults (forks 5, linear, no pipelining), as an integrator has them
    if config:
        env['ANSIBLE_CONFIG'] = config  # an empty file: no ansible.cfg of the machine or the user applies
    if timings:
        env['CHORUS_BENCH_TIMINGS'] = timings
    return env


# -- measuring ------------------------------------------------------------------------------------

def _sandbox_cpu(pid):
    """CPU seconds (user + system) used so far by the sandbox process."""
    stat = _read('/proc/%d/stat' % pid) if pid else ''
    if not stat:
        return None
    fields = stat[stat.rfind(')') + 2:].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf('SC_CLK_TCK'))


def run_measured(name, args, folder, sandbox=None):
    """Run ansible-playbook ARGS through measure.py; returns the measure plus task timings."""
    os.makedirs(folder, exist_ok=True)
    timings = os.path.join(folder, name + '.timings.json')
    stdout = os.path.join(folder, name + '.stdout')
    cmd = [PYTHON, os.path.join(HERE, 'measure.py'), '--stdout', stdout, '--stderr', os.path.join(folder, name + '.stderr'),
           '--cwd', folder, '--', os.path.join(BIN, 'ansible-playbook')] + list(args)
    load_before = os.getloadavg()[0]
    cpu_before = _sandbox_cpu(sandbox.pid) if sandbox else None
    if sandbox:
        sandbox.reset()
    config = os.path.join(folder, 'ansible.cfg')
    if not os.path.exists(config):
        with open(config, 'w', encoding='utf-8') as handle:
            handle.write('# empty: Ansible defaults (forks 5, linear strategy, no pipelining)\n')
    out = subprocess.run(cmd, stdout=subprocess.PIPE, env=ansible_env(timings, config), text=True, check=True)
    result = json.loads(out.stdout)
    result['name'] = name
    result['load_1min'] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    result['command'] = 'ansible-playbook ' + ' '.join(_short_path(a, folder) for a in args)
    if sandbox:
        stats = sandbox.stats()
        result['api_calls'] = dict(sorted((path, sum(by.values())) for path, by in stats['calls'].items()))
        result['api_calls_total'] = stats['total']
        cpu_after = _sandbox_cpu(sandbox.pid)
        if cpu_before is not None and cpu_after is not None:
            result['sandbox_cpu_s'] = round(cpu_after - cpu_before, 2)
    try:
        with open(timings, encoding='utf-8') as handle:
            result['timings'] = json.load(handle)
    except (OSError, ValueError):
        result['timings'] = None
    result['recap'] = _recap(_read(stdout))
    if result['returncode'] != 0:
        raise RuntimeError('%s exited with %s; see %s:\n%s' % (name, result['returncode'], stdout, _read(stdout)[-3000:]))
    log('%-28s %7.2f s  cpu %6.1f s  pss %6.1f MB  load %s' % (
        name, result['wall_s'], result['user_s'] + result['sys_s'], result['peak_tree_pss_mb'], result['load_1min']))
    return result


def _short_path(arg, folder):
    arg = arg.replace(folder + os.sep, '')
    return arg.replace(REPO + os.sep, '')


def _recap(text):
    """Totals of the PLAY RECAP lines: {ok, changed, failed, skipped, unreachable, hosts}."""
    totals = collections.Counter()
    for line in text.splitlines():
        match = re.match(r'^\S+\s+:\s+(.*)$', line)
        if match and 'unreachable=' in line:
            totals['hosts'] += 1
            for key, value in re.findall(r'(\w+)=(\d+)', match.group(1)):
                totals[key] += int(value)
    return dict(totals)


class Sandbox(object):
    """A background sandbox (tests/sandbox/sandbox_ctl.py) with 50 ms per call."""

    def __init__(self, world_file, state_dir):
        self.state_dir = state_dir
        out = subprocess.run([PYTHON, os.path.join(SANDBOX_DIR, 'sandbox_ctl.py'), 'start', '--world', world_file,
                              '--state-dir', state_dir, '--faults', json.dumps({'latency_ms': LATENCY_MS})],
                             stdout=subprocess.PIPE, text=True, check=True)
        self.url = out.stdout.strip().splitlines()[-1]
        self.pid = int(_read(os.path.join(state_dir, 'pid')).strip())

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode('utf-8') if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={'Content-Type': 'application/json'})
        with _OPENER.open(request, timeout=30) as answer:
            return json.loads(answer.read().decode('utf-8'))

    def reset(self):
        return self._call('POST', '/_sandbox/reset', {})

    def faults(self, **knobs):
        return self._call('POST', '/_sandbox/faults', knobs)

    def stats(self):
        return self._call('GET', '/_sandbox/stats')

    def stop(self):
        subprocess.run([PYTHON, os.path.join(SANDBOX_DIR, 'sandbox_ctl.py'), 'stop', '--state-dir', self.state_dir],
                       stdout=subprocess.DEVNULL, check=False)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(runs):
    """Median figures of repeated runs (each figure on its own), plus the raw runs."""
    keys = ('wall_s', 'user_s', 'sys_s', 'max_rss_mb', 'peak_tree_rss_mb', 'peak_tree_pss_mb', 'api_calls_total',
            'sandbox_cpu_s')
    out = {key: median([r.get(key) for r in runs]) for key in keys}
    out['cpu_s'] = median([r['user_s'] + r['sys_s'] for r in runs])
    out['walls'] = [r['wall_s'] for r in runs]
    out['load_1min'] = [min(r['load_1min'][0] for r in runs), max(r['load_1min'][1] for r in runs)]
    out['returncodes'] = sorted(set(r['returncode'] for r in runs))
    out['command'] = runs[0]['command']
    if runs[0].get('api_calls') is not None:
        out['api_calls'] = runs[0]['api_calls']
    out['recap'] = runs[0]['recap']
    out['tasks'] = _median_tasks(runs)
    return out


def _median_tasks(runs):
    names, per = [], collections.defaultdict(list)
    for run in runs:
        for task in (run.get('timings') or {}).get('tasks', []):
            if task['task'] not in per:
                names.append(task['task'])
            per[task['task']].append(task['seconds'])
    return [{'task': name, 'seconds': round(median(per[name]), 2)} for name in names]


# -- worlds ---------------------------------------------------------------------------------------

def new_world(folder, structures, hosts=None, shares=None, url=None):
    generated = make_world(structures, hosts=hosts, seed=SEED, shares=shares, url=url)
    write_world(generated, folder)
    return generated


def world_with_sandbox(folder, structures):
    """A generated world served by a fresh sandbox, and an inventory pointing at it."""
    if os.path.exists(folder):
        shutil.rmtree(folder)
    new_world(folder, structures)
    sandbox = Sandbox(os.path.join(folder, 'world.yml'), os.path.join(folder, 'sandbox'))
    generated = new_world(folder, structures, url=sandbox.url)  # same seed: same world, inventory with URLs
    return generated, sandbox


def _agreement(expected, found, reads_as=None):
    reads_as = reads_as or {}
    same = sum(1 for siret, status in expected.items() if found.get(siret) == reads_as.get(status, status))
    return {'structures': len(expected), 'found': len(found), 'agree': same}


# -- scenarios ------------------------------------------------------------------------------------

def floor_calls(apps, accounts, structures):
    """P + 2A + N: the API budget of a check (design.md, "The check sequence")."""
    return apps + 2 * accounts + structures


def bench_check(out, size, repeat):
    folder = os.path.join(out, 'check-%d' % size)
    log('check: N=%d (world, sandbox at %d ms per call)' % (size, LATENCY_MS))
    generated, sandbox = world_with_sandbox(folder, size)
    inventory = os.path.join(folder, 'inventory', 'hosts.yml')
    floors, checks = [], []
    try:
        for i in range(repeat):
            floors.append(run_measured('floor-%d-%d' % (size, i), ['-i', inventory, os.path.join(PLAYBOOKS, 'floor_run_once.yml')],
                                       folder))
            reports = os.path.join(folder, 'reports-%d' % i)
            checks.append(run_measured('check-%d-%d' % (size, i), [
                '-i', inventory, os.path.join(PLAYBOOKS, 'check.yml'), '-e', 'chorus_check_report_dir=%s' % reports,
                '-e', 'chorus_check_concurrency=%d' % CONCURRENCY], folder, sandbox))
    finally:
        sandbox.stop()
    # Every run's statuses against the world's: a fast but wrong run must not pass unnoticed.
    agreements = []
    for i in range(repeat):
        report = json.loads(_read(os.path.join(folder, 'reports-%d' % i, 'latest', 'report.json')) or '{}')
        agreements.append(_agreement(generated['expected'], {s['siret']: s['status'] for s in report.get('structures', [])}))
    floor = summarise(floors)
    check = summarise(checks)
    apps = len(generated['inventory']['group_vars']['chorus_piste_apps'])
    accounts = len(generated['inventory']['group_vars']['chorus_accounts'])
    # The calls the design allows for this world (a token per application, two calls per account,
    # one per structure), not the calls made: an extra call costs the ratio instead of raising the floor.
    calls = floor_calls(apps, accounts, size)
    floor_s = floor['wall_s'] + calls * LATENCY_MS / 1000.0 / CONCURRENCY
    return {
        'structures': size,
        'hosts': len(generated['inventory']['hosts']),
        'accounts': accounts,
        'piste_apps': apps,
        'floor_calls': calls,
        'expected_counts': generated['counts'],
        'agreement': min(agreements, key=lambda a: (a['agree'], a['found'])),
        'agreement_runs': agreements,
        'floor_play': floor,
        'check': check,
        'floor_s': round(floor_s, 2),
        'api_floor_s': round(calls * LATENCY_MS / 1000.0 / CONCURRENCY, 2),
        'ratio_to_floor': round(check['wall_s'] / floor_s, 3),
        'per_structure_s': round(check['wall_s'] / size, 5),
    }


def bench_rate(out, size, rate):
    """The check with chorus_rate_limit RATE against a sandbox refusing (429) above RATE calls per
    second and application: the run holds the rate (calls / duration of the check task) and gets no 429."""
    folder = os.path.join(out, 'rate-%d' % size)
    log('rate: N=%d, chorus_rate_limit %g, sandbox 429 above %g calls/s per application' % (size, rate, rate))
    generated, sandbox = world_with_sandbox(folder, size)
    inventory = os.path.join(folder, 'inventory', 'hosts.yml')
    try:
        sandbox.faults(rate_limit_per_s=rate, retry_after_s=1)
        run = run_measured('check-rate-%d' % size, [
            '-i', inventory, os.path.join(PLAYBOOKS, 'check.yml'), '-e', 'chorus_check_report_dir=%s' % os.path.join(
                folder, 'reports'), '-e', 'chorus_check_concurrency=%d' % CONCURRENCY,
            '-e', 'chorus_rate_limit=%g' % rate], folder, sandbox)
        responses = sandbox.stats().get('responses', {})
    finally:
        sandbox.stop()
    report = json.loads(_read(os.path.join(folder, 'reports', 'latest', 'report.json')) or '{}')
    agreement = _agreement(generated['expected'], {e['siret']: e['status'] for e in report.get('structures', [])})
    task = next((t for t in (run.get('timings') or {}).get('tasks', []) if 'credentials_info' in t.get('action', '')
                 or t['task'].endswith("every structure of the play's hosts")), None)
    seconds = task['seconds'] if task else run['wall_s']
    return {
        'structures': size, 'rate_limit': rate, 'api_calls_total': run['api_calls_total'],
        'responses_429': int(responses.get('429', 0)), 'check_task_s': seconds,
        'held_rate': round(run['api_calls_total'] / seconds, 1), 'wall_s': run['wall_s'],
        'load_1min': run['load_1min'], 'agreement': agreement, 'command': run['command'],
    }


def bench_baseline(out, size, repeat):
    folder = os.path.join(out, 'baseline-%d' % size)
    log('baseline: N=%d (ansible.builtin.uri per host and call, default forks)' % size)
    generated, sandbox = world_with_sandbox(folder, size)
    inventory = os.path.join(folder, 'inventory', 'hosts.yml')
    runs, ours = [], []
    try:
        for i in range(repeat):
            report = os.path.join(folder, 'baseline-report-%d.csv' % i)
            runs.append(run_measured('baseline-%d-%d' % (size, i), [
                '-i', inventory, os.path.join(PLAYBOOKS, 'baseline_check.yml'), '-e', 'baseline_report=%s' % report],
                folder, sandbox))
        ours.append(run_measured('check-%d-0' % size, [
            '-i', inventory, os.path.join(PLAYBOOKS, 'check.yml'), '-e',
            'chorus_check_report_dir=%s' % os.path.join(folder, 'reports'),
            '-e', 'chorus_check_concurrency=%d' % CONCURRENCY], folder, sandbox))
    finally:
        sandbox.stop()
    found = {}
    with open(os.path.join(folder, 'baseline-report-0.csv'), encoding='utf-8') as handle:
        for row in csv.reader(handle, delimiter=';'):
            if len(row) == 3 and row[0] != 'host':
                found[row[1]] = row[2]
    baseline = summarise(runs)
    check = summarise(ours)
    return {
        'structures': size,
        'hosts': len(generated['inventory']['hosts']),
        'baseline': baseline,
        'agreement': _agreement(generated['expected'], found, BASELINE_READS_AS),
        'per_structure_s': round(baseline['wall_s'] / size, 5),
        'check_same_size': check,
        'check_same_size_per_structure_s': round(check['wall_s'] / size, 5),
    }


def _clean_servers(folder):
    servers = os.path.join(folder, 'servers')
    for host in os.listdir(servers):
        for name in os.listdir(os.path.join(servers, host)):
            os.unlink(os.path.join(servers, host, name))


def bench_deploy(out, hosts, per_host, repeat, forks=None):
    """Deploy role vs copy floor; FORKS None keeps Ansible's default (5) without passing --forks."""
    folder = os.path.join(out, 'deploy-%d' % hosts + ('-forks%d' % forks if forks else ''))
    log('deploy: %d hosts, %d structures each, local connection, forks %s' % (hosts, per_host, forks or 5))
    extra = ['--forks', str(forks)] if forks else []
    if os.path.exists(folder):
        shutil.rmtree(folder)
    generated = new_world(folder, hosts * per_host, hosts=hosts, shares=dict.fromkeys(SHARE_KINDS, 0))
    inventory = os.path.join(folder, 'inventory', 'hosts.yml')
    runs = collections.defaultdict(list)
    for i in range(repeat):
        _clean_servers(folder)
        for phase in ('first', 'rerun'):
            for kind in ('copy', 'deploy'):
                playbook = 'copy_floor.yml' if kind == 'copy' else 'deploy.yml'
                runs[(kind, phase)].append(run_measured('%s-%s-%d' % (kind, phase, i),
                                                        ['-i', inventory, os.path.join(PLAYBOOKS, playbook)] + extra,
                                                        folder))
    written = sum(1 for host in generated['inventory']['hosts']
                  if os.path.exists(os.path.join(folder, 'servers', host, 'corail.ini')))
    result = {'hosts': hosts, 'structures': hosts * per_host, 'files_written': written, 'forks': forks or 5}
    for phase in ('first', 'rerun'):
        copy, deploy = summarise(runs[('copy', phase)]), summarise(runs[('deploy', phase)])
        result[phase] = {
            'copy': copy,
            'deploy': deploy,
            'copy_per_host_s': round(copy['wall_s'] / hosts, 4),
            'deploy_per_host_s': round(deploy['wall_s'] / hosts, 4),
            'ratio': round(deploy['wall_s'] / copy['wall_s'], 3),
        }
    return result


# -- report ---------------------------------------------------------------------------------------

def verdicts(results):
    out = []
    checks = results.get('check') or []
    base = results.get('baseline')
    # The targets are set at N=1000; a run without that size is judged on its smallest.
    small = next((c for c in checks if c['structures'] == TARGET_SIZE), checks[0] if checks else None)
    results['target_size'] = small['structures'] if small else None
    if small and base:
        ratio = base['per_structure_s'] / small['per_structure_s']
        results['check_vs_baseline'] = round(ratio, 1)
        out.append(('check N=%d per structure vs baseline (N=%d)' % (small['structures'], base['structures']),
                    '>= %gx faster' % TARGETS['check_vs_baseline_min'], '%.1fx faster' % ratio,
                    ratio >= TARGETS['check_vs_baseline_min']))
    if small and small['structures'] != LARGE_SIZE:
        out.append(('check N=%d vs floor (P + 2A + N calls)' % small['structures'], '<= %gx' % TARGETS['check_vs_floor_max'],
                    '%.2fx' % small['ratio_to_floor'], small['ratio_to_floor'] <= TARGETS['check_vs_floor_max']))
    large = next((c for c in checks if c['structures'] == LARGE_SIZE), None)
    if large:
        out.append(('check N=%d vs floor (P + 2A + N calls)' % large['structures'],
                    '<= %gx' % TARGETS['check_large_vs_floor_max'], '%.2fx' % large['ratio_to_floor'],
                    large['ratio_to_floor'] <= TARGETS['check_large_vs_floor_max']))
        pss = large['check']['peak_tree_pss_mb']
        out.append(('check N=%d peak tree PSS' % large['structures'], '<= %g MB' % TARGETS['check_large_pss_max_mb'],
                    '%.0f MB' % pss, pss <= TARGETS['check_large_pss_max_mb']))
    for c in checks:
        worst = c['agreement']
        out.append(('check N=%d statuses (every run) as the world expects' % c['structures'], 'all',
                    '%d / %d' % (worst['agree'], worst['structures']),
                    worst['agree'] == worst['structures'] == worst['found']))
    if len(checks) >= 2:
        # The growth target of issue 8 is set for 5x the structures: the first size against the second.
        first, second, last = checks[0], checks[1], checks[-1]
        growth = second['check']['wall_s'] / first['check']['wall_s']
        memory = last['check']['peak_tree_pss_mb'] / first['check']['peak_tree_pss_mb']
        size_growth = second['structures'] / float(first['structures'])
        last_growth = last['structures'] / float(first['structures'])
        results['scaling'] = {'time_growth': round(growth, 2), 'size_growth': size_growth,
                              'memory_growth': round(memory, 2), 'memory_size_growth': last_growth,
                              'steps': [{'structures': c['structures'], 'wall_s': c['check']['wall_s'],
                                         'pss_mb': c['check']['peak_tree_pss_mb']} for c in checks]}
        out.append(('check time N=%d -> %d' % (first['structures'], second['structures']),
                    '<= %gx' % TARGETS['scaling_time_max'], '%.2fx' % growth, growth <= TARGETS['scaling_time_max']))
        out.append(('check peak memory (tree PSS) N=%d -> %d' % (first['structures'], last['structures']),
                    'bounded (grows less than the %gx input)' % last_growth, '%.2fx' % memory, memory < last_growth))
    deploy = results.get('deploy')
    if deploy:
        out.append(('deploy first run vs copy', '<= %gx' % TARGETS['deploy_first_vs_copy_max'],
                    '%.2fx' % deploy['first']['ratio'], deploy['first']['ratio'] <= TARGETS['deploy_first_vs_copy_max']))
        out.append(('deploy unchanged re-run vs copy', '<= %gx' % TARGETS['deploy_rerun_vs_copy_max'],
                    '%.2fx' % deploy['rerun']['ratio'], deploy['rerun']['ratio'] <= TARGETS['deploy_rerun_vs_copy_max']))
    rate = results.get('rate')
    if rate:
        out.append(('check N=%d with chorus_rate_limit %g: calls per second, 429 answers' % (
            rate['structures'], rate['rate_limit']), '<= %g, none' % rate['rate_limit'],
            '%.1f, %d' % (rate['held_rate'], rate['responses_429']),
            rate['held_rate'] <= rate['rate_limit'] and rate['responses_429'] == 0
            and rate['agreement']['agree'] == rate['agreement']['structures']))
    for d in results.get('deploy_large') or []:
        for phase, label, key in (('first', 'first run', 'deploy_first_vs_copy_max'),
                                  ('rerun', 'unchanged re-run', 'deploy_rerun_vs_copy_max')):
            out.append(('deploy %d hosts forks %d %s vs copy' % (d['hosts'], d['forks'], label), '<= %gx' % TARGETS[key],
                        '%.2fx' % d[phase]['ratio'], d[phase]['ratio'] <= TARGETS[key]))
    results['verdicts'] = [{'what': w, 'target': t, 'measured': m, 'met': ok} for w, t, m, ok in out]
    return out


def _f(value, digits=2):
    return '-' if value is None else ('%.*f' % (digits, value))


def _calls_table(check_results):
    paths = sorted(set(p for c in check_results for p in (c['check'].get('api_calls') or {})))
    lines = ['| API path | ' + ' | '.join('N=%d' % c['structures'] for c in check_results) + ' |',
             '|---|' + '---:|' * len(check_results)]
    for path in paths:
        cells = [str((c['check'].get('api_calls') or {}).get(path, 0)) for c in check_results]
        lines.append('| `%s` | %s |' % (path, ' | '.join(cells)))
    lines.append('| **total** | ' + ' | '.join('**%s**' % c['check']['api_calls_total'] for c in check_results) + ' |')
    return lines


def _tasks_table(title, runs):
    lines = ['| task | ' + ' | '.join(t for t, _r in runs) + ' |', '|---|' + '---:|' * len(runs)]
    names = []
    for _t, run in runs:
        for task in run['tasks']:
            if task['task'] not in names:
                names.append(task['task'])
    for name in names:
        cells = []
        for _t, run in runs:
            value = next((t['seconds'] for t in run['tasks'] if t['task'] == name), None)
            cells.append(_f(value))
        short = name if len(name) < 90 else name[:87] + '...'
        lines.append('| %s | %s |' % (short.replace('|', '/'), ' | '.join(cells)))
    lines.append('| (start-up, inventory, end) | %s |' % ' | '.join(
        _f(run['wall_s'] - sum(t['seconds'] for t in run['tasks'])) for _t, run in runs))
    return ['', '**%s** (median seconds per task, from benchmarks/callback_plugins/task_timer.py)' % title, ''] + lines


def _deploy_section(deploy):
    lines = []
    lines += ['', '### Deploy: the deploy role vs one `ansible.builtin.copy` task (%d hosts, local connection, '
              'forks %d, %d structures)' % (deploy['hosts'], deploy['forks'], deploy['structures']), '',
              '| run | copy floor s | deploy role s | copy per host ms | deploy per host ms | ratio | copy CPU s '
              '| deploy CPU s | deploy peak tree PSS MB | changed (copy / deploy) | load |',
              '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|']
    for phase, label in (('first', 'first run'), ('rerun', 'unchanged re-run')):
        d = deploy[phase]
        lines.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s-%s |' % (
            label, _f(d['copy']['wall_s']), _f(d['deploy']['wall_s']), _f(d['copy_per_host_s'] * 1000, 0),
            _f(d['deploy_per_host_s'] * 1000, 0), _f(d['ratio']), _f(d['copy']['cpu_s'], 1), _f(d['deploy']['cpu_s'], 1),
            _f(d['deploy']['peak_tree_pss_mb'], 1), d['copy']['recap'].get('changed', '?'),
            d['deploy']['recap'].get('changed', '?'), min(d['copy']['load_1min'][0], d['deploy']['load_1min'][0]),
            max(d['copy']['load_1min'][1], d['deploy']['load_1min'][1])))
    lines += ['', 'Walls: %s. Files written by the role: %d / %d.' % (
        '; '.join('%s %s: %s' % (k, p, ', '.join(_f(w) for w in deploy[p][k]['walls']))
                  for p in ('first', 'rerun') for k in ('copy', 'deploy')), deploy['files_written'], deploy['hosts'])]
    lines += _tasks_table('Deploy: where the wall time goes', [
        ('copy first', deploy['first']['copy']), ('deploy first', deploy['first']['deploy']),
        ('copy re-run', deploy['rerun']['copy']), ('deploy re-run', deploy['rerun']['deploy'])])
    return lines


def markdown(results, begin=BEGIN, end=END):
    m = results['machine']
    title = 'deploy at %d hosts' % DEPLOY_LARGE['hosts'] if begin == BEGIN_LARGE else (
        'quick' if results['quick'] else 'full')
    lines = [
        begin,
        '',
        '## Results (%s run of %s)' % (title, results['started']),
        '',
        'Machine: %s CPU(s), %s, %s GiB RAM, Linux %s. Python %s, ansible-core %s, requests %s, PyYAML %s, %s '
        '(commit %s, %d uncommitted files). Load average (1 min) at start: %s; each table gives the range seen '
        'during its runs. Total benchmark time: %.0f s.' % (
            m['nproc'], m['cpu'], m['ram_gib'], m['kernel'], m['python'], m['ansible_core'], m['requests'], m['pyyaml'],
            m['collection'], m['commit'], m['uncommitted_files'], ', '.join(str(x) for x in m['load_at_start']),
            results['duration_s']),
        '',
        'Command: `%s`' % results['command'],
        '',
        '### Targets',
        '',
        '| what | target | measured | met |',
        '|---|---|---|---|',
    ]
    for v in results['verdicts']:
        lines.append('| %s | %s | %s | %s |' % (v['what'], v['target'], v['measured'], 'yes' if v['met'] else '**no**'))
    checks = results.get('check') or []
    if checks:
        lines += ['', '### Check: the check role against the sandbox (%d ms per call, concurrency %d)' % (LATENCY_MS, CONCURRENCY), '',
                  '| N structures | hosts | accounts | apps | runs | wall s (median) | per structure ms | floor play s '
                  '| P + 2A + N | API calls made | floor s | ratio to floor | CPU s | sandbox CPU s | peak tree PSS MB '
                  '| max RSS MB | load | statuses as expected |',
                  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|']
        for c in checks:
            ch = c['check']
            lines.append('| %d | %d | %d | %d | %d | %s | %s | %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %d / %d |' % (
                c['structures'], c['hosts'], c['accounts'], c['piste_apps'], len(ch['walls']), _f(ch['wall_s']),
                _f(c['per_structure_s'] * 1000, 1), _f(c['floor_play']['wall_s']), c['floor_calls'], ch['api_calls_total'],
                _f(c['floor_s']),
                _f(c['ratio_to_floor']), _f(ch['cpu_s'], 1), _f(ch['sandbox_cpu_s'], 1), _f(ch['peak_tree_pss_mb'], 1),
                _f(ch['max_rss_mb'], 1), '%s-%s' % tuple(ch['load_1min']), c['agreement']['agree'], c['agreement']['structures']))
        walls = '; '.join('N=%d: %s' % (c['structures'], ', '.join(_f(w) for w in c['check']['walls'])) for c in checks)
        lines += ['', 'Floor = the floor play (`benchmarks/playbooks/floor_run_once.yml`, one `run_once` task over the '
                  'same inventory) + (P + 2A + N) calls x %d ms / %d, where P, A and N are the world\'s PISTE applications, '
                  'technical accounts and structures: the calls the design allows, not the calls the run made, so an '
                  'extra call costs the ratio. Walls of each run: %s.' % (LATENCY_MS, CONCURRENCY, walls), '',
                  'API calls per path (sandbox counter, one run):', ''] + _calls_table(checks)
        lines += _tasks_table('Check: where the wall time goes', [('N=%d' % c['structures'], c['check']) for c in checks])
    rate = results.get('rate')
    if rate:
        lines += ['', '### Rate limit: the check with `chorus_rate_limit` %g' % rate['rate_limit'], '',
                  'The sandbox answers 429 (`Retry-After: 1`) above %g calls in a sliding second per PISTE application; '
                  'the run is limited to %g calls per second in all.' % (rate['rate_limit'], rate['rate_limit']), '',
                  '| N structures | API calls | 429 answers | check task s | calls per second | wall s | load '
                  '| statuses as expected |', '|---:|---:|---:|---:|---:|---:|---|---|',
                  '| %d | %d | %d | %s | %s | %s | %s-%s | %d / %d |' % (
                      rate['structures'], rate['api_calls_total'], rate['responses_429'], _f(rate['check_task_s']),
                      _f(rate['held_rate'], 1), _f(rate['wall_s']), rate['load_1min'][0], rate['load_1min'][1],
                      rate['agreement']['agree'], rate['agreement']['structures'])]
    base = results.get('baseline')
    if base:
        b = base['baseline']
        lines += ['', '### Baseline: `ansible.builtin.uri` per host and call (benchmarks/playbooks/baseline_check.yml)', '',
                  '| N structures | hosts | forks | wall s | per structure ms | API calls | CPU s | peak tree PSS MB | load '
                  '| statuses as expected* | check role, same N: wall s | per structure ms |',
                  '|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|',
                  '| %d | %d | 5 | %s | %s | %d | %s | %s | %s | %d / %d | %s | %s |' % (
                      base['structures'], base['hosts'], _f(b['wall_s']), _f(base['per_structure_s'] * 1000, 1),
                      b['api_calls_total'], _f(b['cpu_s'], 1), _f(b['peak_tree_pss_mb'], 1), '%s-%s' % tuple(b['load_1min']),
                      base['agreement']['agree'], base['agreement']['structures'], _f(base['check_same_size']['wall_s']),
                      _f(base['check_same_size_per_structure_s'] * 1000, 1)),
                  '', '\\* the baseline reads no expiry date: `password_expired` counts as `account_rejected` and '
                  '`password_expiring` as `ok`.', '', 'Baseline API calls per path:', '',
                  '| API path | calls |', '|---|---:|']
        for path, n in sorted((b.get('api_calls') or {}).items()):
            lines.append('| `%s` | %d |' % (path, n))
        if checks:
            target = next(c for c in checks if c['structures'] == results['target_size'])
            lines += ['', 'Per structure: baseline %s ms, check role at N=%d %s ms: **%.1fx** faster.' % (
                _f(base['per_structure_s'] * 1000, 1), target['structures'], _f(target['per_structure_s'] * 1000, 1),
                results['check_vs_baseline'])]
    if results.get('scaling'):
        s = results['scaling']
        steps = s['steps']
        lines += ['', '### Scaling', '', '| N structures | wall s | x | peak tree PSS MB | x |', '|---:|---:|---:|---:|---:|']
        for step in steps:
            lines.append('| %d | %s | %.2f | %s | %.2f |' % (
                step['structures'], _f(step['wall_s']), step['wall_s'] / steps[0]['wall_s'], _f(step['pss_mb'], 1),
                step['pss_mb'] / steps[0]['pss_mb']))
    if results.get('deploy'):
        lines += _deploy_section(results['deploy'])
    for deploy in results.get('deploy_large') or []:
        lines += _deploy_section(deploy)
    lines += ['', 'Commands (from the run folder; `INV` = that scenario\'s `inventory/hosts.yml`):', '']
    for cmd in results['commands']:
        lines.append('- `%s`' % cmd)
    lines += ['', end]
    return '\n'.join(lines) + '\n'


def write_docs(text, begin=BEGIN, end=END):
    current = _read(DOCS)
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        tail = rest.split(end, 1)[1]
        new = head + text.rstrip('\n') + tail
    else:
        new = (current.rstrip('\n') + '\n\n' if current else '# Performance\n\n') + text
    with open(DOCS, 'w', encoding='utf-8') as handle:
        handle.write(new)


def main(argv=None):
    parser = argparse.ArgumentParser(description='run the chorus.corail benchmarks side by side')
    parser.add_argument('--quick', action='store_true', help='smaller sizes, one run each (a few minutes)')
    parser.add_argument('--only', default='check,rate,baseline,deploy',
                        help='comma-separated: check, rate, baseline, deploy, deploy-large (%d hosts, forks %s; not in '
                             'the full run)' % (DEPLOY_LARGE['hosts'], ' and '.join(str(f) for f in DEPLOY_LARGE['forks'])))
    parser.add_argument('--repeat', type=int, default=None, help='runs of each short measurement (median kept)')
    parser.add_argument('--out', default=None, help='folder for worlds, logs and results (default .tmp/bench/<time>)')
    parser.add_argument('--check-sizes', default=None, help='override: comma-separated structure counts, e.g. 1000,5000')
    parser.add_argument('--baseline-size', type=int, default=None, help='override: structures of the baseline world')
    parser.add_argument('--deploy-hosts', type=int, default=None, help='override: hosts of the deploy world')
    docs = parser.add_mutually_exclusive_group()
    docs.add_argument('--docs', dest='docs', action='store_true', default=None, help='rewrite docs/performance.md results')
    docs.add_argument('--no-docs', dest='docs', action='store_false')
    args = parser.parse_args(argv)
    config = dict(QUICK if args.quick else FULL)
    if args.check_sizes:
        config['check_sizes'] = [int(x) for x in args.check_sizes.split(',')]
    if args.baseline_size:
        config['baseline_size'] = args.baseline_size
    if args.deploy_hosts:
        config['deploy_hosts'] = args.deploy_hosts
    repeat = dict(config['repeat'])
    if args.repeat:
        repeat = dict.fromkeys(repeat, args.repeat)
    only = set(x.strip() for x in args.only.split(',') if x.strip())
    unknown = only - {'check', 'rate', 'baseline', 'deploy', 'deploy-large'}
    if unknown:
        parser.error('unknown --only item(s): %s' % ', '.join(sorted(unknown)))
    started = datetime.datetime.now()
    out = os.path.abspath(args.out or os.path.join(REPO, '.tmp', 'bench', started.strftime('%Y%m%d-%H%M%S')))
    os.makedirs(out, exist_ok=True)
    subprocess.run([os.path.join(REPO, 'tools', 'stage_collection.sh')], check=True)
    results = {
        'quick': args.quick,
        'started': started.strftime('%Y-%m-%d %H:%M'),
        'command': 'python benchmarks/run.py' + ''.join(' ' + a for a in (argv if argv is not None else sys.argv[1:])),
        'machine': machine(),
        'config': {'latency_ms': LATENCY_MS, 'concurrency': CONCURRENCY, 'seed': SEED, 'repeat': repeat,
                   'sizes': config},
    }
    log('results in %s (load %s)' % (out, results['machine']['load_at_start']))
    partial = os.path.join(out, 'results.partial.json')

    def keep(results):
        # Each scenario's figures are on disk as soon as it ends: a run stopped later loses nothing before.
        with open(partial, 'w', encoding='utf-8') as handle:
            json.dump(results, handle, indent=1, sort_keys=True)

    if 'check' in only:
        results['check'] = []
        for index, size in enumerate(config['check_sizes']):
            results['check'].append(bench_check(out, size, repeat['check_small'] if index == 0 else repeat['check_large']))
            keep(results)
    if 'rate' in only:
        results['rate'] = bench_rate(out, *config['rate'])
        keep(results)
    if 'baseline' in only:
        results['baseline'] = bench_baseline(out, config['baseline_size'], repeat['baseline'])
        keep(results)
    if 'deploy' in only:
        results['deploy'] = bench_deploy(out, config['deploy_hosts'], config['deploy_structures_per_host'], repeat['deploy'])
    if 'deploy-large' in only:
        results['deploy_large'] = [bench_deploy(out, DEPLOY_LARGE['hosts'], DEPLOY_LARGE['structures_per_host'],
                                                args.repeat or DEPLOY_LARGE['repeat'], forks=forks)
                                   for forks in DEPLOY_LARGE['forks']]
    results['duration_s'] = round((datetime.datetime.now() - started).total_seconds(), 1)
    results['machine']['load_at_end'] = [round(x, 2) for x in os.getloadavg()]
    results['commands'] = _commands(results)
    verdicts(results)
    large_only = only == {'deploy-large'}
    markers = (BEGIN_LARGE, END_LARGE) if large_only else (BEGIN, END)
    text = markdown(results, *markers)
    with open(os.path.join(out, 'results.json'), 'w', encoding='utf-8') as handle:
        json.dump(results, handle, indent=1, sort_keys=True)
    with open(os.path.join(out, 'results.md'), 'w', encoding='utf-8') as handle:
        handle.write(text)
    if args.docs or (args.docs is None and not args.quick and (large_only or only == {'check', 'rate', 'baseline', 'deploy'})):
        write_docs(text, *markers)
        log('docs/performance.md updated')
    for v in results['verdicts']:
        log('%-55s target %-40s measured %-14s %s' % (v['what'], v['target'], v['measured'], 'met' if v['met'] else 'NOT MET'))
    log('results: %s' % os.path.join(out, 'results.md'))
    return 0


def _commands(results):
    seen = []
    for c in results.get('check') or []:
        seen += [c['floor_play']['command'], c['check']['command']]
    if results.get('rate'):
        seen.append(results['rate']['command'])
    if results.get('baseline'):
        seen += [results['baseline']['baseline']['command'], results['baseline']['check_same_size']['command']]
    for deploy in ([results['deploy']] if results.get('deploy') else []) + (results.get('deploy_large') or []):
        seen += [deploy['first']['copy']['command'], deploy['first']['deploy']['command']]
    unique = []
    for cmd in seen:
        cmd = re.sub(r'\S*inventory/hosts\.yml', 'INV', cmd)
        cmd = re.sub(r'(reports|baseline-report)-\d+', r'\1', cmd)
        if cmd not in unique:
            unique.append(cmd)
    return unique


if __name__ == '__main__':
    sys.exit(main())
