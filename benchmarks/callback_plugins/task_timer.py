# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark helper: wall time of each task and of the run's phases, written as JSON.

ansible.posix's profile_tasks is not part of ansible-core; this does the same job for the
benchmarks without an extra collection. Enabled by benchmarks/run.py through
ANSIBLE_CALLBACKS_ENABLED=task_timer and ANSIBLE_CALLBACK_PLUGINS; writes the file named by
CHORUS_BENCH_TIMINGS (nothing when unset).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: task_timer
type: aggregate
short_description: Wall time per task, for the chorus.corail benchmarks
description:
  - Records when the playbook starts, when each task starts and when the run ends, and writes them as JSON
    to the file named by the E(CHORUS_BENCH_TIMINGS) environment variable.
requirements:
  - enabled in the configuration (callbacks_enabled)
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'task_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._started = time.monotonic()
        self._tasks = []
        self._current = None
        self._playbook_start = None

    def _close_current(self):
        now = time.monotonic()
        if self._current is not None:
            self._current['seconds'] = round(now - self._current.pop('_t0'), 4)
            self._tasks.append(self._current)
            self._current = None
        return now

    def v2_playbook_on_start(self, playbook):
        self._playbook_start = time.monotonic()

    def v2_playbook_on_task_start(self, task, is_conditional):
        now = self._close_current()
        self._current = {'task': task.get_name(), '_t0': now}

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_playbook_on_stats(self, stats):
        end = self._close_current()
        path = os.environ.get('CHORUS_BENCH_TIMINGS')
        if not path:
            return
        first = self._tasks[0] if self._tasks else None
        data = {
            'load_seconds': round((self._playbook_start or end) - self._started, 4),
            'before_first_task_seconds': round(end - self._started - sum(t['seconds'] for t in self._tasks), 4)
            if first else None,
            'total_seconds': round(end - self._started, 4),
            'tasks': self._tasks,
        }
        with open(path, 'w', encoding='utf-8') as handle:
            json.dump(data, handle, indent=1)
