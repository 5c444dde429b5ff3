# -*- coding: utf-8 -*-
"""Cost of the unattended steps over a large report (not a test; run by hand):

    .venv/bin/python tests/functional/notify/bench_notify.py [STRUCTURES] [HOSTS]
    .venv/bin/python tests/functional/notify/bench_notify.py --playbook [STRUCTURES] [HOSTS]

Writes a report of STRUCTURES structures on HOSTS servers (15 % problems, one contact per 3
structures), then times against a real aiosmtpd on loopback: the first notification run (every
contact with news and the integrator mailed), a second run (nothing new), the metrics file, retention.
With --playbook: `ansible-playbook chorus.corail.check` over a sandbox world (tests/sandbox/make_world.py),
without, then with notifications (SMTP, contacts, webhook), metrics and retention, then again with nothing new.
"""
import os
import random
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', '..', '.tmp', 'link'))
sys.path.insert(0, HERE)

from aiosmtpd.controller import Controller  # noqa: E402

from notify_helpers import MailHub, free_port  # noqa: E402
from ansible_collections.chorus.corail.plugins.module_utils import (  # noqa: E402
    _metrics, _notify, _report, _retention)
from ansible_collections.chorus.corail.plugins.plugin_utils import _report_html  # noqa: E402

STATUSES = ['missing_account', 'not_attached', 'account_rejected', 'password_expiring', 'access_forbidden']


def main(n=2000, hosts=200):
    rng = random.Random(14)
    entries = []
    for i in range(n):
        problem = rng.random() < 0.15
        status = rng.choice(STATUSES) if problem else 'ok'
        entries.append({'host': 'corail-%03d' % (i % hosts), 'siret': '2%013d' % i, 'name': 'Commune %d' % i,
                        'status': status, 'contact': 'dgs%d@mairie.example' % (i // 3), 'warnings': [],
                        'detail': 'x', 'days_left': rng.randint(1, 400), 'password_expires_on': '2027-06-01'})
    base = tempfile.mkdtemp(prefix='bench-notify-')
    reports = os.path.join(base, 'reports')
    t = time.time()
    dummy, dummy2, paths = _report.write_report(reports, {'structures': entries}, {'hosts': sorted(set(
        e['host'] for e in entries))}, render=_report_html.Renderer())
    print('report written: %.2fs (%d structures, %d hosts)' % (time.time() - t, n, hosts))
    hub = MailHub()
    port = free_port()
    controller = Controller(hub, hostname='127.0.0.1', port=port)
    controller.start()
    options = {'smtp_host': '127.0.0.1', 'sender': 'bot@integrateur.example', 'integrator_to': ['ops@example.fr'],
               'contacts': True, 'max_contact_mails': 100000}
    try:
        for label in ('first run', 'second run (nothing new)'):
            hub.clear()
            t = time.time()
            result = _notify.run(paths['folder'], reports, options,
                                 smtp=_notify.Smtp('127.0.0.1', port, 'none', timeout=30))
            print('notify %s: %.2fs, %d contact mail(s), integrator %s' % (
                label, time.time() - t, len(result['contacts']), bool(result['integrator'])))
    finally:
        controller.stop()
    t = time.time()
    report = _notify.load_folder(paths['folder'])
    _metrics.write(os.path.join(base, 'chorus.prom'), _metrics.render(report))
    print('metrics: %.3fs' % (time.time() - t))
    t = time.time()
    _retention.prune(reports, 10)
    print('retention: %.3fs' % (time.time() - t))


def playbook(n=1000, hosts=200):
    """Wall time of the check playbook without and with the unattended steps."""
    import json
    import subprocess
    sys.path.insert(0, os.path.join(HERE, '..', '..', 'sandbox'))
    from fixtures import running_sandbox
    from make_world import make_world, write_world
    from notify_helpers import webhook_receiver
    base = tempfile.mkdtemp(prefix='bench-notify-pb-')
    generated = make_world(n, hosts=hosts, seed=14)
    with running_sandbox(generated['world']) as sandbox, webhook_receiver() as hook:
        generated = make_world(n, hosts=hosts, seed=14, url=sandbox.url)
        inventory = os.path.join(write_world(generated, os.path.join(base, 'w')), 'inventory', 'hosts.yml')
        hub = MailHub()
        port = free_port()
        controller = Controller(hub, hostname='127.0.0.1', port=port)
        controller.start()
        notify = {'chorus_notify_smtp_host': '127.0.0.1', 'chorus_notify_smtp_port': port,
                  'chorus_notify_smtp_security': 'none', 'chorus_notify_from': 'bot@integrateur.example',
                  'chorus_notify_integrator_to': ['ops@integrateur.example'], 'chorus_notify_contacts': True,
                  'chorus_notify_webhook_url': hook.url, 'chorus_notify_webhook_format': 'teams',
                  'chorus_check_metrics_file': os.path.join(base, 'chorus.prom'), 'chorus_check_keep_reports': 5}
        with open(os.path.join(base, 'notify.json'), 'w') as handle:
            json.dump(notify, handle)
        exe = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(HERE, '..', '..', '..', '.tmp', 'link'),
                   ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='false', ANSIBLE_CALLBACKS_ENABLED='task_timer',
                   ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, '..', '..', '..', 'benchmarks', 'callback_plugins'))
        try:
            for label, extra in (('check alone', []), ('with notifications (first)', ['-e', '@' + handle.name]),
                                 ('with notifications (nothing new)', ['-e', '@' + handle.name])):
                hub.clear()
                del hook.posts[:]
                env['CHORUS_BENCH_TIMINGS'] = os.path.join(base, 'timings-%d.json' % len(label))
                t = time.time()
                proc = subprocess.run([exe, 'chorus.corail.check', '-i', inventory, '-e', 'chorus_check_report_dir=%s'
                                       % os.path.join(base, 'reports-' + ('a' if not extra else 'n'))] + extra,
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
                print('%-34s %6.1fs rc=%d, %d mail(s), %d webhook post(s)' % (
                    label, time.time() - t, proc.returncode, len(hub.mails), len(hook.posts)))
                with open(env['CHORUS_BENCH_TIMINGS']) as timings:
                    for task in json.load(timings).get('tasks', []):
                        if task['seconds'] >= 1 or any(w in task['task'] for w in ('otif', 'metrics', 'report folders')):
                            print('    %6.2fs  %s' % (task['seconds'], task['task']))
        finally:
            controller.stop()


if __name__ == '__main__':
    if sys.argv[1:2] == ['--playbook']:
        playbook(*(int(a) for a in sys.argv[2:4]))
    else:
        main(*(int(a) for a in sys.argv[1:3]))
