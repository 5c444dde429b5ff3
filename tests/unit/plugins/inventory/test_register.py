# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

import pytest

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader

from ansible_collections.chorus.corail.plugins.inventory import register as register_plugin
from ansible_collections.chorus.corail.plugins.inventory.register import RegisterParser, safe_group_part

S1, S2, S3, S4 = '21640000200012', '21640001000015', '21640002800017', '21640003600010'
LA_POSTE = '35600000000001'  # La Poste: digit sum multiple of 5, not Luhn
LOGIN_A = 'TECH_0%s@cpp2017.fr' % S1
LOGIN_B = 'TECH_1_lons@cpro.fr'

FRENCH_CSV = (
    u'\ufeffCollectivité;SIRET;Serveur Corail;Compte technique;Application PISTE;Code service;Contact;Environnement;'
    u'Département;EPCI\r\n'
    u'Commune de Lescar;%s;corail-pau-01;%s;CORAIL_PAU;FACTURES;dgs@lescar.example;production;64;CA Pau Béarn Pyrénées\r\n'
    u'CCAS de Lescar;%s;corail-pau-01;%s;CORAIL_PAU;;dgs@lescar.example;production;64;CA Pau Béarn Pyrénées\r\n'
    u'\r\n'
    u'Commune de Lons;%s;corail-oloron;%s;CORAIL-Oloron;;;qualification;64;CC du Haut Béarn\r\n'
) % (S1, LOGIN_A, S2, LOGIN_A, S3, LOGIN_B)


def write(tmp_path, name, text, encoding='utf-8'):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def config(tmp_path, register_name, name='register.chorus.yml', **options):
    lines = ['plugin: chorus.corail.register', 'path: %s' % register_name]
    for key, value in options.items():
        lines.append('%s: %s' % (key, value))
    return write(tmp_path, name, '\n'.join(lines) + '\n')


def parse(path, cache=True):
    inventory = InventoryData()
    plugin = inventory_loader.get('chorus.corail.register')
    assert plugin.verify_file(str(path))
    plugin.parse(inventory, DataLoader(), str(path), cache=cache)
    try:
        plugin.update_cache_if_changed()  # what the inventory manager does after parse()
    except AttributeError:
        pass  # cache off
    return inventory, plugin


def host_vars(inventory, name):
    return inventory.get_host(name).get_vars()


def groups_of(inventory, name):
    return sorted(g.name for g in inventory.get_host(name).get_groups() if g.name != 'all')


def test_french_csv_with_bom_gives_one_host_per_server_with_its_structures(tmp_path):
    write(tmp_path, 'registre.csv', FRENCH_CSV)
    inventory, _plugin = parse(config(tmp_path, 'registre.csv', group_by_columns='[Département, EPCI]'))
    assert sorted(inventory.hosts) == ['corail-oloron', 'corail-pau-01']
    pau = host_vars(inventory, 'corail-pau-01')
    assert pau['corail_structures'] == [
        {'siret': S1, 'name': 'Commune de Lescar', 'account': LOGIN_A, 'piste_app': 'CORAIL_PAU',
         'service_code': 'FACTURES', 'contact': 'dgs@lescar.example'},
        {'siret': S2, 'name': 'CCAS de Lescar', 'account': LOGIN_A, 'piste_app': 'CORAIL_PAU',
         'contact': 'dgs@lescar.example'},
    ]
    assert pau['chorus_piste_app'] == 'CORAIL_PAU'
    assert groups_of(inventory, 'corail-pau-01') == ['app_corail_pau', 'corail_servers', 'departement_64',
                                                     'env_production', 'epci_ca_pau_bearn_pyrenees']
    assert groups_of(inventory, 'corail-oloron') == ['app_corail_oloron', 'corail_servers', 'departement_64',
                                                     'env_qualification', 'epci_cc_du_haut_bearn']
    # No password ever comes from the register.
    for structure in pau['corail_structures']:
        assert 'password' not in structure


def test_comma_csv_without_bom_and_canonical_headers(tmp_path):
    write(tmp_path, 'register.txt', 'name,siret,server,account,piste_app\n"Commune, de Lescar",%s,srv1,%s,app1\n' % (S1, LOGIN_A))
    inventory, _plugin = parse(config(tmp_path, 'register.txt', format='csv'))
    assert host_vars(inventory, 'srv1')['corail_structures'] == [
        {'siret': S1, 'name': 'Commune, de Lescar', 'account': LOGIN_A, 'piste_app': 'app1'}]


