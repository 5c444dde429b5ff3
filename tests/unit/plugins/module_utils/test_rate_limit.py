# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The run-wide rate limit (chorus_rate_limit) on its own and inside ChorusClient."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import chorus_world as cw  # noqa: E402  pylint: disable=wrong-import-position
from fixtures import running_sandbox  # noqa: E402  pylint: disable=wrong-import-position,import-error

from ansible_collections.chorus.corail.plugins.module_utils import _chorus_api as api  # noqa: E402
from ansible_collections.chorus.corail.plugins.module_utils._rate_limit import RateLimiter  # noqa: E402

TAUX = 'transverses/v1/recuperer/tauxtva'


class FakeTime(object):
    """A clock that sleeping moves forward: the limiter's schedule without waiting for it."""

    def __init__(self):
        self.now = 100.0

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def starts(limiter, fake, count):
    out = []
    for _i in range(count):
        limiter.acquire()
        out.append(fake.now)
    return out


def max_in_window(times, window=1.0):
    """The most starts within any half-open window [t, t + window) (1e-9 for float sums)."""
    times = sorted(times)
    return max(sum(1 for u in times if t <= u < t + window - 1e-9) for t in times)


@pytest.mark.parametrize('rate', [None, 0, 0.0])
def test_no_rate_never_waits(rate):
    fake = FakeTime()
    limiter = RateLimiter(rate, clock=fake.clock, sleep=fake.sleep)
    assert starts(limiter, fake, 50) == [100.0] * 50
    limiter.defer(5)
    assert limiter.acquire() == 0.0 and limiter.waited == 0.0


def test_negative_rate_is_refused_with_the_option_name():
    with pytest.raises(ValueError, match='rate_limit'):
        RateLimiter(-1)


@pytest.mark.parametrize('rate', [1, 3, 10, 4.0])
def test_never_more_than_rate_starts_in_any_second(rate):
    fake = FakeTime()
    limiter = RateLimiter(rate, clock=fake.clock, sleep=fake.sleep)
    times = starts(limiter, fake, 60)
    assert max_in_window(times) <= rate
    # and not slower than asked: evenly spaced, 60 calls in 59 intervals
    assert times[-1] - times[0] == pytest.approx(59 / rate, abs=1e-6)


def test_below_one_call_per_second_spaces_the_calls():
    fake = FakeTime()
    limiter = RateLimiter(0.5, clock=fake.clock, sleep=fake.sleep)
    assert starts(limiter, fake, 4) == [100.0, 102.0, 104.0, 106.0]


def test_a_decimal_rate_is_held_on_average():
    fake = FakeTime()
    limiter = RateLimiter(2.5, clock=fake.clock, sleep=fake.sleep)
    times = starts(limiter, fake, 26)
    assert times[-1] - times[0] == pytest.approx(10.0)
    assert max_in_window(times) <= 3


def test_idle_time_is_not_saved_up_for_a_burst_above_the_rate():
    fake = FakeTime()
    limiter = RateLimiter(2, clock=fake.clock, sleep=fake.sleep)
    starts(limiter, fake, 2)
    fake.now += 60  # a long pause
    times = starts(limiter, fake, 6)
    assert max_in_window(times) <= 2


def test_defer_holds_every_later_call():
    fake = FakeTime()
    limiter = RateLimiter(100, clock=fake.clock, sleep=fake.sleep)
    limiter.acquire()
    limiter.defer(3)
    limiter.defer(1)  # a shorter Retry-After does not shorten the pause
    assert limiter.acquire() == pytest.approx(3)
    assert fake.now == pytest.approx(103)
    limiter.defer(0)
    limiter.defer(None)
    assert limiter.acquire() == pytest.approx(0.01)  # the spacing only


