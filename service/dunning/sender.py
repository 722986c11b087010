"""The sender: takes stored reminders off the queue and delivers them over SMTP.

For each message sent, one transaction marks it ``sent`` (fenced by the claim), logs a
``Reminder Sent`` collection action (source Service: level, amount, pay link) queued for
Salesforce as a ``Collection_Action__c``, sets the customer's ``dunning_level_sent`` and queues
the Account push (Dunning_Level__c, Next_Reminder_Date__c). A temporary failure puts the message
back with a growing delay; a permanent one parks it with the server's answer.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from service import outbox
from service.db import transaction, utcnow
from service.dunning import queue
from service.dunning.render import Company
from service.dunning.smtp import ConnectionFailure, Mailer, PermanentFailure, TemporaryFailure
from service.dunning.smtp import close as close_connection
from service.dunning.statement import statement_filename, statement_pdf
from service.models import CollectionAction, Customer, DunningMessage, OutboxMessage

log = logging.getLogger(__name__)

REMINDER_SENT = "Reminder Sent"
SERVICE = "Service"
BATCH = 100
LEASE = timedelta(minutes=5)
CONNECTIONS = 4


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    parked: int = 0
    lost_claims: int = 0
    errors: list[str] = field(default_factory=list)


def build_message(
    m: DunningMessage,
    customer_number: str,
    mail_from: str,
    attachment: tuple[str, bytes] | None = None,
) -> MIMEMultipart:
    """The message as sent: text and HTML alternatives (and the statement PDF, when the level
    attaches one), our Message-ID and the customer.

    Built with the email package's classic (compat32) classes: the modern ``EmailMessage``
    re-parses every header it is given, which costs more than the SMTP exchange itself.
    """
    body = MIMEMultipart("alternative")
    body.attach(MIMEText(m.body_text, "plain", "utf-8"))
    body.attach(MIMEText(m.body_html, "html", "utf-8"))
    if attachment is None:
        msg = body
    else:
        msg = MIMEMultipart("mixed")
        msg.attach(body)
        pdf = MIMEApplication(attachment[1], "pdf")
        pdf.add_header("Content-Disposition", "attachment", filename=attachment[0])
        msg.attach(pdf)
    msg["From"] = mail_from
    msg["To"] = ", ".join(m.recipients)
    subject = _one_line(m.subject)
    msg["Subject"] = Header(subject, "utf-8") if not subject.isascii() else subject
    msg["Date"] = format_datetime(m.created_at)
    msg["Message-ID"] = m.message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Credit-Control-Customer"] = _one_line(customer_number)
    msg["X-Credit-Control-Level"] = str(m.level)
    msg["Content-Language"] = m.language
    return msg


def _one_line(value: str) -> str:
    """A header value from data we were sent (a customer number, a subject naming it) can
    never start a header of its own: line breaks become spaces."""
    return " ".join(value.splitlines())


def _notes(m: DunningMessage) -> str:
    lines = [
        f"Level {m.level} ({m.template}) sent to {', '.join(m.recipients)}",
        f"Amount: {m.currency} {m.total:.2f} on {len(m.items)} invoice(s)",
        f"Pay link: {m.pay_link or 'none'}",
        f"Message-ID: {m.message_id}",
    ]
    if m.requested:
        lines.insert(1, "Requested from Salesforce")
    return "\n".join(lines)


def record_sent(session: Session, m: DunningMessage) -> int:
    """What a sent reminder changes, in the transaction that marks it sent; returns the id of
    the ``Reminder Sent`` action.

    Core statements rather than ORM objects: this transaction runs once per message and the
    ORM's unit of work cost more than the SMTP exchange. The Account row may duplicate one
    already pending; the pusher coalesces rows per target.
    """
    now = utcnow()
    actions = CollectionAction.__table__
    action_id = session.execute(
        insert(actions)
        .values(
            customer_id=m.customer_id,
            type=REMINDER_SENT,
            origin=SERVICE,
            outcome=f"Level {m.level}",
            notes=_notes(m),
            occurred_at=now,
            updated_at=now,
            is_deleted=False,
        )
        .returning(actions.c.id)
    ).scalar_one()
    session.execute(
        update(Customer.__table__)
        .where(Customer.__table__.c.id == m.customer_id)
        .values(dunning_level_sent=m.level)
    )
    row = {
        "payload": {},
        "status": outbox.PENDING,
        "attempts": 0,
        "available_at": now,
        "created_at": now,
    }
    session.execute(
        insert(OutboxMessage.__table__),
        [
            {
                "kind": outbox.COLLECTION_ACTION,
                "target": outbox.collection_action_target(action_id),
                **row,
            },
            {"kind": outbox.ACCOUNT, "target": outbox.account_target(m.customer_id), **row},
        ],
    )
    return action_id


class Sender:
    """Drains the queue; ``drain()`` once (the command), ``run()`` as a worker thread."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        mailer: Mailer,
        stop: threading.Event | None = None,
        *,
        batch: int = BATCH,
        lease: timedelta = LEASE,
        poll_seconds: float = 5.0,
        connections: int = CONNECTIONS,
        company: Company | None = None,
    ) -> None:
        self.factory = factory
        self.mailer = mailer
        self.stop = stop or threading.Event()
        self.batch = batch
        self.lease = lease
        self.poll_seconds = poll_seconds
        # SMTP is a conversation of round trips: a few connections at once hide their waits.
        self.connections = max(1, connections)
        # Who the statement PDFs come from; None: levels that attach one are sent without.
        self.company = company
        self.kick = threading.Event()
        # Held while the worker's loop drains (shutdown waits for it: each connection stops
        # after the message in hand and hands its other claimed rows back).
        self.busy = threading.Lock()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with self.busy:
                    report = self.drain()
            except Exception:
                log.exception("dunning sender failed; trying again shortly")
                report = SendReport()
            if report.sent or report.retried or report.parked:
                continue
            self.kick.wait(self.poll_seconds)
            self.kick.clear()

    def drain(self) -> SendReport:
        """Send everything due now over ``connections`` SMTP connections; what happened."""
        if self.connections == 1:
            return self._drain_one()
        reports: list[SendReport] = []
        threads = [
            threading.Thread(target=lambda: reports.append(self._drain_one()), daemon=True)
            for _ in range(self.connections)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total = SendReport()
        for r in reports:
            total.sent += r.sent
            total.retried += r.retried
            total.parked += r.parked
            total.lost_claims += r.lost_claims
            total.errors += r.errors
        return total

    def _drain_one(self) -> SendReport:
        report = SendReport()
        while not self.stop.is_set():
            with transaction(self.factory) as session:
                claim = queue.claim(session, self.batch, self.lease)
                numbers = dict(
                    session.execute(
                        select(Customer.id, Customer.number).where(
                            Customer.id.in_({m.customer_id for m in claim.messages})
                        )
                    ).all()
                )
                for m in claim.messages:
                    session.expunge(m)
            if not claim.messages:
                return report
            self._send_batch(claim, numbers, report)
        return report

    def _send_batch(self, claim: queue.Claim, numbers: dict[int, str], report: SendReport) -> None:
        conn = None
        pending = list(claim.messages)
        try:
            while pending:
                if self.stop.is_set():
                    with transaction(self.factory) as session:
                        queue.release(session, pending, claim.token)
                    return
                m = pending[0]
                if conn is None:
                    try:
                        conn = self.mailer.connect()
                    except ConnectionFailure as exc:
                        log.warning("SMTP server not reachable: %s", exc)
                        self._settle(pending, claim.token, str(exc), report, park=False)
                        return
                number = numbers.get(m.customer_id, "?")
                try:
                    attachment = self._statement(m, number)
                except Exception as exc:  # a PDF that cannot be made now: try again later
                    log.exception("statement for reminder %s could not be rendered", m.id)
                    self._settle([m], claim.token, f"statement PDF: {exc}", report, park=False)
                    pending.pop(0)
                    continue
                mail = build_message(m, number, self.mailer.settings.mail_from, attachment)
                try:
                    self.mailer.send(conn, mail)
                except PermanentFailure as exc:
                    self._settle([m], claim.token, str(exc), report, park=True)
                    pending.pop(0)
                    continue
                except ConnectionFailure as exc:
                    self._settle(pending, claim.token, str(exc), report, park=False)
                    return
                except TemporaryFailure as exc:
                    self._settle([m], claim.token, str(exc), report, park=False)
                    pending.pop(0)
                    close_connection(conn)  # the session may be unusable now: start afresh
                    conn = None
                    continue
                with transaction(self.factory) as session:
                    if queue.mark_sent(session, m.id, claim.token):
                        record_sent(session, m)
                        report.sent += 1
                    else:
                        report.lost_claims += 1
                pending.pop(0)
        finally:
            close_connection(conn)

    def _statement(self, m: DunningMessage, number: str) -> tuple[str, bytes] | None:
        if not m.attach_statement or self.company is None:
            return None
        today = utcnow().date()
        with self.factory() as session:
            pdf = statement_pdf(session, m, self.company, today)
        return statement_filename(m, number, today), pdf

    def _settle(
        self,
        messages: list[DunningMessage],
        token: str,
        error: str,
        report: SendReport,
        *,
        park: bool,
    ) -> None:
        now = utcnow()
        with transaction(self.factory) as session:
            for m in messages:
                if park:
                    queue.mark_parked(session, m, token, error)
                    report.parked += 1
                    log.warning("reminder %s parked: %s", m.id, error)
                else:
                    queue.mark_retry(session, m, token, error, now)
                    report.retried += 1
        report.errors.append(error)
