"""A dunning run over a real database: what it queues, and that repeating it adds nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from service.credit import default_policy
from service.db import transaction
from service.dunning import queue
from service.dunning.render import Company
from service.dunning.run import Settings, answer_requests, customers_to_answer, run
from service.models import Customer, DunningMessage, OutboxMessage, Receivable
from tests.dunning.seed import TODAY, add_action, add_customer, add_invoice

SETTINGS = Settings(default_policy(), Company("Northwind Supplies"), "northwind.example")


def _messages(factory):
    with factory() as session:
        return list(session.scalars(select(DunningMessage).order_by(DunningMessage.id)))


def test_run__the_issue_check__one_message_listing_only_the_undisputed_unpromised_invoice(factory):
    with transaction(factory) as session:
        c = add_customer(session, "C-1")
        first_invoice = add_invoice(session, c, "1", 16, "100.00")
        disputed = add_invoice(session, c, "2", 16, "200.00")
        promised = add_invoice(session, c, "3", 16, "300.00")
        add_action(session, c, "Dispute", receivable_id=disputed.id, disputed_amount=disputed.amount,
                   dispute_status="Open")  # fmt: skip
        add_action(session, c, "Promise to Pay", receivable_id=promised.id,
                   promised_amount=promised.amount, promised_date=TODAY + timedelta(days=7))  # fmt: skip

    first = run(factory, TODAY, SETTINGS)
    second = run(factory, TODAY, SETTINGS)

    (message,) = _messages(factory)
    assert first.queued == 1 and second.queued == 0
    assert message.items == [str(first_invoice.id)]
    assert "INV-1" in message.body_text and "INV-2" not in message.body_text
    assert "INV-3" not in message.body_text and message.recipients == ["billing@example.com"]
    assert message.message_id.endswith("@northwind.example>")
    assert message.level == 2 and message.template == "reminder"
    assert second.skipped["already sent today"] == 1


def test_run__a_customer_without_a_recipient__gets_no_message_and_is_reported(factory):
    with transaction(factory) as session:
        add_invoice(session, add_customer(session, "C-9", email=None), "1", 20, "500.00")
    report = run(factory, TODAY, SETTINGS)
    assert report.no_recipient == ["C-9"] and report.queued == 0 and _messages(factory) == []


def test_preview__writes_nothing(factory):
    with transaction(factory) as session:
        add_invoice(session, add_customer(session, "C-1"), "1", 20, "500.00")
    report = run(factory, TODAY, SETTINGS, write=False)
    assert [(p.number, p.reminder.level.number, p.recipients) for p in report.planned] == [
        ("C-1", 2, ["billing@example.com"])
    ]
    assert _messages(factory) == []
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert session.scalar(select(Customer.next_reminder_date)) is None


def test_run__keeps_next_reminder_date_and_queues_the_account_push(factory):
    with transaction(factory) as session:
        add_invoice(session, add_customer(session, "C-1"), "1", 20, "500.00")
    run(factory, TODAY, SETTINGS)
    with factory() as session:
        # Level 3 at +30 is on the 26th; 5 business days after today is the 23rd.
        assert session.scalar(select(Customer.next_reminder_date)) == TODAY + timedelta(days=10)
        assert session.scalars(select(OutboxMessage.target)).all() == ["Account:1"]


def test_run__a_reminder_requested_from_salesforce__is_answered_at_once_even_inside_the_interval(
    factory,
):
    with transaction(factory) as session:
        c = add_customer(session, "C-1")
        add_invoice(session, c, "1", 20, "500.00")
    run(factory, TODAY - timedelta(days=1), SETTINGS)  # a Sunday: nothing goes out
    run(factory, TODAY - timedelta(days=3), SETTINGS)  # Friday: level 2 went out
    with transaction(factory) as session:
        add_action(session, session.get(Customer, c.id), "Reminder Requested")
    with factory() as session:
        assert customers_to_answer(session) == [c.id]
    report = answer_requests(factory, TODAY, SETTINGS)
    assert report.queued == 1
    with factory() as session:
        assert customers_to_answer(session) == []
    assert [m.requested for m in _messages(factory)] == [False, True]


def test_run__a_pause_logged_in_salesforce__holds_the_customer_until_its_day(factory):
    with transaction(factory) as session:
        c = add_customer(session, "C-1")
        add_invoice(session, c, "1", 20, "500.00")
        add_action(session, c, "Dunning Pause", follow_up_date=TODAY + timedelta(days=2))
    report = answer_requests(factory, TODAY, SETTINGS)
    assert report.queued == 0 and report.skipped["paused"] == 1
    with factory() as session:
        assert session.scalar(select(Customer.next_reminder_date)) == TODAY + timedelta(days=3)
    assert run(factory, TODAY + timedelta(days=3), SETTINGS).queued == 1


def test_queue__a_message_is_stored_once_per_customer_currency_level_and_day(factory):
    with transaction(factory) as session:
        add_invoice(session, add_customer(session, "C-1"), "1", 20, "500.00")
    run(factory, TODAY, SETTINGS)
    (m,) = _messages(factory)
    row = {c.name: getattr(m, c.name) for c in DunningMessage.__table__.columns if c.name != "id"}
    with transaction(factory) as session:
        assert queue.store(session, [{**row, "message_id": "<other@x>"}]) == 0
    assert len(_messages(factory)) == 1


def test_run_book__spread_over_processes__queues_each_once(db_url, factory, monkeypatch):
    from service.dunning import run as run_module

    with transaction(factory) as session:
        for n in range(5):
            add_invoice(session, add_customer(session, f"C-{n}"), f"{n}", 20, "500.00")
    monkeypatch.setattr(run_module, "CHUNK", 2)  # three chunks, two processes
    first = run_module.run_book(db_url, TODAY, SETTINGS, processes=2)
    again = run_module.run_book(db_url, TODAY, SETTINGS, processes=2)
    assert (first.customers, first.queued, again.queued) == (5, 5, 0)
    assert sorted(m.customer_id for m in _messages(factory)) == [1, 2, 3, 4, 5]


def test_run_book__a_change_committed_after_a_chunk_was_drafted__decides_what_is_stored(
    db_url, factory
):
    """run_book's workers read, plan and render a chunk before they take SQLite's write lock;
    what they store is decided again on the data as it is under the lock."""
    from sqlalchemy import create_engine

    from service.db import make_session_factory
    from service.dunning import run as run_module

    with transaction(factory) as session:
        paid = add_customer(session, "C-1")
        invoice = add_invoice(session, paid, "1", 20, "500.00")
        renamed = add_customer(session, "C-2")
        add_invoice(session, renamed, "2", 20, "500.00")
        paused = add_customer(session, "C-3")
        add_invoice(session, paused, "3", 20, "500.00")
        same = add_customer(session, "C-4")
        add_invoice(session, same, "4", 20, "500.00")
    engine = create_engine(db_url) if db_url.startswith("sqlite") else None
    readers = make_session_factory(engine) if engine is not None else factory
    key = {"ids": [paid.id, renamed.id, paused.id, same.id]}
    draft = run_module._make_draft(readers, key, TODAY, SETTINGS)
    assert draft is not None and len(draft.mails) == 4
    with transaction(factory) as session:
        session.get(Receivable, invoice.id).is_open = False
        session.get(Customer, renamed.id).name = "Renamed Ltd"
        session.get(Customer, paused.id).dunning_paused_until = TODAY + timedelta(days=3)

    report = run_module.RunReport(TODAY)
    run_module._run_chunk(factory, key, TODAY, SETTINGS, report, write=True, draft=draft)

    messages = _messages(factory)
    assert [m.customer_id for m in messages] == [renamed.id, same.id]
    assert "Dear Renamed Ltd," in messages[0].body_text
    assert (
        messages[1].body_text
        == draft.mails[next(k for k in draft.mails if k[1] == "Customer C-4")].text
    )
    if engine is not None:
        engine.dispose()
