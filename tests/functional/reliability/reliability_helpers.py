# -*- coding: utf-8 -*-
"""Shared helpers of the reliability suite (docs/reliability.md).

- ``SecretSet`` / ``scan`` / ``assert_no_leak``: one generic leak scanner. It looks for every
  secret and what can be derived from it (encodings, hashes, prefixes) in any list of texts,
  files and folders, and fails naming where, never printing the secret itself.
- ``run_module``: run a module's ``main()`` in this process (fast) and return its JSON result.
- ``structures_of``: the flat structure list the check role builds, from a generated world.
"""

import base64
import hashlib
import html
import json
import os
import stat
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
FUNCTIONAL = os.path.dirname(HERE)
if FUNCTIONAL not in sys.path:
    sys.path.insert(0, FUNCTIONAL)

import conftest  # noqa: E402  (tests/functional/conftest.py: puts .tmp/link and the sandbox on sys.path)

LINK = conftest.LINK

PREFIX_LEN = 8


def _b64_variants(raw):
    std = base64.b64encode(raw).decode('ascii')
    url = base64.urlsafe_b64encode(raw).decode('ascii')
    out = {'base64': std, 'base64url': url}
    if std.rstrip('='):
        out['base64 (unpadded)'] = std.rstrip('=')
    return out


def derivatives(secret):
    """{kind: text} for one secret: every form in which it, or something derived from it, could leak."""
    raw = secret.encode('utf-8')
    forms = {
        'clear text': secret,
        'JSON-escaped': json.dumps(secret, ensure_ascii=False)[1:-1],
        'JSON-escaped (ASCII)': json.dumps(secret)[1:-1],
        'URL-encoded': urllib.parse.quote_plus(secret),
        'URL-encoded (%20)': urllib.parse.quote(secret, safe=''),
        'HTML-escaped': html.escape(secret, quote=True),
        'sha1 hex': hashlib.sha1(raw).hexdigest(),
        'sha256 hex': hashlib.sha256(raw).hexdigest(),
        'md5 hex': hashlib.md5(raw).hexdigest(),  # nosec - looking for it, not using it
        'sha256 base64': base64.b64encode(hashlib.sha256(raw).digest()).decode('ascii'),
        'first %d chars' % PREFIX_LEN: secret[:PREFIX_LEN],
        'last %d chars' % PREFIX_LEN: secret[-PREFIX_LEN:],
    }
    forms.update(_b64_variants(raw))
    return dict((kind, text) for kind, text in forms.items() if text)


# Derivatives whose case may change on the way (hex digests shown in upper case, for example).
_CASELESS = ('sha1 hex', 'sha256 hex', 'md5 hex')


class SecretSet(object):
    """Named secrets and their derivatives. ``add_pair`` adds what HTTP headers carry for a
    login/password or client_id/secret pair: base64("a:b"), as in cpro-account and Basic auth."""

    def __init__(self):
        self.needles = []  # (secret name, kind, text)
        self.names = []

    def add(self, name, secret):
        if not secret:
            raise ValueError('secret %s is empty: a leak scan needs distinctive values' % name)
        self.names.append(name)
        for kind, text in derivatives(secret).items():
            self.needles.append((name, kind, text))
        return self

    def add_pair(self, name, first, second):
        pair = ('%s:%s' % (first, second)).encode('utf-8')
        for kind, text in _b64_variants(pair).items():
            self.needles.append((name, kind + ' of "login:password"', text))
        return self

    def __len__(self):
        return len(self.names)


def _read(path):
    with open(path, 'rb') as handle:
        return handle.read().decode('utf-8', 'replace')


