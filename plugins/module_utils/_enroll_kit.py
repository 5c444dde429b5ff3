# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""Enrolment kit: the integrator's public key in an offline page, and the blocks that page produces.

The page (``templates/enroll_kit.html.j2`` of the check role) encrypts the login and password with
WebCrypto: a fresh AES-256-GCM key encrypts ``{"login", "password"}``; RSA-OAEP (SHA-256) wraps that
key to the integrator's public key. The envelope is JSON, base64 between two marker lines::

    -----DEBUT BLOC CHORUS-CORAIL SIRET 21640000200012 EXPIRE 16/12/2026-----
    eyJ2IjoxLCJraXQiOi...
    -----FIN BLOC CHORUS-CORAIL-----

The kit's identity (format version, key fingerprint, SIRET, environment, kind, kit id, expiry) is the
GCM additional data: changing any of it, or any byte of the ciphertext, fails the tag. The marker
line is for people; only the authenticated fields are trusted. Runs on the controller only (the
``cryptography`` library, an ansible-core dependency); the clear password lives in memory only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import datetime
import hashlib
import json
import os
import re

try:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - cryptography ships with ansible-core
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = exc

from ansible_collections.chorus.corail.plugins.module_utils import _identifiers as ids
from ansible_collections.chorus.corail.plugins.module_utils._secrets import secret_problem

FORMAT_VERSION = 1
AAD_PREFIX = 'chorus.corail.enroll/v%d' % FORMAT_VERSION
BEGIN = '-----DEBUT BLOC CHORUS-CORAIL'
END = '-----FIN BLOC CHORUS-CORAIL-----'
MIN_RSA_BITS = 2048
DEFAULT_VALID_DAYS = 30

# Which structures get a kit, and which portal path the page shows.
KIT_KINDS = {
    'missing_account': 'create',
    'account_rejected': 'renew',
    'password_expired': 'renew',
    'password_expiring': 'renew',
}
KINDS = ('create', 'renew')

# Why a block is refused: the keys tests and playbooks match on, a French explanation for the message.
REFUSALS = {
    'malformed': 'bloc illisible : il est incomplet ou a été coupé ; recopier le bloc entier, des lignes DEBUT à FIN',
    'tampered': 'bloc modifié après son chiffrement : il a été altéré en route ; demander au gestionnaire '
                'de refaire le bloc avec le kit',
    'foreign_key': "bloc chiffré pour une autre clé que celle de l'intégrateur : le kit utilisé n'est pas le "
                   'bon ; envoyer au gestionnaire un kit produit avec la clé publique actuelle',
    'expired': 'kit expiré : envoyer un nouveau kit au gestionnaire',
    'unknown_structure': "SIRET absent de l'inventaire : ajouter la structure à l'inventaire, ou vérifier le kit",
    'conflict': 'deux blocs donnent des mots de passe différents pour le même identifiant : ne garder que le bon',
    'invalid_content': "identifiant ou mot de passe inutilisable : demander au gestionnaire de refaire le bloc",
}


class KitError(ValueError):
    """A key or kit problem; the message names the file or field, never key material or a secret."""


class BlockRefused(ValueError):
    """A block cannot be used. ``reason`` is a key of REFUSALS; ``str()`` says it in English and French."""

    def __init__(self, reason, detail, index=None, siret=None):
        self.reason = reason
        self.detail = detail
        self.index = index
        self.siret = siret
        where = 'block %s' % index if index is not None else 'block'
        if siret:
            where += ' (SIRET %s)' % siret
        super(BlockRefused, self).__init__('%s refused, %s: %s (%s).' % (where, reason.replace('_', ' '), detail,
                                                                         REFUSALS[reason]))


def _require():
    if not HAS_CRYPTOGRAPHY:  # pragma: no cover
        raise KitError('the cryptography library is needed (pip install cryptography): %s' % CRYPTOGRAPHY_IMPORT_ERROR)


# -- keys ---------------------------------------------------------------------------------------------

