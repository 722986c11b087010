"""Portfolio figures from the database (SQLite and PostgreSQL) and the book's cache."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest

from service.assessments import reassess as reassess_customers
from service.assessments.loading import load_inputs
from service.assessments.portfolio import (
    CACHE_DUTY,
    PortfolioCache,
    book_figures,
    customer_figures,
    status_counts,
)
from service.credit import load_policy, portfolio_figures
from service.db import make_engine, make_session_factory, transaction
from tests.assessments.test_reassess import AS_OF, NOW, POLICY, _customer, _invoice


@pytest.fixture
def sessions(db_url):
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


def _book(sessions) -> list[int]:
    with transaction(sessions) as s:
        ids = []
        for i in range(7):
            c = _customer(s, f"C-{i}", currency="USD" if i == 5 else "EUR")
            for k in range(i % 3 + 1):
                _invoice(s, c, 25 * k - 10 + i, f"{100 * (k + 1) + i}")
            # Paid 40 days ago: in the period, so it counts as sales and as beginning receivables.
            _invoice(s, c, 50, "300", open_="0", closed_on=AS_OF - timedelta(days=40))
            ids.append(c.id)
        return ids


def test_book_figures__chunked_reads_give_the_figures_of_one_read(sessions):
    ids = _book(sessions)
    with sessions() as s:
        whole = load_inputs(s, AS_OF, POLICY, ids=ids, history_from=date(2025, 1, 1))
    expected = portfolio_figures(whole.values(), POLICY, AS_OF)

    for chunk in (1, 3, 100):
        assert book_figures(sessions, AS_OF, POLICY, chunk=chunk) == expected
    assert expected.customers == 7 and expected.dso is not None and expected.cei is not None
    assert expected.errors == ()  # the USD customer is converted at the policy's rate


def test_book_figures__read_the_whole_period_even_with_a_short_risk_lookback(sessions):
    short = load_policy({"base_currency": "EUR", "risk": {"lookback_days": 20, "recent_days": 10}})
    with transaction(sessions) as s:
        c = _customer(s, "C-PAID")
        # Issued 4 January and paid 50 days ago: before the risk lookback, inside the period.
        _invoice(s, c, 40, "1000", open_="0", closed_on=AS_OF - timedelta(days=50))
        _invoice(s, c, -5, "500")

    figures = book_figures(sessions, AS_OF, short)

    assert figures.sales == Decimal("1500.00")
    with sessions() as s:
        assert len(load_inputs(s, AS_OF, short, ids=[c.id])[c.id].items) == 1  # assessment reads


def test_customer_figures__in_the_customers_own_currency(sessions):
    with transaction(sessions) as s:
        c = _customer(s, "C-USD", currency="USD")
        _invoice(s, c, 10, "1000", currency="USD")
    with sessions() as s:
        figures = customer_figures(s, c.id, AS_OF, POLICY)
        assert customer_figures(s, c.id + 1000, AS_OF, POLICY) is None

    assert figures.currency == "USD" and figures.receivables == Decimal("1000.00")
    assert figures.errors == ()


def test_status_counts__by_status_with_errors_counted_apart(sessions):
    with transaction(sessions) as s:
        hold = _customer(s, "C-H")
        _invoice(s, hold, 70, "100")
        ok = _customer(s, "C-O")
        _invoice(s, ok, -1, "100")
        bad = _customer(s, "C-X")
        _invoice(s, bad, 1, "100", currency="JPY")
        reassess_customers(s, [hold.id, ok.id, bad.id], AS_OF, POLICY)
    with transaction(sessions) as s:  # the held customer's next re-assessment fails
        _invoice(s, hold, 1, "5", currency="JPY")
        reassess_customers(s, [hold.id], AS_OF, POLICY)

    with sessions() as s:
        counts, with_errors = status_counts(s)

    assert counts == {"OK": 1, "WATCH": 0, "HOLD": 1, "ERROR": 1}
    assert with_errors == 2


# --- the cache -----------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _cache(clock: Clock, *, took: float = 0.0, background: bool = False, fail=None):
    calls: list[date] = []

    def compute(as_of: date):
        calls.append(as_of)
        if fail and fail():
            raise RuntimeError("database gone")
        clock.now += took
        return portfolio_figures([], POLICY, as_of)

    cache = PortfolioCache(
        compute, clock=lambda: NOW, ttl=60, monotonic=clock, background=background
    )
    return cache, calls


def test_cache__computes_once_per_minute_and_again_for_a_new_day():
    clock = Clock()
    cache, calls = _cache(clock)

    first = cache.get(AS_OF)
    clock.now = 59
    assert cache.get(AS_OF) is first
    clock.now = 61
    assert cache.get(AS_OF) is not first
    assert cache.get(AS_OF + timedelta(days=1)).figures.as_of == AS_OF + timedelta(days=1)
    assert calls == [AS_OF, AS_OF, AS_OF + timedelta(days=1)]


def test_cache__a_slow_book_is_recomputed_at_most_once_per_ten_computing_times():
    clock = Clock()
    cache, calls = _cache(clock, took=20.0)

    cache.get(AS_OF)
    clock.now = 20 + 20 * CACHE_DUTY - 1
    cache.get(AS_OF)
    clock.now += 2
    cache.get(AS_OF)

    assert len(calls) == 2


def test_cache__a_stale_value_is_served_while_a_thread_recomputes():
    clock = Clock()
    release = threading.Event()
    cache, calls = _cache(clock, background=True)
    first = cache.get(AS_OF)
    clock.now = 100
    original = cache._compute

    def slow(as_of):
        release.wait(10)
        return original(as_of)

    cache._compute = slow

    assert cache.get(AS_OF) is first  # at once, not after the computation
    assert cache.get(AS_OF) is first  # one recomputation at a time
    release.set()
    cache.wait(10)
    assert cache.get(AS_OF) is not first
    assert len(calls) == 2


def test_cache__a_failed_recomputation_keeps_the_last_value_and_retries_later():
    clock = Clock()
    failing = [False]
    cache, calls = _cache(clock, background=True, fail=lambda: failing[0])
    first = cache.get(AS_OF)
    failing[0] = True
    clock.now = 100

    assert cache.get(AS_OF) is first
    cache.wait(10)
    assert cache.get(AS_OF) is first  # no new attempt within a minute of the failure
    cache.wait(10)
    assert len(calls) == 2
    failing[0] = False
    clock.now = 200
    cache.get(AS_OF)
    cache.wait(10)
    assert cache.get(AS_OF) is not first


def test_cache__the_first_call_with_nothing_cached_raises_what_went_wrong():
    cache, _ = _cache(Clock(), background=True, fail=lambda: True)

    with pytest.raises(RuntimeError, match="database gone"):
        cache.get(AS_OF)


def test_cache__get_nowait_never_computes_in_the_callers_thread():
    clock = Clock()
    cache, _ = _cache(clock)
    caller = threading.current_thread()
    threads = []
    original = cache._compute

    def recording(as_of):
        threads.append(threading.current_thread())
        return original(as_of)

    cache._compute = recording

    assert cache.get_nowait(AS_OF) is None
    cache.wait(10)
    value = cache.get_nowait(AS_OF)
    assert value is not None and value.figures.as_of == AS_OF
    assert threads and caller not in threads
