"""Bank credits applied as in-flight cash on both databases: the same path as a card payment
(provisional payment, re-assessed at once, superseded by the ERP's posting, reversed by the bank)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from service import payment_matching
from service.assessments import reassess
from service.cash_application import applying, matching
from service.db import transaction
from service.models import (
    PROVISIONAL,
    REVERSED,
    SUPERSEDED,
    CashApplication,
    KnownPayer,
    OutboxMessage,
    Payment,
)
from tests.cash_application.books import (
    TODAY,
    credit,
    open_in_flight,
    payments,
    seed,
    status,
)
from tests.conftest import snapshot


def _apply(factory, *credits, threshold=90):
    with transaction(factory) as s:
        return applying.apply_credits(s, list(credits), threshold=threshold, as_of=TODAY)


def _assess(factory, ids):
    with transaction(factory) as s:
        reassess(s, ids, TODAY)


def test_a_credit_naming_two_invoices_pays_both_and_lifts_the_hold(factory):
    ids = seed(factory)
    _assess(factory, list(ids.values()))
    assert status(factory, ids["C-100"]) == "HOLD"

    report = _apply(factory, credit("1000.00", "Rechnung INV 1001 und inv-1002 Acme"))

    assert report.applied == 1 and report.customers == {ids["C-100"]}
    [payment] = payments(factory)
    assert payment.status == PROVISIONAL and payment.amount == Decimal("1000.00")
    assert sorted(a.amount for a in payment.allocations) == [Decimal("400.00"), Decimal("600.00")]
    assert status(factory, ids["C-100"]) == "OK"
    with factory() as s:
        app = s.scalars(select(CashApplication)).one()
        assert app.status == "applied" and app.evidence == "invoice_number"
        assert "INV-1001" in app.reason and app.confidence >= 90
        targets = set(s.scalars(select(OutboxMessage.target)))
    assert f"Account:{ids['C-100']}" in targets


def test_the_same_credit_again_changes_nothing(db, factory):
    seed(factory)
    first = credit("1000.00", "INV-1001 INV-1002", transaction_id=42)
    _apply(factory, first)
    before = snapshot(db[0])

    report = _apply(factory, first)

    assert report.duplicate == 1 and report.applied == 0
    assert snapshot(db[0]) == before


def test_the_erp_posting_afterwards_supersedes_it_counted_once(factory):
    ids = seed(factory)
    _apply(factory, credit("1000.00", "INV-1001 INV-1002"))
    with transaction(factory) as s:
        posted = Payment(
            source="erp-main",
            external_id="PAY-9",
            customer_id=ids["C-100"],
            amount=Decimal("1000.00"),
            currency="EUR",
            received_at=datetime(2026, 3, 17, 8, tzinfo=UTC),
            reference="whatever the ERP writes",
        )
        s.add(posted)
        s.flush()
        changed = payment_matching.supersede_provisional(s, [posted.id])
    assert changed == {ids["C-100"]}
    [payment] = payments(factory)
    assert payment.status == SUPERSEDED and payment.superseded_by_id is not None


def test_the_erp_posting_first_makes_the_credit_count_once(factory):
    ids = seed(factory)
    with transaction(factory) as s:
        s.add(
            Payment(
                source="erp-main",
                external_id="PAY-1",
                customer_id=ids["C-100"],
                amount=Decimal("1000.00"),
                currency="EUR",
                received_at=datetime(2026, 3, 14, 8, tzinfo=UTC),
            )
        )
    _apply(factory, credit("1000.00", "INV-1001 INV-1002"))
    [payment] = payments(factory)
    assert payment.status == SUPERSEDED


def test_a_reversal_puts_the_customer_back(factory):
    ids = seed(factory)
    _assess(factory, list(ids.values()))
    _apply(factory, credit("1000.00", "INV-1001 INV-1002", transaction_id=7))
    assert status(factory, ids["C-100"]) == "OK"

    with transaction(factory) as s:
        assert applying.reverse_credit(s, 7, as_of=TODAY) == "reversed"

    assert status(factory, ids["C-100"]) == "HOLD"
    [payment] = payments(factory)
    assert payment.status == REVERSED
    assert open_in_flight(factory, "INV-1001") == Decimal("400.00")
    with transaction(factory) as s:
        assert applying.reverse_credit(s, 7, as_of=TODAY) == "already reversed"
        assert applying.reverse_credit(s, 8, as_of=TODAY) == "unknown"


def test_a_partial_payment_by_structured_reference_leaves_the_rest_open(factory):
    seed(factory)
    from service.cash_application.references import rf_reference

    _apply(factory, credit("150.00", references=(rf_reference("INV1001"),)))
    assert open_in_flight(factory, "INV-1001") == Decimal("250.00")


def test_an_overpayment_leaves_unapplied_cash_on_the_customer(factory):
    ids = seed(factory)
    from service.cash_application.references import qrr_reference

    _apply(factory, credit("1100.00", references=(qrr_reference("3001"),)))
    [payment] = payments(factory)
    assert payment.customer_id == ids["C-300"] and payment.amount == Decimal("1100.00")
    assert [a.amount for a in payment.allocations] == [Decimal("1000.00")]


def test_two_customers_paying_one_invoice_never_pay_it_twice(factory):
    seed(factory)
    from service.cash_application.references import rf_reference

    ref = (rf_reference("INV3001"),)
    report = _apply(
        factory,
        credit("500.00", references=ref, payer_iban="CH9300762011623852957"),
        credit("500.00", references=ref, payer_iban="DE89370400440532013000"),
    )
    assert report.applied == 2
    assert open_in_flight(factory, "INV-3001") == Decimal("0.00")
    # A third payer: the invoice is paid; the money waits for a person.
    report = _apply(factory, credit("500.00", references=ref))
    assert report.review == 1
    assert open_in_flight(factory, "INV-3001") == Decimal("0.00")


def test_one_payment_for_several_customers_pays_each(factory):
    ids = seed(factory)
    _apply(factory, credit("1250.00", "INV-3001, 2026/77"))
    by_customer = {p.customer_id: p.amount for p in payments(factory)}
    assert by_customer == {ids["C-300"]: Decimal("1000.00"), ids["C-200"]: Decimal("250.00")}


def test_a_payer_learned_from_one_payment_identifies_the_next(factory):
    ids = seed(factory)
    iban = "DE89 3704 0044 0532 0130 00"
    _apply(factory, credit("400.00", "INV-1001", payer_iban=iban))
    with factory() as s:
        assert s.scalars(select(KnownPayer.customer_id).where(KnownPayer.kind == "iban")).all() == [
            ids["C-100"]
        ]
    # No reference at all: the IBAN names the customer, the amount its one open invoice.
    report = _apply(factory, credit("600.00", "Zahlung", payer_iban=iban.replace(" ", "")))
    assert report.applied == 1
    assert open_in_flight(factory, "INV-1002") == Decimal("0.00")
    with factory() as s:  # seen twice: one row, counted twice
        rows = s.execute(select(KnownPayer.kind, KnownPayer.customer_id, KnownPayer.seen)).all()
    assert sorted(rows) == [("iban", ids["C-100"], 2), ("name", ids["C-100"], 2)]


def test_an_unknown_credit_waits_for_review_and_is_queued_for_salesforce(factory):
    seed(factory)
    report = _apply(
        factory,
        credit("77.00", "thanks"),
        credit("200.00", "Beta AG payment", payer_name="Beta AG"),
    )
    assert (report.unmatched, report.review, report.applied) == (1, 1, 0)
    with factory() as s:
        apps = s.scalars(select(CashApplication).order_by(CashApplication.id)).all()
        assert [a.status for a in apps] == ["unmatched", "review"]
        [best] = apps[1].candidates[:1]
        assert best["allocations"][0]["document_number"] == "2026-00077"
        assert "name" in best["reason"]
        targets = set(s.scalars(select(OutboxMessage.target)))
    assert {f"Bank_Credit_Review__c:{a.id}" for a in apps} <= targets
    assert payments(factory) == []


def test_a_person_applies_a_candidate_and_the_customer_is_reassessed(factory):
    ids = seed(factory)
    _apply(factory, credit("200.00", "Beta AG payment", payer_name="Beta AG"))
    with transaction(factory) as s:
        app = s.scalars(select(CashApplication)).one()
        customers, _items = applying.apply_candidate(s, app, 1, as_of=TODAY)
    assert customers == {ids["C-200"]}
    with factory() as s:
        app = s.scalars(select(CashApplication)).one()
        assert app.status == "applied" and app.decided_by == "salesforce"
    assert open_in_flight(factory, "2026-00077") == Decimal("50.00")
    with transaction(factory) as s:
        app = s.scalars(select(CashApplication)).one()
        try:
            applying.apply_candidate(s, app, 1, as_of=TODAY)
        except applying.NotApplicable as exc:
            assert "not waiting for review" in str(exc)
        else:
            raise AssertionError("applied twice")


def test_a_pay_link_reference_pays_the_invoices_of_the_link(factory):
    from service.models import Receivable
    from service.paylinks import link_id

    ids = seed(factory)
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJDLTIwMCJ9.c2lnbmF0dXJl"
    with transaction(factory) as s:
        item = s.scalars(select(Receivable).where(Receivable.number == "2026-00077")).one()
        item.pay_link = f"https://pay.example.com/pay/{token}"
    report = _apply(factory, credit("250.00", f"Ref PL-{link_id(token)}", payer_name=None))
    assert report.applied == 1
    [payment] = payments(factory)
    assert payment.customer_id == ids["C-200"]
    assert open_in_flight(factory, "2026-00077") == Decimal("0.00")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"transaction_id": None}, "stored"),
        ({"amount": Decimal("-5.00")}, "positive"),
        ({"amount": Decimal("0")}, "positive"),
        ({"amount": Decimal("NaN")}, "positive"),
        ({"amount": Decimal("Infinity")}, "positive"),
        ({"amount": Decimal("1e20")}, "too large"),
        ({"amount": Decimal("1.00001")}, "too precise"),
        ({"amount": 5.0}, "positive"),
        ({"currency": "EU"}, "ISO 4217"),
        ({"currency": "€€€"}, "ISO 4217"),
    ],
)
def test_a_credit_no_bank_could_send_is_refused_and_nothing_of_its_batch_written(
    db, factory, change, message
):
    from dataclasses import replace

    seed(factory)
    before = snapshot(db[0])
    good = credit("400.00", "INV-1001")
    bad = replace(credit("1.00", "x"), **change)
    with pytest.raises(applying.BadCredit, match=message), transaction(factory) as s:
        applying.apply_credits(s, [good, bad], as_of=TODAY)
    assert snapshot(db[0]) == before


def test_remittance_text_of_any_size_and_shape_is_read_without_harm(factory):
    seed(factory)
    noise = "INV-1001 " + "\u202e\x00€ RF00 " * 5000 + "2026/77 " + "9" * 10000
    report = _apply(factory, credit("650.00", noise, payer_name="\x00" * 300))
    assert report.applied + report.review + report.unmatched == 1


def test_a_book_read_before_another_credit_was_applied_never_pays_an_invoice_twice(factory):
    """Two imports at once: the second read the open book before the first committed."""
    seed(factory)
    with factory() as s:
        stale = applying.load_book(s, {"EUR"})
    _apply(factory, credit("400.00", "INV-1001", transaction_id=1))
    with transaction(factory) as s:
        report = applying.apply_credits(
            s, [credit("400.00", "INV-1001", transaction_id=2)], as_of=TODAY, book=stale
        )
    assert report.applied == 1
    assert open_in_flight(factory, "INV-1001") == Decimal("0.00")
    second = payments(factory)[1]
    assert second.amount == Decimal("400.00") and second.allocations == []  # unapplied cash


@pytest.mark.parametrize("seed_", [3, 11])
def test_a_batch_reads_only_what_its_credits_can_pay_and_matches_as_against_the_whole_book(
    factory, seed_
):
    """The book read for a batch (items its words can name, customers its payers point at, the
    rest on demand) gives every credit the same candidates as the whole open book."""
    from bench.cash_application import generate, store_book

    generated = generate(60, 5, 200, seed=seed_, known=0.7)
    with factory() as s:
        store_book(s.connection(), generated)
        s.commit()
    credits = generated.credits
    with factory() as s:
        whole = applying.load_book(s, {"EUR"})
        batch = applying.load_book(s, {"EUR"}, credits)
        assert len(batch.items) < len(whole.items)
        for one in credits:
            expected = matching.match(one, whole)
            found = matching.match(one, batch)
            assert found.candidates == expected.candidates and found.automatic == expected.automatic
            if expected.automatic:
                for book in (whole, batch):
                    book.take(expected.best)
                    for cid in expected.best.customers:
                        book.learn(cid, one.payer_iban, one.payer_name)


def test_an_applied_credit_keeps_only_the_candidate_applied_a_review_keeps_all(factory):
    """Nobody chooses among an applied credit's candidates; a person reviewing sees them all."""
    from service.cash_application.references import rf_reference

    seed(factory)
    applied = credit("400.00", "INV-3001", references=(rf_reference("INV1001"),))
    waiting = credit("300.00", "INV-3001 or INV-1002?")
    report = _apply(factory, applied, waiting)
    assert (report.applied, report.review) == (1, 1)
    with factory() as s:
        apps = {
            a.transaction_id: a
            for a in s.scalars(select(CashApplication).order_by(CashApplication.id))
        }
    [kept] = apps[applied.transaction_id].candidates
    assert kept["number"] == 1 and kept["evidence"] == "structured_reference"
    assert [a["document_number"] for a in kept["allocations"]] == ["INV-1001"]
    shown = apps[waiting.transaction_id].candidates
    assert [c["number"] for c in shown] == list(range(1, len(shown) + 1)) and len(shown) >= 2
    assert {a["document_number"] for c in shown for a in c["allocations"]} >= {
        "INV-3001",
        "INV-1002",
    }