def _spki_der(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint_of(public_key):
    """SHA-256 of the key's SubjectPublicKeyInfo, lower-case hex (what the page computes too)."""
    return hashlib.sha256(_spki_der(public_key)).hexdigest()


def display_fingerprint(kid):
    """The fingerprint as people compare it: 16 groups of 4 hex digits."""
    kid = kid.upper()
    return ' '.join(kid[i:i + 4] for i in range(0, len(kid), 4))


def load_public_key(pem, source='chorus_enroll_public_key'):
    """An RSA public key from PEM bytes (a certificate's key is accepted too)."""
    _require()
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        try:
            from cryptography import x509
            key = x509.load_pem_x509_certificate(pem).public_key()
        except ValueError:
            raise KitError('%s: is not a PEM public key (-----BEGIN PUBLIC KEY-----); create it with '
                           '"openssl pkey -in enroll_private.pem -pubout -out enroll_public.pem"' % source)
    _check_rsa(key, source)
    return key


def load_private_key(pem, source='chorus_enroll_private_key'):
    """An RSA private key from PEM bytes, already vault-decrypted by the caller (no passphrase)."""
    _require()
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise KitError('%s: the key has a passphrase; protect it with ansible-vault instead '
                       '(openssl pkey -in KEY -out KEY.clear, then ansible-vault encrypt KEY.clear)' % source)
    except ValueError:
        raise KitError('%s: is not a PEM private key (-----BEGIN PRIVATE KEY-----)' % source)
    _check_rsa(key, source)
    return key


def _check_rsa(key, source):
    if not isinstance(key, (rsa.RSAPublicKey, rsa.RSAPrivateKey)):
        raise KitError('%s: must be an RSA key (WebCrypto RSA-OAEP), got %s' % (source, type(key).__name__))
    if key.key_size < MIN_RSA_BITS:
        raise KitError('%s: the RSA key has %d bits; at least %d are needed' % (source, key.key_size, MIN_RSA_BITS))


def private_key_mode_problem(path):
    """Why a clear private key file is too open, or None (vault-encrypted files are not asked)."""
    mode = os.stat(path).st_mode & 0o777
    if mode & 0o077:
        return ('%s: the private key is readable by others (mode %04o); run "chmod 600 %s" or vault-encrypt it'
                % (path, mode, path))
    return None


# -- kits ---------------------------------------------------------------------------------------------

def _b64(data):
    return base64.b64encode(data).decode('ascii')


def fr_date(day):
    return day.strftime('%d/%m/%Y')


def kit_for(entry):
    """The kit kind a check entry calls for ('create' or 'renew'), or None."""
    return KIT_KINDS.get(entry.get('status')) if isinstance(entry, dict) else None


def aad(kid, siret, environment, kind, kit_id, expires_on):
    """The authenticated identity of a kit, the same string the page builds."""
    return '|'.join([AAD_PREFIX, kid, siret, environment, kind, kit_id, expires_on]).encode('utf-8')


def kit_context(entry, public_key, today, valid_days=DEFAULT_VALID_DAYS, kit_id=None, integrator=''):
    """What the kit template needs for one check entry. Nothing secret: the public key and identities."""
    kind = kit_for(entry)
    if kind is None:
        raise KitError('structure %s: status %s needs no kit' % (entry.get('siret'), entry.get('status')))
    environment = entry.get('environment')
    if environment not in ids.ENVIRONMENTS:
        raise KitError('structure %s: its environment is unknown (no PISTE application resolved); no kit'
                       % entry.get('siret'))
    expires = today + datetime.timedelta(days=int(valid_days))
    kid = fingerprint_of(public_key)
    data = {
        'v': FORMAT_VERSION,
        'aad_prefix': AAD_PREFIX,
        'begin': BEGIN,
        'end': END,
        'kid': kid,
        'spki': _b64(_spki_der(public_key)),
        'siret': entry['siret'],
        'environment': environment,
        'kind': kind,
        'kit': kit_id or binascii.hexlify(os.urandom(8)).decode('ascii'),
        'exp': expires.isoformat(),
        'exp_fr': fr_date(expires),
        'login': entry.get('account') if kind == 'renew' else None,
        # The page checks the shape the collection itself calls usual (one list, in _identifiers).
        'login_shapes': [shape.pattern for shape in ids.USUAL_LOGIN_SHAPES],
    }
    return {
        'data': data,
        'siret': entry['siret'],
        'name': entry.get('name') or entry.get('designation') or '',
        'kind': kind,
        'environment': environment,
        'login': data['login'],
        'status': entry.get('status'),
        'fingerprint': display_fingerprint(kid),
        'expires_fr': data['exp_fr'],
        'generated_fr': fr_date(today),
        'integrator': integrator or '',
    }


_COMPILED = {}


def render_kit(template_text, context):
    """The page's HTML from the template text (Jinja2, autoescaped; data in a JSON script element).
    The template is compiled once per text: hundreds of kits share it."""
    template = _COMPILED.get(template_text)
    if template is None:
        import jinja2
        env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
        template = _COMPILED[template_text] = env.from_string(template_text)
    return template.render(**context)


# -- blocks -------------------------------------------------------------------------------------------

_BEGIN_RE = re.compile(r'^%s\b[^\n]*-----\s*$' % re.escape(BEGIN))
_QUOTE_RE = re.compile(r'^[\s>]*')


def split_blocks(text):
    """(base64 body, END line seen, SIRET of the marker line) of every block in ``text``; mail quoting
    ('> ') and blank lines are tolerated."""
    bodies = []
    current = hint = None
    for raw in text.splitlines():
        line = _QUOTE_RE.sub('', raw).strip()
        if line.startswith(BEGIN):
            if current is not None:
                bodies.append((current, False, hint))
            current = []
            # The marker's SIRET is not authenticated: it only names the block in messages.
            found = re.search(r'SIRET (\d{14})', line)
            hint = found.group(1) if found else None
        elif line.startswith(END[:-5]):
            if current is not None:
                bodies.append((current, True, hint))
                current = None
        elif current is not None and line:
            current.append(line)
    if current is not None:
        bodies.append((current, False, hint))
    return [(''.join(lines), complete, hint) for lines, complete, hint in bodies]


def _field(envelope, name, kind=str):
    value = envelope.get(name)
    if not isinstance(value, kind):
        raise ValueError(name)
    return value


def _is_other_key(claimed, kid):
    """A well-formed fingerprint far from ours is another key; one a character or two away was edited."""
    if not re.match(r'^[0-9a-f]{64}$', claimed):
        return False
    return sum(1 for a, b in zip(claimed, kid) if a != b) > 2


def open_block(body, private_key, index=None, complete=True, hint=None):
    """Decrypt one block body. Returns (identity dict, login, password); raises BlockRefused.

    Order matters for the message: unreadable -> malformed, another key -> foreign_key, any failed
    authentication -> tampered. Expiry and the inventory are checked by ``check_block`` afterwards,
    on authenticated fields only."""
    if not complete:
        raise BlockRefused('malformed', 'the line %s is missing' % END, index, hint)
    try:
        envelope = json.loads(base64.b64decode(body, validate=True).decode('utf-8'))
        if not isinstance(envelope, dict):
            raise ValueError('envelope')
        version = envelope.get('v')
        fields = dict((name, _field(envelope, name)) for name in ('kid', 'siret', 'env', 'kind', 'kit', 'exp'))
        wrapped, iv, ciphertext = [base64.b64decode(_field(envelope, name), validate=True) for name in ('k', 'iv', 'ct')]
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error):
        # One changed character of base64 usually lands here: the JSON no longer reads.
        raise BlockRefused('tampered', 'the block does not decode to an enrolment envelope (changed or cut)', index, hint)
    siret = fields['siret'] if re.match(r'^\d{14}$', fields['siret']) else hint
    if version != FORMAT_VERSION:
        raise BlockRefused('malformed', 'format version %r is not %d' % (version, FORMAT_VERSION), index, siret)
    kid = fingerprint_of(private_key.public_key())
    if fields['kid'] != kid and not _is_other_key(fields['kid'], kid):
        raise BlockRefused('tampered', 'the key fingerprint in the block was changed', index, siret)
    if fields['kid'] != kid:
        raise BlockRefused('foreign_key', 'it was made for the key %s, the private key given is %s'
                           % (display_fingerprint(fields['kid'])[:19], display_fingerprint(kid)[:19]), index, siret)
    try:
        key = private_key.decrypt(wrapped, padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()),
                                                        algorithm=hashes.SHA256(), label=None))
        identity = aad(fields['kid'], fields['siret'], fields['env'], fields['kind'], fields['kit'], fields['exp'])
        clear = AESGCM(key).decrypt(iv, ciphertext, identity)
    except (ValueError, InvalidTag):
        raise BlockRefused('tampered', 'the encrypted data does not match its authentication tag', index, siret)
    try:
        content = json.loads(clear.decode('utf-8'))
        login, password = content['login'], content['password']
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise BlockRefused('invalid_content', 'the decrypted content is not a login and a password', index, siret)
    if not isinstance(login, str) or not isinstance(password, str):
        raise BlockRefused('invalid_content', 'the login or the password is not text', index, siret)
    return fields, login.strip(), password


