"""The sender: takes stored reminders off the queue and delivers them over SMTP.

For each message sent, one transaction marks it ``sent`` (fenced by the claim), logs a
``Reminder Sent`` collection action (source Service: level, amount, pay link) queued for
Salesforce as a ``Collection_Action__c``, sets the customer's ``dunning_level_sent`` and queues
the Account push (Dunning_Level__c, Next_Reminder_Date__c). A temporary failure puts the message
back with a growing delay; a permanent one parks it with the server's answer.
"""

from __future__ import annotations

import logging
import random
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import format_datetime

from sqlalchemy import bindparam, insert, select, update
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
    Every part is base64 (``utf-8`` text, the PDF), so a random boundary given up front
    cannot occur in it: the generator need not flatten the parts once more to check.
    """
    body = MIMEMultipart("alternative", boundary=_boundary(), policy=MAIL_POLICY)
    body.attach(MIMEText(m.body_text, "plain", "utf-8", policy=MAIL_POLICY))
    body.attach(MIMEText(m.body_html, "html", "utf-8", policy=MAIL_POLICY))
    if attachment is None:
        msg = body
    else:
        msg = MIMEMultipart("mixed", boundary=_boundary(), policy=MAIL_POLICY)
        msg.attach(body)
        pdf = MIMEApplication(attachment[1], "pdf", policy=MAIL_POLICY)
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


class _MailPolicy(Compat32):
    """compat32, except that a header of plain ASCII words that fits on its line is written
    as it is: what compat32's folding gives for it too (a test compares them), without
    building a ``Header`` object for each header of each message."""

    def fold(self, name: str, value: str) -> str:
        if self._fits(name, value):
            return f"{name}: {value}{self.linesep}"
        return super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        if self._fits(name, value):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)

    def _fits(self, name: str, value: object) -> bool:
        return (
            isinstance(value, str)
            and bool(self.max_line_length)
            and len(name) + len(value) + 2 <= self.max_line_length
            and _PLAIN_WORDS.fullmatch(value) is not None
        )


_PLAIN_WORDS = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")
MAIL_POLICY = _MailPolicy()


def _boundary() -> str:
    """A unique boundary (no secret: the standard library draws its own from ``random``),
    short enough that the Content-Type header needs no folding."""
    return f"=_{random.getrandbits(96):024x}"


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
    the ``Reminder Sent`` action."""
    return record_sent_many(session, [m])[0]


def record_sent_many(session: Session, messages: Sequence[DunningMessage]) -> list[int]:
    """``record_sent`` for several messages, a statement for each kind of row; the actions'
    ids in the order of ``messages``.

    Core statements rather than ORM objects: this runs for every message sent and the ORM's
    unit of work cost more than the SMTP exchange. The Account rows may duplicate ones already
    pending; the pusher coalesces rows per target.
    """
    if not messages:
        return []
    now = utcnow()
    conn = session.connection()
    action_ids = list(
        conn.scalars(
            _INSERT_ACTIONS,
            [
                {
                    "customer_id": m.customer_id,
                    "type": REMINDER_SENT,
                    "origin": SERVICE,
                    "outcome": f"Level {m.level}",
                    "notes": _notes(m),
                    "occurred_at": now,
                    "updated_at": now,
                    "is_deleted": False,
                }
                for m in messages
            ],
        )
    )
    conn.execute(_LEVEL_SENT, [{"b_customer": m.customer_id, "b_level": m.level} for m in messages])
    row = {"payload": {}, "status": outbox.PENDING, "attempts": 0, "available_at": now,
           "created_at": now}  # fmt: skip
    pushes = []
    for m, action_id in zip(messages, action_ids, strict=True):
        pushes.append(
            {"kind": outbox.COLLECTION_ACTION, "target": outbox.collection_action_target(action_id),
             **row}
        )  # fmt: skip
        pushes.append(
            {"kind": outbox.ACCOUNT, "target": outbox.account_target(m.customer_id), **row}
        )
    conn.execute(_INSERT_PUSHES, pushes)
    return action_ids


_ACTIONS = CollectionAction.__table__
_INSERT_ACTIONS = insert(_ACTIONS).returning(_ACTIONS.c.id, sort_by_parameter_order=True)
_CUSTOMERS = Customer.__table__
_LEVEL_SENT = (
    update(_CUSTOMERS)
    .where(_CUSTOMERS.c.id == bindparam("b_customer"))
    .values(dunning_level_sent=bindparam("b_level"))
)
_INSERT_PUSHES = insert(OutboxMessage.__table__)


@dataclass
class _Mark:
    message: DunningMessage
    token: str
    done: bool = False
    sent: bool = False
    error: BaseException | None = None


class _GroupCommit:
    """Marks messages sent in as few transactions as the connections allow.

    Each connection hands over the message the server has just accepted and waits until its
    mark is committed before it sends another, so a sender killed in between repeats at most
    one message per connection. While one transaction writes, the messages the other
    connections finish queue up, and the next connection to get here writes them all in one
    transaction (one per message cost more than the SMTP exchange).
    """

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self._queue_lock = threading.Lock()
        self._pending: list[_Mark] = []
        self._writing = threading.Lock()

    def mark_sent(self, message: DunningMessage, token: str) -> bool:
        """True once marked sent and recorded; False when the claim was lost meanwhile."""
        mark = _Mark(message, token)
        with self._queue_lock:
            self._pending.append(mark)
        with self._writing:
            if not mark.done:
                with self._queue_lock:
                    group, self._pending = self._pending, []
                self._write(group)
        if mark.error is not None:
            raise RuntimeError("marking sent reminders failed") from mark.error
        return mark.sent

    def _write(self, group: list[_Mark]) -> None:
        try:
            with transaction(self.factory) as session:
                held = queue.mark_sent_many(session, [(g.message.id, g.token) for g in group])
                record_sent_many(session, [g.message for g in group if g.message.id in held])
        except BaseException as exc:  # the others in the group raise it too, chained
            for g in group:
                g.error, g.done = exc, True
            raise
        for g in group:
            g.sent, g.done = g.message.id in held, True


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
        self.marks = _GroupCommit(factory)
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
                    self.mailer.send(conn, mail, m.recipients)
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
                if self.marks.mark_sent(m, claim.token):
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