def test_threads_share_one_limit():
    limiter = RateLimiter(20)
    times, lock = [], threading.Lock()

    def work():
        for _i in range(10):
            limiter.acquire()
            with lock:
                times.append(time.monotonic())

    threads = [threading.Thread(target=work) for _i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(times) == 40
    assert max_in_window(times, 0.9) <= 20  # 10 % for the threads' wake-up delays
    assert times[-1] - min(times) >= 1.9  # 40 calls spaced 50 ms: the last starts 1.95 s after the first


# -- inside the client ---------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def no_env_proxy(monkeypatch):
    for name in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY',
                 'no_proxy', 'NO_PROXY'):
        monkeypatch.delenv(name, raising=False)


def _client(sb, **kwargs):
    return api.ChorusClient(oauth_url=sb.oauth_url, api_url=sb.api_url, retries=3, backoff_factor=0.01, timeout=5,
                            **kwargs)


def _app():
    spec = cw.piste_apps()['corail']
    return api.PisteApp('corail', spec['environment'], spec['client_id'], spec['client_secret'])


def _account():
    return api.TechnicalAccount(cw.LOGIN_OK, cw.accounts()[cw.LOGIN_OK]['password'])


def _parallel_calls(client, threads=4, each=3):
    errors = []

    def work():
        for _i in range(each):
            try:
                client.call(_app(), _account(), TAUX)
            except api.ChorusError as exc:  # pragma: no cover - reported by the assertion below
                errors.append(exc)

    workers = [threading.Thread(target=work) for _i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return errors


def test_client_holds_the_rate_the_server_enforces():
    # The sandbox answers 429 above 4 calls in a sliding second; the client limited to 3/s (a
    # margin for the network's jitter, as advised against PISTE) never gets one, token request
    # included, with 4 threads calling at once.
    with running_sandbox(cw.world()) as sb:
        sb.set_faults(rate_limit_per_s=4, retry_after_s=0.5)
        client = _client(sb, rate_limit=3)
        started = time.monotonic()
        assert _parallel_calls(client, threads=4, each=2) == []
        elapsed = time.monotonic() - started
        stats = sb.stats()
        client.close()
    assert stats['total'] == 9, stats  # 1 token + 8 calls
    assert '429' not in stats['responses']
    assert elapsed >= 2.6  # 9 starts spaced 1/3 s: the last one 2.67 s after the first
    assert client.rate_limiter.waited > 0


def test_the_same_burst_without_a_limit_gets_429():
    with running_sandbox(cw.world()) as sb:
        sb.set_faults(rate_limit_per_s=4, retry_after_s=0.2)
        client = _client(sb)
        _parallel_calls(client, threads=4, each=2)
        stats = sb.stats()
        client.close()
    assert int(stats['responses'].get('429', 0)) >= 1
    assert client.rate_limiter.waited == 0


def test_a_429_holds_the_other_calls_back_when_a_limit_is_set():
    fake_sleeps = []
    with running_sandbox(cw.world()) as sb:
        sb.set_faults(rate_limit_per_s=1, retry_after_s=0.6)
        # 50/s is above what the server allows: the second call gets a 429 whose Retry-After the
        # limiter applies to the whole client.
        client = _client(sb, rate_limit=50, sleep=lambda s: (fake_sleeps.append(s), time.sleep(s)))
        before = time.monotonic()
        client.call(_app(), _account(), TAUX)
        client.close()
    # the next call of any thread was pushed past the Retry-After
    assert client.rate_limiter._next >= before + 0.6  # pylint: disable=protected-access
    assert any(s >= 0.59 for s in fake_sleeps)


def test_rate_limit_is_a_connection_option():
    from ansible_collections.chorus.corail.plugins.module_utils._connection import (  # pylint: disable=import-outside-toplevel
        CONNECTION_ARGSPEC, connection_params)
    assert CONNECTION_ARGSPEC['rate_limit']['type'] == 'float'
    assert connection_params({'rate_limit': 2.5})['rate_limit'] == 2.5
    assert api.ChorusClient(**connection_params({'rate_limit': 2.5, 'retries': 1, 'timeout': 5})).rate_limiter.rate == 2.5
