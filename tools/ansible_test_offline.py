"""Prepare ansible-test's pip bootstrap cache so that it works without its own file host.

ansible-test puts pip into each per-test virtualenv by running a ``get-pip.py`` script that it
downloads from ci-files.testing.ansible.com, a host this network cannot reach. It looks first for
a cached copy in ``~/.ansible/test/cache/get_pip_<version>.py``. We write a small stand-in there
which installs pip from the pip wheel fetched from PyPI (a package registry we can reach).
"""

import glob
import os
import subprocess
import sys

STANDIN = '''#!/usr/bin/env python
# Stand-in for get-pip.py written by chorus.corail tools/ansible_test_offline.py:
# runs pip from the wheel that sits next to this file.
import sys
sys.path.insert(0, {wheel!r})
from pip._internal.cli.main import main
# get-pip.py's own options (--no-setuptools, --no-wheel) mean "install nothing more": drop them,
# and install pip from the wheel instead of by name.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel") and not a.startswith("pip==")]
sys.exit(main(["install", "--upgrade", "--force-reinstall", {wheel!r}] + args))
'''


def pip_version_of_ansible_test():
    from ansible_test._internal import python_requirements  # pylint: disable=import-outside-toplevel

    class _Python:  # get_venv_packages only reads .version
        version = '%d.%d' % sys.version_info[:2]

    return python_requirements.get_venv_packages(_Python())['pip']


def main():
    version = pip_version_of_ansible_test()
    cache = os.path.expanduser('~/.ansible/test/cache')
    os.makedirs(cache, exist_ok=True)
    target = os.path.join(cache, 'get_pip_%s.py' % version.replace('.', '_'))
    wheels = glob.glob(os.path.join(cache, 'pip-%s-*.whl' % version))
    if not wheels:
        subprocess.check_call([sys.executable, '-m', 'pip', 'download', '--quiet', '--no-deps',
                               '--only-binary=:all:', '-d', cache, 'pip==%s' % version])
        wheels = glob.glob(os.path.join(cache, 'pip-%s-*.whl' % version))
    with open(target, 'w', encoding='utf-8') as handle:
        handle.write(STANDIN.format(wheel=wheels[0]))
    print('ansible-test pip %s bootstrap: %s' % (version, target))


if __name__ == '__main__':
    main()
