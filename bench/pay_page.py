"""Pay page benchmark: render time of ``GET /pay/<token>`` for a customer with 200 open items.

The app serves on a real port (werkzeug, as in ``bench.card_payments``); the customer and its
items come in through the signed ERP feed and are assessed, so the page has everything a HOLD
customer's page shows (the amount that releases the hold, days overdue, the statement link).
Each request verifies the link, reads the customer's open items and assessment and renders the
page in the customer's language; the figure is the client's wall time per request, after a
warm-up, sequential. English and German pages alternate. Target p95 < 100 ms. SQLite, then
PostgreSQL when it answers.

    python -m bench.pay_page [--items 200] [--requests 300]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from werkzeug.serving import make_server

from bench.postgres import PG_URL, postgres_reachable, scratch_schema
from bench.sync import load_average, percentile
from service.app import EXTENSION, create_app
from service.assessments import queue
from service.migrations import upgrade
from service.paylinks import PayLinks
from service.security import sign

P95_TARGET = 0.100
FEED_SECRET = "bench-feed-secret-0123456789"
PAY_SECRET = "bench-pay-link-secret-0123456789abcdef"
BASE = "https://pay.example.com"


def _batch(items: int) -> dict:
    today = datetime.now(UTC).date()
    now = datetime.now(UTC).isoformat()
    receivables = []
    for i in range(items):
        due = today - timedelta(days=(i * 7) % 120 - 20)  # from 20 days ahead to 99 overdue
        receivables.append(
            {
                "id": f"INV-{i:05d}",
                "customer": "C-PAGE",
                "type": "invoice" if i % 10 else "credit_note",
                "number": f"INV-{i:05d}",
                "issue_date": (due - timedelta(days=30)).isoformat(),
                "due_date": due.isoformat(),
                "currency": "EUR",
                "amount": f"{100 + i * 13}.50",
                "open_amount": f"{100 + i * 13}.50",
                "updated_at": now,
            }
        )
    return {
        "source": "erp-main",
        "customers": [
            {"number": "C-PAGE", "name": "Seitenlast GmbH", "currency": "EUR", "language": "de"}
        ],
        "receivables": receivables,
        "payments": [],
    }


def _run(db_url: str, label: str, items: int, count: int) -> tuple[str, bool]:
    upgrade(db_url)
    app = create_app(
        {
            "DATABASE_URL": db_url,
            "FEED_SIGNING_SECRET": FEED_SECRET,
            "SERVICE_API_TOKENS": "b" * 32,
            "PAY_LINK_SECRET": PAY_SECRET,
            "PUBLIC_BASE_URL": BASE,
            # One client asks 320 times a minute here; the limit protects the page, not the bench.
            "RATE_LIMIT_PAY_PAGE": "100000 per minute",
            "LOG_LEVEL": "WARNING",
        }
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    body = json.dumps(_batch(items)).encode()
    headers = {"X-Signature": sign(FEED_SECRET, body, int(time.time()))}
    headers["Content-Type"] = "application/json"
    answer = app.test_client().post("/api/v1/feeds/erp", data=body, headers=headers)
    if answer.status_code != 200:
        return f"pay page ({label}): the feed was refused: {answer.get_data(as_text=True)}", False
    factory = app.extensions[EXTENSION].sessions
    queue.drain_all(factory, datetime.now(UTC).date())
    path = PayLinks([PAY_SECRET], BASE).url("C-PAGE")[len(BASE) :]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}{path}"
    http = requests.Session()
    languages = ["en", "de"]
    try:
        for i in range(20):  # warm-up: templates compiled, connections pooled
            http.get(url, headers={"Accept-Language": languages[i % 2]}, timeout=30)
        values = []
        failures = 0
        for i in range(count):
            started = time.perf_counter()
            page = http.get(url, headers={"Accept-Language": languages[i % 2]}, timeout=30)
            values.append(time.perf_counter() - started)
            if page.status_code != 200 or "INV-00199" not in page.text:
                failures += 1
    finally:
        server.shutdown()
        app.extensions[EXTENSION].engine.dispose()
    values.sort()
    p95 = percentile(values, 0.95)
    ok = p95 < P95_TARGET and not failures
    return (
        f"pay page render, {label}, {items} open items, {count} requests "
        f"({failures} wrong): p50 {statistics.median(values) * 1000:.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms, max {values[-1] * 1000:.1f} ms "
        f"(target p95 < {P95_TARGET * 1000:.0f} ms: {'met' if ok else 'MISSED'}) "
        f"[{load_average()}]"
    ), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pay_page", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--postgres-url", default=PG_URL)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-page-") as tmp:
        line, ok = _run(f"sqlite:///{Path(tmp) / 'page.db'}", "SQLite", args.items, args.requests)
        print(line, flush=True)
        if args.postgres_url:
            if reason := postgres_reachable(args.postgres_url):
                print(f"PostgreSQL run skipped: {args.postgres_url} does not answer: {reason}")
            else:
                with scratch_schema(args.postgres_url, "bench_page") as url:
                    line, pg_ok = _run(url, "PostgreSQL", args.items, args.requests)
                    print(line, flush=True)
                    ok &= pg_ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
