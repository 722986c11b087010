"""Portfolio figures from the database: the whole book or one customer, and the book's cache.

The engine (``service.credit.portfolio_figures``) computes DSO (countback), best possible DSO,
average days delinquent and CEI from customers' inputs; this module reads those inputs with the
bulk loader (``service.assessments.loading.load_inputs``).

- ``book_figures(sessions, as_of, policy)`` — every customer, ``chunk`` customers per read
  transaction (keyset pagination): memory stays flat at any size, and on SQLite, where every
  transaction takes the write lock, feeds wait for one chunk at most, never for the whole book.
- ``customer_figures(session, customer_id, as_of, policy)`` — one customer, in its own currency.
- ``PortfolioCache`` — the book's figures for ``GET /api/v1/portfolio`` and ``/metrics``.

Why a cache with a time to live, not figures updated after each re-assessment: re-assessments
happen in other processes (feeds in every web worker, the daily roll and Salesforce events in
the worker), so no one process sees them all; and the figures are three-month ratios that a
feed barely moves. So each web process recomputes the book at most once a minute — or, for a
book that takes longer, at most once every ten computing times, which keeps the work under a
tenth of one core — and only when someone asks. A caller never waits for a recomputation when
an older value exists: it gets that value (with its ``computed_at``) while one background thread
recomputes. Only the very first API call computes in the caller's thread; ``/metrics`` never
does (it leaves the figures out until the first value is ready).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service.assessments.loading import DEFAULT_CHUNK, load_inputs
from service.credit import CustomerInputs, Policy, PortfolioFigures, portfolio_figures
from service.credit.portfolio import month_windows
from service.models import Assessment, Customer

log = logging.getLogger(__name__)

MONTHS = 3
CACHE_SECONDS = 60.0
# A recomputation is due at most once per this many computing times (a tenth of one core).
CACHE_DUTY = 10
ERRORS_SHOWN = 20
STATUSES = ("OK", "WATCH", "HOLD", "ERROR")


def _period_start(as_of: date, months: int) -> date:
    return month_windows(as_of, months)[-1][0]


def book_figures(
    sessions: sessionmaker[Session],
    as_of: date,
    policy: Policy,
    *,
    months: int = MONTHS,
    chunk: int = DEFAULT_CHUNK,
) -> PortfolioFigures:
    """The whole book's figures in the policy's base currency (see the engine for the rules)."""
    since = _period_start(as_of, months)

    def customers() -> Iterator[CustomerInputs]:
        last = None
        while True:
            # One short read transaction per chunk; the session is closed (rolled back) before
            # the engine sees the chunk.
            with sessions() as session:
                query = select(Customer.id).order_by(Customer.id).limit(chunk)
                if last is not None:
                    query = query.where(Customer.id > last)
                ids = session.scalars(query).all()
                if not ids:
                    return
                inputs = load_inputs(
                    session, as_of, policy, lo=ids[0], hi=ids[-1], history_from=since
                )
            last = ids[-1]
            yield from inputs.values()

    return portfolio_figures(customers(), policy, as_of, months=months)


def customer_figures(
    session: Session, customer_id: int, as_of: date, policy: Policy, *, months: int = MONTHS
) -> PortfolioFigures | None:
    """One customer's figures in its own currency; None if there is no such customer."""
    since = _period_start(as_of, months)
    inputs = load_inputs(session, as_of, policy, ids=[customer_id], history_from=since)
    customer = inputs.get(customer_id)
    if customer is None:
        return None
    return portfolio_figures([customer], policy, as_of, months=months, currency=customer.currency)


def status_counts(session: Session) -> tuple[dict[str, int], int]:
    """Accounts by stored status (every status in ``STATUSES`` present), and how many of them
    carry an error from their last re-assessment. One aggregate query."""
    counts = dict.fromkeys(STATUSES, 0)
    with_errors = 0
    query = select(Assessment.status, func.count(), func.count(Assessment.error)).group_by(
        Assessment.status
    )
    for status, n, errors in session.execute(query):
        counts[status] = counts.get(status, 0) + n
        with_errors += errors
    return counts, with_errors


# --- documents for the API -----------------------------------------------------------------------


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def figures_document(f: PortfolioFigures, months: int = MONTHS) -> dict[str, Any]:
    """Money and days as decimal strings (exact, like every amount the API serves)."""
    return {
        "currency": f.currency or None,
        "as_of": f.as_of.isoformat(),
        "period_start": f.period_start.isoformat(),
        "months": months,
        "receivables": _text(f.receivables),
        "current_receivables": _text(f.current_receivables),
        "sales": _text(f.sales),
        "dso": _text(f.dso),
        "best_possible_dso": _text(f.best_possible_dso),
        "average_days_delinquent": _text(f.average_days_delinquent),
        "cei": _text(f.cei),
    }


