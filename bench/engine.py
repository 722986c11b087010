"""Credit engine benchmark: one customer's re-assessment, and the whole book.

    python -m bench.engine                       # 100k customers / 1M open items, SQLite and PG
    python -m bench.engine --customers 10000     # a quicker look (the book target is not judged)
    python -m bench.engine --backends sqlite     # one backend
    python -m bench.engine --db-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Figures, each printed beside its target:

- one customer (~10 open items): median time of ``assess`` alone, and of
  ``reassess_customers`` for that customer against the database (target < 5 ms);
- pure engine over 100k customers / 1M open items held in memory;
- full re-assessment of the same book read from the database (target < 30 s), with one
  worker process per CPU by default, and the peak RSS of the coordinator and the largest worker.

Each database phase runs on SQLite and on PostgreSQL (when ``127.0.0.1:5432`` answers, as in
``bench.feeds``). Each heavy phase runs in a child process so the peak memory reported is that
phase's own.
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import os
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.postgres import PG_SERVER, PG_URL, postgres_reachable, scratch_schema
from service.credit import Allocation as EngineAllocation
from service.credit import (
    AssessmentError,
    CustomerInputs,
    Dispute,
    Item,
    Promise,
    assess,
    load_policy,
)
from service.credit import Payment as EnginePayment

# The database phases import SQLAlchemy, the models, Alembic and psycopg inside their functions:
# every phase runs in a process of its own that imports this module (``in_child``), and the
# in-memory engine phase reports its peak RSS, which those imports would raise by about 45 MB.

AS_OF = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
Report = Callable[[str], Any]
BOOK_TARGET_S = 30.0  # target: the whole book of FULL_BOOK customers, read, assessed, stored
FULL_BOOK = 100_000
ONE_TARGET_MS = 5.0  # target: one customer's re-assessment (median)


def _peak_mb() -> float:
    """Peak resident memory of this process (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- a realistic book ----------------------------------------------------------------------------


def _customer_spec(rng: random.Random, n: int, items: int) -> dict[str, Any]:
    """One customer's book as plain values, shared by the in-memory and database benchmarks.

    About a third of customers run late; amounts are a few hundred to a few tens of thousands;
    70% have a credit limit; some have credit notes, unapplied cash, promises and disputes.
    """
    lateness = rng.choice([0, 0, 5, 20, 45, 90])
    open_items = []
    for k in range(items):
        dpd = rng.randint(-45, 15) + (lateness if k < items // 3 else 0)
        amount = Decimal(rng.randint(10_000, 2_500_000)) / 100
        kind = "credit_note" if rng.random() < 0.05 else "invoice"
        partly = rng.random() < 0.1
        open_items.append(
            (kind, dpd, amount, (amount / 2).quantize(Decimal("0.01")) if partly else amount)
        )
    history = [(rng.randint(20, 360), rng.randint(-5, 40)) for _ in range(2)]
    return {
        "number": f"C{n:07d}",
        "limit": Decimal(rng.choice([50_000, 100_000, 250_000])) if rng.random() < 0.7 else None,
        "items": open_items,
        "history": history,  # (days since paid, days late)
        "payment": (Decimal(rng.randint(100, 5000)), rng.randint(0, 60), rng.random() < 0.2),
        "promise": (rng.randint(-20, 10)) if rng.random() < 0.1 else None,
        "dispute": rng.random() < 0.05,
        "segment": rng.choice([None, None, None, "key"]),
    }


def book_inputs(customers: int, items: int, seed: int = 4):
    """The book as engine inputs, in memory."""
    rng = random.Random(seed)
    out = []
    for n in range(customers):
        spec = _customer_spec(rng, n, items)
        its = []
        for k, (kind, dpd, amount, open_) in enumerate(spec["items"]):
            due = AS_OF - timedelta(days=dpd)
            its.append(
                Item(
                    f"{n}-{k}",
                    kind,
                    f"D{n}-{k}",
                    due - timedelta(days=30),
                    due,
                    "EUR",
                    amount,
                    open_,
                )
            )
        for k, (ago, late) in enumerate(spec["history"]):
            paid = AS_OF - timedelta(days=ago)
            due = paid - timedelta(days=late)
            its.append(
                Item(
                    f"{n}-h{k}",
                    "invoice",
                    f"H{n}-{k}",
                    due - timedelta(days=30),
                    due,
                    "EUR",
                    Decimal(1000),
                    Decimal(0),
                    paid,
                )
            )
        amount, ago, unapplied = spec["payment"]
        payments = (
            EnginePayment(
                f"p{n}",
                amount,
                "EUR",
                NOW - timedelta(days=ago),
                False,
                () if unapplied else (EngineAllocation(f"{n}-h0", amount),),
            ),
        )
        promises = ()
        if spec["promise"] is not None:
            day = AS_OF + timedelta(days=spec["promise"])
            promises = (Promise(f"ptp{n}", Decimal(2000), day, day - timedelta(days=7)),)
        disputes = ()
        if spec["dispute"]:
            disputes = (
                Dispute(f"d{n}", f"{n}-0", Decimal(500), "open", AS_OF - timedelta(days=3)),
            )
        out.append(
            CustomerInputs(
                number=spec["number"],
                currency="EUR",
                credit_limit=spec["limit"],
                attributes={"segment": spec["segment"]} if spec["segment"] else {},
                items=tuple(its),
                payments=payments,
                promises=promises,
                disputes=disputes,
            )
        )
    return out


def bench_policy():
    return load_policy(
        {
            "segments": [
                {
                    "name": "key",
                    "when": {"segment": "key"},
                    "policy": {"hold": {"days_past_due_over": 90}},
                }
            ]
        }
    )


# --- phases --------------------------------------------------------------------------------------


def single_customer(repeat: int = 2000) -> dict[str, float]:
    """Median and p95 of assessing one customer with 10 open items (engine only)."""
    policy = bench_policy()
    book = book_inputs(50, 10, seed=7)
    times = []
    for i in range(repeat):
        c = book[i % len(book)]
        t = time.perf_counter_ns()
        assess(c, policy, AS_OF)
        times.append(time.perf_counter_ns() - t)
    times.sort()
    return {
        "median_ms": statistics.median(times) / 1e6,
        "p95_ms": times[int(len(times) * 0.95)] / 1e6,
    }


def engine_book(customers: int, items: int) -> dict[str, float]:
    """Assess the whole book held in memory (no database)."""
    policy = bench_policy()
    t = time.perf_counter()
    book = book_inputs(customers, items)
    built = time.perf_counter() - t
    statuses: dict[str, int] = {}
    t = time.perf_counter()
    for c in book:
        try:
            s = assess(c, policy, AS_OF).status.value
        except AssessmentError:
            s = "ERROR"
        statuses[s] = statuses.get(s, 0) + 1
    took = time.perf_counter() - t
    return {
        "build_s": built,
        "assess_s": took,
        "per_customer_us": took / customers * 1e6,
        "peak_mb": _peak_mb(),
        **{f"status_{k}": v for k, v in sorted(statuses.items())},
    }


def seed_database(url: str, customers: int, items: int, batch: int = 5000) -> dict[str, float]:
    """Fill an empty, migrated database with the same book (bulk inserts, not timed as a phase)."""
    # Database only: imported here to keep it out of the in-memory phase's peak RSS (above).
    from sqlalchemy import insert

    from service.db import make_engine
    from service.models import Allocation, CollectionAction, Customer, Payment, Receivable

    engine = make_engine(url)
    rng = random.Random(4)
    t = time.perf_counter()
    rid = pid = aid = 0
    rows: dict[Any, list[dict[str, Any]]] = {
        k: [] for k in (Customer, Receivable, Payment, Allocation, CollectionAction)
    }

    postgres = engine.dialect.name == "postgresql"

    def flush(conn, force=False):
        for model in (Customer, Receivable, Payment, Allocation, CollectionAction):
            if rows[model] and (force or len(rows[Receivable]) >= batch * items):
                if postgres:  # COPY: a million rows in seconds rather than minutes
                    columns = list(rows[model][0])
                    cursor = conn.connection.dbapi_connection.cursor()
                    statement = f"COPY {model.__tablename__} ({', '.join(columns)}) FROM STDIN"
                    with cursor.copy(statement) as copy:
                        for row in rows[model]:
                            copy.write_row([row[c] for c in columns])
                else:
                    conn.execute(insert(model), rows[model])
                rows[model] = []

    with engine.begin() as conn:
        for n in range(customers):
            spec = _customer_spec(rng, n, items)
            cid = n + 1
            rows[Customer].append(
                {"id": cid, "number": spec["number"], "source": "bench", "name": spec["number"], "currency": "EUR",
                 "credit_limit": spec["limit"], "segment": spec["segment"], "created_at": NOW, "updated_at": NOW}
            )  # fmt: skip
            first = rid + 1
            for kind, dpd, amount, open_ in spec["items"]:
                rid += 1
                due = AS_OF - timedelta(days=dpd)
                rows[Receivable].append(
                    {"id": rid, "source": "bench", "external_id": f"R{rid}", "customer_id": cid, "kind": kind,
                     "number": f"D{rid}", "issue_date": due - timedelta(days=30), "due_date": due, "currency": "EUR",
                     "amount": amount, "open_amount": open_, "is_open": True, "closed_on": None,
                     "source_updated_at": NOW, "created_at": NOW, "updated_at": NOW}
                )  # fmt: skip
            for ago, late in spec["history"]:
                rid += 1
                paid = AS_OF - timedelta(days=ago)
                due = paid - timedelta(days=late)
                rows[Receivable].append(
                    {"id": rid, "source": "bench", "external_id": f"R{rid}", "customer_id": cid, "kind": "invoice",
                     "number": f"D{rid}", "issue_date": due - timedelta(days=30), "due_date": due, "currency": "EUR",
                     "amount": Decimal(1000), "open_amount": Decimal(0), "is_open": False, "closed_on": paid,
                     "source_updated_at": NOW, "created_at": NOW, "updated_at": NOW}
                )  # fmt: skip
            amount, ago, unapplied = spec["payment"]
            pid += 1
            rows[Payment].append(
                {"id": pid, "source": "bench", "external_id": f"P{pid}", "customer_id": cid, "amount": amount,
                 "currency": "EUR", "received_at": NOW - timedelta(days=ago), "status": "confirmed", "created_at": NOW}
            )  # fmt: skip
            if not unapplied:
                aid += 1
                rows[Allocation].append(
                    {"id": aid, "payment_id": pid, "receivable_id": rid, "amount": amount}
                )
            if spec["promise"] is not None:
                day = AS_OF + timedelta(days=spec["promise"])
                rows[CollectionAction].append(
                    {"customer_id": cid, "type": "Promise to Pay", "promised_amount": Decimal(2000),
                     "promised_date": day, "receivable_id": None, "disputed_amount": None,
                     "dispute_status": None, "occurred_at": NOW - timedelta(days=7), "origin": "Salesforce",
                     "is_deleted": False, "updated_at": NOW}
                )  # fmt: skip
            if spec["dispute"]:
                rows[CollectionAction].append(
                    {"customer_id": cid, "type": "Dispute", "promised_amount": None, "promised_date": None,
                     "receivable_id": first, "disputed_amount": Decimal(500), "dispute_status": "Open", "occurred_at": NOW - timedelta(days=3), "origin": "Salesforce",
                     "is_deleted": False, "updated_at": NOW}
                )  # fmt: skip
            flush(conn)
        flush(conn, force=True)
    if postgres:  # fresh statistics, as autovacuum would give a real database (committed)
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return {"seed_s": time.perf_counter() - t, "receivables": rid}


def database_book(url: str, chunk: int, workers: int) -> dict[str, float]:
    """Full re-assessment from the database, committed chunk by chunk.

    ``workers`` > 1 uses ``reassess_book`` (one process per worker); 1 is ``reassess_all`` in
    this process. Peak memory is this process's, plus the largest worker's when there are any.
    """
    # Database only: imported here to keep it out of the in-memory phase's peak RSS (above).
    from service.assessments.book import reassess_all, reassess_book
    from service.db import make_engine, make_session_factory

    policy = bench_policy()
    t = time.perf_counter()
    if workers > 1:
        report = reassess_book(url, AS_OF, policy, workers=workers, chunk=chunk)
    else:
        engine = make_engine(url)
        with make_session_factory(engine)() as session:
            report = reassess_all(session, AS_OF, policy, chunk=chunk, commit_each=True)
        engine.dispose()
    took = time.perf_counter() - t
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "workers": workers,
        "child_peak_mb": children,
        "reassess_s": took,
        "customers": report.assessed + len(report.errors),
        "items": report.items,
        "peak_mb": _peak_mb(),
        **{f"status_{k}": v for k, v in sorted(report.statuses.items())},
    }


def settle_postgresql(url: str) -> dict[str, float]:
    """VACUUM ANALYZE and CHECKPOINT after the whole-book write, before timing one customer.

    The book phase has just rewritten 100k assessments. A real server's autovacuum tidies and
    re-analyses after that (this machine's has autovacuum off), and the writes' checkpoint then
    runs in the background: timed in the middle of it, one customer would measure the
    checkpoint. This gives the timing the settled server (docs/adr/0008).
    """
    # Database only: imported here to keep it out of the in-memory phase's peak RSS (above).
    import psycopg

    base = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE assessments, customers, receivables, payments, allocations")
        conn.execute("CHECKPOINT")
    return {}


def database_single(url: str, repeat: int = 300) -> dict[str, float]:
    """One customer re-assessed from the database (load, assess, upsert), rolled back each time."""
    # Database only: imported here to keep it out of the in-memory phase's peak RSS (above).
    from service.assessments import reassess as reassess_customers
    from service.db import make_engine, make_session_factory

    engine = make_engine(url)
    factory = make_session_factory(engine)
    policy = bench_policy()
    rng = random.Random(9)
    times = []
    with factory() as session:
        top = session.connection().exec_driver_sql("SELECT max(id) FROM customers").scalar()
        for _ in range(repeat):
            cid = rng.randint(1, top)
            t = time.perf_counter_ns()
            reassess_customers(session, [cid], AS_OF, policy)
            session.flush()
            times.append(time.perf_counter_ns() - t)
            session.rollback()
    engine.dispose()
    times.sort()
    return {
        "median_ms": statistics.median(times) / 1e6,
        "p95_ms": times[int(len(times) * 0.95)] / 1e6,
    }


def _child(fn, args, queue):
    queue.put(fn(*args))


def in_child(fn, *args) -> dict[str, float]:
    """Run ``fn`` in a fresh process (its own peak memory), return its result."""
    # Under ``python -m bench.engine`` these functions live in ``__main__``; a spawned child
    # must find them by their importable name.
    module = importlib.import_module("bench.engine")
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=module._child, args=(getattr(module, fn.__name__), args, queue))
    process.start()
    result = queue.get()
    process.join()
    if process.exitcode:
        raise RuntimeError(f"{fn.__name__} failed in its process (exit {process.exitcode})")
    return result


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    """A fresh, migrated database: a temporary SQLite file, or a scratch schema on ``url``."""
    # Database only: imported here to keep it out of the in-memory phase's peak RSS (above).
    from service.migrations import upgrade

    if url is None:
        with tempfile.TemporaryDirectory(prefix="bench-engine-") as folder:
            scoped = f"sqlite:///{folder}/bench.sqlite3"
            upgrade(scoped)
            yield scoped
        return
    with scratch_schema(url) as scoped:
        upgrade(scoped)
        yield scoped