def check_block(fields, login, password, today, known_sirets, index=None):
    """The checks on the decrypted, authenticated block: expiry, structure, login and password shapes."""
    siret = fields['siret']
    try:
        expires = datetime.datetime.strptime(fields['exp'], '%Y-%m-%d').date()
    except ValueError:
        raise BlockRefused('malformed', 'the expiry %r is not a date' % fields['exp'], index, siret)
    if today > expires:
        raise BlockRefused('expired', 'the kit expired on %s' % fr_date(expires), index, siret)
    if siret not in set(known_sirets):
        raise BlockRefused('unknown_structure', 'SIRET %s is not a structure of the inventory' % siret, index, siret)
    if fields['env'] not in ids.ENVIRONMENTS or fields['kind'] not in KINDS:
        raise BlockRefused('malformed', 'unknown environment or kind', index, siret)
    problem = ids.login_problem(login)
    if problem:
        raise BlockRefused('invalid_content', 'the login %s' % problem, index, siret)
    problem = ids.password_problem(password) or secret_problem(password)
    if problem:
        raise BlockRefused('invalid_content', 'the password %s' % problem, index, siret)


def read_blocks(text, private_key, today, known_sirets):
    """Every block of ``text``, decrypted and checked, grouped by login.

    Returns ``(accounts, refused)``: accounts a list of {login, password, environment, sirets, kinds,
    kits, expires_on}; refused a list of BlockRefused. Callers store nothing when ``refused`` is not
    empty. Raises KitError when ``text`` holds no block at all."""
    bodies = split_blocks(text)
    if not bodies:
        raise KitError('no enrolment block found (a block starts with the line "%s ...")' % BEGIN)
    by_login = {}
    order = []
    refused = []
    for number, (body, complete, hint) in enumerate(bodies, 1):
        try:
            fields, login, password = open_block(body, private_key, number, complete, hint)
            check_block(fields, login, password, today, known_sirets, number)
        except BlockRefused as exc:
            refused.append(exc)
            continue
        account = by_login.get(login)
        if account is None:
            account = by_login[login] = {'login': login, 'password': password, 'environment': fields['env'],
                                         'sirets': [], 'kinds': [], 'kits': [], 'blocks': [], 'expires_on': fields['exp']}
            order.append(login)
        elif account['password'] != password or account['environment'] != fields['env']:
            refused.append(BlockRefused('conflict', 'login %s: its blocks %s and %d disagree'
                                        % (login, account['blocks'][0], number), number, fields['siret']))
            continue
        for key, value in (('sirets', fields['siret']), ('kinds', fields['kind']), ('kits', fields['kit']),
                           ('blocks', number)):
            if value not in account[key]:
                account[key].append(value)
        account['expires_on'] = min(account['expires_on'], fields['exp'])
    return [by_login[login] for login in order], refused