def customer_document(f: PortfolioFigures) -> dict[str, Any]:
    doc = figures_document(f)
    # The engine words its errors "customer C-1: why"; on the customer's own page, just why.
    doc["error"] = f.errors[0].split(": ", 1)[-1] if f.errors else None
    return doc


# --- the book's cache ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CachedFigures:
    figures: PortfolioFigures
    computed_at: datetime
    seconds: float  # how long the computation took

    def document(self) -> dict[str, Any]:
        f = self.figures
        doc = figures_document(f)
        doc.update(
            customers=f.customers,
            customers_left_out=len(f.errors),
            errors=list(f.errors[:ERRORS_SHOWN]),
            computed_at=self.computed_at.isoformat(),
        )
        return doc


class PortfolioCache:
    """The book's figures for ``as_of``, recomputed when older than the time to live.

    ``compute(as_of)`` does the work; ``clock()`` stamps ``computed_at``; ``monotonic()`` measures
    age. With ``background`` (the default) a stale value is served while a thread recomputes.
    """

    def __init__(
        self,
        compute: Callable[[date], PortfolioFigures],
        *,
        clock: Callable[[], datetime],
        ttl: float = CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        background: bool = True,
    ) -> None:
        self._compute = compute
        self._clock = clock
        self._ttl = ttl
        self._monotonic = monotonic
        self._background = background
        self._lock = threading.Lock()  # guards the fields below
        self._single = threading.Lock()  # one computation at a time
        self._value: CachedFigures | None = None
        self._expires = 0.0
        self._retry_after = 0.0  # after a failed background computation
        self._thread: threading.Thread | None = None

    def _fresh(self, as_of: date) -> CachedFigures | None:
        value = self._value
        if value is not None and value.figures.as_of == as_of and self._monotonic() < self._expires:
            return value
        return None

    def get(self, as_of: date) -> CachedFigures:
        """Fresh figures, or the last ones while a thread recomputes; the first call computes."""
        with self._lock:
            fresh = self._fresh(as_of)
            if fresh is not None:
                return fresh
            stale = self._value
            if stale is not None and self._background:
                self._start_refresh(as_of)
                return stale
        with self._single:
            with self._lock:
                fresh = self._fresh(as_of)
            return fresh or self._refresh(as_of)

    def get_nowait(self, as_of: date) -> CachedFigures | None:
        """Like ``get`` but never computes in the caller's thread: None until a first value exists
        (for ``/metrics``, whose scrape must stay quick however big the book)."""
        with self._lock:
            fresh = self._fresh(as_of)
            if fresh is not None:
                return fresh
            self._start_refresh(as_of)
            return self._value

    def _start_refresh(self, as_of: date) -> None:
        """Start a background computation unless one runs or the last one failed just now.
        Call with ``_lock`` held."""
        idle = self._thread is None or not self._thread.is_alive()
        if idle and self._monotonic() >= self._retry_after:
            self._thread = threading.Thread(
                target=self._refresh_quietly, args=(as_of,), name="portfolio", daemon=True
            )
            self._thread.start()

    def expire(self) -> None:
        """Make the next ``get`` recompute (the value is still served while it does)."""
        with self._lock:
            self._expires = 0.0

    def peek(self) -> CachedFigures | None:
        """The last value, however old, without computing anything."""
        return self._value

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a background recomputation (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _refresh(self, as_of: date) -> CachedFigures:
        started = self._monotonic()
        figures = self._compute(as_of)
        took = self._monotonic() - started
        value = CachedFigures(figures, self._clock(), took)
        with self._lock:
            self._value = value
            self._expires = self._monotonic() + max(self._ttl, CACHE_DUTY * took)
        log.info(
            "portfolio figures computed",
            extra={"customers": figures.customers, "seconds": round(took, 3)},
        )
        return value

    def _refresh_quietly(self, as_of: date) -> None:
        with self._single:
            try:
                self._refresh(as_of)
            except Exception:
                # Keep serving the last value; try again after one time to live.
                log.exception("portfolio figures could not be computed")
                with self._lock:
                    self._retry_after = self._monotonic() + self._ttl
