# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.chorus.corail.plugins.module_utils import _accounts_file as accounts

A, B, C = 'TECH_021640000200012@cpp2017.fr', 'TECH_1_lons@cpro.fr', 'TECH_021640003600010@cpp2017.fr'

# Real ansible-vault ciphertexts (vault password "vault-pw"). Module-side unit tests cannot import
# Ansible's vault code; decryption by Ansible is covered by tests/functional/enroll.
CIPHERTEXTS = {
    's3cret:{{x}}': (
        '$ANSIBLE_VAULT;1.1;AES256\n'
        '66396137636338643036373533336462653463393264656266646234363366613266626431633637\n'
        '6661303130646536346230643038643033396432613730390a333337666337313463343537363331\n'
        '35336435633062356432636337356139643264353865623638356438373966636133663938653734\n'
        '6335333936343363320a313630656262653765383362386266633863616131376564396161656663\n'
        '3236\n'
    ),
    'pw-a': (
        '$ANSIBLE_VAULT;1.1;AES256\n'
        '65653062306239636630616662616431343065336536373239396139643235626465353863353733\n'
        '3433623961663565663439663763343135663662383936620a613063376238336265656333383330\n'
        '66396134303163373637623635316336326464633535326236343239343766666661366132616664\n'
        '6235626334356230630a356439376636646333646663373430353964626635383261656262303336\n'
        '3831\n'
    ),
    'pw-a-new': (
        '$ANSIBLE_VAULT;1.1;AES256\n'
        '61343666393264383764333131653433316333333234366530306538383135353330376336656631\n'
        '3732613636313337646137353162623863633565333038620a383562393266653035346331393834\n'
        '30663338333635366263666633386533313337306536323431653838333538323435306666366461\n'
        '3432643039653536360a333264656636626437313535653737316165623137663334303434356632\n'
        '3839\n'
    ),
    'pw-b': (
        '$ANSIBLE_VAULT;1.1;AES256\n'
        '35633565376662323835333631663134643665616463643536633735653436626465393734356433\n'
        '3736346661323563623238373030616636366233313032370a653037323630393133623138306335\n'
        '34383037393231666536396261323561623362316438626230343866363137666537303330373862\n'
        '3233646438636232630a613835653631333836663639666436343834616637383238656462343830\n'
        '6164\n'
    ),
    'pw-b2': (
        '$ANSIBLE_VAULT;1.1;AES256\n'
        '64393139336537316135343234616633633861383664316661623330363462633132326134616265\n'
        '6433326437303739643438383665356163626265643331320a356466363966653039626630616334\n'
        '62353330633334303634633035333965373432616431633137383537363364386237386262643332\n'
        '3634366234356163660a626637663864346538373532663630383563326438303439353064656431\n'
        '3464\n'
    ),
    'pw-c': (
        '$ANSIBLE_VAULT;1.1;AES256\n'
        '30616538393537326438633433653130656334326134393066313637356662633039306665613932\n'
        '3639653538363834396463386664626165653437313166330a653334313832336664343834353930\n'
        '35393165343737616165386434353334326630623833303961306331306661633865376162303632\n'
        '3232613937346663310a323534613530323231383036323163376162316464633435336538326365\n'
        '3036\n'
    ),
    'pw-new': (
        '$ANSIBLE_VAULT;1.1;AES256\n'
        '37373539333439663831666433333430316166373237303131356562353431663737353462633136\n'
        '6130353764313638386165383034636261633134303334340a306538353962363062386238353061\n'
        '30376366623461623165383338313039613065643663613166313036303133616561393966306134\n'
        '3038636665353634390a343332323664376137633236336536333831626461373337316636383261\n'
        '3863\n'
    ),
    'x': (
        '$ANSIBLE_VAULT;1.1;AES256\n'
        '39613862613961646138313235653033643334396666366463653334356232623630303437656538\n'
        '3630303330386565316137373230366166306564613936610a613562653332313164626433626538\n'
        '63383032373836353561323564326463616166653562363039656430626334383735336661373232\n'
        '3865353766653165370a333334613533626231323062343466366431616234663662353835303030\n'
        '6465\n'
    ),
}


