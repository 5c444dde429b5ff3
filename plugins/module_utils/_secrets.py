# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""Secrets: the one rule a secret must follow, and masking that cannot be read backwards.

A secret is refused, not masked, when masking it would give it away: a secret shorter than
MIN_SECRET_LENGTH would be masked letter by letter in every text (status names, French words), so
that the secret could be read off what is left. A secret of the right length is masked only where
it can stand: in texts built from API answers, exceptions, URLs and bodies, in every form a server
or a library may echo it (raw, URL-encoded, JSON-, XML- and HTML-escaped, base64). Inventory text
(names, logins, SIRETs, hosts) is never rewritten, even when a secret happens to be part of it:
masking "de Pau" in "Commune de Pau" would show the secret by subtraction.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import re

from urllib.parse import quote, quote_plus

# Chorus Pro publishes no password rule (chorus-pro-api.md, open question 6); the portal generates
# long passwords and PISTE client secrets are longer still. 8 keeps a mask from being read backwards.
MIN_SECRET_LENGTH = 8
MASK = '********'
NO_LOG_PLACEHOLDER = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


# Jinja's three opening delimiters: a text holding one of them is a template to Ansible.
JINJA_OPENERS = ('{{', '{%', '{#')
_BARE_VARIABLE = re.compile(r'^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$')
_ONE_EXPRESSION = re.compile(r'^\{\{(?:(?!\{\{|\}\}|\{%|%\}|\{#|#\}).)*\}\}$', re.DOTALL)
# A secret the collection refuses to use travels as this text followed by the reason, so that the one
# validation path (the offline checks) reports it for every structure using it, as invalid_input.
REFUSED_PREFIX = 'chorus.corail refused this secret: '
TEMPLATED_SECRET = (
    'holds Jinja delimiters ({{, {% or {#) among other characters, which Ansible would template (a {#...#} '
    'part would vanish, a {{...}} part would be replaced), so it is not used. Keep it literal: in clear-text '
    'vars write it as !unsafe \'...\', or vault-encrypt it on its own (ansible-vault encrypt_string)')


def template_shape(text):
    """How Ansible would read ``text`` if it templated it.

    ``plain`` (no delimiter: templating leaves it as it is), ``variable`` (exactly ``{{ name }}``, an
    indirection to another variable), ``expression`` (one ``{{ ... }}`` and nothing else: a lookup,
    a filter) or ``mixed`` (delimiters among other text: what a generated password looks like when it
    happens to hold ``{#`` or ``{{``; templating it would change it).
    """
    if not any(opener in text for opener in JINJA_OPENERS):
        return 'plain'
    if _BARE_VARIABLE.match(text):
        return 'variable'
    if _ONE_EXPRESSION.match(text):
        return 'expression'
    return 'mixed'


def variable_of(text):
    """The variable name of a ``{{ name }}`` text, or None."""
    match = _BARE_VARIABLE.match(text)
    return match.group(1) if match else None


def refused(reason):
    """The value standing for a secret refused for ``reason`` (a text that never quotes the secret)."""
    return REFUSED_PREFIX + reason


def refusal_of(value):
    """The reason a secret was refused, or None when ``value`` is not a refused secret."""
    if isinstance(value, str) and value.startswith(REFUSED_PREFIX):
        return value[len(REFUSED_PREFIX):]
    return None


def secret_problem(value):
    """Why ``value`` cannot be a password or client secret, or None. Never quotes the value."""
    if refusal_of(value):
        return refusal_of(value)
    if not isinstance(value, str):
        return 'must be a string, got %s' % type(value).__name__
    if not value.strip():
        return 'is empty or only white space'
    if len(value) < MIN_SECRET_LENGTH:
        return ('is shorter than %d characters: a secret this short cannot be masked in outputs '
                'without being given away' % MIN_SECRET_LENGTH)
    return None


def secret_forms(secret):
    """Every text form under which ``secret`` may be echoed: raw, URL, JSON, XML/HTML, base64."""
    raw = secret.encode('utf-8')
    html = secret.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
    forms = set([
        secret,
        quote(secret, safe=''), quote(secret), quote_plus(secret), quote_plus(secret, safe='/'),
        json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
        html, html.replace('"', '&quot;').replace("'", '&#x27;'), html.replace('"', '&quot;').replace("'", '&apos;'),
        html.replace('"', '&quot;').replace("'", '&#39;'),
        base64.b64encode(raw).decode('ascii'), base64.urlsafe_b64encode(raw).decode('ascii'),
        base64.b64encode(raw).decode('ascii').rstrip('='),
    ])
    return forms


def pair_forms(user, secret):
    """Forms of ``user:secret`` as HTTP Basic and the cpro-account header carry it (base64)."""
    raw = ('%s:%s' % (user, secret)).encode('utf-8')
    return set([base64.b64encode(raw).decode('ascii'), base64.urlsafe_b64encode(raw).decode('ascii')])