def test_yaml_list_and_structures_mapping(tmp_path):
    write(tmp_path, 'a.yml', '- {siret: "%s", server: srv1, account: %s}\n- {siret: %s, server: srv2}\n' % (S1, LOGIN_A, S2))
    inventory, _plugin = parse(config(tmp_path, 'a.yml', name='a.chorus.yml'))
    assert host_vars(inventory, 'srv1')['corail_structures'] == [{'siret': S1, 'account': LOGIN_A}]
    assert host_vars(inventory, 'srv2')['corail_structures'] == [{'siret': S2}]  # unquoted number read as text

    write(tmp_path, 'b.yaml', 'structures:\n  - {SIRET: "%s", Serveur Corail: srv3, Environnement: qualification}\n' % S3)
    inventory, _plugin = parse(config(tmp_path, 'b.yaml', name='chorus_register.yml'))
    assert host_vars(inventory, 'srv3')['corail_structures'] == [{'siret': S3}]
    assert groups_of(inventory, 'srv3') == ['corail_servers', 'env_qualification']


@pytest.mark.parametrize('header', ['Mot de passe', 'password', 'MDP', 'client_secret', 'Token PISTE', 'Passwd', 'mot_de_passe'])
def test_a_password_or_secret_column_is_refused_naming_column_and_file(tmp_path, header):
    write(tmp_path, 'r.csv', 'SIRET;Serveur Corail;%s\n%s;srv1;hunter2-secret\n' % (header, S1))
    with pytest.raises(AnsibleParserError) as caught:
        parse(config(tmp_path, 'r.csv'))
    message = str(caught.value)
    assert repr(header) in message and 'r.csv' in message and 'enroll' in message
    assert 'hunter2-secret' not in message


def test_a_secret_column_in_yaml_is_refused_even_with_on_invalid_warn(tmp_path):
    write(tmp_path, 'r.yml', '- {siret: "%s", server: s, mot de passe: hunter2-secret}\n' % S1)
    with pytest.raises(AnsibleParserError) as caught:
        parse(config(tmp_path, 'r.yml', on_invalid='warn'))
    assert "'mot de passe'" in str(caught.value) and 'hunter2-secret' not in str(caught.value)


def test_invalid_siret_names_file_line_field_and_siret(tmp_path):
    write(tmp_path, 'r.csv', 'SIRET;Serveur Corail\n%s;srv1\n21640000200013;srv1\n' % S1)
    with pytest.raises(AnsibleParserError) as caught:
        parse(config(tmp_path, 'r.csv', on_invalid='error'))
    message = str(caught.value)
    assert 'r.csv, line 3: field siret, SIRET 21640000200013' in message and 'checksum' in message


def test_invalid_row_in_yaml_names_its_line(tmp_path):
    write(tmp_path, 'r.yml', 'structures:\n  - siret: "%s"\n    server: srv1\n  - siret: "%s"\n    server: ""\n' % (S1, S2))
    with pytest.raises(AnsibleParserError) as caught:
        parse(config(tmp_path, 'r.yml', on_invalid='error'))
    assert 'r.yml, line 4: field server, SIRET %s: is empty' % S2 in str(caught.value)


def test_on_invalid_warn_skips_the_row_and_warns(tmp_path, monkeypatch):
    warnings = []
    monkeypatch.setattr(register_plugin.display, 'warning', warnings.append)
    write(tmp_path, 'r.csv', 'SIRET;Serveur Corail;Environnement\n2164000020001;srv1;\n%s;srv1;\n%s;srv2;recette\n' % (S1, S2))
    inventory, _plugin = parse(config(tmp_path, 'r.csv', on_invalid='warn'))
    assert host_vars(inventory, 'srv1')['corail_structures'] == [{'siret': S1}]
    assert 'srv2' not in inventory.hosts
    assert len(warnings) == 2
    assert 'line 2: field siret, SIRET 2164000020001' in warnings[0] and 'leading zero' in warnings[0]
    assert 'line 4: field environment, SIRET %s' % S2 in warnings[1] and 'skipped' in warnings[1]


def test_same_siret_with_two_accounts_is_a_conflict(tmp_path):
    write(tmp_path, 'r.csv', 'SIRET;Serveur Corail;Compte technique\n%s;srv1;%s\n%s;srv2;%s\n' % (S1, LOGIN_A, S1, LOGIN_B))
    with pytest.raises(AnsibleParserError) as caught:
        parse(config(tmp_path, 'r.csv', on_invalid='error'))
    message = str(caught.value)
    assert 'line 3: field account, SIRET %s: conflicts with line 2' % S1 in message


