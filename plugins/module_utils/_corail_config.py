# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""Plan a change of the Chorus Pro settings of a Corail configuration file: the engine's facade.

Corail's real format is not public, so this is a *model* (docs/corail-config-model.md). Each format
is one small module of the registry ``_FORMATS`` (``_format_ini``, ``_format_xml``) with its default
key layout, its layout checks, its decoding, parse and render; nothing here depends on which one.
Planning is pure (bytes in, bytes out): where the file lives (POSIX module, Windows action
plugin) is the caller's business.

Error messages never quote a value read from the file or a secret: they name the field, the
structure (SIRET) or the line.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.chorus.corail.plugins.module_utils import _format_ini, _format_xml
from ansible_collections.chorus.corail.plugins.module_utils import _schema as schema
from ansible_collections.chorus.corail.plugins.module_utils._config_model import (
    APP,
    FIELDS,
    KINDS,
    PLACEHOLDER,
    SECRET_FIELDS,
    STRUCTURE,
    Block,
    CorruptConfig,
    Layout,
    LayoutError,
    encodable_problem,
    split_lines,
)
from ansible_collections.chorus.corail.plugins.module_utils._format_ini import (
    IniDocument,
    decode_ini_value,
    encode_ini_value,
)
from ansible_collections.chorus.corail.plugins.module_utils._format_xml import XmlDocument
from ansible_collections.chorus.corail.plugins.module_utils._identifiers import (
    InvalidIdentifier,
    check_environment,
    check_siret,
    normalise_siret,
    login_problem,
    password_problem,
)
from ansible_collections.chorus.corail.plugins.module_utils._secrets import refusal_of

# The facade: what corail_config, the Windows action plugin and the tests use.
__all__ = ['APP', 'STRUCTURE', 'FIELDS', 'KINDS', 'SECRET_FIELDS', 'FORMATS', 'DEFAULT_LAYOUTS', 'NEW_FILE_HEADER',
           'Block', 'CorruptConfig', 'InvalidIdentifier', 'Layout', 'LayoutError', 'Plan', 'IniDocument', 'XmlDocument',
           'build_blocks', 'decode', 'decode_ini_value', 'encode_ini_value', 'format_of', 'masked_diff', 'plan',
           'resolve_layout', 'split_lines', 'written_structures']

# The format registry: adding a format is one module with the same names and one line here.
_FORMATS = dict((fmt.NAME, fmt) for fmt in (_format_ini, _format_xml))
FORMATS = tuple(_FORMATS)
DEFAULT_LAYOUTS = dict((name, fmt.DEFAULT_LAYOUT) for name, fmt in _FORMATS.items())
NEW_FILE_HEADER = dict((name, fmt.HEADER) for name, fmt in _FORMATS.items())

# Diff markers: a secret is never shown, hashed or abbreviated, only said to exist or to change.
SECRET_MARK = '<secret>'
SECRET_CHANGED_MARK = '<secret changed>'

APP_NAME_RE = schema.APP_NAME_RE
MAX_VALUE_LENGTH = schema.MAX_VALUE_LENGTH


def format_of(name):
    """The registered format called ``name``. Raises LayoutError."""
    if name not in _FORMATS:
        raise LayoutError('format must be one of %s, got %r' % (', '.join(FORMATS), name))
    return _FORMATS[name]


def decode(data, fmt):
    """Return (bom, codec, text) such that ``bom + text.encode(codec) == data``."""
    return format_of(fmt).decode(data)


# ---------------------------------------------------------------------------------------------
# Key layout


def resolve_layout(fmt, override=None):
    """Merge ``override`` over the default layout of ``fmt`` and check it. Raises LayoutError.

    ``override`` may set the format's own settings (ini: ``app_section`` / ``structure_section``)
    and, under ``app`` and ``structure``, the key of any field; a field set to null or '' is not
    written at all.
    """
    syntax = format_of(fmt)
    data = copy.deepcopy(syntax.DEFAULT_LAYOUT)
    override = override or {}
    if not isinstance(override, dict):
        raise LayoutError('key_layout must be a dictionary')
    allowed = tuple(syntax.SETTINGS) + (APP, STRUCTURE)
    for name, value in override.items():
        if name not in allowed:
            raise LayoutError('key_layout.%s is not a setting of the %s layout (allowed: %s)' % (name, fmt, ', '.join(allowed)))
        if name in KINDS:
            if not isinstance(value, dict):
                raise LayoutError('key_layout.%s must be a dictionary of field: key' % name)
            for field, key in value.items():
                if field not in FIELDS[name]:
                    raise LayoutError('key_layout.%s.%s is not a field (fields: %s)' % (name, field, ', '.join(FIELDS[name])))
                if key is not None and not isinstance(key, str):
                    raise LayoutError('key_layout.%s.%s must be a string or null' % (name, field))
                data[name][field] = key or None
        else:
            if not isinstance(value, str):
                raise LayoutError('key_layout.%s must be a string' % name)
            data[name] = value
    syntax.check_layout(data)
    for kind in KINDS:
        keys = {}
        for field in FIELDS[kind]:
            key = data[kind].get(field)
            if not key:
                continue
            where = 'key_layout.%s.%s' % (kind, field)
            syntax.check_key(where, key, PLACEHOLDER[kind])
            if key.lower() in keys:
                raise LayoutError('%s uses the same key as key_layout.%s.%s' % (where, kind, keys[key.lower()]))
            keys[key.lower()] = field
    return Layout(fmt, data)


