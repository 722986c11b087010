"""ERP feed throughput and the CSV import, on SQLite and PostgreSQL.

1. HTTP feed ingest: a real gunicorn server and clients posting 100k rows in signed 5,000-row
   batches. Validation, storage, the inbox, the outbox and the assessment requests are inside the
   measured time; building the JSON bodies (the ERP's work) is not. Target: at least 10,000
   rows/s. Measured twice:
   - one sync worker and one sender posting one batch after another (the floor: one core);
   - the Procfile's default, two sync workers (``WEB_CONCURRENCY`` 2), and two senders, as two
     ERP ledgers (or one connector with two connections) would send. Each sender's batches refer
     only to customers its own earlier batches created, so neither waits for the other's commit.
   The feed does not re-assess in the request (the worker drains the assessment queue), so
   that work is measured too, not hidden: after the ingest, the queue is drained as the
   worker's assessor does it (``service.assessments.queue.drain``, 500 customers a transaction),
   timed on its own, and the end-to-end rate (ingest + drain, run one after the other) printed.
2. ``credit-control import erp`` of a 1M-row receivables CSV (plus its customers file) in a
   subprocess, timed, with the peak of its processes' summed RSS (a helper process shares the
   big file; on PostgreSQL, a second process drains) sampled by psutil. The command drains the
   assessment queue before it returns, so that is inside the time (its share is printed).
   Targets: < 120 s and < 300 MB.

    python -m bench.feeds [--rows 100000] [--csv-rows 1000000] [--backends sqlite,postgresql]
                          [--skip-http] [--skip-csv]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import psutil
import requests

from bench.postgres import PG_SERVER, postgres_reachable, scratch_schema
from service.assessments.queue import drain
from service.db import make_engine, make_session_factory
from service.migrations import upgrade
from service.security import sign

BATCH = 5_000
TARGET_ROWS_PER_S = 10_000
TARGET_IMPORT_S = 120
TARGET_RSS_MB = 300
TODAY = date(2026, 3, 15)


# --- databases ----------------------------------------------------------------------------------


@contextmanager
def database(backend: str, workdir: Path):
    """A fresh, migrated database; PostgreSQL in a schema of its own, dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{workdir / f'bench-{secrets.token_hex(3)}.sqlite3'}"
        upgrade(url)
        yield url
        return
    with scratch_schema() as url:
        upgrade(url)
        yield url


# --- data ---------------------------------------------------------------------------------------


def customer(n: int) -> dict:
    return {
        "number": f"C{n:07d}",
        "name": f"Customer {n}",
        "currency": "EUR",
        "credit_limit": f"{random.Random(n).randint(5, 200) * 1000}.00",
        "payment_terms_days": 30,
    }


def receivable(i: int, customer_n: int, rng: random.Random) -> dict:
    issued = TODAY - timedelta(days=rng.randint(0, 180))
    amount = rng.randint(100, 50_000)
    open_amount = amount if rng.random() < 0.6 else 0
    return {
        "id": f"INV{i:08d}",
        "customer": f"C{customer_n:07d}",
        "type": "invoice" if rng.random() < 0.95 else "credit_note",
        "number": f"INV{i:08d}",
        "issue_date": issued.isoformat(),
        "due_date": (issued + timedelta(days=30)).isoformat(),
        "currency": "EUR",
        "amount": f"{amount}.{rng.randint(0, 99):02d}",
        "open_amount": f"{open_amount}.00" if open_amount == 0 else f"{amount}.00",
        "updated_at": "2026-03-14T18:00:00Z",
    }


def fix_open(row: dict) -> dict:
    # open_amount must not exceed amount; keep the generator simple and exact.
    if row["open_amount"] != "0.00":
        row["open_amount"] = row["amount"]
    return row


def feed_bodies(rows: int, streams: int = 1) -> list[bytes]:
    """Batches of 5,000 rows shaped like an initial load or a busy day's changes.

    Each batch: 250 new customers, 4,550 invoices and credit notes (nine in ten for this batch's
    customers, the rest for customers an earlier batch of the same stream sent), 200 payments
    applied to this batch's items. A batch so touches ~700 customers, every one of them queued
    for re-assessment. Batch ``b`` belongs to stream ``b % streams``.
    """
    rng = random.Random(7)
    bodies, known, item, pay = [], 0, 0, 0
    earlier: list[list[int]] = [[] for _ in range(streams)]  # customer numbers sent, per stream
    for b in range(rows // BATCH):
        first = known
        customers = [customer(known + k) for k in range(250)]
        known += 250
        sent_before = earlier[b % streams]
        receivables = []
        for _ in range(4_550):
            owner = (
                rng.randrange(first, known)
                if rng.random() < 0.9 or not sent_before
                else sent_before[rng.randrange(len(sent_before))]
            )
            receivables.append(fix_open(receivable(item, owner, rng)))
            item += 1
        sent_before.extend(range(first, known))
        payments = []
        for r in receivables[:200]:
            payments.append(
                {
                    "id": f"PAY{pay:08d}",
                    "customer": r["customer"],
                    "amount": r["amount"],
                    "currency": "EUR",
                    "received_at": "2026-03-14T12:00:00Z",
                    "applied_to": [{"receivable": r["id"], "amount": r["amount"]}],
                }
            )
            pay += 1
        doc = {
            "source": "erp-bench",
            "customers": customers,
            "receivables": receivables,
            "payments": payments,
        }
        bodies.append(json.dumps(doc).encode())
    return bodies


def write_csv(workdir: Path, rows: int, customers: int) -> tuple[Path, Path]:
    rng = random.Random(11)
    customers_path = workdir / "customers.csv"
    receivables_path = workdir / "receivables.csv"
    with customers_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(customer(0)))
        writer.writeheader()
        for n in range(customers):
            writer.writerow(customer(n))
    with receivables_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(receivable(0, 0, rng)))
        writer.writeheader()
        for i in range(rows):
            writer.writerow(fix_open(receivable(i, rng.randrange(customers), rng)))
    return customers_path, receivables_path