def test_repeated_row_is_kept_once(tmp_path, monkeypatch):
    warnings = []
    monkeypatch.setattr(register_plugin.display, 'warning', warnings.append)
    write(tmp_path, 'r.csv', 'SIRET;Serveur Corail\n%s;srv1\n%s;srv1\n' % (S1, S1))
    inventory, _plugin = parse(config(tmp_path, 'r.csv'))
    assert host_vars(inventory, 'srv1')['corail_structures'] == [{'siret': S1}]
    assert 'repeats line 2' in warnings[0]


def test_siret_with_spaces_and_la_poste_rule(tmp_path):
    write(tmp_path, 'r.csv', u'SIRET;Serveur Corail\n216 400 002 00012;srv1\n%s;srv1\n' % LA_POSTE)
    inventory, _plugin = parse(config(tmp_path, 'r.csv'))
    assert [s['siret'] for s in host_vars(inventory, 'srv1')['corail_structures']] == [S1, LA_POSTE]


def test_missing_siret_or_server_column_and_unknown_group_column(tmp_path):
    write(tmp_path, 'r.csv', 'Nom;Serveur\nX;srv1\n')
    with pytest.raises(AnsibleParserError, match='no siret column'):
        parse(config(tmp_path, 'r.csv'))
    write(tmp_path, 'r2.csv', 'SIRET;Serveur\n%s;srv1\n' % S1)
    with pytest.raises(AnsibleParserError, match="group_by_columns names 'EPCI'"):
        parse(config(tmp_path, 'r2.csv', group_by_columns='[EPCI]'))


def test_column_map_and_host_vars(tmp_path):
    write(tmp_path, 'r.csv', 'Customer;Id;Host;Technical login\nMairie;%s;srv1;%s\n' % (S1, LOGIN_A))
    cfg = config(tmp_path, 'r.csv', column_map='{Customer: name, Id: siret, Host: server, Technical login: account}',
                 host_vars='{ansible_user: corail, corail_config_path: /etc/corail/chorus.ini}', servers_group="''")
    inventory, _plugin = parse(cfg)
    hv = host_vars(inventory, 'srv1')
    assert hv['corail_structures'] == [{'siret': S1, 'name': 'Mairie', 'account': LOGIN_A}]
    assert hv['ansible_user'] == 'corail' and hv['corail_config_path'] == '/etc/corail/chorus.ini'
    assert groups_of(inventory, 'srv1') == ['ungrouped'] or groups_of(inventory, 'srv1') == []


def test_column_map_to_an_unknown_field_is_an_error(tmp_path):
    write(tmp_path, 'r.csv', 'SIRET;Serveur\n%s;srv1\n' % S1)
    with pytest.raises(AnsibleParserError, match="maps 'X' to 'colour'"):
        parse(config(tmp_path, 'r.csv', column_map='{X: colour}'))


def test_compose_groups_keyed_groups_and_strict(tmp_path):
    write(tmp_path, 'registre.csv', FRENCH_CSV)
    cfg = config(tmp_path, 'registre.csv',
                 compose='{structure_count: corail_structures | length}',
                 groups='{big: corail_structures | length > 1}',
                 keyed_groups='[{key: chorus_piste_app, prefix: piste}]')
    inventory, _plugin = parse(cfg)
    # ansible-core 2.18 and older compose to text, 2.19 to a native int
    assert int(host_vars(inventory, 'corail-pau-01')['structure_count']) == 2
    assert 'big' in groups_of(inventory, 'corail-pau-01') and 'big' not in groups_of(inventory, 'corail-oloron')
    assert 'piste_CORAIL_PAU' in groups_of(inventory, 'corail-pau-01')
    cfg = config(tmp_path, 'registre.csv', compose='{x: undefined_variable.field}', strict='true')
    with pytest.raises(AnsibleError, match='Could not set x'):
        parse(cfg)


def test_cp1252_register_and_a_wrong_encoding(tmp_path):
    text = u'Collectivité;SIRET;Serveur Corail\nCommune de Lescar é;%s;srv1\n' % S1
    write(tmp_path, 'r.csv', text, encoding='cp1252')
    with pytest.raises(AnsibleParserError, match='cp1252'):
        parse(config(tmp_path, 'r.csv'))
    inventory, _plugin = parse(config(tmp_path, 'r.csv', encoding='cp1252'))
    assert host_vars(inventory, 'srv1')['corail_structures'][0]['name'] == u'Commune de Lescar é'


