"""Salesforce sync benchmark: REST calls per push, event-to-Account latency, events per second.

Everything runs against an in-process devorg over real HTTPS with the real client stack
(simple-salesforce, requests, our Bayeux client) and a SQLite database in a temporary directory.

1. Calls to push N changed Accounts (N = 1k, 10k, 100k), counted by devorg per route, against
   the floor ceil(N/200) (target: at most 5% over, login aside). The customers are linked, so
   no look-up is needed; a separate line shows the first push of unlinked customers (one SOQL
   look-up per 200 ERP numbers on top). 100k is also pushed as one Bulk API 2.0 job.
2. Event-to-Account latency at 100 events/s: promises to pay are created in devorg through REST
   (one per Account), the worker's subscriber handles the change event, re-assesses, queues;
   the pusher writes the Account. Latency = the org's commit time of the Account update
   (``commitTimestamp`` of its change event, received by a CometD subscriber of the bench: no
   polling, so the watcher adds nothing to a sample) minus the time just before the promise was
   POSTed. Target p99 < 1 s. Each stage is taken from timestamps the pipeline writes anyway
   (org commit of the promise, inbox row, outbox row and its lease, acknowledgement, org commit
   of the Account), so the breakdown costs the worker nothing.
3. Events per second one worker sustains: a burst of Collection_Action__c creates (200 per
   composite call), timed until the last one is handled (inbox).

Events run on SQLite, then on PostgreSQL in a schema of their own (created, then dropped) when
``--postgres-url`` answers; ``--database-url`` runs them on that one database only. The machine's
load average is printed with each figure: on a shared box it explains most of the spread.

    python -m bench.sync [--sizes 1000,10000,100000] [--rate 100] [--seconds 15] [--burst 3000]
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from devorg.cometd import streaming_for
from devorg.org import DevOrg
from sqlalchemy import func, insert, select, update

from bench.postgres import postgres_reachable, scratch_schema
from service import outbox
from service.assessments import reassess
from service.config import SyncSettings, salesforce_settings
from service.db import Base, make_engine, make_session_factory, transaction, utcnow
from service.models import Assessment, Customer, InboxMessage, OutboxMessage, Receivable
from service.salesforce.client import build_client
from service.salesforce.cometd import BayeuxClient
from service.salesforce.http import make_http_session
from service.salesforce.push import Pusher

CALL_TARGET = 1.05
LATENCY_TARGET_P99 = 1.0
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PATCH = "PATCH /services/data/vXX.X/composite/sobjects"
COMPOSITE = "POST /services/data/vXX.X/composite"
PEOPLE = "salesforce-ui"  # the client name of the collectors' writes in the event benches


def load_average() -> str:
    """The 1-minute load average, printed beside every figure (the box is shared)."""
    try:
        return f"load {os.getloadavg()[0]:.2f}"
    except OSError:
        return "load n/a"


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted ``values``."""
    return values[min(len(values) - 1, max(0, math.ceil(share * len(values)) - 1))]


def _document(i: int, salt: int) -> dict:
    overdue = f"{(i * 37 + salt) % 10000}.00"
    return {
        "status": "WATCH" if (i + salt) % 50 == 0 else "OK",  # 2% change status
        "reason": "bench",
        "balance_outstanding": overdue,
        "overdue_amount": overdue,
        "disputed_amount": "0.00",
        "aging": {
            "current": "0.00",
            "1_30": overdue,
            "31_60": "0.00",
            "61_90": "0.00",
            "91_plus": "0.00",
        },
        "days_past_due": (i + salt) % 30,
        "risk_score": (i + salt) % 100,
        "dunning_level": 0,
        "collection_priority": i % 50,
    }


