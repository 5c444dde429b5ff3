# -*- coding: utf-8 -*-
"""Cost of the unattended steps over a large report (not a test; run by hand):

    .venv/bin/python tests/functional/notify/bench_notify.py [STRUCTURES] [HOSTS]

Writes a report of STRUCTURES structures on HOSTS servers (15 % problems, one contact per 3
structures), then times against a real aiosmtpd on loopback: the first notification run (every
contact with news and the integrator mailed), a second run (nothing new), the metrics file, retention.
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
        e['host'] for e in entries))})
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


if __name__ == '__main__':
    main(*(int(a) for a in sys.argv[1:3]))
