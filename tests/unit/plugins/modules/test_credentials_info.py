# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""credentials_info run as Ansible runs it (argument parsing, no_log, exit_json) against the sandbox."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import chorus_world as cw  # noqa: E402  pylint: disable=wrong-import-position
from fixtures import running_sandbox  # noqa: E402  pylint: disable=wrong-import-position,import-error

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # noqa: E402
from ansible_collections.chorus.corail.plugins.module_utils._statuses import STATUSES  # noqa: E402
from ansible_collections.chorus.corail.plugins.modules import credentials_info  # noqa: E402

from . import module_runner  # noqa: E402


ENV = ('CHORUS_OAUTH_URL', 'CHORUS_API_URL', 'CHORUS_VALIDATE_CERTS', 'CHORUS_CA_PATH', 'CHORUS_PROXY',
       'CHORUS_TIMEOUT', 'CHORUS_RETRIES', 'http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY')


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def run_module(args, capsys, check_mode=False):
    """Run main() like Ansible does; returns (parsed result, raw stdout)."""
    return module_runner.run_module(credentials_info, args, capsys, check_mode=check_mode)


def module_args(sb=None, **extra):
    args = {
        'structures': cw.structures(),
        'accounts': cw.accounts(),
        'piste_apps': cw.piste_apps(),
        'today': cw.TODAY,
        'retries': 1,
    }
    if sb is not None:
        args.update(oauth_url=sb.oauth_url, api_url=sb.api_url)
    args.update(extra)
    return args


