"""Card payment benchmark: Stripe webhook to Account latency at 50 events/s.

A devorg process and a ``credit-control worker`` process as in ``bench.sync``; the web app runs
in this process on a real port. Each customer has one overdue invoice; for each, a signed
``checkout.session.completed`` paying it is POSTed to ``/api/v1/webhooks/stripe`` (signed with
the ``stripe`` library's signer, as the local Stripe does), paced at the rate. The web request
records the event, makes the provisional payment and re-assesses; the worker's pusher writes the
Account. Latency = the org's commit time of the Account update carrying ``In_Flight_Amount__c``
(its change event, received by a CometD subscriber of the bench) minus the time just before the
webhook was POSTed. Target p99 < 1 s. SQLite, then PostgreSQL when it answers.

    python -m bench.card_payments [--rate 50] [--seconds 15]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import stripe
from sqlalchemy import select
from werkzeug.serving import make_server

from bench.postgres import postgres_reachable, scratch_schema
from bench.sync import POSTGRES_URL, EventBench, load_average, percentile
from service.app import create_app
from service.models import Customer as CustomerRow

LATENCY_TARGET_P99 = 1.0
SECRET = "whsec_bench_0123456789abcdefghij"
PATH = "/api/v1/webhooks/stripe"


def _event(i: int, number: str, receivable: str) -> dict:
    return {
        "id": f"evt_bench_{i}",
        "object": "event",
        "api_version": "2026-07-29.dahlia",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": f"cs_test_bench_{i}",
                "object": "checkout.session",
                "amount_total": 50_000,
                "currency": "eur",
                "metadata": {
                    "credit_control_customer": number,
                    "credit_control_receivables": receivable,
                },
                "mode": "payment",
                "payment_intent": f"pi_bench_{i}",
                "payment_status": "paid",
                "status": "complete",
            }
        },
        "livemode": False,
        "type": "checkout.session.completed",
    }


class CardBench(EventBench):
    def run(self, rate: float, seconds: float) -> tuple[str, bool]:
        count = int(rate * seconds)
        book = self.book(count)
        with self.factory() as s:
            numbers = dict(s.execute(select(CustomerRow.id, CustomerRow.number)).all())
        app = create_app(
            {
                "DATABASE_URL": self.db_url,
                "FEED_SIGNING_SECRET": "bench-feed-secret-0123456789",
                "SERVICE_API_TOKENS": "b" * 32,
                "STRIPE_WEBHOOK_SECRET": SECRET,
                "LOG_LEVEL": "WARNING",
            }
        )
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per webhook
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}{PATH}"
        self.start_worker()
        seen: dict[str, float] = {}
        stop = threading.Event()
        self.watch_accounts(seen, stop, "In_Flight_Amount__c")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.subscribed_clients() < 2:
            time.sleep(0.05)
        sent: dict[str, float] = {}
        http = requests.Session()
        failures = []

        def deliver(i: int, account_id: str, cid: int) -> None:
            body = json.dumps(_event(i, numbers[cid], f"INV-{cid}"))
            header = stripe.WebhookSignature.generate_signature_header(body, SECRET)
            sent[account_id[:15]] = time.time()
            answer = http.post(
                url,
                data=body.encode(),
                headers={"Stripe-Signature": header, "Content-Type": "application/json"},
                timeout=30,
            )
            if answer.status_code != 200:
                failures.append(answer.status_code)

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            for i, (account_id, cid) in enumerate(book):
                wait = started + i / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                pool.submit(deliver, i, account_id, cid)
        run_length = time.monotonic() - started
        deadline = time.monotonic() + 60
        while len(seen) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()
        server.shutdown()
        values = sorted(seen[k] - sent[k] for k in seen if k in sent)
        if not values:
            return f"webhook-to-Account ({self.label}): no Account update observed", False
        p99 = percentile(values, 0.99)
        ok = p99 < LATENCY_TARGET_P99 and len(values) == count and not failures
        return (
            f"webhook-to-Account latency, {self.label}, {count / run_length:.0f} webhooks/s for "
            f"{run_length:.1f} s ({len(values)}/{count} samples, {len(failures)} refused): "
            f"p50 {statistics.median(values) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
            f"max {values[-1] * 1000:.0f} ms (target p99 < {LATENCY_TARGET_P99 * 1000:.0f} ms: "
            f"{'met' if ok else 'MISSED'}) [{load_average()}]"
        ), ok


def _run(tmp: Path, url: str | None, label: str, args) -> bool:
    tmp.mkdir(parents=True, exist_ok=True)
    bench = CardBench(tmp, url, label)
    try:
        line, ok = bench.run(args.rate, args.seconds)
        print(line, flush=True)
        return ok
    finally:
        bench.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.card_payments", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-card-") as tmp:
        ok = _run(Path(tmp) / "sqlite", None, "SQLite", args)
        if args.postgres_url:
            if reason := postgres_reachable(args.postgres_url):
                print(f"PostgreSQL run skipped: {args.postgres_url} does not answer: {reason}")
            else:
                with scratch_schema(args.postgres_url, "bench_card") as url:
                    ok &= _run(Path(tmp) / "pg", url, "PostgreSQL", args)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