def verdict(value: float, limit: float) -> str:
    return "ok" if value < limit else "MISSED"


def database_phases(
    report: Report, db_url: str | None, customers: int, items: int, chunk: int, workers: int
) -> dict[str, dict[str, float]]:
    """Seed one backend, re-assess the whole book, then one customer at a time."""
    results: dict[str, dict[str, float]] = {}
    with _database(db_url) as url:
        backend = "postgresql" if url.startswith("postgresql") else "sqlite"
        seeded = in_child(seed_database, url, customers, items)
        report(
            f"{backend:<10} seeded {customers:,} customers, {seeded['receivables']:,} receivables "
            f"in {seeded['seed_s']:.1f} s (not timed)"
        )
        db = in_child(database_book, url, chunk, workers)
        results["database"] = db
        per = db["reassess_s"] / max(db["customers"], 1) * 1e6
        if customers >= FULL_BOOK:
            judged = f"(target < {BOOK_TARGET_S:.0f} s) {verdict(db['reassess_s'], BOOK_TARGET_S)}"
        else:  # worker start-up and the last chunks weigh too much in a small book to scale it
            judged = f"(target < {BOOK_TARGET_S:.0f} s is for {FULL_BOOK:,} customers: not judged)"
        report(
            f"{backend:<10} whole book, {workers} worker process(es): {db['customers']:,} customers / "
            f"{db['items']:,} items read, assessed and stored in {db['reassess_s']:.1f} s "
            f"{judged}; {per:.0f} us per customer wall ({per * workers:.0f} us of a core)\n"
            f"{'':<10} peak RSS: {db['peak_mb']:.0f} MB coordinator, {db['child_peak_mb']:.0f} MB "
            f"largest worker ({db['peak_mb'] + workers * db['child_peak_mb']:.0f} MB at most in all)"
        )
        if backend == "postgresql":
            in_child(settle_postgresql, url)
        one = in_child(database_single, url)
        results["database_single"] = one
        report(
            f"{backend:<10} one customer (load, assess, upsert): median {one['median_ms']:.2f} ms, "
            f"p95 {one['p95_ms']:.2f} ms (target < {ONE_TARGET_MS:.0f} ms) "
            f"{verdict(one['median_ms'], ONE_TARGET_MS)}"
        )
    return results