def keep_only_secrets(no_log_values, entries):
    """Remove from ``no_log_values`` every value that is not a secret.

    An option that carries secrets (a list of structures, a dict of accounts) is no_log as a whole,
    so Ansible would mask every value inside it everywhere in the result: SIRETs, names, even
    "production". ``entries`` yields ``(mapping, secret_keys)`` pairs; values under a secret key
    stay masked, the others are let back into the output unless they are also a secret.
    """
    secrets = set()
    public = set()
    for mapping, secret_keys in entries:
        if not isinstance(mapping, dict):
            continue
        for key, value in mapping.items():
            if value is None or isinstance(value, (bool, dict, list)):
                continue
            (secrets if key in secret_keys else public).add(str(value))
    no_log_values.difference_update(public - secrets)
    # A blank "secret" hides nothing but would mask every space of the error that refuses it.
    no_log_values.difference_update([value for value in no_log_values if not value.strip()])


class SecretMask(object):
    """Mask secrets in a result, in time linear in the result's size.

    ``secrets``: the secrets (shorter than MIN_SECRET_LENGTH are ignored: the offline checks refuse
    them, so they never reach an API answer). ``pairs``: ``(user, secret)`` whose base64 forms are
    masked too. ``keep``: public texts (names, logins, SIRETs...) never rewritten: a string equal
    to one is left as it is, and an occurrence of a secret that lies inside an occurrence of one is
    left too. A string equal to a secret becomes ``VALUE_SPECIFIED_IN_NO_LOG_PARAMETER``, every
    other occurrence of a form of a secret ``********``; dict keys, booleans and None are kept.

    Each string is scanned once, at every ``step``-th position, for the ``width``-character
    windows of the forms; only the forms found that way are tried (docs/performance.md).
    """

    def __init__(self, secrets, pairs=(), keep=(), mask=MASK):
        self.mask = mask
        self.secrets = frozenset(s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH)
        forms = set()
        for secret in self.secrets:
            forms.update(secret_forms(secret))
        for user, secret in pairs:
            if isinstance(secret, str) and len(secret) >= MIN_SECRET_LENGTH:
                forms.update(pair_forms(user, secret))
        self.keep = frozenset(k for k in keep if isinstance(k, str) and k)
        self.ordered = sorted((f for f in forms if len(f) >= MIN_SECRET_LENGTH), key=len, reverse=True)
        self.index = {}
        self.width = self.step = 0
        if self.ordered:
            shortest = len(self.ordered[-1])
            self.width = max(4, (shortest + 1) // 2)
            # Every occurrence of a form at least `shortest` long covers a scanned position p with
            # p + width inside it, provided the form's windows at offsets 0..step-1 are indexed.
            self.step = shortest - self.width + 1
            for form in self.ordered:
                for offset in range(self.step):
                    self.index.setdefault(form[offset:offset + self.width], set()).add(form)
        self._cache = {}

    def _found(self, value):
        found = set()
        index, width = self.index, self.width
        for start in range(0, len(value) - width + 1, self.step):
            hits = index.get(value[start:start + width])
            if hits:
                found.update(f for f in hits if f in value)
        return found

    def _protected(self, value):
        spans = []
        for kept in self.keep:
            start = value.find(kept)
            while start >= 0:
                spans.append((start, start + len(kept)))
                start = value.find(kept, start + 1)
        return spans

    def _replace(self, value, found):
        protected = self._protected(value)
        taken = []  # (start, end) replaced, longest forms first, never overlapping
        for form in (f for f in self.ordered if f in found):
            start = value.find(form)
            while start >= 0:
                end = start + len(form)
                inside_public = any(p_start <= start and end <= p_end for p_start, p_end in protected)
                overlaps = any(start < t_end and t_start < end for t_start, t_end in taken)
                if not inside_public and not overlaps:
                    taken.append((start, end))
                start = value.find(form, start + 1)
        if not taken:
            return value
        out, last = [], 0
        for start, end in sorted(taken):
            out.append(value[last:start])
            out.append(self.mask)
            last = end
        out.append(value[last:])
        return ''.join(out)

    def text(self, value):
        """``value`` (a string) masked."""
        cached = self._cache.get(value)
        if cached is not None:
            return cached
        if value in self.keep:
            masked = value
        elif value in self.secrets:
            masked = NO_LOG_PLACEHOLDER
        elif self.index and len(value) >= self.width:
            found = self._found(value)
            masked = self._replace(value, found) if found else value
        else:
            masked = value
        if len(self._cache) < 100000:
            self._cache[value] = masked
        return masked

    def apply(self, value):
        """A copy of ``value`` (dicts, lists, tuples, sets, scalars) with every secret masked."""
        if not self.secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, (int, float)):
            text = str(value)
            return NO_LOG_PLACEHOLDER if self.text(text) != text else value
        if isinstance(value, dict):
            return dict((key, self.apply(item)) for key, item in value.items())
        if isinstance(value, (list, tuple)):
            return [self.apply(item) for item in value]
        if isinstance(value, (set, frozenset)):
            return set(self.apply(item) for item in value)
        return self.text(str(value))
