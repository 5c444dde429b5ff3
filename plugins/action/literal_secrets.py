# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of chorus.corail.literal_secrets: read the secrets as written, never templated.

Ansible templates every trusted string it reads from a vars file when a task uses it: a generated
password holding ``{#`` loses a part, one holding ``{{`` fails with an error that quotes the vars file.
This plugin reads ``chorus_accounts``, ``chorus_piste_apps`` and ``chorus_piste_app_credential``
from the task's variables before any template touched them, and sets them again as facts (in memory
only, like set_fact) whose secrets are plain data, which Ansible never templates again. A secret that
is itself a template in disguise is replaced by a refusal that the offline checks report
(``invalid_input`` naming the login or the application); the value is never shown.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.chorus.corail.plugins.module_utils import _secrets as secrets

try:  # ansible-core 2.19+: data tagging; a string is templated only when trusted
    from ansible.template import is_trusted_as_template as _trusted
    _wrap = None
except ImportError:  # pragma: no cover - ansible-core < 2.19: every string but "unsafe" ones is templated
    from ansible.utils.unsafe_proxy import AnsibleUnsafe, wrap_var as _wrap

    def _trusted(value):
        return isinstance(value, str) and not isinstance(value, AnsibleUnsafe)

# variable -> key of its secret in each entry ('' when the variable is one entry itself)
VARIABLES = (('chorus_accounts', 'password'), ('chorus_piste_apps', 'client_secret'),
             ('chorus_piste_app_credential', 'client_secret'))
ENTRY_OF = {'chorus_accounts': 'the password of account %s', 'chorus_piste_apps': 'the client_secret of PISTE application %s'}
MAX_INDIRECTIONS = 10


def _plain(text):
    """A new str with the same characters and no tag (trust, origin) attached."""
    return u''.join([to_text(text)])


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        self._vars = task_vars
        facts = {}
        refused = []
        for variable, secret_key in VARIABLES:
            if variable not in task_vars:
                continue
            value = self._top(task_vars[variable], 0)
            if variable == 'chorus_piste_app_credential':
                facts[variable] = self._entry(value, secret_key, 'the client_secret of %s' % variable, refused)
            elif isinstance(value, Mapping):
                facts[variable] = dict((_plain(name), self._entry(entry, secret_key, ENTRY_OF[variable] % name, refused))
                                       for name, entry in value.items())
            else:
                facts[variable] = value  # not a mapping: the offline checks say so
        if _wrap is not None:  # pragma: no cover - older cores: mark the copies unsafe, never templated
            facts = _wrap(facts)
        result.update(changed=False, refused=refused, ansible_facts=facts, _ansible_facts_cacheable=False,
                      _ansible_no_log=True)
        if not self._task.no_log:
            result['warnings'] = ['chorus.corail.literal_secrets sets secrets as facts: run it with no_log: true']
        return result

    def _top(self, value, depth):
        """The variable's mapping, as written: only a variable that is itself a template is templated."""
        if isinstance(value, str) and _trusted(value) and secrets.template_shape(value) != 'plain':
            name = secrets.variable_of(value)
            if name in self._vars and depth < MAX_INDIRECTIONS:
                # "{{ vault_chorus_accounts }}": read that variable as written, too.
                return self._top(self._vars[name], depth + 1)
            return self._templar.template(value)  # a lookup: its result is data
        return value

    def _entry(self, entry, secret_key, what, refused):
        """One account or application, its secret literal (or refused), the other fields as Ansible reads them."""
        if not isinstance(entry, Mapping):
            return entry
        out = {}
        for key, value in entry.items():
            if key == secret_key:
                value = self._secret(value, what, 0)
                if secrets.refusal_of(value):
                    refused.append(what)
            else:
                value = self._resolve(value, what, key, 0)
            out[_plain(key)] = value
        return out

    def _secret(self, value, what, depth):
        """The secret as written: plain text, an indirection followed, or a refusal (never the value)."""
        if isinstance(value, str) and _trusted(value):
            shape = secrets.template_shape(value)
            if shape == 'plain':
                return _plain(value)
            if shape == 'variable' and depth < MAX_INDIRECTIONS:
                name = secrets.variable_of(value)
                if name not in self._vars:
                    return secrets.refused('is "{{ %s }}", and %s is not defined' % (name, name))
                return self._secret(self._vars[name], what, depth + 1)
            if shape == 'expression':
                try:
                    value = self._templar.template(value)
                except AnsibleError as exc:
                    # The message may quote the source lines around the expression: name its kind only.
                    return secrets.refused('is an expression that cannot be resolved (%s)' % type(exc).__name__)
                return self._secret(value, what, depth + 1) if not _trusted(value) else secrets.refused(
                    'is an expression whose result is a template again')
            return secrets.refused(secrets.TEMPLATED_SECRET)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            # Untrusted text (!unsafe, a prompt, a lookup's result) and inline !vault values are data.
            return _plain(value)
        return value  # None, a bool, a list...: the offline checks say what is wrong

    def _resolve(self, value, what, key, depth):
        """A value that is not a secret, templated as Ansible would (a mapping entry by entry)."""
        if isinstance(value, Mapping):
            return dict((_plain(k) if isinstance(k, str) else k, self._resolve(v, what, k, depth)) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return [self._resolve(v, what, key, depth) for v in value]
        if isinstance(value, str) and _trusted(value) and secrets.template_shape(value) != 'plain':
            return self._resolve(self._templar.template(value), what, key, depth + 1)
        if isinstance(value, str):
            return _plain(value)
        return value