# --- measurements -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_ingest(url: str, streams: list[list[bytes]], workers: int) -> tuple[float, int]:
    """(seconds, rows) to post every stream's bodies to a gunicorn server with ``workers``.

    One sender thread per stream posts that stream's batches one after another.
    """
    secret = secrets.token_urlsafe(32)
    token = secrets.token_urlsafe(24)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "FEED_SIGNING_SECRET": secret,
        "SERVICE_API_TOKENS": token,
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--timeout",
            "300",
            "--bind",
            f"127.0.0.1:{port}",
            "service.app:create_app()",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"

    def send(bodies: list[bytes]) -> int:
        session = requests.Session()
        rows = 0
        for body in bodies:
            response = session.post(
                f"{base}/api/v1/feeds/erp",
                data=body,
                headers={"X-Signature": sign(secret, body), "Content-Type": "application/json"},
                timeout=300,
            )
            if response.status_code != 200:
                raise RuntimeError(f"feed answered {response.status_code}: {response.text[:300]}")
            rows += sum(
                v["accepted"] + v["ignored"]
                for k, v in response.json().items()
                if isinstance(v, dict)
            )
        return rows

    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/healthz", timeout=5).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start within 60 s")
        started = time.perf_counter()
        with ThreadPoolExecutor(len(streams)) as senders:
            rows = sum(senders.map(send, streams))
        return time.perf_counter() - started, rows
    finally:
        server.terminate()
        server.wait(timeout=30)


def worker_drain(url: str) -> tuple[float, int]:
    """(seconds, customers) to drain the assessment queue as the worker's assessor does."""
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        customers = drain(make_session_factory(engine), TODAY)
        return time.perf_counter() - started, customers
    finally:
        engine.dispose()


def csv_import(url: str, files: list[Path]) -> tuple[float, float, str]:
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "import", "erp", *map(str, files)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        # The import's own processes too (its helper, its drains): the peak of their sum.
        try:
            tree = [watched, *watched.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        peak = max(peak, sum(_rss(member) for member in tree))
        time.sleep(0.05)
    output = process.stdout.read() if process.stdout else ""
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"import failed ({process.returncode}): {output[-500:]}")
    return elapsed, peak / 1_000_000, output


def _rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except psutil.NoSuchProcess:
        return 0


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.feeds", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--csv-customers", type=int, default=50_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-csv", action="store_true")
    args = parser.parse_args(argv)

    backends = [b for b in args.backends.split(",") if b]
    if "postgresql" in backends and (reason := postgres_reachable()):
        print(f"feeds: PostgreSQL skipped ({PG_SERVER} does not answer: {reason})")
        backends.remove("postgresql")
    missed = 0
    with tempfile.TemporaryDirectory(prefix="bench-feeds-") as tmp:
        workdir = Path(tmp)
        if not args.skip_http:
            for workers, senders in ((1, 1), (2, 2)):
                bodies = feed_bodies(args.rows, senders)
                streams = [bodies[k::senders] for k in range(senders)]
                for backend in backends:
                    with database(backend, workdir) as url:
                        seconds, rows = http_ingest(url, streams, workers)
                        drain_seconds, customers = worker_drain(url)
                    rate = rows / seconds
                    # The target is judged on the Procfile's default (2 workers, 2 senders).
                    judged = workers == 2
                    ok = rate >= TARGET_ROWS_PER_S
                    missed += judged and not ok
                    print(
                        f"feeds  HTTP ingest  {backend:<10} {workers} worker(s), {senders} sender(s): "
                        f"{rows:>9,} rows in {seconds:6.1f} s = {rate:>8,.0f} rows/s   "
                        + (
                            f"(target >= {TARGET_ROWS_PER_S:,})  {verdict(ok)}"
                            if judged
                            else "(one core: for comparison)"
                        )
                        + f"\n       then the worker's drain of the assessment queue: {customers:,} "
                        f"customers in {drain_seconds:.1f} s; end to end (ingest + drain) "
                        f"{rows / (seconds + drain_seconds):,.0f} rows/s",
                        flush=True,
                    )
        if not args.skip_csv:
            started = time.perf_counter()
            files = write_csv(workdir, args.csv_rows, args.csv_customers)
            print(
                f"feeds  wrote {args.csv_rows:,} receivables + {args.csv_customers:,} customers CSV in {time.perf_counter() - started:.1f} s",
                flush=True,
            )
            for backend in backends:
                with database(backend, workdir) as url:
                    seconds, peak_mb, output = csv_import(url, list(files))
                ok_time, ok_rss = seconds < TARGET_IMPORT_S, peak_mb < TARGET_RSS_MB
                missed += (not ok_time) + (not ok_rss)
                print(
                    f"feeds  CSV import   {backend:<10} {args.csv_rows:>9,} rows in {seconds:6.1f} s "
                    f"(target < {TARGET_IMPORT_S} s) {verdict(ok_time)}; peak RSS, all processes, {peak_mb:5.0f} MB "
                    f"(target < {TARGET_RSS_MB} MB) {verdict(ok_rss)}\n"
                    f"       {next((line for line in output.splitlines() if line.startswith('re-assessed')), '')}",
                    flush=True,
                )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
