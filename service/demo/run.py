"""``credit-control demo`` (what ``make run`` runs): the product on the embedded default.

One function per step, so the sync can add its own (start devorg, start the worker, print the
Accounts as the org holds them) between them without reshaping the command:

    settings = demo_settings()          # SQLite under var/, generated secrets
    prepare_database(settings)          # fresh file, migrated to head
    app = build_app(settings)
    load_book(app, settings)            # through the real signed feed
    log_actions(app)                    # a dispute and a promise, as Salesforce would send
    server = start_web(app, port)       # werkzeug in a thread
    print_summary(...)                  # then serve until SIGINT or SIGTERM
"""

from __future__ import annotations

import json
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from service.app import create_app
from service.assessments import queue as assessment_queue
from service.db import transaction
from service.demo.book import build_book, demo_actions
from service.demo.card import print_pay_story, start_demo_stripe
from service.demo.erp import sap_story
from service.demo.mail import run_demo_dunning
from service.demo.preview import print_preview
from service.demo.sync import print_demo_sync, start_demo_sync
from service.extensions import EXTENSION
from service.migrations import upgrade
from service.models import Assessment, CollectionAction, Customer, Receivable
from service.security import sign

DEMO_DB = Path("var") / "demo.sqlite3"

Echo = Callable[[str], None]


@dataclass(frozen=True)
class DemoSettings:
    database_url: str
    api_token: str
    feed_secret: str
    # Pay links and card payments through the local Stripe (the second story), when serving.
    extra: dict[str, str] = field(default_factory=dict)

    def overrides(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "SERVICE_API_TOKENS": self.api_token,
            "FEED_SIGNING_SECRET": self.feed_secret,
            "LOG_LEVEL": "WARNING",
            **self.extra,
        }


def demo_settings() -> DemoSettings:
    """Fresh secrets per run: nothing to configure, nothing reusable outside this machine."""
    return DemoSettings(
        database_url=f"sqlite:///{DEMO_DB}",
        api_token="demo-" + secrets.token_urlsafe(18),
        feed_secret=secrets.token_urlsafe(32),
    )


def prepare_database(settings: DemoSettings) -> None:
    DEMO_DB.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DEMO_DB}{suffix}").unlink(missing_ok=True)
    upgrade(settings.database_url)


def build_app(settings: DemoSettings):
    return create_app(settings.overrides())


def load_book(app, settings: DemoSettings, today: date) -> dict:
    """Post the demo book through the signed ERP feed, exactly as an ERP connector would."""
    book = build_book(today)
    body = json.dumps(book).encode()
    response = app.test_client().post(
        "/api/v1/feeds/erp",
        data=body,
        headers={
            "X-Signature": sign(settings.feed_secret, body),
            "Content-Type": "application/json",
        },
    )
    if response.status_code != 200:
        raise RuntimeError(
            f"demo feed refused: {response.status_code} {response.get_data(as_text=True)[:500]}"
        )
    return book


def log_actions(app, book: dict, today: date) -> dict:
    """Record a dispute and a promise to pay, and queue the two customers for re-assessment."""
    story = demo_actions(book, today)
    svc = app.extensions[EXTENSION]
    with transaction(svc.sessions) as session:
        ids = dict(session.execute(select(Customer.number, Customer.id)).all())
        number, item, amount = story["dispute"]
        receivable_id = session.execute(
            select(Receivable.id).where(Receivable.external_id == item)
        ).scalar_one()
        session.add(
            CollectionAction(
                customer_id=ids[number],
                type="Dispute",
                receivable_id=receivable_id,
                disputed_amount=amount,
                dispute_reason="Goods damaged in transit",
                dispute_status="Open",
                notes="Customer sent photos; warehouse checking.",
            )
        )
        promised_number, promised_amount, promised_date = story["promise"]
        session.add(
            CollectionAction(
                customer_id=ids[promised_number],
                type="Promise to Pay",
                promised_amount=promised_amount,
                promised_date=promised_date,
                outcome="Promised full payment of the overdue balance",
            )
        )
        session.flush()
        assessment_queue.request(session, [ids[number], ids[promised_number]])
    return story


def assess_queued(app, today: date) -> int:
    """Drain the assessment queue (the worker's job), so the table below shows fresh figures."""
    svc = app.extensions[EXTENSION]
    return assessment_queue.drain(svc.sessions, today, svc.policy)


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise RuntimeError("no free port")


def start_web(app, port: int) -> BaseWSGIServer:
    server = make_server("127.0.0.1", free_port(port), app, threaded=True)
    threading.Thread(target=server.serve_forever, name="web", daemon=True).start()
    return server


