# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""check_report's module file documents the task; its action plugin does the work (tests/unit/plugins/action)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.chorus.corail.plugins.modules import check_report

from .module_runner import run_module


def test_the_module_file_alone_says_it_needs_its_action_plugin(capsys):
    out = run_module(check_report, {'result': {'structures': []}, 'report_dir': '/nonexistent'}, capsys)[0]
    assert out['failed'] and 'action plugin' in out['msg']


def test_the_options_are_validated_first(capsys):
    out = run_module(check_report, {'result': {}, 'report_dir': '/x', 'fail_on': ['bogus']}, capsys)[0]
    assert out['failed'] and 'fail_on' in out['msg']