def encrypt(text):
    return ''.join(CIPHERTEXTS[text])


def decrypt(vaulted):
    """The plaintext whose ciphertext the Vaulted value holds, unchanged."""
    return next(plain for plain, lines in CIPHERTEXTS.items() if ''.join(lines) == vaulted.text)


def indent(text, pad):
    return ''.join(pad + line + '\n' for line in text.strip().splitlines())


def hand_written():
    """A file a person edited: comments, other variables, odd indentation, a flow-style entry."""
    return (
        '---\n# integrator notes\nother_var: 1\nchorus_accounts:\n'
        '    # Lescar\n'
        '    %s:\n      password: !vault |\n%s      password_changed_on: 2024-01-01   # by hand\n'
        '      environment: production\n\n'
        '    "%s": {password: !vault "%s", environment: qualification}\n'
        '# trailing comment\nlast_var: [1, 2]\n'
    ) % (A, indent(encrypt('pw-a'), '            '), B, encrypt('pw-b').replace('\n', '\\n'))


def test_new_file_gets_a_header_and_the_entry_in_canonical_order():
    updates = {'environment': 'qualification', 'validated': True, 'password_changed_on': '2025-06-01'}
    text, before, dummy, action = accounts.plan(None, A, updates=updates, vaulted_password=encrypt('s3cret:{{x}}'))
    assert action == 'added' and before is None
    assert text.startswith(accounts.NEW_FILE_HEADER + 'chorus_accounts:\n  %s:\n    password: !vault |\n' % A)
    keys = [line.split(':')[0].strip() for line in text.splitlines() if line.startswith('    ') and not line.startswith('      ')]
    assert keys == ['password', 'password_changed_on', 'environment', 'validated']
    assert "password_changed_on: '2025-06-01'" in text  # a string, not a YAML date
    assert decrypt(accounts.load(text)[A]['password']) == 's3cret:{{x}}'


def test_upsert_keeps_every_other_byte_and_ansible_reads_the_result():
    original = hand_written()
    text, _before, _after, action = accounts.plan(original, C, updates={'environment': 'production'},
                                                  vaulted_password=encrypt('pw-c'))
    assert action == 'added'
    # Appended after the last entry, before the block's trailing comment; the rest is unchanged.
    head, tail = original.split('# trailing comment\n')
    assert text.startswith(head) and text.endswith('# trailing comment\n' + tail)
    assert text[len(head):].startswith('    %s:\n      password: !vault |\n' % C)

    # Every ciphertext survives intact, and the other variables too.
    data = accounts.load(text)
    assert [decrypt(data[login]['password']) for login in (A, B, C)] == ['pw-a', 'pw-b', 'pw-c']


def test_replacing_one_entry_leaves_the_others_untouched():
    original = hand_written()
    text, before, after, action = accounts.plan(original, A, updates={'password_changed_on': '2025-06-01'},
                                                vaulted_password=encrypt('pw-a-new'))
    assert action == 'updated'
    assert before['environment'] == 'production' and after['environment'] == 'production'  # kept
    start = original.index('    %s:' % A)
    end = original.index('\n    "%s"' % B)
    assert text[:start] == original[:start]
    assert text.endswith(original[end:])
    assert '# by hand' not in text  # only the edited entry is rewritten
    assert decrypt(accounts.load(text)[A]['password']) == 'pw-a-new'
    assert accounts.load(text)[B] == accounts.load(original)[B]


