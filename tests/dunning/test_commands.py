"""``credit-control dunning preview|run``: what an operator types, against a real SMTP server."""

from __future__ import annotations

from service.cli import main
from service.db import transaction
from service.models import BillingContact
from tests.dunning.seed import add_customer, add_invoice
from tests.dunning.smtp_server import SmtpServer


def _book(factory):
    with transaction(factory) as session:
        add_invoice(
            session, add_customer(session, "C-1", email="ap@c1.example"), "1", 20, "1500.00"
        )
        add_invoice(session, add_customer(session, "C-2", email=None), "2", 20, "99.00")


def test_dunning_preview__prints_what_would_go_out_and_sends_nothing(runner, factory):
    _book(factory)
    result = runner.invoke(main, ["dunning", "preview", "--as-of", "2026-03-16"])
    assert result.exit_code == 0, result.output
    assert "C-1" in result.output and "2 reminder" in result.output
    assert "EUR     1,500.00" in result.output and "INV-1 (20d)" in result.output
    assert "ap@c1.example" in result.output
    assert "no recipient (no message): C-2" in result.output
    again = runner.invoke(main, ["dunning", "preview", "--as-of", "2026-03-16"])
    assert "1 reminders due, 0 queued" in again.output  # nothing was stored


def test_dunning_run__sends_once_however_often_it_is_run(runner, factory, monkeypatch):
    _book(factory)
    with SmtpServer() as server:
        monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{server.port}")
        monkeypatch.setenv("MAIL_FROM", "billing@northwind.example")
        first = runner.invoke(main, ["dunning", "run", "--as-of", "2026-03-16"])
        second = runner.invoke(main, ["dunning", "run", "--as-of", "2026-03-16"])
        assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
        assert "sent 1," in first.output and "sent 0," in second.output
        assert "0 queued" in second.output and "1 already sent today" in second.output
        assert len(server.received()) == 1


def test_dunning_run__a_bad_smtp_url_is_one_clear_line(runner, monkeypatch):
    monkeypatch.setenv("SMTP_URL", "http://mail.example.com")
    monkeypatch.setenv("MAIL_FROM", "billing@northwind.example")
    result = runner.invoke(main, ["dunning", "run"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("Error: SMTP_URL is malformed")


def test_dunning_preview__names_billing_contacts_and_the_addresses_it_ignores(runner, factory):
    account = "001000000000001AAA"
    with transaction(factory) as session:
        c = add_customer(session, "C-3", email=None, salesforce_account_id=account)
        add_invoice(session, c, "3", 20, "300.00")
        session.add_all([
            BillingContact(contact_id="003000000000001AAA", account_id=account,
                           email="anna@c3.example"),
            BillingContact(contact_id="003000000000002AAA", account_id=account,
                           email="ap at c3.example"),
        ])  # fmt: skip
    result = runner.invoke(main, ["dunning", "preview", "--as-of", "2026-03-16"])
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.output.splitlines() if x.startswith("C-3")]
    assert line.endswith("anna@c3.example")
    assert (
        "address ignored: C-3: billing contact 003000000000002AAA: Email 'ap at c3.example' is not"
        " an e-mail address; ignored" in result.output
    )
