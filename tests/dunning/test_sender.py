"""Delivery to a real SMTP server (aiosmtpd in this process): TLS, refusals, dropped
connections, and what a sent reminder leaves for Salesforce."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service.config import MailSettings
from service.credit import default_policy
from service.db import transaction
from service.dunning import queue
from service.dunning.render import Company
from service.dunning.run import Settings, run
from service.dunning.sender import Sender
from service.dunning.smtp import Mailer
from service.models import CollectionAction, Customer, DunningMessage, OutboxMessage
from tests.dunning.seed import TODAY, add_customer, add_invoice
from tests.dunning.smtp_server import SmtpServer, free_port, self_signed

SETTINGS = Settings(default_policy(), Company("Northwind Supplies"), "northwind.example")
FROM = "Northwind Billing <billing@northwind.example>"


def _mail(port: int, **kw) -> MailSettings:
    return MailSettings(host="127.0.0.1", port=port, mail_from=FROM, timeout=5, **kw)


def _book(factory, customers: int = 3) -> None:
    with transaction(factory) as session:
        for n in range(customers):
            c = add_customer(session, f"C-{n}", email=f"ap{n}@customer{n}.example")
            add_invoice(session, c, f"{n}", 20, "150.00")
    run(factory, TODAY, SETTINGS)


def _statuses(factory) -> list[tuple[str, int]]:
    with factory() as session:
        return list(session.execute(select(DunningMessage.status, DunningMessage.attempts)).all())


def test_sender__delivers_each_reminder_once_with_its_message_id_and_customer(factory):
    _book(factory)
    with SmtpServer() as server:
        report = Sender(factory, Mailer(_mail(server.port))).drain()
        again = Sender(factory, Mailer(_mail(server.port))).drain()
        got = server.received()
    assert report.sent == 3 and again.sent == 0 and len(got) == 3
    with factory() as session:
        ids = set(session.scalars(select(DunningMessage.message_id)))
    assert {m["Message-ID"] for m in got} == ids
    first = next(m for m in got if m["X-Credit-Control-Customer"] == "C-0")
    assert first["To"] == "ap0@customer0.example" and first["From"] == FROM
    assert "C-0" in first["Subject"]
    parts = [p.get_content_type() for p in first.walk()]
    assert parts == ["multipart/alternative", "text/plain", "text/html"]
    assert all(s == ("sent", 0) for s in _statuses(factory))


def test_sender__a_sent_reminder_is_logged_for_salesforce(factory):
    _book(factory, customers=1)
    with SmtpServer() as server:
        Sender(factory, Mailer(_mail(server.port))).drain()
    with factory() as session:
        (action,) = session.scalars(select(CollectionAction))
        assert (action.type, action.origin, action.outcome) == (
            "Reminder Sent",
            "Service",
            "Level 2",
        )
        assert "EUR 150.00" in action.notes and "Pay link:" in action.notes
        assert session.scalar(select(Customer.dunning_level_sent)) == 2
        targets = set(session.scalars(select(OutboxMessage.target)))
        assert {f"Collection_Action__c:{action.id}", "Account:1"} <= targets


def test_sender__starttls_with_login_and_a_verified_certificate(factory, tmp_path):
    cert = self_signed(tmp_path)
    _book(factory, customers=2)
    with SmtpServer(tls=True, auth=True, cert=cert) as server:
        mail = _mail(server.port, starttls=True, username="user", password="secret",
                     ca_bundle=str(cert[0]))  # fmt: skip
        report = Sender(factory, Mailer(mail)).drain()
        assert report.sent == 2 and len(server.received()) == 2


def test_sender__implicit_tls(factory, tmp_path):
    cert = self_signed(tmp_path)
    _book(factory, customers=1)
    with SmtpServer(implicit=True, cert=cert) as server:
        report = Sender(
            factory, Mailer(_mail(server.port, implicit_tls=True, ca_bundle=str(cert[0])))
        ).drain()
        assert report.sent == 1 and len(server.received()) == 1


def test_sender__an_untrusted_certificate__sends_nothing_and_keeps_the_messages(factory, tmp_path):
    _book(factory, customers=1)
    with SmtpServer(tls=True, cert=self_signed(tmp_path)) as server:
        report = Sender(factory, Mailer(_mail(server.port, starttls=True))).drain()
        assert report.sent == 0 and server.received() == []
    assert _statuses(factory) == [("queued", 1)]


def test_sender__a_server_refusing_the_recipient__parks_the_message_with_the_error(factory):
    _book(factory, customers=2)
    with SmtpServer("refuse") as server:
        report = Sender(factory, Mailer(_mail(server.port))).drain()
    assert report.parked == 2 and report.sent == 0
    with factory() as session:
        errors = list(session.scalars(select(DunningMessage.last_error)))
        assert all("550" in e for e in errors)
        assert session.scalars(select(CollectionAction)).all() == []
        assert queue.retry_parked(session) == 2


def test_sender__a_busy_server_or_none_at_all__retries_later_and_loses_nothing(factory):
    _book(factory, customers=2)
    with SmtpServer("busy") as server:
        busy = Sender(factory, Mailer(_mail(server.port))).drain()
    assert busy.retried == 2 and _statuses(factory) == [("queued", 1), ("queued", 1)]
    nobody = Sender(factory, Mailer(_mail(free_port()))).drain()  # not due again yet
    assert nobody.retried == 0
    with transaction(factory) as session:
        session.execute(
            DunningMessage.__table__.update().values(available_at=DunningMessage.created_at)
        )
    nobody = Sender(factory, Mailer(_mail(free_port()))).drain()
    assert nobody.retried == 2 and _statuses(factory) == [("queued", 2), ("queued", 2)]
    with transaction(factory) as session:
        session.execute(
            DunningMessage.__table__.update().values(available_at=DunningMessage.created_at)
        )
    with SmtpServer() as server:
        assert Sender(factory, Mailer(_mail(server.port))).drain().sent == 2
        assert len(server.received()) == 2


def test_sender__a_connection_dropped_mid_message__is_retried_and_sent_once(factory):
    _book(factory, customers=2)
    with SmtpServer("drop") as server:
        dropped = Sender(factory, Mailer(_mail(server.port))).drain()
        assert dropped.sent == 0 and dropped.retried == 2 and server.received() == []
        server.mode = "ok"
        with transaction(factory) as session:
            session.execute(
                DunningMessage.__table__.update().values(available_at=DunningMessage.created_at)
            )
        assert Sender(factory, Mailer(_mail(server.port))).drain().sent == 2
        assert sorted(m["X-Credit-Control-Customer"] for m in server.received()) == ["C-0", "C-1"]


def test_sender__a_claim_that_ran_out_is_taken_over_and_the_first_sender_cannot_mark_it(factory):
    _book(factory, customers=1)
    with transaction(factory) as session:
        stale = queue.claim(session, 10, timedelta(seconds=-1))  # a sender that died at once
    with SmtpServer() as server:
        assert Sender(factory, Mailer(_mail(server.port))).drain().sent == 1
    with transaction(factory) as session:
        assert not queue.mark_sent(session, stale.messages[0].id, stale.token)


@pytest.mark.parametrize("url_kw", [{"starttls": True}, {}])
def test_mail_settings__never_send_credentials_in_the_clear(url_kw):
    from service.config import load_config
    from service.errors import ConfigError

    env = {"CREDIT_CONTROL_SQLITE": "1", "MAIL_FROM": FROM}
    if url_kw:
        config = load_config(
            {**env, "SMTP_URL": "smtp://u:p@mail.example.com?starttls=true"}, require=()
        )
        assert config.mail.starttls and config.mail.password == "p" and "p@" not in repr(config)
    else:
        with pytest.raises(ConfigError, match="SMTP_URL"):
            load_config({**env, "SMTP_URL": "smtp://u:p@mail.example.com"}, require=())


def test_sender__a_level_that_attaches_the_statement__sends_it_as_a_pdf(factory):
    with transaction(factory) as session:
        c = add_customer(session, "C-7", email="ap@c7.example", language="de")
        add_invoice(session, c, "1", 33, "1240.00")  # the final notice attaches the statement
        add_invoice(session, c, "2", -5, "80.00")  # not due yet: on the statement, not the notice
    run(factory, TODAY, SETTINGS)
    with SmtpServer() as server:
        Sender(factory, Mailer(_mail(server.port)), company=SETTINGS.company).drain()
        (mail,) = server.received()
    pdfs = [p for p in mail.walk() if p.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1
    assert pdfs[0].get_filename().startswith("kontoauszug-C-7-")
    data = pdfs[0].get_payload(decode=True)
    assert data.startswith(b"%PDF")


def test_build_message__a_customer_number_with_line_breaks_cannot_add_headers():
    from datetime import UTC, datetime
    from decimal import Decimal
    from email import message_from_bytes

    from service.dunning.sender import build_message

    m = DunningMessage(
        recipients=["ap@x.example"], subject="Reminder (customer C-1\r\nBcc: victim@example.com)",
        created_at=datetime(2026, 3, 16, tzinfo=UTC), message_id="<1@x>", level=1,
        language="en", body_text="t", body_html="<p>h</p>", total=Decimal(1),
    )  # fmt: skip
    raw = build_message(m, "C-1\nBcc: victim@example.com", FROM).as_bytes()
    parsed = message_from_bytes(raw)
    assert parsed["Bcc"] is None
    assert "victim" in parsed["Subject"] and "\n" not in parsed["X-Credit-Control-Customer"]


@pytest.mark.parametrize(
    ("subject", "number", "recipients"),
    [
        ("Payment reminder: £4,680.05 overdue (customer C-3)", "C-3", ["ap@c3.example"]),
        ("Friendly reminder: EUR 10.00 overdue (customer C-1)", "C-1", ["ap@c1.example"]),
        ("Two  spaces and a tab\there (customer C-2)", " C-2 ", ["a@x.example", "b@x.example"]),
        ("x" * 60, "C-" + "9" * 70, [f"billing{n}@customer.example" for n in range(12)]),
        ("Letzte Mahnung: 1.234,50 € überfällig (Kunde K-ÄÖ)", "K-ÄÖ", ["ap@k.example"]),
        ("=?utf-8?q?looks_encoded?= (customer C-4)", "C-4;x=1", ["ap@c4.example"]),
    ],
)
def test_build_message__is_written_byte_for_byte_as_compat32_writes_it(subject, number, recipients):
    """The sender's mail policy writes short plain headers without the email package's
    folding machinery; the bytes must be what compat32 itself writes."""
    import io
    from datetime import UTC, datetime
    from decimal import Decimal
    from email.generator import BytesGenerator
    from email.policy import compat32

    from service.dunning.sender import build_message

    m = DunningMessage(
        recipients=recipients, subject=subject, created_at=datetime(2026, 3, 16, tzinfo=UTC),
        message_id="<17965492.19623.83064@bench.example>", level=3, language="de",
        body_text="Sehr geehrte Damen und Herren,\n\nbitte zahlen Sie.", body_html="<p>Grüße</p>",
        total=Decimal("1234.50"),
    )  # fmt: skip
    for attachment in (None, ("kontoauszug-C-3.pdf", b"%PDF-1.4 not really")):
        message = build_message(m, number, FROM, attachment)
        written = []
        for policy in (None, compat32.clone(linesep="\r\n")):
            out = io.BytesIO()
            BytesGenerator(out, policy=policy).flatten(message, linesep="\r\n")
            written.append(out.getvalue())
        assert written[0] == written[1]


def test_sender__marks_written_together__each_only_while_its_claim_holds(factory):
    """Messages the connections finish at once are marked in one transaction; one whose claim
    another sender took over meanwhile is left to that sender and not logged."""
    from service.dunning.sender import _GroupCommit, _Mark

    _book(factory, customers=3)
    with transaction(factory) as session:
        claim = queue.claim(session, 10, timedelta(minutes=5))
        for m in claim.messages:
            session.expunge(m)
    taken = claim.messages[1]
    with transaction(factory) as session:
        session.get(DunningMessage, taken.id).claim_token = "another-sender"

    with factory() as session:
        before = session.scalar(select(func.max(OutboxMessage.id)))
    group = [_Mark(m, claim.token) for m in claim.messages]
    _GroupCommit(factory)._write(group)

    assert [g.sent for g in group] == [True, False, True] and all(g.done for g in group)
    with factory() as session:
        statuses = dict(session.execute(select(DunningMessage.id, DunningMessage.status)).all())
        assert statuses == {claim.messages[0].id: "sent", taken.id: "sending",
                            claim.messages[2].id: "sent"}  # fmt: skip
        logged = session.scalars(select(CollectionAction.customer_id).order_by(CollectionAction.id))
        assert list(logged) == [claim.messages[0].customer_id, claim.messages[2].customer_id]
        pushed = session.scalars(select(OutboxMessage.target).where(OutboxMessage.id > before))
        assert sorted(pushed) == sorted(
            [f"Account:{claim.messages[0].customer_id}", f"Account:{claim.messages[2].customer_id}"]
            + [f"Collection_Action__c:{n}" for n in (1, 2)]
        )