def _expand(sources):
    """(label, text) pairs from texts, (label, text) tuples, files and folders (walked)."""
    for source in sources:
        if isinstance(source, tuple):
            label, text = source
            if isinstance(text, bytes):
                text = text.decode('utf-8', 'replace')
            elif not isinstance(text, str):
                text = json.dumps(text, ensure_ascii=False, default=str)
            yield label, text
        elif os.path.isdir(source):
            for top, dirs, files in os.walk(source):
                dirs.sort()
                for name in sorted(files):
                    path = os.path.join(top, name)
                    if os.path.isfile(path):
                        yield path, _read(path)
        elif os.path.isfile(source):
            yield source, _read(source)
        elif os.path.lexists(source):
            continue  # dangling link (a report's `latest` before the first run): nothing to read
        else:
            raise AssertionError('leak scan: %s does not exist; the scan would prove nothing' % source)


def _masked(text, spans, start, end):
    """text[start:end] with every secret span inside it replaced by a marker (spans may overlap)."""
    pieces = []
    pos = start
    for span_start, span_end in sorted((max(a, start), min(b, end)) for a, b in spans if a < end and b > start):
        if span_end <= pos:
            continue
        if span_start > pos:
            pieces.append(text[pos:span_start])
        pieces.append('<SECRET>')
        pos = span_end
    pieces.append(text[pos:end])
    return ''.join(pieces).replace('\n', ' ')


def scan(sources, secrets):
    """Every occurrence of a secret or derivative in ``sources``: [(where, secret name, kind, context)].

    The context masks every secret it overlaps, so that a failure report leaks nothing itself."""
    findings = []
    for label, text in _expand(sources):
        lowered = text.lower()
        hits = []
        for name, kind, needle in secrets.needles:
            haystack, target = (lowered, needle.lower()) if kind in _CASELESS else (text, needle)
            start = haystack.find(target)
            while start != -1:
                hits.append((start, start + len(target), name, kind))
                start = haystack.find(target, start + 1)
        spans = [(a, b) for a, b, _n, _k in hits]
        for start, end, name, kind in sorted(hits):
            line = text.count('\n', 0, start) + 1
            context = _masked(text, spans, max(0, start - 60), min(len(text), end + 60))
            findings.append(('%s:%d' % (label, line), name, kind, '...%s...' % context))
    return findings


def assert_no_leak(sources, secrets, what=''):
    """Fail loudly, naming each place, when any secret or derivative shows up in ``sources``."""
    assert len(secrets), 'leak scan without secrets proves nothing'
    findings = scan(sources, secrets)
    if findings:
        lines = ['%d secret leak(s)%s:' % (len(findings), ' in ' + what if what else '')]
        for where, name, kind, context in findings[:40]:
            lines.append('  %s: %s (%s): %s' % (where, name, kind, context))
        raise AssertionError('\n'.join(lines))
    return len(secrets.needles)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def sha256_file(path):
    """Hex digest of a file's bytes, or a marker for a missing path (hash before / after)."""
    if not os.path.lexists(path):
        return 'absent'
    with open(path, 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def run_module(module, args, capsys):
    """Run ``module.main()`` with ``args`` in this process; return its parsed JSON result."""
    import pytest
    from ansible.module_utils.testing import patch_module_args

    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    out = capsys.readouterr().out
    return json.loads(out)


def structures_of(generated):
    """The structures of every host of a make_world() result, tagged as structures_of_hosts tags them."""
    out = []
    for host, hostvars in sorted(generated['inventory']['host_vars'].items()):
        for structure in hostvars['corail_structures']:
            item = dict(structure)
            item['host'] = host
            if not item.get('piste_app') and hostvars.get('chorus_piste_app'):
                item['piste_app'] = hostvars['chorus_piste_app']
            out.append(item)
    return out


def record(topic, **figures):
    """Append one line of figures to $RELIABILITY_FIGURES (JSON lines) when set; docs/reliability.md
    quotes them. Without the variable the tests record nothing."""
    target = os.environ.get('RELIABILITY_FIGURES')
    if not target:
        return
    line = json.dumps(dict(topic=topic, **figures), sort_keys=True, default=str)
    with open(target, 'a') as handle:  # one short write per line: safe with pytest -n
        handle.write(line + '\n')