def run(
    report: Report = print,
    *,
    customers: int = 100_000,
    items: int = 10,
    db_url: str | None = None,
    backends: tuple[str, ...] = ("sqlite", "postgresql"),
    chunk: int = 2000,
    workers: int | None = None,
    database: bool = True,
    memory: bool = True,
) -> dict[str, dict[str, float]]:
    """Run every phase, print each figure beside its target through ``report``, return them.

    Keys: ``single`` and ``engine`` (no database), then ``<backend>.database`` and
    ``<backend>.database_single`` for each backend run. ``db_url`` runs one PostgreSQL
    database instead of ``backends``.
    """
    results: dict[str, dict[str, float]] = {}
    workers = workers or os.cpu_count() or 1
    one = single_customer()
    results["single"] = one
    report(
        f"engine     one customer (10 open items): median {one['median_ms']:.3f} ms, "
        f"p95 {one['p95_ms']:.3f} ms (target < {ONE_TARGET_MS:.0f} ms) "
        f"{verdict(one['median_ms'], ONE_TARGET_MS)}"
    )
    if memory:
        mem = in_child(engine_book, customers, items)
        results["engine"] = mem
        report(
            f"engine     {customers:,} customers / {customers * items:,} open items in memory, one process: "
            f"{mem['assess_s']:.1f} s ({mem['per_customer_us']:.0f} us per customer, "
            f"{customers / mem['assess_s']:,.0f} customers/s); building inputs {mem['build_s']:.1f} s; "
            f"peak RSS {mem['peak_mb']:.0f} MB"
        )
    if not database:
        return results
    urls: list[str | None] = []
    if db_url:
        urls = [db_url]
    else:
        if "sqlite" in backends:
            urls.append(None)
        if "postgresql" in backends:
            if reason := postgres_reachable():
                report(f"postgresql skipped ({PG_SERVER} does not answer: {reason})")
            else:
                urls.append(PG_URL)
    for url in urls:
        backend = "postgresql" if url else "sqlite"
        for key, value in database_phases(report, url, customers, items, chunk, workers).items():
            results[f"{backend}.{key}"] = value
    return results


