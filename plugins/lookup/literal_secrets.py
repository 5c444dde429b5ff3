# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: literal_secrets
author: chorus.corail contributors (@chorus-corail)
version_added: 0.2.0
short_description: Read the Chorus Pro passwords and PISTE client secrets as written, never templated
description:
  - Ansible templates the strings it reads from vars files whenever a task uses them. A generated password that
    happens to hold C({#) loses a part (C(Ab1{#x#}Zz) becomes C(Ab1Zz)). One that holds C({{) or C({%) fails, with
    an error that quotes the lines of the vars file around it.
  - This lookup returns the variable named in its term (C(chorus_accounts), C(chorus_piste_apps) or
    C(chorus_piste_app_credential)) as the inventory holds it, before any template touched it. Every password and
    client secret in the result is data that Ansible does not template again. The roles C(chorus.corail.deploy) and
    C(chorus.corail.check), and the renew playbook, set these variables again from it with M(ansible.builtin.set_fact)
    (in memory, never in the fact cache) before any other task.
  - A secret that is inline C(!vault), C(!unsafe), a prompt's answer or a lookup's result is taken as it is. A
    clear-text secret without Jinja delimiters is taken as it is too.
  - A clear-text secret that is exactly C({{ name }}) is read from the variable C(name), itself as written. A secret
    that is one C({{ ... }}) expression (a lookup, a filter) is evaluated, and its result is taken as it is.
  - A clear-text secret holding delimiters among other characters is a password that Ansible would change. It is
    refused, never used, and never shown. The offline checks report every structure using it as C(invalid_input),
    naming the login or the application and saying how to keep it literal (C(!unsafe) or C(ansible-vault
    encrypt_string)). A warning names it too.
  - Other fields (environment, dates) are templated as Ansible always does.
options:
  _terms:
    description: The name of the variable to read, one of C(chorus_accounts), C(chorus_piste_apps),
      C(chorus_piste_app_credential).
    type: list
    elements: str
    required: true
notes:
  - Variables set by M(ansible.builtin.set_fact) take precedence over inventory, play and role variables for the
    rest of the run. Extra variables (C(-e)) take precedence over them, so give secrets in extra vars only
    vault-encrypted or marked C(!unsafe).
  - "Run the task that uses it with C(no_log: true)."
seealso:
  - name: Secrets that stay literal
    description: How to write passwords and client secrets that Ansible must not template.
    link: https://github.com/chorus-corail/chorus.corail/blob/main/docs/user-guide.md
'''

EXAMPLES = r'''
- name: Read the Chorus Pro secrets as written, before anything templates them
  ansible.builtin.set_fact:
    chorus_accounts: "{{ lookup('chorus.corail.literal_secrets', 'chorus_accounts') }}"
    chorus_piste_apps: "{{ lookup('chorus.corail.literal_secrets', 'chorus_piste_apps') }}"
  no_log: true
'''

RETURN = r'''
_raw:
  description: The variable, its secrets as data (refused ones replaced by a refusal); an empty dict when it is not
    defined.
  type: list
  elements: dict
'''

from collections.abc import Mapping

from ansible.errors import AnsibleError, AnsibleLookupError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.chorus.corail.plugins.module_utils import _secrets as secrets

try:  # ansible-core 2.19+: data tagging; a string is templated only when trusted
    from ansible.template import is_trusted_as_template as _trusted
    _wrap = None
except ImportError:  # pragma: no cover - ansible-core < 2.19: every string but "unsafe" ones is templated
    from ansible.utils.unsafe_proxy import AnsibleUnsafe, wrap_var as _wrap

    def _trusted(value):
        return isinstance(value, str) and not isinstance(value, AnsibleUnsafe)

# variable -> key of the secret in each of its entries (chorus_piste_app_credential is one entry)
SECRET_KEYS = {'chorus_accounts': 'password', 'chorus_piste_apps': 'client_secret',
               'chorus_piste_app_credential': 'client_secret'}
ENTRY_OF = {'chorus_accounts': 'the password of account %s', 'chorus_piste_apps': 'the client_secret of PISTE application %s'}
MAX_INDIRECTIONS = 10
# Inline !vault values: EncryptedString (2.19+), AnsibleVaultEncryptedUnicode (older).
VAULTED_TYPES = ('EncryptedString', 'AnsibleVaultEncryptedUnicode')


def _is_vaulted(value):
    return type(value).__name__ in VAULTED_TYPES


def _plain(text):
    """A new str with the same characters and no tag (trust, origin) attached."""
    return u''.join([to_text(text)])


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        # The raw variables of the task: what the inventory holds, before any templating.
        self._vars = variables or {}
        results = []
        for variable in terms:
            if variable not in SECRET_KEYS:
                raise AnsibleLookupError('chorus.corail.literal_secrets reads %s, not %r'
                                         % (', '.join(sorted(SECRET_KEYS)), variable))
            results.append(self._variable(variable))
        return results

    def _variable(self, variable):
        if variable not in self._vars:
            return {}
        refused = []
        secret_key = SECRET_KEYS[variable]
        value = self._top(self._vars[variable], 0)
        if variable == 'chorus_piste_app_credential':
            value = self._entry(value, secret_key, 'the client_secret of %s' % variable, refused)
        elif isinstance(value, Mapping):
            value = dict((_plain(name), self._entry(entry, secret_key, ENTRY_OF[variable] % name, refused))
                         for name, entry in value.items())
        # else: not a mapping; the offline checks say so
        for what in refused:
            Display().warning('chorus.corail: %s is not used: it %s' % (what, secrets.TEMPLATED_SECRET))
        if _wrap is not None:  # pragma: no cover - older cores: mark the copy unsafe, never templated
            value = _wrap(value)
        return value

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
        if _is_vaulted(value):
            # Inline !vault: never templated; decrypted here, once, into plain data.
            try:
                return _plain(value)
            except AnsibleError as exc:
                raise AnsibleLookupError('chorus.corail.literal_secrets: %s cannot be decrypted (%s)'
                                         % (what, getattr(exc, 'message', None) or type(exc).__name__))
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            # Untrusted text (!unsafe, a prompt, a lookup's result) is data.
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