# ---------------------------------------------------------------------------------------------
# Input


def _text(value, field, siret=None, required=False, app=None, secret=False):
    """The schema's normalised value (secrets are kept as given), or InvalidIdentifier. Never quotes the value."""
    where = field if app is None else '%s of PISTE application %s' % (field, app)
    if secret:
        value = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if refusal_of(value):  # never written: chorus.corail.literal_secrets refused it
            raise InvalidIdentifier(where, refusal_of(value), siret)
    else:
        value = schema.normalise(value)
    if value is None or value == '':
        if required:
            raise InvalidIdentifier(where, 'is required and empty', siret)
        return None
    problem = schema.text_problem(value)
    if problem:
        raise InvalidIdentifier(where, problem, siret)
    if required and not value.strip():
        raise InvalidIdentifier(where, 'is only white space', siret)
    return value


def build_blocks(piste_apps, structures):
    """Check and normalise the module input. Returns (app blocks, structure blocks) in input order.

    Raises InvalidIdentifier naming the field and the SIRET (or application) at the first problem.
    """
    apps = []
    by_name = {}
    for index, app in enumerate(piste_apps or []):
        name = app.get('name')
        problem = schema.app_name_problem(name)
        if problem:
            raise InvalidIdentifier('name of piste_apps[%d]' % index, problem)
        if name in by_name:
            raise InvalidIdentifier('name of piste_apps[%d]' % index, 'PISTE application %s is listed twice' % name)
        env = _text(app.get('environment'), 'environment', required=True, app=name)
        check_environment(env, 'environment of PISTE application %s' % name)
        values = {
            'environment': env,
            'client_id': _text(app.get('client_id'), 'client_id', required=True, app=name),
            'client_secret': _text(app.get('client_secret'), 'client_secret', required=True, app=name, secret=True),
        }
        for field in ('oauth_url', 'api_url'):
            url = _text(app.get(field), field, app=name)
            problem = schema.url_problem(url)
            if problem:
                raise InvalidIdentifier('%s of PISTE application %s' % (field, name), problem)
            values[field] = url
        block = Block(APP, name, values)
        by_name[name] = block
        apps.append(block)

    blocks = []
    seen = set()
    for index, item in enumerate(structures or []):
        siret = normalise_siret(item.get('siret'))
        # The SIRET rule of the structure's environment (qualification identifiers need not satisfy Luhn).
        named = schema.normalise(item.get('piste_app')) or (apps[0].ident if len(apps) == 1 else None)
        environment = by_name[named].values['environment'] if named in by_name else None
        check_siret(siret, field='siret' if isinstance(siret, str) and siret else 'siret of structures[%d]' % index,
                    environment=environment)
        if siret in seen:
            raise InvalidIdentifier('siret', 'is listed twice', siret)
        seen.add(siret)
        account = _text(item.get('account'), 'account', siret, required=True)
        problem = login_problem(account)
        if problem:
            raise InvalidIdentifier('account', problem, siret)
        password = item.get('password')
        problem = password_problem(password) if password not in (None, '') else 'is required and empty'
        if problem:
            raise InvalidIdentifier('password', problem, siret)
        password = _text(password, 'password', siret, required=True, secret=True)
        app_name = schema.normalise(item.get('piste_app'))
        if app_name is None:
            if len(apps) != 1:
                raise InvalidIdentifier('piste_app', 'is required when piste_apps does not list exactly one application', siret)
            app_name = apps[0].ident
        if app_name not in by_name:
            raise InvalidIdentifier('piste_app', 'names no application of piste_apps', siret)
        cpp = item.get('id_structure_cpp')
        cpp = _text(cpp, 'id_structure_cpp', siret)
        problem = schema.id_structure_cpp_problem(cpp)
        if problem:
            raise InvalidIdentifier('id_structure_cpp', problem, siret)
        blocks.append(Block(STRUCTURE, siret, {
            'name': _text(item.get('name'), 'name', siret),
            'account': account,
            'password': password,
            'piste_app': app_name,
            'service_code': _text(item.get('service_code'), 'service_code', siret),
            'id_structure_cpp': cpp,
        }))
    return apps, blocks


def _check_blocks_fit(syntax, layout, blocks):
    """Each block must map back to itself through the layout, and no two may share a key."""
    taken = {}
    for block in blocks:
        label = 'structure' if block.kind == STRUCTURE else 'PISTE application'
        for what, name, reads_back in syntax.names_of(layout, block):
            if not reads_back:
                raise InvalidIdentifier('name of %s %s' % (label, block.ident),
                                        'its %s would be read back as another entry of the layout' % what)
            if name.lower() in taken:
                raise InvalidIdentifier('name of %s %s' % (label, block.ident),
                                        'uses the same key or section as %s' % taken[name.lower()])
            taken[name.lower()] = '%s %s' % (label, block.ident)


