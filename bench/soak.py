"""Soak: a real worker against the local org at 100 events/s for 10 minutes, then measured.

A ``credit-control worker`` process syncs a book of customers with an in-process devorg (real
HTTPS, real client stack) while this process logs, at ``--rate`` events per second, a mix of
``Collection_Action__c`` creates (promises, calls) and updates and ``Payment_Received__e``
publishes, and posts a signed ERP feed batch (new open amounts for some invoices) every
``--feed-every`` seconds. Then it waits until the worker is quiet and prints:

- events in (published in the org) and events applied (stored here);
- pushes: REST calls to write Accounts and Accounts written;
- duplicates and lost, measured as the fault tests measure them (tests/reliability/measure.py):
  an Account written more often than its changes, a status change announced twice, a record
  stored twice, a balance lowered twice; an event not stored, an Account not carrying its
  customer's current assessment, a balance not lowered;
- the worker's resident memory (RSS) a few seconds into the run and at the end.

Targets: 0 lost, 0 duplicates, RSS growth below ``MEMORY_GROWTH_MB``. The bound: a worker holds
no state per event (everything lives in the database), so what it keeps after warm-up is caches
with fixed limits and the allocator's slack; 40 MB is about a third of a worker's resident size
and a tenth of a 512 MB dyno: a leak of a few hundred bytes per event (60,000 events here)
crosses it, normal fragmentation does not.

    python -m bench.soak [--seconds 600] [--rate 100] [--customers 300] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from devorg.cometd import streaming_for
from devorg.org import DevOrg
from sqlalchemy import func, select

from bench.sync import load_average
from service.app import create_app
from service.config import salesforce_settings
from service.db import Base, make_engine, make_session_factory
from service.models import InboxMessage
from service.salesforce.client import build_client
from service.salesforce.push import Pusher
from service.security import sign
from tests.reliability import measure
from tests.reliability.scenario import INVOICE, TODAY, open_book, queue_all, settle

MEMORY_GROWTH_MB = 40.0
FEED_SECRET = "soak-feed-secret-0123456789abcdef"
API_TOKEN = "soak-token-0123456789abcdef0123"
WRITE_ROUTES = ("composite/sobjects", "POST /services/data/vXX.X/composite", "jobs/ingest")


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Soak:
    def __init__(self, tmp: Path, database_url: str | None, customers: int, seed: int):
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        logging.getLogger("service").setLevel(logging.WARNING)
        self.org = DevOrg(key_dir=tmp / "devorg").start()
        # A soak spends more than a day's default allowances in minutes.
        self.org.limits.reset(daily_max=100_000_000)
        streaming_for(self.org).configure(hold_seconds=20.0, daily_delivery_limit=100_000_000)
        self.settings = salesforce_settings(self.org.env_settings()).with_(request_timeout=10.0)
        self.db_url = database_url or f"sqlite:///{tmp / 'soak.sqlite3'}"
        self.engine = make_engine(self.db_url)
        Base.metadata.drop_all(self.engine)
        Base.metadata.create_all(self.engine)
        self.factory = make_session_factory(self.engine)
        self.client = build_client(self.settings)
        # The collectors logging actions: not the service's client, whose own writes the
        # worker's channel filters out.
        self.people = build_client(self.settings.with_(client_name="salesforce-ui"))
        self.random = random.Random(seed)
        self.app = create_app(
            {
                "DATABASE_URL": self.db_url,
                "FEED_SIGNING_SECRET": FEED_SECRET,
                "SERVICE_API_TOKENS": API_TOKEN,
                "LOG_LEVEL": "WARNING",
            }
        ).test_client()
        self.book = open_book(
            self.org, self.client, self.factory, self.settings.channels, customers, prefix="S"
        )
        queue_all(self.factory, self.book)
        pusher = Pusher(self.factory, self.client, self.settings)
        while pusher.run_once().claimed:
            pass
        self.book.mark = self.org.bus.last_replay_id()  # the first push is not the soak's
        self.book.writes_allowed = {}
        self.numbers = sorted(self.book.ids)
        self.actions: list[str] = []
        self.open_amounts = {n: INVOICE for n in self.numbers}
        self.lock = threading.Lock()
        self.sent = Counter()
        self.errors = Counter()
        self.worker: subprocess.Popen | None = None

    # -- the worker ---------------------------------------------------------------------

    def start_worker(self) -> None:
        env = {
            **os.environ,
            **self.org.env_settings(),
            "DATABASE_URL": self.db_url,
            "LOG_LEVEL": "WARNING",
        }
        exe = Path(sys.executable).parent / "credit-control"
        self.worker = subprocess.Popen([str(exe), "worker", "--no-scheduler"], env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            clients = streaming_for(self.org).snapshot().get("clients", [])
            if sum(len(c.get("subscriptions", {})) for c in clients) >= len(self.settings.channels):
                return
            time.sleep(0.1)
        raise RuntimeError("the worker did not subscribe within 30 s")

    def stop_worker(self) -> int | None:
        if self.worker is None:
            return None
        self.worker.send_signal(signal.SIGTERM)
        try:
            return self.worker.wait(30)
        except subprocess.TimeoutExpired:
            self.worker.kill()
            return None

    def count(self, what: str) -> None:
        with self.lock:
            self.sent[what] += 1

    # -- the load -----------------------------------------------------------------------

    def one_event(self, i: int) -> None:
        """Event ``i`` of the mix: 45% action created, 25% action updated, 30% payment."""
        number = self.numbers[i % len(self.numbers)]
        account = self.book.accounts[number]
        kind = self.random.random()
        try:
            if kind < 0.25 and self.actions:
                action = self.random.choice(self.actions)
                self.people.rest(
                    "PATCH", f"sobjects/Collection_Action__c/{action}", {"Notes__c": f"n{i}"}
                )
                self.count("action updated")
                return
            with self.lock:
                self.book.allow_write(number)
            if kind < 0.70:
                promise = kind < 0.45
                body = {"Account__c": account, "Type__c": "Call", "Outcome__c": "No Answer"}
                if promise:
                    body = {
                        "Account__c": account,
                        "Type__c": "Promise to Pay",
                        "Promised_Amount__c": 10.0,
                        "Promised_Date__c": (TODAY + timedelta(days=1 + i % 20)).isoformat(),
                    }
                created = self.people.rest("POST", "sobjects/Collection_Action__c", body)["id"]
                with self.lock:
                    self.actions.append(created)
                self.count("action created")
                return
            with self.lock:
                self.book.balances[account] -= Decimal("1.00")
            self.client.rest(
                "POST",
                "sobjects/Payment_Received__e",
                {
                    "Account_Id__c": account,
                    "Amount__c": 1.0,
                    "Currency_Code__c": "EUR",
                    "Reference__c": f"SOAK-{i}",
                },
            )
            self.count("payment")
        except Exception as exc:  # a call the org refused: counted, the soak goes on
            with self.lock:
                self.errors[type(exc).__name__] += 1

    def feed_batch(self, k: int) -> None:
        """An ERP batch: 20 invoices get a new open amount (a newer updated_at each time)."""
        chosen = self.random.sample(self.numbers, min(20, len(self.numbers)))
        now = datetime.now(UTC)
        rows = []
        for number in chosen:
            amount = Decimal(self.random.randrange(100, 1000)).quantize(Decimal("0.01"))
            rows.append(
                {
                    "id": f"INV-{number}",
                    "customer": number,
                    "type": "invoice",
                    "number": f"INV-{number}",
                    "issue_date": (TODAY - timedelta(days=105)).isoformat(),
                    "due_date": (TODAY - timedelta(days=75)).isoformat(),
                    "currency": "EUR",
                    "amount": str(INVOICE),
                    "open_amount": str(amount),
                    "updated_at": now.isoformat(),
                }
            )
        batch = {"source": "erp-main", "customers": [], "receivables": rows, "payments": []}
        body = json.dumps(batch).encode()
        answer = self.app.post(
            "/api/v1/feeds/erp",
            data=body,
            headers={"X-Signature": sign(FEED_SECRET, body), "Content-Type": "application/json"},
        )
        if answer.status_code not in (200, 202):
            self.errors[f"feed {answer.status_code}"] += 1
            return
        with self.lock:
            for number, row in zip(chosen, rows, strict=True):
                account = self.book.accounts[number]
                new = Decimal(row["open_amount"])
                self.book.balances[account] += new - self.open_amounts[number]
                self.open_amounts[number] = new
                self.book.allow_write(number)
        self.count("feed batch")

    def run(self, seconds: float, rate: float, feed_every: float) -> None:
        started = time.monotonic()
        total = int(seconds * rate)
        next_feed = feed_every
        with ThreadPoolExecutor(max_workers=8) as pool:  # one call ~20 ms: pace, don't wait
            for i in range(total):
                due = started + i / rate
                if (lag := due - time.monotonic()) > 0:
                    time.sleep(lag)
                pool.submit(self.one_event, i)
                if time.monotonic() - started >= next_feed:
                    pool.submit(self.feed_batch, int(next_feed / feed_every))
                    next_feed += feed_every

    def applied(self) -> int:
        kinds = [c for c in self.settings.channels if c != measure.ACCOUNT_CDC]
        with self.factory() as s:
            return s.scalar(
                select(func.count())
                .select_from(InboxMessage)
                .where(
                    InboxMessage.kind.in_(kinds),
                    InboxMessage.status.in_(("processed", "ignored")),
                )
            )

    def close(self) -> None:
        self.stop_worker()
        self.org.stop()
        self.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--feed-every", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--database-url", help="default: SQLite in a temporary directory (tables re-created)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        soak = Soak(Path(tmp), args.database_url, args.customers, args.seed)
        try:
            return _soak(soak, args)
        finally:
            soak.close()


def _soak(soak: Soak, args) -> int:
    soak.start_worker()
    calls_before = dict(soak.org.stats.snapshot())
    started = time.monotonic()
    warm = threading.Timer(5.0, lambda: setattr(soak, "rss_start", rss_mb(soak.worker.pid)))
    warm.start()
    soak.run(args.seconds, args.rate, args.feed_every)
    warm.join()
    published = time.monotonic() - started
    settle(soak.org, soak.factory, soak.book.mark, timeout=max(60.0, args.seconds / 2))
    quiet = time.monotonic() - started - published
    rss_end = rss_mb(soak.worker.pid)
    tally = measure.everything(
        soak.org,
        soak.client,
        soak.factory,
        soak.book.mark,
        allowed_writes=soak.book.writes_allowed,
        customer_ids=soak.book.ids.values(),
        balances_expected=soak.book.balances,
    )
    calls = {
        r: n - calls_before.get(r, 0)
        for r, n in soak.org.stats.snapshot().items()
        if any(w in r for w in WRITE_ROUTES) and not r.startswith("GET")
    }
    calls = {r: n for r, n in calls.items() if n}
    events_in = sum(
        len(measure.org_events(soak.org, c, soak.book.mark))
        for c in soak.settings.channels
        if c != measure.ACCOUNT_CDC
    )
    growth = rss_end - soak.rss_start
    lost, doubled = len(tally.lost), len(tally.doubled)
    ok = not lost and not doubled and growth < MEMORY_GROWTH_MB
    sent = ", ".join(f"{k} {v}" for k, v in sorted(soak.sent.items()))
    print(
        f"soak: {args.seconds:.0f} s at {args.rate:.0f} events/s, {len(soak.numbers)} customers "
        f"({sent}); quiet {quiet:.1f} s after the last event [{load_average()}]"
    )
    if soak.errors:
        print(f"  calls the org refused: {dict(soak.errors)}")
    print(f"  events in: {events_in}, events applied: {soak.applied()}")
    print(
        f"  pushes: {sum(calls.values())} REST calls writing records "
        f"({', '.join(f'{r}: {n}' for r, n in sorted(calls.items()))}); "
        f"{tally.counts.get('account writes', 0)} Account writes, "
        f"{tally.counts.get('status events', 0)} status events"
    )
    print(f"  lost: {lost} (target 0); duplicates: {doubled} (target 0)")
    for line in str(tally).splitlines()[1:]:
        print(f"  {line.strip()}")
    print(
        f"  worker RSS: {soak.rss_start:.1f} MB at start, {rss_end:.1f} MB at the end, "
        f"growth {growth:+.1f} MB (target < {MEMORY_GROWTH_MB:.0f} MB)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
