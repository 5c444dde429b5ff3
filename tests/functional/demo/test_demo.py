# -*- coding: utf-8 -*-
"""`make demo` (tools/demo.sh) from start to end, in a temporary folder."""
import json
import os
import re
import subprocess

from conftest import REPO, ansible_env


def test_demo_runs_rollout_and_check_and_prints_the_report(tmp_path):
    work = tmp_path / 'demo'
    env = ansible_env(CHORUS_DEMO_DIR=str(work), CHORUS_DEMO_STRUCTURES=30, CHORUS_DEMO_HOSTS=3)
    proc = subprocess.run([os.path.join(REPO, 'tools', 'demo.sh')], cwd=REPO, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:]
    deployed = int(re.search(r'Rollout: (\d) of 3 server\(s\) deployed', out).group(1))
    assert re.search(r'Chorus Pro check: 30 structure\(s\) on 3 host\(s\)', out), out
    report = re.search(r'^-- report: (.+)$', out, re.M).group(1)
    assert os.path.isfile(report)
    # the report says what the generated world says, structure by structure
    expected = json.loads((work / 'expected.json').read_text())
    rows = json.loads((work / 'reports' / 'latest' / 'report.json').read_text())['structures']
    assert dict((row['siret'], row['status']) for row in rows) == expected
    # a server is either deployed (its configuration file is there) or listed with the reason
    written = sorted(h for h in os.listdir(work / 'servers') if os.listdir(work / 'servers' / h))
    assert len(written) == deployed > 0
    for host in set(['corail-001', 'corail-002', 'corail-003']) - set(written):
        assert re.search(r'^   %s \| deploy \| .+: .+' % host, out, re.M), out
    # the sandbox is stopped
    assert not os.path.exists(work / 'sandbox' / 'pid')