# ---------------------------------------------------------------------------------------------
# Plan: what to write and what changes


class Plan(object):
    """The outcome of merging the wanted settings into a file's content (bytes or None)."""

    def __init__(self, content, original, before, after, pruned, blocks):
        self.content = content
        self.original = original
        self.before = before
        self.after = after
        self.pruned = pruned
        self.blocks = blocks

    @property
    def changed(self):
        return self.content != self.original

    @property
    def pruned_structures(self):
        return [ident for kind, ident in self.pruned if kind == STRUCTURE]


def _check_encodable(syntax, blocks, codec):
    if syntax.ESCAPES_UNENCODABLE:
        return
    problem = encodable_problem(blocks, codec)
    if problem is None:
        return
    block, field = problem
    if block.kind == STRUCTURE:
        raise InvalidIdentifier(field, 'has characters the file encoding (%s) cannot hold' % codec, block.ident)
    raise InvalidIdentifier('%s of PISTE application %s' % (field, block.ident),
                            'has characters the file encoding (%s) cannot hold' % codec)


def plan(fmt, original, layout, piste_apps, structures, prune=False):
    """Merge the settings into ``original`` (file bytes, or None for a new file). Pure: writes nothing.

    Raises InvalidIdentifier (input), LayoutError or CorruptConfig (existing file).
    """
    syntax = format_of(fmt)
    if layout.format != fmt:
        raise LayoutError('the layout is for %s, the file is %s' % (layout.format, fmt))
    apps, structure_blocks = build_blocks(piste_apps, structures)
    blocks = apps + structure_blocks
    _check_blocks_fit(syntax, layout, blocks)
    wanted = dict(((b.kind, b.ident), dict((f, b.values.get(f)) for f in layout.owned_fields(b.kind)
                                           if b.values.get(f) is not None)) for b in blocks)
    if original is None or not original.strip():  # a missing or empty (touched) file starts afresh
        _check_encodable(syntax, blocks, 'utf-8')
        content = syntax.render_new(layout, blocks).encode('utf-8')
        return Plan(content, original, {}, wanted, [], blocks)
    bom, codec, text = syntax.decode(original)
    _check_encodable(syntax, blocks, codec)
    doc = syntax.parse(original, text, layout, codec)
    before = doc.current()
    new_text, pruned = doc.render(blocks, prune)
    after = dict((owner, values) for owner, values in before.items() if owner not in pruned)
    after.update(wanted)
    content = bom + new_text.encode(codec)
    if content != original:
        syntax.verify(content, layout, after)
    return Plan(content, original, before, after, pruned, blocks)


# ---------------------------------------------------------------------------------------------
# Diff (owned keys only, secrets masked)


def _diff_lines(layout, owner, values, other):
    """Lines for the changed fields of one block; ``other`` holds the values on the other side."""
    kind, ident = owner
    lines = []
    for field in layout.owned_fields(kind):
        if field not in values or values[field] is None or other.get(field) == values[field]:
            continue
        value = values[field]
        if field in SECRET_FIELDS:
            value = SECRET_MARK
        lines.append((field, value))
    return lines


def masked_diff(layout, before, after, path=''):
    """before/after texts listing only the owned keys that change; a secret reads <secret> / <secret changed>."""
    owners = list(after) + [o for o in before if o not in after]
    owners.sort(key=lambda o: (KINDS.index(o[0]), o[1]))
    out = {'before': [], 'after': []}
    for owner in owners:
        old = before.get(owner, {})
        new = after.get(owner, {})
        old_lines = _diff_lines(layout, owner, old, new)
        new_lines = _diff_lines(layout, owner, new, old)
        changed_secrets = set(f for f in SECRET_FIELDS if old.get(f) is not None and new.get(f) is not None and old.get(f) != new.get(f))
        new_lines = [(f, SECRET_CHANGED_MARK if f in changed_secrets else v) for f, v in new_lines]
        for side, lines in (('before', old_lines), ('after', new_lines)):
            if not lines:
                continue
            out[side].extend(format_of(layout.format).diff_lines(layout, owner, lines))
    result = {
        'before': '\n'.join(out['before']) + ('\n' if out['before'] else ''),
        'after': '\n'.join(out['after']) + ('\n' if out['after'] else ''),
    }
    if path:
        result['before_header'] = '%s (Chorus settings only)' % path
        result['after_header'] = '%s (Chorus settings only)' % path
    return result


def written_structures(blocks):
    """What the module returns about the structures: never a secret."""
    return [dict(siret=b.ident, name=b.values.get('name'), account=b.values['account'], piste_app=b.values['piste_app'])
            for b in blocks if b.kind == STRUCTURE]