def test_cache_is_used_until_the_register_changes(tmp_path):
    register = write(tmp_path, 'r.csv', 'SIRET;Serveur\n%s;srv1\n' % S1)
    cfg = config(tmp_path, 'r.csv', cache='true', cache_plugin='ansible.builtin.jsonfile',
                 cache_connection=str(tmp_path / 'cache'), cache_timeout=3600)
    inventory, _plugin = parse(cfg, cache=False)  # refresh: read the file, fill the cache
    assert 'srv1' in inventory.hosts
    assert os.listdir(str(tmp_path / 'cache'))

    # The cache answers, not the file: prove it by reading a stale entry for an unchanged stamp.
    original_load = register_plugin.InventoryModule._load
    calls = []

    def counting_load(self, path):
        calls.append(path)
        return original_load(self, path)

    register_plugin.InventoryModule._load = counting_load
    try:
        inventory, _plugin = parse(cfg)
        assert calls == [] and 'srv1' in inventory.hosts
        time.sleep(0.01)
        register.write_text('SIRET;Serveur\n%s;srv2\n' % S1)  # changed file: the entry is stale
        inventory, _plugin = parse(cfg)
        assert len(calls) == 1 and 'srv2' in inventory.hosts and 'srv1' not in inventory.hosts
    finally:
        register_plugin.InventoryModule._load = original_load


def test_verify_file_accepts_only_its_names(tmp_path):
    plugin = inventory_loader.get('chorus.corail.register')
    for name, ok in (('register.chorus.yml', True), ('x.chorus.yaml', True), ('chorus_register.yml', True),
                     ('hosts.yml', False), ('register.csv', False)):
        path = write(tmp_path, name, 'plugin: chorus.corail.register\n')
        assert bool(plugin.verify_file(str(path))) is ok, name


def test_relative_path_is_relative_to_the_config_file(tmp_path):
    sub = tmp_path / 'inventory'
    sub.mkdir()
    write(sub, 'r.csv', 'SIRET;Serveur\n%s;srv1\n' % S1)
    cwd = os.getcwd()
    os.chdir(str(tmp_path))
    try:
        inventory, _plugin = parse(config(sub, 'r.csv'))
    finally:
        os.chdir(cwd)
    assert 'srv1' in inventory.hosts


def test_parser_and_group_names_directly():
    parser = RegisterParser('mem.csv', group_by_columns=['EPCI'])
    data = parser.parse_text('SIRET,Serveur,EPCI\n%s,s1,"CC Vallée d\'Ossau"\n' % S4, 'csv')
    assert data['hosts']['s1']['groups'] == ['epci_cc_vallee_d_ossau']
    assert safe_group_part(u'Béarn & Soule -- 64') == 'bearn_soule_64'
    assert parser.parse_text('', 'csv') == {'hosts': {}}


# -- unattended runs (issue 14) ----------------------------------------------------------------

BAD_ROWS_CSV = (
    u'Collectivité;SIRET;Serveur Corail;Compte technique;Contact;Environnement\n'
    u'Commune de Lescar;%s;srv1;%s;dgs@lescar.example;Production\n'        # line 2: good
    u'Commune de Lons;21640001000016;srv1;%s;compta@lons.example;\n'      # line 3: checksum
    u'CCAS de Lons;%s;;%s;ccas@lons.example;production\n'                 # line 4: no server
    u'Mairie de Pau;%s;srv2;%s;;recette\n'                                # line 5: environment
) % (S1, LOGIN_A, LOGIN_A, S2, LOGIN_A, S3, LOGIN_B)


def test_by_default_bad_rows_stay_as_structures_carrying_line_and_field(tmp_path, monkeypatch):
    warnings = []
    monkeypatch.setattr(register_plugin.display, 'warning', warnings.append)
    write(tmp_path, 'r.csv', BAD_ROWS_CSV)
    inventory, _plugin = parse(config(tmp_path, 'r.csv'))
    srv1 = host_vars(inventory, 'srv1')['corail_structures']
    assert srv1[0] == {'siret': S1, 'name': 'Commune de Lescar', 'account': LOGIN_A, 'contact': 'dgs@lescar.example'}
    assert srv1[1]['siret'] == '21640001000016' and srv1[1]['contact'] == 'compta@lons.example'
    assert srv1[1]['register_problem'].startswith('%s, line 3: field siret, SIRET 21640001000016: ' % tmp_path.joinpath('r.csv'))
    # A row without a server goes to the placeholder host, outside corail_servers, never connected to.
    unassigned = host_vars(inventory, 'register_unassigned')
    assert unassigned['ansible_connection'] == 'local'
    assert [s['siret'] for s in unassigned['corail_structures']] == [S2]
    assert 'line 4: field server, SIRET %s: is empty' % S2 in unassigned['corail_structures'][0]['register_problem']
    assert groups_of(inventory, 'register_unassigned') == ['chorus_register_unassigned', 'env_production']
    srv2 = host_vars(inventory, 'srv2')['corail_structures']
    assert "line 5: field environment, SIRET %s: must be one of qualification, production, got 'recette'" % S3 \
        in srv2[0]['register_problem']
    assert 'env_production' in groups_of(inventory, 'srv1')  # "Production", as a spreadsheet writes it
    assert len(warnings) == 3 and all('invalid_input' in w for w in warnings)


