# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""A limit on the calls per second one run sends towards PISTE, shared by all its threads.

``concurrency`` bounds how many calls are in flight; this bounds how many start per second, so a
national concentrator (tens of thousands of structures, one run) stays below what PISTE tolerates
whatever the latency. A 429 with ``Retry-After`` still makes the call that got it wait and retry;
it also holds every other thread back for that long (``defer``), since the server asked the
client, not one call, to slow down.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time


class RateLimiter(object):
    """Call starts spaced ``1 / rate`` seconds apart, across every thread of the run.

    An even spacing rather than bursts of ``rate`` calls each second: a server that counts calls
    per sliding second sees at most ``rate`` of them even when the network delays some calls more
    than others (a burst limiter would let two bursts land within one second). Idle time is not
    saved up. ``rate`` may be a decimal (0.5: one call every 2 seconds); None or 0: no limit.
    """

    def __init__(self, rate=None, clock=None, sleep=None):
        rate = float(rate or 0)
        if rate < 0:
            raise ValueError('rate_limit: must be 0 (no limit) or more, got %s' % rate)
        self.rate = rate
        self.interval = 1.0 / rate if rate else 0.0
        self._clock = clock if clock is not None else time.monotonic
        self._sleep = sleep if sleep is not None else time.sleep
        self._next = None  # earliest start of the next call
        self._lock = threading.Lock()
        self.waited = 0.0  # total seconds the calls of this run were held back, for tests and metrics

    def __repr__(self):
        return 'RateLimiter(rate=%r)' % self.rate

    def _reserve(self):
        """Book the earliest start allowed; returns how long the caller must wait for it."""
        with self._lock:
            now = self._clock()
            start = now if self._next is None else max(now, self._next)
            self._next = start + self.interval
            wait = start - now
            self.waited += wait
            return wait

    def acquire(self):
        """Wait, if needed, until one more call may start. Returns the seconds waited."""
        if not self.rate:
            return 0.0
        wait = self._reserve()
        if wait > 0:
            self._sleep(wait)
        return wait

    def defer(self, seconds):
        """No call of the run starts within ``seconds`` from now (a 429's ``Retry-After``)."""
        if not self.rate or not seconds or seconds <= 0:
            return
        with self._lock:
            until = self._clock() + float(seconds)
            self._next = until if self._next is None else max(self._next, until)