def make_block(public_key, identity, login, password):
    """What the page does, in Python: for tests and for the documentation of the format."""
    _require()
    kid = fingerprint_of(public_key)
    key = AESGCM.generate_key(bit_length=256)
    iv = os.urandom(12)
    fields = dict(identity, kid=identity.get('kid', kid))
    ciphertext = AESGCM(key).encrypt(iv, json.dumps({'login': login, 'password': password}).encode('utf-8'),
                                     aad(fields['kid'], fields['siret'], fields['env'], fields['kind'], fields['kit'],
                                         fields['exp']))
    wrapped = public_key.encrypt(key, padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()),
                                                   algorithm=hashes.SHA256(), label=None))
    envelope = {'v': FORMAT_VERSION, 'kid': fields['kid'], 'siret': fields['siret'], 'env': fields['env'],
                'kind': fields['kind'], 'kit': fields['kit'], 'exp': fields['exp'],
                'k': _b64(wrapped), 'iv': _b64(iv), 'ct': _b64(ciphertext)}
    body = _b64(json.dumps(envelope, separators=(',', ':')).encode('utf-8'))
    expires = datetime.datetime.strptime(fields['exp'], '%Y-%m-%d').date()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return '\n'.join(['%s SIRET %s EXPIRE %s-----' % (BEGIN, fields['siret'], fr_date(expires))] + lines + [END]) + '\n'
