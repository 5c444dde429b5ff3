# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kit's format on the Python side: what the page makes (make_block follows it), what enroll refuses.
The page's own JavaScript is exercised in tests/functional/enroll/test_enroll_kit.py with Chromium."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import json
import os

import pytest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ansible_collections.chorus.corail.plugins.module_utils import _check as check
from ansible_collections.chorus.corail.plugins.module_utils import _enroll_kit as ek

TEMPLATE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'check', 'templates',
                        'enroll_kit.html.j2')
S1, S2 = '21640000200012', '21640001000015'
LOGIN = 'TECH_021640000200012@cpp2017.fr'
PASSWORD = 'Pa:ss{{w0rd}}|x"\'%<'
TODAY = datetime.date(2026, 3, 1)


@pytest.fixture(scope='module')
def keys():
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for dummy in range(2)]


def identity(**over):
    base = {'siret': S1, 'env': 'qualification', 'kind': 'create', 'kit': '0011223344556677', 'exp': '2026-03-31'}
    base.update(over)
    return base


def pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_round_trip_groups_blocks_by_login(keys):
    text = ('> ' + ek.make_block(keys[0].public_key(), identity(), LOGIN, PASSWORD).replace('\n', '\n> ')
            + '\nsome mail text\n' + ek.make_block(keys[0].public_key(), identity(siret=S2), LOGIN, PASSWORD))
    accounts, refused = ek.read_blocks(text, keys[0], TODAY, [S1, S2])
    assert refused == []
    assert accounts == [{'login': LOGIN, 'password': PASSWORD, 'environment': 'qualification', 'sirets': [S1, S2],
                         'kinds': ['create'], 'kits': ['0011223344556677'], 'blocks': [1, 2], 'expires_on': '2026-03-31'}]


def test_the_marker_line_is_for_people_and_shows_siret_and_expiry(keys):
    block = ek.make_block(keys[0].public_key(), identity(), LOGIN, PASSWORD)
    assert block.splitlines()[0] == '-----DEBUT BLOC CHORUS-CORAIL SIRET %s EXPIRE 31/03/2026-----' % S1
    assert block.splitlines()[-1] == ek.END
    assert PASSWORD not in block and 'w0rd' not in base64.b64decode(''.join(block.splitlines()[1:-1])).decode()


@pytest.mark.parametrize('position', range(0, 40))
def test_any_changed_character_is_refused_as_tampered(keys, position):
    block = ek.make_block(keys[0].public_key(), identity(), LOGIN, PASSWORD)
    lines = block.splitlines()
    body = ''.join(lines[1:-1])
    # Spread over the whole body: envelope fields, wrapped key, nonce, ciphertext and tag.
    at = (position * 7919) % len(body)
    changed = body[:at] + ('A' if body[at] != 'A' else 'B') + body[at + 1:]
    accounts, refused = ek.read_blocks('\n'.join([lines[0], changed, lines[-1]]), keys[0], TODAY, [S1])
    assert accounts == []
    assert [r.reason for r in refused] == ['tampered'], str(refused[0])


def test_changed_authenticated_fields_are_tampered(keys):
    for field, value in (('siret', S2), ('exp', '2099-12-31'), ('env', 'production'), ('kind', 'renew'), ('kit', 'ff')):
        envelope = json.loads(base64.b64decode(''.join(
            ek.make_block(keys[0].public_key(), identity(), LOGIN, PASSWORD).splitlines()[1:-1])))
        envelope[field] = value
        body = base64.b64encode(json.dumps(envelope).encode()).decode()
        dummy, refused = ek.read_blocks('%s\n%s\n%s' % (ek.BEGIN + '-----', body, ek.END), keys[0], TODAY, [S1, S2])
        assert [r.reason for r in refused] == ['tampered'], field


def test_foreign_key_expired_unknown_cut_and_conflict_say_which(keys):
    cases = [
        (ek.make_block(keys[1].public_key(), identity(), LOGIN, PASSWORD), 'foreign_key', 'autre clé'),
        (ek.make_block(keys[0].public_key(), identity(exp='2026-02-28'), LOGIN, PASSWORD), 'expired', '28/02/2026'),
        (ek.make_block(keys[0].public_key(), identity(siret='21640002800017'), LOGIN, PASSWORD), 'unknown_structure',
         "absent de l'inventaire"),
        (ek.make_block(keys[0].public_key(), identity(), LOGIN, PASSWORD).replace(ek.END, ''), 'malformed', 'recopier'),
        (ek.make_block(keys[0].public_key(), identity(), 'not a login', PASSWORD), 'invalid_content', 'refaire'),
        (ek.make_block(keys[0].public_key(), identity(), LOGIN, 'Zq9!x'), 'invalid_content', 'refaire'),
    ]
    for text, reason, french in cases:
        accounts, refused = ek.read_blocks(text, keys[0], TODAY, [S1])
        assert accounts == [] and [r.reason for r in refused] == [reason]
        message = str(refused[0])
        assert french in message and 'SIRET' in message
        assert PASSWORD not in message and 'Zq9!x' not in message
    text = (ek.make_block(keys[0].public_key(), identity(), LOGIN, PASSWORD)
            + ek.make_block(keys[0].public_key(), identity(siret=S2), LOGIN, PASSWORD + 'x'))
    accounts, refused = ek.read_blocks(text, keys[0], TODAY, [S1, S2])
    assert [r.reason for r in refused] == ['conflict'] and PASSWORD not in str(refused[0])
    with pytest.raises(ek.KitError, match='no enrolment block'):
        ek.read_blocks('hello', keys[0], TODAY, [S1])