def test_every_status_and_the_documented_shape(capsys):
    with running_sandbox(cw.world()) as sb:
        result, out = run_module(module_args(sb), capsys)
    assert result['changed'] is False and 'failed' not in result
    assert set(result) == {'changed', 'structures', 'by_host', 'counts', 'accounts', 'api_calls', 'invocation'}
    assert [e['status'] for e in result['structures']] == cw.expected()
    assert list(result['counts']) == list(STATUSES)
    assert sum(result['counts'].values()) == len(cw.CASES)
    assert result['counts']['unchecked'] == 0 and result['counts']['api_unavailable'] == 0
    assert set(result['by_host']) == set(c[0] for c in cw.CASES)
    assert result['api_calls']['/api/oauth/token'] >= 3
    # Public values inside the no_log dicts are not masked, secrets are.
    paris = result['structures'][0]
    assert paris['environment'] == 'qualification'
    assert paris['password_expires_on'] == '2026-03-01'
    refused = [e for e in result['structures'] if e['status'] == 'piste_auth_failed'][0]
    assert "l'environnement qualification" in refused['remediation']
    for secret in cw.all_secret_values():
        assert secret not in out
    assert 'cid-corail' not in out
    logged = result['invocation']['module_args']
    assert logged['accounts'][cw.LOGIN_OK]['password'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    assert logged['accounts'][cw.LOGIN_OK]['environment'] == 'qualification'
    assert logged['accounts'][cw.LOGIN_OK]['password_changed_on'] == '2024-01-03'
    assert logged['piste_apps']['corail']['client_secret'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


def test_check_mode_gives_the_same_result(capsys):
    with running_sandbox(cw.world()) as sb:
        normal, _out = run_module(module_args(sb), capsys)
        checked, _out = run_module(module_args(sb), capsys, check_mode=True)
    for key in ('changed', 'structures', 'by_host', 'counts', 'accounts'):
        assert checked[key] == normal[key]
    # How many 401s share one token refresh depends on thread timing (a rejected account asks for
    # a fresh token unless another thread just did), so token calls may differ by a few.
    token = '/api/oauth/token'
    assert {k: v for k, v in checked['api_calls'].items() if k != token} == \
        {k: v for k, v in normal['api_calls'].items() if k != token}
    assert abs(checked['api_calls'][token] - normal['api_calls'][token]) <= 2


def test_connection_options_from_the_environment(capsys, monkeypatch):
    cases = cw.CASES[:1]
    with running_sandbox(cw.world()) as sb:
        monkeypatch.setenv('CHORUS_OAUTH_URL', sb.oauth_url)
        monkeypatch.setenv('CHORUS_API_URL', sb.api_url)
        result, _out = run_module(module_args(structures=cw.structures(cases)), capsys)
        assert sb.calls('recuperer/structures/actives/destinataire') == 1
    assert [e['status'] for e in result['structures']] == ['ok']


def test_environment_fallbacks_and_defaults():
    spec = credentials_info.argument_spec()
    params = {'structures': []}
    validated = ArgumentSpecValidator(spec).validate(params).validated_parameters
    assert (validated['timeout'], validated['retries'], validated['validate_certs']) == (30, 3, True)
    assert validated['concurrency'] == 8 and validated['password_warning_days'] == 30 and validated['online'] is True
    env = {'CHORUS_TIMEOUT': '7', 'CHORUS_RETRIES': '0', 'CHORUS_VALIDATE_CERTS': 'false', 'CHORUS_PROXY': 'http://p:3128',
           'CHORUS_CA_PATH': '/etc/ca.pem', 'CHORUS_OAUTH_URL': 'http://o/t', 'CHORUS_API_URL': 'http://a'}
    old = dict((k, os.environ.get(k)) for k in env)
    os.environ.update(env)
    try:
        validated = ArgumentSpecValidator(spec).validate({'structures': []}).validated_parameters
        explicit = ArgumentSpecValidator(spec).validate({'structures': [], 'timeout': 9}).validated_parameters
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert (validated['timeout'], validated['retries'], validated['validate_certs']) == (7, 0, False)
    assert validated['proxy'] == 'http://p:3128' and validated['ca_path'] == '/etc/ca.pem'
    assert (validated['oauth_url'], validated['api_url']) == ('http://o/t', 'http://a')
    assert explicit['timeout'] == 9


def test_secret_options_are_no_log():
    spec = credentials_info.argument_spec()
    assert spec['accounts']['no_log'] is True and spec['piste_apps']['no_log'] is True


def test_offline_needs_no_network_and_no_url(capsys):
    result, _out = run_module(module_args(online=False), capsys)
    assert result['api_calls'] == {}
    assert result['counts']['unchecked'] == 9 and result['counts']['missing_account'] == 2
    assert result['counts']['invalid_input'] == 1


def test_missing_account_structures_are_never_dropped(capsys):
    structures = [{'host': 'h', 'siret': cw.S_PARIS, 'piste_app': 'corail'},
                  {'host': 'h', 'siret': cw.S_LYON, 'piste_app': 'corail', 'account': ''},
                  {'host': 'h', 'siret': cw.S_MARSEILLE, 'piste_app': 'corail', 'account': 'TECH_x@cpp2017.fr'}]
    result, _out = run_module(module_args(structures=structures, online=False), capsys)
    assert [e['status'] for e in result['structures']] == ['missing_account'] * 3
    assert result['by_host']['h'] == result['structures']


def test_api_unavailable_everywhere(capsys):
    with running_sandbox(cw.world(), error_rate=1.0) as sb:
        result, _out = run_module(module_args(sb, retries=0), capsys)
    assert result['counts']['api_unavailable'] == 9
    assert result['counts']['account_rejected'] == 0 and result['counts']['not_attached'] == 0


@pytest.mark.parametrize('extra, words', [
    ({'concurrency': 0}, 'concurrency: must be 1 or more'),
    ({'password_warning_days': -1}, 'password_warning_days: must be 0 or more'),
    ({'today': 'tomorrow'}, 'today: must be a date YYYY-MM-DD'),
    ({'timeout': 0}, 'timeout: must be more than 0'),
    ({'retries': -2}, 'retries: must be 0 or more'),
])
def test_bad_options_fail_with_the_option_name(capsys, extra, words):
    result, _out = run_module(module_args(**extra), capsys)
    assert result['failed'] is True and words in result['msg']


def test_missing_requests_fails_cleanly(capsys, monkeypatch):
    monkeypatch.setattr(credentials_info, 'HAS_REQUESTS', False)
    monkeypatch.setattr(credentials_info, 'REQUESTS_IMPORT_ERROR', 'ImportError: no requests')
    result, _out = run_module(module_args(), capsys)
    assert result['failed'] is True and 'requests' in result['msg']
    # offline runs do not need it
    result, _out = run_module(module_args(online=False), capsys)
    assert 'failed' not in result


def test_unexpected_errors_do_not_leak_secrets(capsys, monkeypatch):
    def boom(*_args, **_kwargs):
        raise RuntimeError('kaboom %s' % cw.SECRETS['pw_ok'])

    monkeypatch.setattr(credentials_info, 'run_check', boom)
    result, out = run_module(module_args(online=False), capsys)
    assert result['failed'] is True and 'RuntimeError' in result['msg']
    assert cw.SECRETS['pw_ok'] not in out


def test_rate_limit_below_zero_fails_with_the_option_name(capsys):
    result, _out = run_module(module_args(rate_limit=-1), capsys)
    assert result['failed'] is True and 'rate_limit: must be 0 (no limit) or more' in result['msg']


def test_result_file_holds_the_structures_and_the_result_stays_small(capsys, tmp_path):
    path = tmp_path / 'reports' / '.credentials_info.json'  # the folder is created, 0700
    with running_sandbox(cw.world()) as sb:
        full, _out = run_module(module_args(sb), capsys)
        small, out = run_module(module_args(sb, result_file=str(path)), capsys)
    assert set(small) == {'changed', 'by_host', 'counts', 'api_calls', 'result_file', 'total', 'invocation'}
    assert small['result_file'] == str(path) and small['total'] == len(cw.CASES)
    assert small['counts'] == full['counts'] and set(small['by_host']) == set(full['by_host'])
    keys = ('host', 'siret', 'name', 'status', 'warnings', 'password_expires_on', 'action_by', 'cause')
    for host, entries in full['by_host'].items():  # shortened entries, same order
        assert small['by_host'][host] == [dict((k, e[k]) for k in keys if k in e) for e in entries]
        assert all('remediation' not in e and 'detail' not in e for e in small['by_host'][host])
    assert 'structures (not echoed with result_file)' in small['invocation']['module_args']['structures']
    assert oct(path.stat().st_mode & 0o777) == '0o600' and oct(path.parent.stat().st_mode & 0o777) == '0o700'
    text = path.read_text(encoding='utf-8')
    on_disk = json.loads(text)
    assert on_disk['structures'] == full['structures'] and on_disk['accounts'] == full['accounts']
    for secret in cw.all_secret_values():
        assert secret not in text and secret not in out
    assert 'cid-corail' not in text


def test_unwritable_result_file_fails_with_the_option_name(capsys, tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    result, _out = run_module(module_args(online=False, result_file=str(blocker / 'r.json')), capsys)
    assert result['failed'] is True and result['msg'].startswith('result_file: ')
