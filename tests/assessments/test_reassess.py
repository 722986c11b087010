"""Re-assessment from the database: bulk loading, storing, errors, shadow mode (SQLite and PG)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from service.assessments import book, storing
from service.assessments import queue as assessment_queue
from service.assessments import reassess as reassess_customers
from service.assessments.book import reassess_all, reassess_book
from service.assessments.loading import load_inputs
from service.assessments.shadow import shadow
from service.cli import main
from service.credit import assess, assessment_document, load_policy
from service.db import make_engine, make_session_factory, transaction
from service.models import (
    Allocation,
    Assessment,
    CollectionAction,
    Customer,
    OutboxMessage,
    Payment,
    Receivable,
)
from service.salesforce.fields import ACCOUNT_FIELD_MAP

AS_OF = date(2026, 3, 15)
NOW = datetime(2026, 3, 15, 9, 30, tzinfo=UTC)
POLICY = load_policy({"base_currency": "EUR", "fx_rates": {"USD": "0.80"}})


@pytest.fixture
def sessions(db_url):
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


def _customer(session, number, *, limit=None, currency="EUR", override=None, segment=None):
    c = Customer(
        number=number,
        source="erp",
        name=f"Customer {number}",
        currency=currency,
        credit_limit=None if limit is None else Decimal(limit),
        hold_override_until=override,
        segment=segment,
    )
    session.add(c)
    session.flush()
    return c


def _invoice(
    session, customer, dpd, amount, *, open_=None, currency="EUR", kind="invoice", closed_on=None
):
    due = AS_OF - timedelta(days=dpd)
    n = session.scalar(select(Receivable.id).order_by(Receivable.id.desc()).limit(1)) or 0
    r = Receivable(
        source="erp",
        external_id=f"R{n + 1}",
        customer_id=customer.id,
        kind=kind,
        number=f"INV-{n + 1}",
        issue_date=due - timedelta(days=30),
        due_date=due,
        currency=currency,
        amount=Decimal(amount),
        open_amount=Decimal(amount if open_ is None else open_),
        is_open=Decimal(amount if open_ is None else open_) != 0,
        closed_on=closed_on,
        source_updated_at=NOW,
    )
    session.add(r)
    session.flush()
    return r


def _payment(session, customer, amount, *, ago=0, status="confirmed", to=None, external_id=None):
    p = Payment(
        source="erp",
        external_id=external_id or f"P{customer.id}-{amount}-{ago}-{status}",
        customer_id=customer.id,
        amount=Decimal(amount),
        currency="EUR",
        received_at=NOW - timedelta(days=ago),
        status=status,
    )
    session.add(p)
    session.flush()
    for receivable, applied in to or ():
        session.add(
            Allocation(payment_id=p.id, receivable_id=receivable.id, amount=Decimal(applied))
        )
    session.flush()
    return p


def _action(session, customer, type_, **kw):
    a = CollectionAction(customer_id=customer.id, type=type_, occurred_at=kw.pop("at", NOW), **kw)
    session.add(a)
    session.flush()
    return a


def _row(session, customer) -> Assessment:
    return session.get(Assessment, customer.id)


def test_reassess_customers__stores_what_the_engine_says(sessions):
    with transaction(sessions) as s:
        hold = _customer(s, "C-HOLD", limit="10550")
        _invoice(s, hold, 75, "5000")
        _invoice(s, hold, 70, "7400")
        ok = _customer(s, "C-OK")
        _invoice(s, ok, -10, "300")
        ids = [hold.id, ok.id]
    with transaction(sessions) as s:
        report = reassess_customers(s, ids, AS_OF, POLICY)
    assert report.assessed == 2 and not report.errors
    with sessions() as s:
        row = _row(s, hold)
        assert (row.status, row.overdue_amount, row.days_past_due) == ("HOLD", Decimal("12400"), 75)
        assert row.document["reason"].startswith(
            "HOLD: 2 invoices over 60 days past due (EUR 12,400.00); exposure 118% of limit"
        )
        assert row.document["amount_to_release"] == "12400.00"
        assert row.error is None and row.as_of == AS_OF
        assert _row(s, ok).status == "OK"


def test_collection_actions_and_payments__reach_the_engine(sessions):
    with transaction(sessions) as s:
        c = _customer(s, "C-1")
        disputed = _invoice(s, c, 80, "1000")
        paid = _invoice(s, c, 70, "2000")
        _invoice(s, c, 20, "500")  # 20 days late: WATCH
        _invoice(s, c, 200, "900", open_="0", closed_on=AS_OF - timedelta(days=40))  # history
        _action(
            s,
            c,
            "Dispute",
            receivable_id=disputed.id,
            disputed_amount=Decimal(1000),
            dispute_status="Open",
        )
        _payment(s, c, "2000", ago=2, status="provisional", to=[(paid, "2000")])  # not yet in ERP
        _payment(s, c, "2000", status="superseded", to=[(paid, "2000")], external_id="old")
        _payment(s, c, "50", ago=3)  # unapplied cash
        _action(
            s,
            c,
            "Promise to Pay",
            promised_amount=Decimal(500),
            promised_date=AS_OF + timedelta(days=4),
            at=NOW - timedelta(days=1),
        )
        _action(s, c, "Call", follow_up_date=AS_OF + timedelta(days=2))
        _action(
            s,
            c,
            "Dispute",
            disputed_amount=Decimal(99),
            dispute_status="Resolved Invalid",
            is_deleted=True,
        )
        cid = c.id
    with transaction(sessions) as s:
        inputs = load_inputs(s, AS_OF, POLICY, ids=[cid])[cid]
        assert len(inputs.items) == 4 and len(inputs.payments) == 2 and len(inputs.disputes) == 1
        reassess_customers(s, [cid], AS_OF, POLICY)
    with sessions() as s:
        doc = _row(s, c).document
    assert doc["status"] == "WATCH"  # 20 days past due; the 80-day invoice is disputed
    assert (doc["overdue_amount"], doc["disputed_amount"], doc["days_past_due"]) == (
        "500.00",
        "1000.00",
        20,
    )
    assert doc["balance_outstanding"] == "1450.00"  # 1000 + 500 open - 50 unapplied
    assert doc["promise_to_pay_date"] == "2026-03-19"
    assert doc["next_action_date"] == "2026-03-17"  # the follow-up comes first
    assert doc["avg_days_to_pay"] == "190.0"


def test_a_customer_that_cannot_be_assessed__gets_an_error_and_keeps_its_figures(sessions):
    with transaction(sessions) as s:
        c = _customer(s, "C-FX")
        _invoice(s, c, 70, "1000")
        other = _customer(s, "C-FINE")
        _invoice(s, other, 5, "10")
        ids = [c.id, other.id]
    with transaction(sessions) as s:
        reassess_customers(s, ids, AS_OF, POLICY)
    with transaction(sessions) as s:
        _invoice(s, s.get(Customer, ids[0]), 5, "100", currency="CHF")
    with transaction(sessions) as s:
        report = reassess_customers(s, ids, AS_OF + timedelta(days=1), POLICY)
    assert report.assessed == 1 and "C-FX" in report.errors and "CHF" in report.errors["C-FX"]
    with sessions() as s:
        row = s.get(Assessment, ids[0])
        assert row.status == "HOLD" and row.overdue_amount == Decimal(1000)  # last good figures
        assert "CHF" in row.error and row.as_of == AS_OF + timedelta(days=1)
        assert s.get(Assessment, ids[1]).error is None
    with transaction(sessions) as s:
        fresh = _customer(s, "C-NEW-FX")
        _invoice(s, fresh, 5, "100", currency="JPY")
        reassess_customers(s, [fresh.id], AS_OF, POLICY)
        row = s.get(Assessment, fresh.id)
        assert (row.status, row.document) == ("ERROR", {}) and "JPY" in row.error


def test_reassess_all__walks_the_book_in_chunks_with_a_fixed_number_of_queries(sessions, db_url):
    with transaction(sessions) as s:
        customers = [_customer(s, f"C-{i:03}", limit="5000") for i in range(25)]
        for i, c in enumerate(customers):
            for k in range(i % 4):
                _invoice(s, c, 10 * k + i, "1000")
            _payment(s, c, "10", ago=i)
            _action(s, c, "Promise to Pay", promised_amount=Decimal(100), promised_date=AS_OF)
    engine = make_engine(db_url)
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    factory = make_session_factory(engine)
    with transaction(factory) as s:
        report = reassess_all(s, AS_OF, POLICY, chunk=10)
    assert report.assessed == 25 and sum(report.statuses.values()) == 25
    # 3 chunks (10, 10, 5) and the empty page: per chunk one page of ids and four reads
    # (customers, receivables, payments with allocations, actions) - not a query per customer;
    # on PostgreSQL also the lock on the chunk's customers, taken before they are read.
    tables = ("customers", "receivables", "payments", "allocations", "collection_actions")
    reads = [
        q
        for q in statements
        if q.lstrip().upper().startswith("SELECT") and any(f"FROM {t}" in q for t in tables)
    ]
    assert len(reads) == 3 * (6 if db_url.startswith("postgresql") else 5) + 1
    with factory() as s:
        rows = {r.customer_id: r for r in s.scalars(select(Assessment))}
        for c in customers:
            expected = assess(load_inputs(s, AS_OF, POLICY, ids=[c.id])[c.id], POLICY, AS_OF)
            assert rows[c.id].status == expected.status.value
            assert rows[c.id].document["reason"] == expected.reason_text
    engine.dispose()


def test_shadow__shows_status_and_changed_fields_and_writes_nothing(sessions):
    with transaction(sessions) as s:
        c = _customer(s, "C-SH")
        _invoice(s, c, 70, "1000")
        reassess_customers(s, [c.id], AS_OF, POLICY)
        row = s.get(Assessment, c.id)
        document = assessment_document(
            assess(load_inputs(s, AS_OF, POLICY, ids=[c.id])[c.id], POLICY, AS_OF)
        )
        row.pushed_fields = ACCOUNT_FIELD_MAP.of(document)
        row.pushed_status = "HOLD"
        cid = c.id
    with transaction(sessions) as s:
        _invoice(s, s.get(Customer, cid), 20, "250")
    with sessions() as s:
        lines = list(shadow(s, AS_OF, POLICY, ACCOUNT_FIELD_MAP))
        assert len(lines) == 1
        line = lines[0]
        assert (line.customer, line.status, line.previous_status) == ("C-SH", "HOLD", "HOLD")
        assert "Balance_Outstanding__c" in line.changes and "Aging_1_30__c" in line.changes
        assert "Credit_Status__c" not in line.changes
        assert s.get(Assessment, cid).balance_outstanding == Decimal(1000)  # nothing written


def test_assess_command__dry_run_prints_what_would_change_and_writes_nothing(
    sessions, runner, tmp_path
):
    with transaction(sessions) as s:
        hold = _customer(s, "C-CLI-HOLD")
        _invoice(s, hold, 70, "1000")
        ok = _customer(s, "C-CLI-OK")
        _invoice(s, ok, -3, "10")
    policy = tmp_path / "policy.json"
    policy.write_text('{"hold": {"days_past_due_over": 90}}')

    result = runner.invoke(main, ["assess", "--dry-run", "--as-of", "2026-03-15"])
    assert result.exit_code == 0, result.output
    assert "C-CLI-HOLD\t- -> HOLD\tCredit_Status__c: - -> HOLD" in result.output
    assert "HOLD 1, OK 1; 2 accounts would change in Salesforce; nothing written" in result.output
    with sessions() as s:
        assert s.scalar(select(Assessment).limit(1)) is None

    result = runner.invoke(
        main, ["assess", "--dry-run", "--as-of", "2026-03-15", "--policy", str(policy)]
    )
    assert "C-CLI-HOLD\t- -> WATCH" in result.output

    result = runner.invoke(main, ["assess", "--as-of", "2026-03-15"])
    assert result.exit_code == 0, result.output
    assert "re-assessed 2 customers as of 2026-03-15" in result.output
    with sessions() as s:
        assert s.get(Assessment, hold.id).status == "HOLD"
        assert {m.target for m in s.scalars(select(OutboxMessage))} == {
            f"Account:{hold.id}",
            f"Account:{ok.id}",
        }


def test_assess_command__refuses_an_invalid_policy_in_one_line(runner, tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text('{"hold": {"days_past_due_over": -5}}')
    result = runner.invoke(main, ["assess", "--dry-run", "--policy", str(policy)])
    assert result.exit_code == 1
    assert "CREDIT_POLICY_FILE is malformed" in result.output
    assert "hold.days_past_due_over" in result.output


def test_reassess_book__in_parallel_workers_gives_the_same_rows_as_one_process(sessions, db_url):
    with transaction(sessions) as s:
        customers = [_customer(s, f"C-P{i:02}", limit="3000") for i in range(12)]
        for i, c in enumerate(customers):
            for k in range(i % 5):
                _invoice(s, c, 17 * k + i, "900")
        _invoice(s, customers[3], 5, "10", currency="CHF")  # one that cannot be assessed
    report = reassess_book(db_url, AS_OF, POLICY, workers=2, chunk=5)
    assert report.assessed == 11 and list(report.errors) == ["C-P03"]
    assert report.items == sum(i % 5 for i in range(12)) + 1
    with sessions() as s:
        parallel = {r.customer_id: (r.status, r.document) for r in s.scalars(select(Assessment))}
    with transaction(sessions) as s:
        reassess_all(s, AS_OF, POLICY, chunk=100)
    with sessions() as s:
        serial = {r.customer_id: (r.status, r.document) for r in s.scalars(select(Assessment))}
    assert parallel == serial and len(serial) == 12


def test_store__copy_and_executemany_write_the_same_rows(sessions, monkeypatch):
    """PostgreSQL writes a big chunk with COPY and a few rows with INSERT; the rows are equal,
    several chunks share one transaction, and a second run updates in place."""
    with transaction(sessions) as s:
        customers = [_customer(s, f"C-W{i:02}", limit="2500") for i in range(7)]
        for i, c in enumerate(customers):
            for k in range(i % 3 + 1):
                _invoice(s, c, 25 * k + i - 5, "1000")
        ids = [c.id for c in customers]

    def rows():
        with sessions() as s:
            return {
                r.customer_id: (r.status, r.balance_outstanding, r.risk_score, r.document)
                for r in s.scalars(select(Assessment))
            }

    monkeypatch.setattr(storing, "COPY_AT_LEAST", 1)
    with transaction(sessions) as s:
        assert reassess_all(s, AS_OF, POLICY, chunk=3).assessed == 7  # 3 chunks, one transaction
    copied = rows()
    with transaction(sessions) as s:
        reassess_all(s, AS_OF + timedelta(days=1), POLICY, chunk=3)  # updates every row
    assert {doc["as_of"] for *_, doc in rows().values()} == {"2026-03-16"}
    monkeypatch.setattr(storing, "COPY_AT_LEAST", 10**9)
    with transaction(sessions) as s:
        reassess_customers(s, ids, AS_OF, POLICY)
    assert rows() == copied and len(copied) == 7


def test_load_inputs__the_same_customers_by_id_list_and_by_range(sessions):
    """Consecutive ids are read by range, others by an IN list: the inputs are the same."""
    with transaction(sessions) as s:
        customers = [_customer(s, f"C-L{i}") for i in range(4)]
        for i, c in enumerate(customers):
            _invoice(s, c, 10 * i, "100")
            _payment(s, c, "5", ago=i)
        ids = [c.id for c in customers]
    with sessions() as s:
        every = load_inputs(s, AS_OF, POLICY, ids=ids)  # consecutive: by range
        gappy = load_inputs(s, AS_OF, POLICY, ids=[ids[3], ids[0], ids[2]])  # an IN list
        ranged = load_inputs(s, AS_OF, POLICY, lo=ids[0], hi=ids[3])
        assert every == ranged and len(every) == 4
        assert gappy == {k: every[k] for k in (ids[0], ids[2], ids[3])}
        assert load_inputs(s, AS_OF, POLICY, ids=[]) == {}


def test_reassess_book__keeps_what_a_drain_assessed_after_the_chunk_was_read(
    sessions, db_url, monkeypatch
):
    """A worker reads its chunk, a feed adds an invoice and the assessor assesses it, then the
    worker writes: the assessor's newer figures stay (no request is left to correct them)."""
    with transaction(sessions) as s:
        cid = _customer(s, "C-B1", limit="5000").id
        _invoice(s, s.get(Customer, cid), 10, "1000")
    real_prepare_rows = book.prepare_rows
    interleaved = []

    def prepare_rows_while_a_feed_and_a_drain_commit(results, as_of, now=None):
        rows = real_prepare_rows(results, as_of, now)
        if interleaved:  # the drain's own call
            return rows
        interleaved.append(True)
        with transaction(sessions) as s:
            _invoice(s, s.get(Customer, cid), 70, "4000")
            assessment_queue.request(s, [cid])
        assert assessment_queue.drain(sessions, AS_OF, POLICY) == 1
        return rows

    monkeypatch.setattr(book, "prepare_rows", prepare_rows_while_a_feed_and_a_drain_commit)
    book._worker_start(db_url, POLICY.portable_document(), AS_OF)
    try:
        report = book._worker_chunk((cid, cid))
    finally:
        for factory in (book._WORKER["readers"], book._WORKER["writers"]):
            factory.kw["bind"].dispose()
        book._WORKER.clear()

    with sessions() as s:
        row = s.get(Assessment, cid)
    assert (row.balance_outstanding, row.status) == (Decimal("5000.00"), "HOLD")
    assert report.assessed == 0
