"""The worker's assessor: drains the assessment queue as requests arrive.

Feeds, the import and the Salesforce handlers queue the customers they changed in their own
transactions (``service.assessments.queue``); the assessor re-assesses them, queues their
Account pushes and calls ``on_commit`` (the worker wakes its pushers), so a change reaches
Salesforce within a couple of seconds. ``after_drain`` is told which customers a batch assessed,
in its own transaction after the batch's commit: the worker applies there what waited for a
customer to arrive (a card payment naming a customer the ERP had not sent yet).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date
from time import monotonic

from sqlalchemy.orm import Session, sessionmaker

from service.assessments import queue

log = logging.getLogger(__name__)


class Assessor:
    """Drains the assessment queue: polls every ``poll_seconds``, or at once when kicked.

    Each batch is one transaction (``queue.drain_once``); after each commit the
    pushers are woken. A batch that fails is rolled back whole, so its requests stay queued; the
    failure is logged and retried after a pause that doubles (up to a minute). An exception in
    the engine on one customer never fails a batch (``service.assessments.storing`` stores it as
    that customer's error); for anything else on one customer's rows, a failed batch is
    retried at half the size, down to one customer; a customer that fails alone is set aside
    for ``quarantine_seconds`` (its requests stay queued, and a credit read still assesses it on
    the spot) while the others are drained, and the batch size grows back after each success.
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        as_of: Callable[[], date],
        policy,
        stop: threading.Event,
        *,
        on_commit: Callable[[], None] = lambda: None,
        after_drain: Callable[[list[int]], None] | None = None,
        observe: queue.Observe | None = None,
        poll_seconds: float = 0.2,
        limit: int = queue.DRAIN_LIMIT,
        quarantine_seconds: float = 600.0,
    ):
        self.factory = factory
        self.as_of = as_of
        self.policy = policy
        self.stop = stop
        self.on_commit = on_commit
        self.after_drain = after_drain
        self.observe = observe
        self.poll_seconds = poll_seconds
        self.limit = limit
        self.size = limit  # the next batch's size: halved after a failure, regrown after success
        self.quarantine_seconds = quarantine_seconds
        self.quarantined: dict[int, float] = {}  # customer id -> monotonic time it is retried
        self.busy = threading.Lock()
        self.kick = threading.Event()
        self.failures = 0

    def run(self) -> None:
        while not self.stop.is_set():
            if self.drain_batch():
                continue  # more may be waiting: no pause while there is work
            pause = min(60.0, self.poll_seconds * 2.0**self.failures)
            self.kick.wait(pause)
            self.kick.clear()

    def drain_batch(self) -> int:
        """Assess one batch; returns how many customers (0: nothing waiting, or it failed)."""
        if not self._anything_waiting():
            return 0
        with self.busy:
            if self.stop.is_set():
                return 0
            now = monotonic()
            self.quarantined = {c: t for c, t in self.quarantined.items() if t > now}
            try:
                assessed = queue.drain_once(
                    self.factory,
                    self.as_of(),
                    self.policy,
                    self.size,
                    observe=self.observe,
                    skip=self.quarantined,
                )
            except queue.DrainFailed as failed:
                self._failed(failed.customer_ids)
                return 0
            except Exception:
                self.failures += 1
                log.exception("assessment queue: could not take requests; retrying later")
                return 0
        self.failures = 0
        self.size = min(self.limit, self.size * 2)
        if assessed:
            self._after(assessed)
            self.on_commit()
        return len(assessed)

    def _after(self, assessed: list[int]) -> None:
        if self.after_drain is None:
            return
        try:
            self.after_drain(assessed)
        except Exception:
            log.exception("assessment queue: the follow-up of a drained batch failed")

    def _anything_waiting(self) -> bool:
        try:
            return queue.waiting(self.factory.kw["bind"])
        except Exception:
            return True  # let the drain itself meet (and log) whatever is wrong

    def _failed(self, customer_ids: list[int]) -> None:
        if len(customer_ids) == 1:
            [customer] = customer_ids
            self.quarantined[customer] = monotonic() + self.quarantine_seconds
            log.exception(
                "assessment queue: customer %s cannot be assessed; set aside for %.0f s, "
                "its requests stay queued",
                customer,
                self.quarantine_seconds,
            )
            return  # the others are not to blame: no pause
        self.failures += 1
        self.size = max(1, len(customer_ids) // 2)
        log.exception(
            "assessment queue: a batch of %s customers failed; its requests stay queued, "
            "retrying %s at a time",
            len(customer_ids),
            self.size,
        )