def account_table(app) -> list[dict]:
    svc = app.extensions[EXTENSION]
    with svc.sessions() as session:
        rows = session.execute(
            select(Customer.number, Customer.name, Customer.currency, Assessment).join(
                Assessment, Assessment.customer_id == Customer.id
            )
        ).all()
    rank = {"HOLD": 0, "WATCH": 1, "OK": 2}
    table = [
        {
            "number": number,
            "name": name,
            "status": a.status,
            "currency": currency,
            "overdue": a.overdue_amount,
            "days_past_due": a.days_past_due,
            "reason": (a.document or {}).get("reason") or "",
        }
        for number, name, currency, a in rows
    ]
    return sorted(table, key=lambda r: (rank.get(r["status"], 3), -r["overdue"], r["number"]))


def print_summary(
    echo: Echo,
    settings: DemoSettings,
    base_url: str,
    table: list[dict],
    story: dict,
    seconds: float,
) -> None:
    token = settings.api_token
    first_hold = next((r["number"] for r in table if r["status"] == "HOLD"), table[0]["number"])
    echo("")
    state = "is running" if base_url.startswith("http") else "is loaded"
    echo(f"Credit Control demo {state} ({len(table)} accounts, ready in {seconds:.1f}s)")
    echo(f"  database      {settings.database_url}")
    echo(f"  health        {base_url}/healthz")
    echo(f"  API docs      {base_url}/openapi.json   (needs the token)")
    echo(f"  metrics       {base_url}/metrics        (needs the token)")
    echo(f"  demo token    {token}")
    echo(
        f"  try           curl -H 'Authorization: Bearer {token}' {base_url}/api/v1/accounts/{first_hold}/credit"
    )
    echo(
        f"  story         dispute on {story['dispute'][1]} ({story['dispute'][0]}); "
        f"promise to pay by {story['promise'][0]} on {story['promise'][2].isoformat()}"
    )
    echo("")
    echo(f"{'ACCOUNT':<8} {'NAME':<22} {'STATUS':<6} {'OVERDUE':>14} {'DPD':>4}  REASON")
    for row in table:
        overdue = f"{row['currency']} {row['overdue']:,.2f}"
        echo(
            f"{row['number']:<8} {row['name'][:22]:<22} {row['status']:<6} {overdue:>14} "
            f"{row['days_past_due']:>4}  {row['reason'][:70]}"
        )
    counts = {s: sum(1 for r in table if r["status"] == s) for s in ("OK", "WATCH", "HOLD")}
    echo("")
    tail = "— Ctrl-C to stop" if base_url.startswith("http") else "(loaded; not serving)"
    echo(f"OK {counts['OK']}  WATCH {counts['WATCH']}  HOLD {counts['HOLD']}   {tail}")


@contextmanager
def stop_requested() -> Iterator[threading.Event]:
    """An event set by SIGINT (Ctrl-C) or SIGTERM (``kill``, ``timeout``, a process manager).

    Installed before the local org and the worker start, so a signal at any moment of the demo
    only asks it to stop: the caller then stops the web server, the worker and the local org in
    order and the demo exits 0. (SIGTERM's default action would end the process at once,
    mid-push, with the status of a killed process.) The previous handlers come back on exit.
    """
    stop = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_demo(
    *, port: int = 8000, serve: bool = True, echo: Echo = print, today: date | None = None
) -> list[dict]:
    started = time.perf_counter()
    settings = demo_settings()
    stand_in = None
    if serve:  # the local Stripe, so the pay page takes cards (the second story)
        port = free_port(port)
        stand_in, extra = start_demo_stripe(f"http://127.0.0.1:{port}")
        settings = replace(settings, extra=extra)
    prepare_database(settings)
    app = build_app(settings)
    today = today or app.extensions[EXTENSION].clock().date()
    book = load_book(app, settings, today)
    story = log_actions(app, book, today)
    assess_queued(app, today)
    if not serve:
        table = account_table(app)
        print_summary(echo, settings, "(not serving)", table, story, time.perf_counter() - started)
        return table
    svc = app.extensions[EXTENSION]
    with stop_requested() as stop:
        try:
            # devorg + the worker: the Accounts fill in the local org (docs/sync.md)
            sync = start_demo_sync(svc.engine, svc.sessions, echo, pay_links=svc.config.pay_links)
            try:
                server = start_web(app, port)
                try:
                    table = account_table(app)
                    base_url = f"http://127.0.0.1:{server.server_port}"
                    elapsed = time.perf_counter() - started
                    print_summary(echo, settings, base_url, table, story, elapsed)
                    print_demo_sync(sync, echo, today)
                    held = next(
                        (r["number"] for r in table if r["status"] == "HOLD"), table[0]["number"]
                    )
                    print_preview(sync.org, echo, sync.accounts.get(held))
                    links = svc.config.pay_links
                    print_pay_story(echo, links.url(held) if links else None, held, stand_in)
                    run_demo_dunning(app, today, echo)
                    sap = sap_story(svc.sessions, echo, today)
                    try:
                        while not stop.wait(0.5):  # short waits: the handler runs between them
                            pass
                    finally:
                        sap.stop()
                finally:
                    server.shutdown()
            finally:
                sync.close()
        finally:
            stand_in.stop()
    return table
