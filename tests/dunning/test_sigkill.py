"""A worker SIGKILLed between "stored" and "sent", or while sending: no customer gets the same
level twice, none is skipped."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from service.db import transaction
from service.dunning.run import run
from service.dunning.sender import CONNECTIONS, Sender
from service.dunning.smtp import Mailer
from tests.dunning.seed import TODAY, add_customer, add_invoice
from tests.dunning.smtp_server import SmtpServer, _Handler
from tests.dunning.test_sender import SETTINGS, _mail

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS = 6


def _book(factory) -> None:
    with transaction(factory) as session:
        for n in range(CUSTOMERS):
            c = add_customer(session, f"C-{n}", email=f"ap@c{n}.example")
            add_invoice(session, c, f"{n}", 20, "150.00")


def _child(db_url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.dunning.kill_target", db_url, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def _wait_for(proc: subprocess.Popen, line: str) -> None:
    assert proc.stdout.readline().strip() == line


def _per_customer(server: SmtpServer) -> collections.Counter:
    return collections.Counter(m["X-Credit-Control-Customer"] for m in server.received())


def test_sigkill_between_stored_and_sent__every_customer_gets_it_once(db_url, factory):
    _book(factory)
    child = _child(db_url, "run")
    _wait_for(child, "stored")
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)

    assert run(factory, TODAY, SETTINGS).queued == 0  # the restarted run finds them stored
    with SmtpServer() as server:
        Sender(factory, Mailer(_mail(server.port))).drain()
        assert Sender(factory, Mailer(_mail(server.port))).drain().sent == 0
        assert _per_customer(server) == {f"C-{n}": 1 for n in range(CUSTOMERS)}


class _Slow(_Handler):
    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.3)
        return await super().handle_DATA(server, session, envelope)


def test_sigkill_while_sending__none_is_skipped_and_only_those_in_flight_repeat(db_url, factory):
    _book(factory)
    run(factory, TODAY, SETTINGS)
    with SmtpServer() as server:
        server.controller.handler = _Slow(server)
        child = _child(db_url, "send", str(server.port))
        _wait_for(child, "sending")
        deadline = time.monotonic() + 30
        while len(server.received()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        time.sleep(2.5)  # the dead sender's claim (2 s) runs out
        Sender(factory, Mailer(_mail(server.port))).drain()
        counts = _per_customer(server)
    assert set(counts) == {f"C-{n}" for n in range(CUSTOMERS)}  # none skipped
    # Only messages handed over as it died (one per connection) may repeat, each with its own
    # Message-ID unchanged, so a mail system can drop the copy.
    assert sum(counts.values()) - CUSTOMERS <= CONNECTIONS
    for customer in (c for c, n in counts.items() if n > 1):
        ids = {
            m["Message-ID"] for m in server.received() if m["X-Credit-Control-Customer"] == customer
        }
        assert len(ids) == 1
