"""Storing statements: each booking once, reversals linked, cash application told exactly once.

On SQLite and PostgreSQL. The hooks are recorders: they are what ``service.cash_application``
is wired in as, and what they are called with is what matching will see.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from service.bank.importing import import_statement
from service.bank.statement import NotAStatement
from service.cash_application.credit import BankCredit
from service.models import BankTransaction
from tests.bank.files import data
from tests.conftest import NOW, snapshot

DAY1_052 = "made/day1-intraday.camt052.001.08.xml"
DAY1_054 = "made/day1-notification.camt054.001.04.xml"
DAY2_053 = "made/day2-statement.camt053.001.02.xml"
DAY3_REVERSAL = "made/day3-reversal.camt053.001.08.xml"


class Hooks:
    """Records what cash application would be handed."""

    def __init__(self):
        self.credits: list[BankCredit] = []
        self.calls = 0
        self.reversed: list[int] = []

    def on_credits(self, session, credits):
        self.calls += 1
        self.credits.extend(credits)
        # Called inside the import's transaction: the rows are there to read.
        ids = session.scalars(select(BankTransaction.id)).all()
        assert {c.transaction_id for c in credits} <= set(ids)

    def on_reversal(self, session, transaction_id):
        self.reversed.append(transaction_id)


def run(factory, name, hooks=None, **kwargs):
    hooks = hooks or Hooks()
    return import_statement(
        factory,
        data(name) if isinstance(name, str) else name,
        name=str(name)[:40],
        now=NOW,
        on_credits=hooks.on_credits,
        on_reversal=hooks.on_reversal,
        **kwargs,
    )


def rows(factory) -> list[BankTransaction]:
    with factory() as session:
        return session.scalars(select(BankTransaction).order_by(BankTransaction.id)).all()


def test_same_credit_in_camt052_then_054_then_053_is_stored_once(factory):
    hooks = Hooks()

    first = run(factory, DAY1_052, hooks)
    second = run(factory, DAY1_054, hooks)
    third = run(factory, DAY2_053, hooks)

    assert (first.credits, first.not_booked, first.duplicates) == (1, 1, 0)
    assert (second.credits, second.duplicates) == (0, 1)
    assert (third.credits, third.debits, third.duplicates) == (2, 1, 1)
    stored = rows(factory)
    assert sorted((r.direction, r.amount) for r in stored) == [
        ("credit", Decimal("100")),
        ("credit", Decimal("200")),
        ("credit", Decimal("1190")),
        ("debit", Decimal("100")),
    ]
    # cash application heard of each credit once, with the stored row's id
    assert [str(c.amount) for c in hooks.credits] == ["1190.00", "100.00", "200.00"]
    assert hooks.calls == 2
    assert sorted(c.transaction_id for c in hooks.credits) == sorted(
        r.id for r in stored if r.direction == "credit"
    )


def test_the_credit_handed_on_carries_what_matching_needs(factory):
    hooks = Hooks()

    run(factory, DAY1_054, hooks)

    (credit,) = hooks.credits
    assert credit == BankCredit(
        transaction_id=rows(factory)[0].id,
        account="DE89370400440532013000",  # the spaces the bank wrote are gone
        bank_reference="BANKREF-0001",
        end_to_end_id="E2E-INV-1001-1002",
        amount=Decimal("1190"),
        currency="EUR",
        booking_date=date(2026, 3, 16),
        value_date=date(2026, 3, 16),
        payer_name="Acme GmbH",
        payer_iban="DE02120300000000202051",
        remittance="Invoices INV-1001 and INV-1002",
        references=("INV-1001", "INV-1002"),
    )


def test_the_same_file_again_stores_nothing_and_tells_nobody(factory, db):
    run(factory, "mt940/betterplace-sepa_mt9401.sta")
    before = snapshot(db[0])
    hooks = Hooks()

    again = run(factory, "mt940/betterplace-sepa_mt9401.sta", hooks)

    assert (again.credits, again.debits, again.duplicates) == (0, 0, 97)
    assert hooks.calls == 0 and hooks.reversed == []
    assert snapshot(db[0]) == before


def test_on_credits_is_called_once_per_new_credit_never_for_debits_or_reversals(factory):
    hooks = Hooks()

    report = run(factory, "bai2/moov-sample4-ach-eref-remi.bai2", hooks)

    stored = rows(factory)
    plain_credits = [r for r in stored if r.direction == "credit" and not r.reversal]
    assert hooks.calls == 1
    assert sorted(c.transaction_id for c in hooks.credits) == [r.id for r in plain_credits]
    assert report.credits == len([r for r in stored if r.direction == "credit"])
    assert report.debits == len([r for r in stored if r.direction == "debit"])


def test_a_reversal_the_next_day_is_linked_and_handed_on(factory):
    hooks = Hooks()
    run(factory, DAY1_054, hooks)
    run(factory, DAY2_053, hooks)

    report = run(factory, DAY3_REVERSAL, hooks)

    stored = {r.bank_reference: r for r in rows(factory)}
    original, reversal = stored["BANKREF-0001"], stored["BANKREF-0001-R"]
    assert reversal.reverses_id == original.id and reversal.reversal
    assert hooks.reversed == [original.id]
    assert report.reversals_linked == 1 and report.credits == 0
    # seen again, the reversal changes nothing and is not handed on twice
    run(factory, DAY3_REVERSAL, hooks)
    assert hooks.reversed == [original.id]


def test_a_reversal_of_nothing_stored_is_kept_and_reported(factory):
    hooks = Hooks()

    report = run(factory, DAY3_REVERSAL, hooks)

    assert report.reversals_unlinked == ["Stmt 1, Ntry 1 (line 27)"]
    assert hooks.reversed == []
    assert rows(factory)[0].reverses_id is None


def test_a_reversal_within_the_same_file_undoes_its_credit(factory):
    hooks = Hooks()

    run(factory, "mt940/betterplace-sepa_mt9401.sta", hooks)

    stored = rows(factory)
    linked = [r for r in stored if r.reverses_id is not None]
    assert len(linked) == 1
    undone = next(r for r in stored if r.id == linked[0].reverses_id)
    assert (undone.direction, undone.amount, undone.account) == (
        "credit",
        linked[0].amount,
        linked[0].account,
    )
    assert hooks.reversed == [undone.id]


def test_bad_transactions_are_reported_and_the_rest_stored(factory):
    report = run(factory, "made/bad-entry.camt053.001.02.xml")

    assert [r.bank_reference for r in rows(factory)] == ["BAD-1", "BAD-4"]
    assert [r.position for r in report.rejected] == [
        "Stmt 1, Ntry 2 (line 14)",
        "Stmt 1, Ntry 3 (line 20)",
    ]
    assert any("rejected Stmt 1, Ntry 2 (line 14)" in line for line in report.lines())


def test_a_failing_hook_leaves_nothing_stored(factory, db):
    before = snapshot(db[0])

    def broken(session, credits):
        raise RuntimeError("cash application is down")

    with pytest.raises(RuntimeError):
        import_statement(factory, data(DAY2_053), name="x", now=NOW, on_credits=broken)

    assert snapshot(db[0]) == before
    hooks = Hooks()
    run(factory, DAY2_053, hooks)  # and the same file imports whole afterwards
    assert len(hooks.credits) == 3


def test_not_a_statement_changes_nothing(factory, db):
    before = snapshot(db[0])

    with pytest.raises(NotAStatement):
        run(factory, b"name,amount\nacme,10\n")

    assert snapshot(db[0]) == before


def test_the_report_says_what_does_not_add_up(factory):
    report = run(factory, "mt940/jejik-abnamro.sta")

    text = "\n".join(report.lines())
    assert "2 of 2 do not add up" in text
    assert "the file says 876.84, its transactions give 2914.84 (difference +2038.00)" in text
    body = report.as_dict()
    assert [c["difference"] for c in body["checks"]] == ["2038.00", "1002.60"]
    assert body["stored"] == {"credits": 0, "debits": 10}


def test_every_sample_file_imports(factory):
    from tests.bank.files import samples

    for name in samples():
        report = run(factory, name)
        assert report.read > 0 and not report.rejected, name
    with factory() as session:
        stored = session.scalar(select(func.count()).select_from(BankTransaction))
    assert stored > 200


def test_what_cash_application_says_is_part_of_the_report(factory):
    def matcher(session, credits):
        return [f"{c.amount} {c.currency}: 2 invoices, applied" for c in credits]

    report = import_statement(factory, data(DAY1_054), name="x", now=NOW, on_credits=matcher)

    assert report.cash_application == ["1190.00 EUR: 2 invoices, applied"]
    assert report.lines()[-2:] == ["  cash application:", "    1190.00 EUR: 2 invoices, applied"]
    assert report.as_dict()["cash_application"] == ["1190.00 EUR: 2 invoices, applied"]


def test_two_imports_of_one_file_at_once_store_it_once(factory):
    import threading

    hooks = Hooks()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def importer():
        start.wait()
        try:
            run(factory, DAY2_053, hooks)
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=importer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert len(rows(factory)) == 4
    assert sorted(c.bank_reference for c in hooks.credits) == [
        "BANKREF-0001",
        "BANKREF-0004/E2E-B-1",
        "BANKREF-0004/E2E-B-2",
    ]


def test_an_import_that_read_before_another_stored_retries_and_finds_duplicates(
    factory, monkeypatch
):
    """What a race does, made certain: the first attempt does not see the rows another import
    stored, so its insert (queued on SQLite's background writer) clashes with theirs; the
    clash rolls that attempt back whole and the retry counts them as duplicates."""
    from service.bank import importing

    run(factory, DAY2_053)
    real = importing._stored_keys
    reads: list[int] = []

    def stale_once(session, keys):
        reads.append(1)
        return set() if len(reads) == 1 else real(session, keys)

    monkeypatch.setattr(importing, "_stored_keys", stale_once)
    hooks = Hooks()
    report = run(factory, DAY2_053, hooks)

    assert len(reads) == 2
    assert report.duplicates == 4 and hooks.credits == []
    assert len(rows(factory)) == 4