TARGETS = {
    # (results key, figure, limit): the engine's targets, on every backend run.
    "one customer, engine (ms)": ("single", "median_ms", ONE_TARGET_MS),
    "sqlite: whole book (s)": ("sqlite.database", "reassess_s", BOOK_TARGET_S),
    "sqlite: one customer (ms)": ("sqlite.database_single", "median_ms", ONE_TARGET_MS),
    "postgresql: whole book (s)": ("postgresql.database", "reassess_s", BOOK_TARGET_S),
    "postgresql: one customer (ms)": ("postgresql.database_single", "median_ms", ONE_TARGET_MS),
}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every target was met (``make bench`` reads this)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.engine", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=10, help="open items per customer")
    parser.add_argument(
        "--backends",
        default="sqlite,postgresql",
        help="databases to run (PostgreSQL is skipped, with a line, when it does not answer)",
    )
    parser.add_argument("--db-url", help="one PostgreSQL URL instead of --backends")
    parser.add_argument("--chunk", type=int, default=2000)
    parser.add_argument(
        "--workers", type=int, help="processes for the whole book (default: one per CPU)"
    )
    parser.add_argument("--no-db", action="store_true", help="engine figures only")
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the in-memory whole-book run"
    )
    args = parser.parse_args(argv)
    results = run(
        lambda line: print(line, flush=True),
        customers=args.customers,
        items=args.items,
        db_url=args.db_url,
        backends=tuple(b for b in args.backends.split(",") if b),
        chunk=args.chunk,
        workers=args.workers,
        database=not args.no_db,
        memory=not args.no_memory,
    )
    # The whole-book target is for 100k customers; a smaller run is a quicker look, not a verdict.
    judged = {
        name: target
        for name, target in TARGETS.items()
        if "book" not in name or args.customers >= FULL_BOOK
    }
    missed = [
        f"{name}: {results[key][figure]:.2f} > {limit}"
        for name, (key, figure, limit) in judged.items()
        if key in results and results[key][figure] > limit
    ]
    for line in missed:
        print(f"target missed: {line}", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