def test_on_invalid_error_lists_every_bad_row_at_once_and_leaves_them_for_the_playbooks(tmp_path):
    write(tmp_path, 'r.csv', BAD_ROWS_CSV)
    inventory = InventoryData()
    plugin = inventory_loader.get('chorus.corail.register')
    with pytest.raises(AnsibleParserError) as caught:
        plugin.parse(inventory, DataLoader(), str(config(tmp_path, 'r.csv', on_invalid='error')), cache=False)
    message = str(caught.value)
    assert '3 bad row(s)' in message
    for where in ('line 3: field siret, SIRET 21640001000016', 'line 4: field server, SIRET %s' % S2,
                  'line 5: field environment, SIRET %s' % S3):
        assert where in message
    assert not inventory.hosts  # nothing half-built
    errors = inventory.groups['all'].get_vars()['chorus_inventory_errors']
    assert len(errors) == 3 and 'line 5: field environment' in errors[2]


def test_a_missing_register_file_is_left_for_the_playbooks_too(tmp_path):
    inventory = InventoryData()
    plugin = inventory_loader.get('chorus.corail.register')
    with pytest.raises(AnsibleParserError):
        plugin.parse(inventory, DataLoader(), str(config(tmp_path, 'registre-absent.csv')), cache=False)
    errors = inventory.groups['all'].get_vars()['chorus_inventory_errors']
    assert len(errors) == 1 and 'cannot read the register' in errors[0] and 'registre-absent.csv' in errors[0]


def test_environment_option_gives_the_rows_that_name_none_their_environment(tmp_path):
    write(tmp_path, 'r.csv', 'SIRET;Serveur;Environnement\n%s;srv1;\n%s;srv2;Production\n' % (S1, S2))
    inventory, _plugin = parse(config(tmp_path, 'r.csv', environment='qualification'))
    assert groups_of(inventory, 'srv1') == ['corail_servers', 'env_qualification']
    assert groups_of(inventory, 'srv2') == ['corail_servers', 'env_production']
    with pytest.raises(AnsibleParserError, match="environment must be one of qualification, production, got 'recette'"):
        parse(config(tmp_path, 'r.csv', name='other.chorus.yml', environment='recette'))


def test_the_row_environment_chooses_the_siret_rule(tmp_path, monkeypatch):
    seen = []

    def fake_rule(siret, environment=None):
        seen.append((siret, environment))
        return None

    monkeypatch.setattr(register_plugin, 'siret_problem', fake_rule)
    write(tmp_path, 'r.csv', 'SIRET;Serveur;Environnement\n00000000002145;srv1;\n%s;srv1;Production\n' % S1)
    parse(config(tmp_path, 'r.csv', environment='qualification'), cache=False)
    assert seen == [('00000000002145', 'qualification'), (S1, 'production')]


@pytest.mark.parametrize('header', ['Mot de passe changé le', 'Date du mot de passe', 'password_changed_on',
                                    'Expiration MDP', 'Date de renouvellement du mot de passe'])
def test_a_date_column_mentioning_the_password_is_not_a_secret(tmp_path, header):
    write(tmp_path, 'r.csv', u'SIRET;Serveur Corail;%s\n%s;srv1;2025-03-01\n%s;srv1;01/03/2025\n%s;srv1;\n'
          % (header, S1, S2, S3))
    inventory, _plugin = parse(config(tmp_path, 'r.csv', on_invalid='error'))
    assert [s['siret'] for s in host_vars(inventory, 'srv1')['corail_structures']] == [S1, S2, S3]


def test_a_date_column_mentioning_the_password_must_hold_dates(tmp_path):
    write(tmp_path, 'r.csv', u'SIRET;Serveur Corail;Mot de passe changé le\n%s;srv1;2025-03-01\n%s;srv1;Hunter2-secret\n'
          % (S1, S2))
    with pytest.raises(AnsibleParserError) as caught:
        parse(config(tmp_path, 'r.csv', on_invalid='error'))
    message = str(caught.value)
    assert u"line 3: field Mot de passe changé le, SIRET" not in message  # the field error carries no SIRET
    assert u'line 3: field Mot de passe changé le: holds something that is not a date' in message
    assert 'Hunter2-secret' not in message
