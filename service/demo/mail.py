"""The demo's dunning story: a local SMTP sink (aiosmtpd) that writes each message it receives
to ``var/mail/<n>-<customer>.eml``, and one dunning run over the demo book sent to it."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable
from datetime import date, timedelta
from email import message_from_bytes
from pathlib import Path

from service.config import MailSettings
from service.dunning.render import Company
from service.dunning.rules import dunning_rules
from service.dunning.run import Settings, run
from service.dunning.sender import Sender
from service.dunning.smtp import Mailer
from service.extensions import EXTENSION

MAIL_DIR = Path("var") / "mail"


class _Sink:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.written: list[Path] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content)
        customer = re.sub(r"[^A-Za-z0-9-]", "", message.get("X-Credit-Control-Customer", "x"))
        with self.lock:
            path = self.directory / f"{len(self.written) + 1:03d}-{customer}.eml"
            path.write_bytes(envelope.content)
            self.written.append(path)
        return "250 Message accepted"


def start_mail_sink(directory: Path = MAIL_DIR):
    """An SMTP server on a free local port that files every message; returns (controller, sink)."""
    from aiosmtpd.controller import Controller  # a development dependency, like the demo

    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.eml"):
        old.unlink()
    sink = _Sink(directory)
    with socket.socket() as probe:  # aiosmtpd needs the port up front
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, sink


def run_demo_dunning(app, today: date, echo: Callable[[str], None]) -> list[Path]:
    """Run dunning on the demo book through the sink and say where the messages are."""
    svc = app.extensions[EXTENSION]
    policy = svc.policy
    rules = dunning_rules(policy)
    day = today
    while not rules.is_business_day(day):  # reminders go out on business days only
        day -= timedelta(days=1)
    controller, sink = start_mail_sink()
    try:
        port = controller.port
        mail = MailSettings(
            host="127.0.0.1", port=port, mail_from="Northwind Billing <billing@northwind.example>"
        )
        settings = Settings(
            policy,
            Company("Northwind Supplies Ltd", "1 Harbour Road; Hamburg 20457; Germany"),
            mail.domain,
            svc.config.pay_links,
        )
        report = run(svc.sessions, day, settings)
        sent = Sender(svc.sessions, Mailer(mail), company=settings.company).drain()
    finally:
        controller.stop()
    echo("")
    note = "" if day == today else f" (today is not a business day: as of {day})"
    echo(f"Dunning{note}: {sent.sent} reminders sent to a local mail sink, written to {MAIL_DIR}/")
    for path in sink.written[:5]:
        echo(f"  {path}")
    if len(sink.written) > 5:
        echo(f"  ... and {len(sink.written) - 5} more")
    if report.no_recipient:
        echo(f"  no billing e-mail, no reminder: {', '.join(report.no_recipient)}")
    skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(report.skipped.items()))
    if skipped:
        echo(f"  not sent: {skipped}")
    return sink.written