class Bench:
    def __init__(self, tmp: Path):
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        logging.getLogger("service").setLevel(logging.WARNING)
        self.org = DevOrg(key_dir=tmp / "devorg").start()
        streaming_for(self.org).configure(hold_seconds=20.0)
        self.settings = salesforce_settings(self.org.env_settings()).with_(
            push_idle_seconds=0.01,
            retry_base_seconds=0.05,
            retry_max_seconds=1.0,
            request_timeout=10.0,
        )
        self.engine = make_engine(f"sqlite:///{tmp / 'bench.sqlite3'}")
        Base.metadata.create_all(self.engine)
        self.factory = make_session_factory(self.engine)
        self.client = build_client(self.settings)
        self.next_number = 0

    def close(self) -> None:
        self.org.stop()
        self.engine.dispose()

    # -- seeding ------------------------------------------------------------------------

    def accounts(self, n: int) -> list[tuple[str, str]]:
        """n Accounts in the org: [(ERP number, Id)], created 200 per composite call."""
        numbers = [f"N{self.next_number + i:07}" for i in range(n)]
        self.next_number += n
        out: list[tuple[str, str]] = []
        for start in range(0, n, 200):
            batch = numbers[start : start + 200]
            records = [
                {
                    "attributes": {"type": "Account"},
                    "Name": f"Bench {x}",
                    "ERP_Customer_Number__c": x,
                }
                for x in batch
            ]
            results = self.client.rest(
                "POST", "composite/sobjects", {"allOrNone": True, "records": records}
            )
            out.extend((x, r["id"]) for x, r in zip(batch, results, strict=True))
        return out

    def customers(
        self, accounts: list[tuple[str, str]], *, linked: bool = True, salt: int = 0
    ) -> list[int]:
        with transaction(self.factory) as s:
            first = (s.scalar(select(func.max(Customer.id))) or 0) + 1
            now = utcnow()
            s.execute(
                insert(Customer),
                [
                    {
                        "id": first + i,
                        "number": number,
                        "source": "bench",
                        "name": number,
                        "currency": "EUR",
                        "salesforce_account_id": acc if linked else None,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i, (number, acc) in enumerate(accounts)
                ],
            )
            s.execute(
                insert(Assessment),
                [
                    {
                        "customer_id": first + i,
                        "as_of": now.date(),
                        "status": "OK",
                        "balance_outstanding": Decimal(0),
                        "overdue_amount": Decimal(0),
                        "days_past_due": 0,
                        "risk_score": 0,
                        "collection_priority": 0,
                        "document": _document(i, salt),
                        "computed_at": now,
                    }
                    for i in range(len(accounts))
                ],
            )
        return list(range(first, first + len(accounts)))

    def change(self, ids: list[int], salt: int) -> None:
        with transaction(self.factory) as s:
            s.execute(
                update(Assessment),
                [{"customer_id": cid, "document": _document(i, salt)} for i, cid in enumerate(ids)],
            )

    def queue(self, ids: list[int]) -> None:
        with transaction(self.factory) as s:
            for start in range(0, len(ids), 5000):
                outbox.queue_for_salesforce(s, ids[start : start + 5000])

    def drain(self, settings: SyncSettings) -> tuple[dict[str, int], float]:
        pusher = Pusher(self.factory, build_client(settings), settings)
        pusher.client.auth = self.client.auth  # login aside: reuse the bench's token
        self.org.stats.reset()
        started = time.perf_counter()
        while pusher.run_once().claimed:
            pass
        elapsed = time.perf_counter() - started
        with self.factory() as s:
            left = s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status != "sent")
            )
        assert left == 0, f"{left} outbox rows not sent"
        return self.org.stats.snapshot(), elapsed

    # -- 1. calls per push --------------------------------------------------------------

    def calls(self, sizes: list[int]) -> tuple[list[str], bool]:
        lines, ok = [], True
        no_bulk = self.settings.with_(bulk_threshold=10**9)
        for n in sizes:
            ids = self.customers(self.accounts(n))
            self.queue(ids)
            stats, elapsed = self.drain(no_bulk)
            calls = sum(v for k, v in stats.items() if "oauth2" not in k)
            floor = math.ceil(n / 200)
            ratio = calls / floor
            ok &= ratio <= CALL_TARGET
            lines.append(
                f"push {n:>7} changed Accounts: {calls:>5} calls, floor {floor:>5} "
                f"({(ratio - 1) * 100:+.1f}%, target <= +5%)  [{stats.get(PATCH, 0)} collection PATCHes, "
                f"{stats.get(COMPOSITE, 0)} /composite = collection PATCH + status events; {elapsed:.1f} s]"
            )
            if n == max(sizes):
                self.change(ids, salt=1)
                self.queue(ids)
                stats, elapsed = self.drain(self.settings.with_(bulk_threshold=min(n, 20_000)))
                bulk = sum(v for k, v in stats.items() if "oauth2" not in k)
                routes = ", ".join(
                    f"{k}={v}" for k, v in sorted(stats.items()) if "oauth2" not in k
                )
                lines.append(
                    f"push {n:>7} changed Accounts as one Bulk API 2.0 job: {bulk} calls [{elapsed:.1f} s] ({routes})"
                )
        unlinked = self.customers(self.accounts(1000), linked=False)
        self.queue(unlinked)
        stats, _ = self.drain(no_bulk)
        calls = sum(v for k, v in stats.items() if "oauth2" not in k)
        lines.append(
            f"first push of 1000 unlinked customers: {calls} calls = 5 collection PATCHes + "
            f"{sum(v for k, v in stats.items() if '/query' in k)} look-ups (one per 200 ERP numbers)"
        )
        return lines, ok


