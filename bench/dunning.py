"""Dunning benchmark: a run over 100,000 customers (plan, render, queue) and SMTP delivery.

The book is written straight into a fresh SQLite file (the ERP feed has its own benchmark):
each customer has one to four invoices, due between 60 days ago and 20 days ahead, so most
customers have something overdue and the run renders a reminder for each of those at its level.
No statement PDF is rendered in the run: a level that attaches one (``attach_statement``) is
marked on the stored message and the attachment is made when it is sent.

Then the queue is drained over SMTP to a local aiosmtpd in a process of its own (so the server
does not share this process's interpreter), one connection per batch, STARTTLS off.

Targets: run < 60 s for 100,000 customers; delivery >= 200 messages/s.

    python -m bench.dunning [--customers 100000] [--messages 2000]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, update

from service.config import MailSettings
from service.credit import default_policy
from service.db import make_engine, make_session_factory
from service.dunning.render import Company
from service.dunning.run import Settings, run_book
from service.dunning.sender import Sender
from service.dunning.smtp import Mailer
from service.migrations import upgrade
from service.models import Customer, DunningMessage, Receivable
from service.paylinks import PayLinks

RUN_TARGET_SECONDS = 60.0
SMTP_TARGET_PER_SECOND = 200.0
AS_OF = date(2026, 3, 16)  # a Monday, no holiday


def seed(factory, customers: int) -> None:
    rng = random.Random(15)
    now = datetime(2026, 3, 16, 6, tzinfo=UTC)
    with factory() as session, session.begin():
        batch_c, batch_r = [], []
        rid = 0
        for n in range(1, customers + 1):
            batch_c.append(
                {
                    "id": n, "number": f"C-{n:06d}", "source": "erp", "name": f"Customer {n}",
                    "currency": "EUR" if n % 3 else "GBP", "billing_email": f"ap@c{n}.example",
                    "language": "de" if n % 4 == 0 else None, "created_at": now, "updated_at": now,
                }
            )  # fmt: skip
            for k in range(rng.randint(1, 4)):
                rid += 1
                due = AS_OF - timedelta(days=rng.randint(-20, 60))
                amount = Decimal(rng.randint(5_000, 500_000)) / 100
                batch_r.append(
                    {
                        "id": rid, "source": "erp", "external_id": f"I-{rid}", "customer_id": n,
                        "kind": "invoice", "number": f"INV-{n}-{k}", "issue_date": due - timedelta(days=30),
                        "due_date": due, "currency": "EUR" if n % 3 else "GBP", "amount": amount,
                        "open_amount": amount, "is_open": True, "source_updated_at": now,
                        "created_at": now, "updated_at": now,
                    }
                )  # fmt: skip
            if len(batch_r) > 20_000:
                session.execute(Customer.__table__.insert(), batch_c)
                session.execute(Receivable.__table__.insert(), batch_r)
                batch_c, batch_r = [], []
        if batch_c:
            session.execute(Customer.__table__.insert(), batch_c)
        if batch_r:
            session.execute(Receivable.__table__.insert(), batch_r)


def _cpu_seconds() -> tuple[float, float]:
    """(this process, its waited-for children) user + system CPU seconds so far."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smtp_rate(factory, messages: int) -> tuple[float, int, float, float]:
    """Send ``messages`` queued reminders to aiosmtpd's Sink in another process: messages/s,
    messages sent, and the CPU seconds the sender (this process) and the server spent."""
    with factory() as session, session.begin():
        keep = select(DunningMessage.id).order_by(DunningMessage.id).limit(messages).subquery()
        session.execute(
            update(DunningMessage)
            .where(DunningMessage.id.not_in(select(keep.c.id)))
            .values(status="held")
        )
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c",
         "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        mail = MailSettings(host="127.0.0.1", port=port, mail_from="billing@bench.example")
        started = time.perf_counter()
        cpu_before, children_before = _cpu_seconds()
        report = Sender(factory, Mailer(mail)).drain()
        seconds = time.perf_counter() - started
        client_cpu = _cpu_seconds()[0] - cpu_before
    finally:
        server.terminate()
        server.wait(10)
    server_cpu = _cpu_seconds()[1] - children_before
    return report.sent / seconds, report.sent, client_cpu, server_cpu


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dunning")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=2_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        started = time.perf_counter()
        seed(factory, args.customers)
        print(
            f"seeded {args.customers:,} customers in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        settings = Settings(
            default_policy(),
            Company("Bench Supplies", "1 Bench Street; Berlin"),
            "bench.example",
            PayLinks(["bench-pay-link-secret-0123456789abcdef"], "https://pay.bench.example"),
        )
        started = time.perf_counter()
        cpu_before = sum(_cpu_seconds())
        report = run_book(url, AS_OF, settings)
        run_seconds = time.perf_counter() - started
        run_cpu = sum(_cpu_seconds()) - cpu_before  # this process and the pool's workers
        with factory() as session:
            stored = session.scalar(select(func.count()).select_from(DunningMessage))
        scale = 100_000 / args.customers
        print(
            f"dunning run: {args.customers:,} customers, {report.queued:,} reminders rendered and "
            f"queued in {run_seconds:.1f} s ({stored:,} stored); "
            f"scaled to 100,000: {run_seconds * scale:.1f} s (target < {RUN_TARGET_SECONDS:.0f} s); "
            f"CPU {run_cpu:.1f} s ({run_cpu * scale:.1f} s scaled); {os.cpu_count()} processes; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
            flush=True,
        )
        rate, sent, client_cpu, server_cpu = smtp_rate(factory, args.messages)
        print(
            f"SMTP delivery: {sent:,} messages at {rate:.0f} messages/s "
            f"(target >= {SMTP_TARGET_PER_SECOND:.0f}/s); CPU per message: sender "
            f"{client_cpu / max(sent, 1) * 1000:.2f} ms, aiosmtpd "
            f"{server_cpu / max(sent, 1) * 1000:.2f} ms; "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        engine.dispose()
    ok = run_seconds * scale < RUN_TARGET_SECONDS and rate >= SMTP_TARGET_PER_SECOND
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