def test_flow_style_entry_is_replaced_in_place():
    original = hand_written()
    text, _b, _a, action = accounts.plan(original, B, updates={'validated': False}, vaulted_password=encrypt('pw-b2'))
    assert action == 'updated'
    assert '    %s:\n      password: !vault |\n' % B in text
    assert decrypt(accounts.load(text)[B]['password']) == 'pw-b2'
    assert accounts.load(text)[B]['environment'] == 'qualification'


def test_metadata_update_without_password_is_idempotent():
    original = hand_written()
    text, _b, _a, action = accounts.plan(original, A, updates={'last_check_status': 'access_forbidden'})
    assert action == 'updated' and accounts.load(text)[A]['password'] == accounts.load(original)[A]['password']
    again, _b, _a, action = accounts.plan(text, A, updates={'last_check_status': 'access_forbidden'})
    assert action == 'unchanged' and again == text


def test_remove_and_remove_absent():
    original = hand_written()
    text, _b, after, action = accounts.plan(original, A, state='absent')
    assert action == 'removed' and after is None
    assert A not in accounts.load(text) and B in accounts.load(text)
    same, _b, _a, action = accounts.plan(text, A, state='absent')
    assert action == 'unchanged' and same == text


def test_plaintext_password_is_refused_and_never_quoted():
    with pytest.raises(accounts.AccountsFileError) as caught:
        accounts.plan(None, A, vaulted_password='plain-text-pw')
    assert 'not vault-encrypted' in str(caught.value) and 'plain-text-pw' not in str(caught.value)


def test_new_entry_needs_a_password():
    with pytest.raises(accounts.AccountsFileError, match='a vault-encrypted password is needed'):
        accounts.plan(hand_written(), C, updates={'environment': 'production'})


@pytest.mark.parametrize('text, message', [
    ('chorus_accounts: {%s: {password: x}}\n' % A, 'flow style'),
    ('chorus_accounts:\n- a\n', 'must be a mapping keyed by login'),
    ('chorus_accounts: [\n', 'not valid YAML'),
    ('a: 1\n---\nb: 2\n', 'several YAML documents'),
    ('- 1\n', 'must hold a mapping'),
])
def test_unsafe_layouts_are_refused(text, message):
    with pytest.raises(accounts.AccountsFileError, match=message):
        accounts.plan(text, A, vaulted_password=encrypt('x'))


def test_empty_mapping_and_other_variables_only():
    text, _b, _a, _action = accounts.plan('chorus_accounts: {}  # none yet\n', A, vaulted_password=encrypt('x'))
    assert text.startswith('chorus_accounts:\n  %s:\n' % A)
    text, _b, _a, _action = accounts.plan('---\nfoo: bar\n', A, vaulted_password=encrypt('x'))
    assert text.startswith('---\nfoo: bar\nchorus_accounts:\n  %s:\n' % A)
    assert list(accounts.load(text)) == [A]


def test_public_entry_and_diff_mask_the_password():
    text, before, after, _action = accounts.plan(hand_written(), A, vaulted_password=encrypt('pw-new'))
    assert accounts.public_entry(after)['password'] == '<vault-encrypted>'
    diff = accounts.diff_text(A, after)
    assert '<vault-encrypted>' in diff and '$ANSIBLE_VAULT' not in diff
    assert accounts.public_entry({'password': 'clear'})['password'] == '<NOT ENCRYPTED>'


def test_structures_are_added_to_those_listed():
    vaulted = CIPHERTEXTS['pw-a']
    updates = {'environment': 'qualification', 'structures': ['21640000200012']}
    text, dummy, after, action = accounts.plan('', A, updates=updates, vaulted_password=vaulted)
    assert action == 'added' and after['structures'] == ['21640000200012']
    assert "structures:\n    - '21640000200012'\n" in text
    text2, dummy, after, action = accounts.plan(text, A, updates={'structures': ['21640001000015', '21640000200012']})
    assert action == 'updated' and after['structures'] == ['21640000200012', '21640001000015']
    assert accounts.plan(text2, A, updates={'structures': ['21640001000015']})[3] == 'unchanged'