# -- 2 and 3: the event loop, with devorg and the worker in processes of their own ---------------
#
# In one process, devorg's HTTPS server, the bench's publisher and the worker would share one
# GIL and measure each other; a real worker shares nothing with the org.


def _devorg_process(conn, key_dir: str) -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    org = DevOrg(key_dir=key_dir).start()
    streaming_for(org).configure(hold_seconds=20.0)
    conn.send(org.env_settings())
    while True:
        command = conn.recv()
        if command == "stop":
            break
        clients = streaming_for(org).snapshot().get("clients", [])
        conn.send(sum(1 for c in clients if c.get("subscriptions")))
    org.stop()


class EventBench:
    """A devorg process, a ``credit-control worker`` process, and this process publishing."""

    def __init__(self, tmp: Path, database_url: str | None = None, label: str = "SQLite"):
        self.label = label

        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=_devorg_process, args=(child, str(tmp / "devorg")), daemon=True
        )
        self.proc.start()
        self.env = self.conn.recv()
        self.settings = salesforce_settings(self.env).with_(request_timeout=10.0)
        self.client = build_client(self.settings)
        # The collectors logging actions: another client than the service's, whose own writes
        # the worker's channel filters out.
        self.people = build_client(self.settings.with_(client_name=PEOPLE))
        self.db_url = database_url or f"sqlite:///{tmp / 'events.sqlite3'}"
        self.engine = make_engine(self.db_url)
        Base.metadata.drop_all(self.engine)
        Base.metadata.create_all(self.engine)
        self.factory = make_session_factory(self.engine)
        self.worker = None
        self.seeder = Bench.__new__(Bench)  # reuse the seeding helpers against this org
        self.seeder.client, self.seeder.factory, self.seeder.settings = (
            self.client,
            self.factory,
            self.settings,
        )
        self.seeder.next_number = 0

    def subscribed_clients(self) -> int:
        self.conn.send("clients")
        return self.conn.recv()

    def book(self, n: int) -> list[tuple[str, int]]:
        accounts = self.seeder.accounts(n)
        ids = self.seeder.customers(accounts)
        today = datetime.now(UTC).date()
        with transaction(self.factory) as s:
            s.execute(
                insert(Receivable),
                [
                    {
                        "source": "bench",
                        "external_id": f"INV-{cid}",
                        "customer_id": cid,
                        "kind": "invoice",
                        "number": f"INV-{cid}",
                        "issue_date": today - timedelta(days=60),
                        "due_date": today - timedelta(days=30),
                        "currency": "EUR",
                        "amount": Decimal("500.00"),
                        "open_amount": Decimal("500.00"),
                        "is_open": True,
                        "source_updated_at": utcnow(),
                        "created_at": utcnow(),
                        "updated_at": utcnow(),
                    }
                    for cid in ids
                ],
            )

            reassess(s, ids, today)
            outbox.queue_for_salesforce(s, ids)
        pusher = Pusher(self.factory, self.client, self.settings)
        while pusher.run_once().claimed:
            pass
        return [(acc, cid) for (_, acc), cid in zip(accounts, ids, strict=True)]

    def start_worker(self) -> None:
        env = {
            **os.environ,
            **self.env,
            "DATABASE_URL": self.db_url,
            "SALESFORCE_INITIAL_REPLAY_ID": "-1",
            "LOG_LEVEL": "WARNING",
        }
        exe = Path(sys.executable).parent / "credit-control"
        self.worker = subprocess.Popen([str(exe), "worker", "--no-scheduler"], env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.subscribed_clients() < 1:
            time.sleep(0.1)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.send_signal(signal.SIGTERM)
            try:
                self.worker.wait(30)
            except Exception:
                self.worker.kill()
        self.conn.send("stop")
        self.proc.join(20)
        self.engine.dispose()

    def watch_accounts(
        self,
        seen: dict[str, float],
        stop: threading.Event,
        field: str = "Promise_To_Pay_Date__c",
    ) -> threading.Thread:
        """Our own Bayeux client on /data/AccountChangeEvent: record id -> org commit time of
        the first change to ``field``."""
        bayeux = BayeuxClient(
            lambda: self.client.instance_url,
            self.client.auth,
            make_http_session(self.settings, retries=False),
            api_version=self.settings.api_version,
            replay={"/data/AccountChangeEvent": -1},
            stop=stop,
        )
        bayeux.start()

        def run():
            while not stop.is_set():
                for event in bayeux.poll():
                    header = event.payload.get("ChangeEventHeader") or {}
                    if field in (header.get("changedFields") or []):
                        for rid in header.get("recordIds", []):
                            seen.setdefault(rid[:15], header["commitTimestamp"] / 1000)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def latency(self, rate: float, seconds: float) -> tuple[list[str], bool]:
        count = int(rate * seconds)
        book = self.book(count)
        self.start_worker()
        seen: dict[str, float] = {}
        stop = threading.Event()
        self.watch_accounts(seen, stop)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.subscribed_clients() < 2:
            time.sleep(0.05)
        sent: dict[str, float] = {}
        promised = (datetime.now(UTC).date() + timedelta(days=14)).isoformat()

        def publish(account_id: str) -> None:
            sent[account_id[:15]] = time.time()
            self.people.rest(
                "POST",
                "sobjects/Collection_Action__c",
                {
                    "Account__c": account_id,
                    "Type__c": "Promise to Pay",
                    "Promised_Amount__c": 500,
                    "Promised_Date__c": promised,
                },
            )

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:  # one POST takes ~20 ms: pace, don't wait
            for i, (account_id, _) in enumerate(book):
                wait = started + i / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                pool.submit(publish, account_id)
        run_length = time.monotonic() - started
        achieved = count / run_length
        deadline = time.monotonic() + 60
        while len(seen) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()
        values = sorted(seen[k] - sent[k] for k in seen if k in sent)
        if not values:
            return [f"latency ({self.label}): no Account update observed"], False
        p50 = statistics.median(values)
        p99 = percentile(values, 0.99)
        ok = p99 < LATENCY_TARGET_P99 and len(values) == count
        return [
            f"event-to-Account latency, {self.label}, {achieved:.0f} events/s for "
            f"{run_length:.1f} s ({len(values)}/{count} samples): p50 {p50 * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, max {values[-1] * 1000:.0f} ms "
            f"(target p99 < {LATENCY_TARGET_P99 * 1000:.0f} ms: {'met' if ok else 'MISSED'}) "
            f"[{load_average()}]",
            *self._stages(sent, seen),
        ], ok

    def _stages(self, sent: dict[str, float], seen: dict[str, float]) -> list[str]:
        """Where the time goes, per sample, from timestamps the pipeline records anyway.

        publish (bench) -> the promise committed in the org (its change event's commitTimestamp,
        kept in the inbox row) -> the handler's transaction began (inbox ``received_at``) -> the
        push was queued (outbox ``created_at``, at the end of that transaction) -> a pusher
        claimed it (the lease's ``available_at`` minus the lease) -> the org committed the
        Account (the bench's change event) -> the push was acknowledged (outbox ``sent_at``).
        """
        lease = self.settings.claim_lease_seconds
        with self.factory() as s:
            accounts = dict(s.execute(select(Customer.id, Customer.salesforce_account_id)).all())
            inbox = s.execute(
                select(InboxMessage.payload, InboxMessage.received_at).where(
                    InboxMessage.kind == "/data/Collection_Action__ChangeEvent"
                )
            ).all()
            outbox_rows = s.execute(
                select(
                    OutboxMessage.target,
                    OutboxMessage.created_at,
                    OutboxMessage.available_at,
                    OutboxMessage.sent_at,
                ).where(OutboxMessage.sent_at.is_not(None), OutboxMessage.attempts == 1)
            ).all()
        handled: dict[str, tuple[float, float]] = {}
        for data, received_at in inbox:
            payload = (data or {}).get("payload") or {}
            header = payload.get("ChangeEventHeader") or {}
            acc = (payload.get("Account__c") or "")[:15]
            if acc and header.get("commitTimestamp"):
                handled[acc] = (header["commitTimestamp"] / 1000, received_at.timestamp())
        pushed: dict[str, tuple[float, float, float]] = {}
        for target, created_at, available_at, sent_at in outbox_rows:
            acc = (accounts.get(outbox.target_id(target)) or "")[:15]
            if acc in sent:  # the last push of the Account is the one the sample saw
                claimed = available_at.timestamp() - lease
                pushed[acc] = (created_at.timestamp(), claimed, sent_at.timestamp())
        names = [
            "publish->promise committed in the org",
            "->handler began",
            "->push queued",
            "->claimed",
            "->Account committed in the org",
            "->acknowledged",
        ]
        spans: list[list[float]] = [[] for _ in names]
        for acc, t0 in sent.items():
            if acc not in handled or acc not in pushed or acc not in seen:
                continue
            points = [t0, *handled[acc], *pushed[acc][:2], seen[acc], pushed[acc][2]]
            for i in range(len(names)):
                spans[i].append(points[i + 1] - points[i])
        if not spans[0]:
            return ["  (no stage breakdown)"]
        lines = [f"  stages, {self.label}, p50 / p99 / max ms over {len(spans[0])} samples:"]
        for name, values in zip(names, spans, strict=True):
            values.sort()
            lines.append(
                f"    {name:<40} {statistics.median(values) * 1000:6.0f} "
                f"{percentile(values, 0.99) * 1000:6.0f} {values[-1] * 1000:6.0f}"
            )
        return lines

    def throughput(self, burst: int) -> list[str]:
        book = self.book(min(burst, 1000))
        if self.worker is None:
            self.start_worker()
        with self.factory() as s:
            before = s.scalar(select(func.count()).select_from(InboxMessage))
        records = [
            {
                "attributes": {"type": "Collection_Action__c"},
                "Account__c": book[i % len(book)][0],
                "Type__c": "Call",
                "Outcome__c": "No Answer",
                "Notes__c": f"bench call {i}",
            }
            for i in range(burst)
        ]
        started = time.monotonic()
        for start in range(0, burst, 200):
            self.people.rest(
                "POST",
                "composite/sobjects",
                {"allOrNone": False, "records": records[start : start + 200]},
            )
        published = time.monotonic() - started
        handled = 0
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with self.factory() as s:
                handled = s.scalar(select(func.count()).select_from(InboxMessage)) - before
            if handled >= burst:
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        return [
            f"one worker, {self.label}: {handled}/{burst} change events handled in {elapsed:.1f} s "
            f"= {handled / elapsed:.0f} events/s (inbox, merge, re-assess, outbox, cursor; "
            f"published in {published:.1f} s) [{load_average()}]"
        ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sync", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--burst", type=int, default=3000)
    parser.add_argument(
        "--database-url",
        help="run the event part on this database only (default: SQLite in a temporary "
        "directory, then PostgreSQL, see --postgres-url); its tables are dropped and re-created",
    )
    parser.add_argument(
        "--postgres-url",
        default=POSTGRES_URL,
        help="PostgreSQL server for the second event run, in a schema of its own that is "
        "dropped afterwards; skipped with a line when it does not answer ('' to skip)",
    )
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",") if x]
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        calls_ok = True
        if sizes:
            bench = Bench(Path(tmp))
            try:
                lines, calls_ok = bench.calls(sizes)
                for line in lines:
                    print(f"{line} [{load_average()}]", flush=True)
            finally:
                bench.close()
        if args.database_url:
            label = "PostgreSQL" if args.database_url.startswith("postgres") else "SQLite"
            return 0 if calls_ok and _event_run(Path(tmp), args.database_url, label, args) else 1
        latency_ok = _event_run(Path(tmp) / "sqlite", None, "SQLite", args)
        if args.postgres_url:
            if reason := postgres_reachable(args.postgres_url):
                print(
                    f"PostgreSQL event run skipped: {args.postgres_url} does not answer: {reason}"
                )
            else:
                with scratch_schema(args.postgres_url, "bench_sync") as url:
                    latency_ok &= _event_run(Path(tmp) / "pg", url, "PostgreSQL", args)
    return 0 if calls_ok and latency_ok else 1


def _event_run(tmp: Path, url: str | None, label: str, args) -> bool:
    """Latency then throughput on one database, with a devorg and a worker of its own."""
    tmp.mkdir(parents=True, exist_ok=True)
    events = EventBench(tmp, url, label)
    try:
        lines, ok = events.latency(args.rate, args.seconds)
        for line in lines:
            print(line, flush=True)
        for line in events.throughput(args.burst):
            print(line, flush=True)
        return ok
    finally:
        events.stop()


if __name__ == "__main__":
    raise SystemExit(main())