def test_expiry_day_itself_is_still_valid(keys):
    accounts, refused = ek.read_blocks(ek.make_block(keys[0].public_key(), identity(exp='2026-03-01'), LOGIN, PASSWORD),
                                       keys[0], TODAY, [S1])
    assert refused == [] and accounts[0]['login'] == LOGIN


def test_keys_are_checked(keys, tmp_path):
    assert ek.fingerprint_of(ek.load_public_key(pem(keys[0]))) == ek.fingerprint_of(keys[0].public_key())
    with pytest.raises(ek.KitError, match='not a PEM public key'):
        ek.load_public_key(b'hello')
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ek.KitError, match='1024 bits'):
        ek.load_public_key(pem(small))
    with pytest.raises(ek.KitError, match='must be an RSA key'):
        ek.load_public_key(pem(ec.generate_private_key(ec.SECP256R1())))
    secret = keys[0].private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.BestAvailableEncryption(b'passphrase'))
    with pytest.raises(ek.KitError, match='passphrase'):
        ek.load_private_key(secret)
    path = tmp_path / 'key.pem'
    path.write_bytes(b'x')
    os.chmod(str(path), 0o640)
    assert 'chmod 600' in ek.private_key_mode_problem(str(path))
    os.chmod(str(path), 0o600)
    assert ek.private_key_mode_problem(str(path)) is None


def test_kit_page_holds_identity_and_public_key_only(keys):
    entry = {'siret': S1, 'name': "Commune d'<Oloron>", 'status': 'password_expired', 'environment': 'production',
             'account': LOGIN}
    context = ek.kit_context(entry, keys[0].public_key(), TODAY, 30, kit_id='abc')
    html = ek.render_kit(open(TEMPLATE, encoding='utf-8').read(), context)
    assert context['kind'] == 'renew' and context['expires_fr'] == '31/03/2026'
    assert 'Commune d&#39;&lt;Oloron&gt;' in html and "<Oloron>" not in html
    assert '« Réinitialiser »' in html and 'Créer un utilisateur technique' not in html
    assert "default-src 'none'" in html and 'connect-src' in html
    data = json.loads(html.split('<script type="application/json" id="kit-data">')[1].split('</script>')[0])
    assert data['spki'] == base64.b64encode(keys[0].public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    assert data['login'] == LOGIN and data['exp'] == '2026-03-31' and data['kind'] == 'renew'
    assert 'PRIVATE' not in html
    create = ek.render_kit(open(TEMPLATE, encoding='utf-8').read(),
                           ek.kit_context(dict(entry, status='missing_account', account=None), keys[0].public_key(), TODAY))
    assert 'Créer un utilisateur technique' in create and 'Mes rattachements aux structures' in create
    assert ek.kit_for({'status': 'ok'}) is None and ek.kit_for({'status': 'not_attached'}) is None
    with pytest.raises(ek.KitError, match='environment is unknown'):
        ek.kit_context(dict(entry, environment=None), keys[0].public_key(), TODAY)


def test_a_structure_without_account_takes_the_account_listing_it():
    apps = {'app': {'client_id': 'cid', 'client_secret': 'csecret-long', 'environment': 'qualification'}}
    account = {'password': 'long-password-1', 'environment': 'qualification', 'structures': [S1]}
    structures = [{'siret': S1, 'host': 'h', 'piste_app': 'app'}, {'siret': S2, 'host': 'h', 'piste_app': 'app'}]
    result = check.run_check(structures, {LOGIN: account}, apps, online=False)
    by_siret = dict((e['siret'], e) for e in result['structures'])
    assert by_siret[S1]['status'] == 'unchecked' and by_siret[S1]['account'] == LOGIN
    assert by_siret[S2]['status'] == 'missing_account'
    # Listed by two accounts of the environment: neither is trusted, both are named.
    other = 'TECH_1_other@cpro.fr'
    result = check.run_check(structures[:1], {LOGIN: account, other: dict(account)}, apps, online=False)
    entry = result['structures'][0]
    assert entry['status'] == 'invalid_input' and LOGIN in entry['detail'] and other in entry['detail']
    # An account of the other environment does not count.
    result = check.run_check(structures[:1], {LOGIN: account, other: dict(account, environment='production')}, apps,
                             online=False)
    assert result['structures'][0]['status'] == 'unchecked' and result['structures'][0]['account'] == LOGIN
