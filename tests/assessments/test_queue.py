"""The assessment queue: feeds and imports ask, the worker (or a read) assesses; nothing is lost.

On SQLite and PostgreSQL. "The worker" is ``service.assessments.assessor.Assessor`` or
``service.assessments.queue.drain``, run in-process.
"""

from __future__ import annotations

import pickle
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text, update

from service.assessments import queue as assessment_queue
from service.assessments.assessor import Assessor
from service.credit import load_policy
from service.db import make_engine, make_session_factory, transaction
from service.extensions import EXTENSION
from service.feeds import importer
from service.feeds.importer import import_files
from service.models import (
    Assessment,
    AssessmentRequest,
    Customer,
    OutboxMessage,
    Receivable,
)
from tests.assessing import chf_invoice, drain_queue
from tests.conftest import FIXTURES, NOW, load_fixture

TODAY = NOW.date()


def small_batch() -> dict:
    return load_fixture("erp", "batch_small.json")


def ids_by_number(sessions) -> dict[str, int]:
    with sessions() as session:
        return dict(session.execute(select(Customer.number, Customer.id)).all())


def requests_of(sessions) -> list[tuple[int, int]]:
    with sessions() as session:
        return [
            tuple(r)
            for r in session.execute(
                select(AssessmentRequest.id, AssessmentRequest.customer_id).order_by(
                    AssessmentRequest.id
                )
            )
        ]


def assessments(sessions) -> dict[int, Assessment]:
    with sessions() as session:
        return {a.customer_id: a for a in session.scalars(select(Assessment))}


# --- the read path ------------------------------------------------------------------------------


def test_credit__right_after_a_feed_shows_the_fed_figures_without_the_worker(
    app, client, post_feed, auth
):
    sessions = app.extensions[EXTENSION].sessions
    assert post_feed(small_batch()).status_code == 200

    body = client.get("/api/v1/accounts/C-100/credit", headers=auth).json

    assert (body["status"], body["overdue_amount"]) == ("HOLD", "12400.00")
    ids = ids_by_number(sessions)
    # Only the customer read was assessed; its push is queued; the others still wait.
    assert {c for _, c in requests_of(sessions)} == {ids["C-200"], ids["C-300"]}
    with sessions() as session:
        targets = set(session.scalars(select(OutboxMessage.target)))
    assert f"Account:{ids['C-100']}" in targets

    # The ERP reports the big invoice paid: the next read shows it at once.
    paid = {
        "source": "erp-main",
        "receivables": [
            dict(
                small_batch()["receivables"][0],
                open_amount="0.00",
                updated_at="2026-03-14T08:00:00Z",
            )
        ],
    }
    assert post_feed(paid).status_code == 200
    body = client.get("/api/v1/accounts/C-100/credit", headers=auth).json
    assert body["overdue_amount"] == "0.00"
    assert body["status"] != "HOLD"


def test_credit__a_customer_only_just_fed_is_assessed_on_read_not_404(client, post_feed, auth):
    assert post_feed(small_batch()).status_code == 200

    response = client.get("/api/v1/accounts/C-300/credit", headers=auth)

    assert response.status_code == 200
    assert response.json["number"] == "C-300"
    assert client.get("/api/v1/accounts/C-999/credit", headers=auth).status_code == 404


def test_credit__an_up_to_date_customer_is_not_assessed_again_on_read(
    app, client, post_feed, auth, monkeypatch
):
    post_feed(small_batch())
    drain_queue(app)
    calls = []
    monkeypatch.setattr(assessment_queue, "assess_and_queue", lambda *a, **k: calls.append(a))

    assert client.get("/api/v1/accounts/C-100/credit", headers=auth).status_code == 200
    assert calls == []


# --- durability ---------------------------------------------------------------------------------


def test_drain__a_crash_between_the_feed_and_the_drain_loses_nothing(
    app, db_url, post_feed, monkeypatch
):
    assert post_feed(small_batch()).status_code == 200
    app.extensions[EXTENSION].engine.dispose()  # the web process is gone
    engine = make_engine(db_url)  # the worker, later
    factory = make_session_factory(engine)
    try:
        # Its first attempt dies after assessing, before the commit: rolled back whole.
        def crash(session, ids, as_of, policy):
            session.execute(text("SELECT 1"))
            raise RuntimeError("worker killed")

        monkeypatch.setattr(assessment_queue, "assess_and_queue", crash)
        with pytest.raises(assessment_queue.DrainFailed):
            assessment_queue.drain_once(factory, TODAY)
        assert len(requests_of(factory)) == 3
        assert assessments(factory) == {}

        monkeypatch.undo()
        assert sorted(assessment_queue.drain_once(factory, TODAY)) == sorted(
            ids_by_number(factory).values()
        )
        assert requests_of(factory) == []
        assert len(assessments(factory)) == 3
    finally:
        engine.dispose()


def test_drain__a_request_written_while_a_drain_runs_survives_it_and_is_assessed_next(
    app, db_url, post_feed, monkeypatch
):
    """The reason for a log rather than a flag: the drain deletes only the ids it took."""
    sessions = app.extensions[EXTENSION].sessions
    post_feed(small_batch())
    c100 = ids_by_number(sessions)["C-100"]
    real_take = assessment_queue.take
    postgres = db_url.startswith("postgresql")

    def take_then_a_feed_commits(session, *args):
        taken = real_take(session, *args)
        # Between the drain's read of the queue and its delete, the ERP pays C-100's big
        # invoice and asks again. PostgreSQL: truly concurrent, in its own transaction.
        # SQLite has one writer at a time, so the "feed" writes through the drain's session.
        change = [
            update(Receivable)
            .where(Receivable.external_id == "INV-1001")
            .values(open_amount=Decimal(0), is_open=False),
            insert(AssessmentRequest).values(customer_id=c100, requested_at=NOW),
        ]
        if postgres:
            with transaction(sessions) as other:
                for statement in change:
                    other.execute(statement)
        else:
            for statement in change:
                session.execute(statement)
        return taken

    monkeypatch.setattr(assessment_queue, "take", take_then_a_feed_commits)
    first = assessment_queue.drain_once(sessions, TODAY)
    monkeypatch.undo()

    assert c100 in first
    [(_, left)] = requests_of(sessions)
    assert left == c100  # the request written mid-drain is still there
    assert assessment_queue.drain_once(sessions, TODAY) == [c100]
    assert assessments(sessions)[c100].overdue_amount == 0
    assert requests_of(sessions) == []


def test_drain__duplicate_requests_for_one_customer_are_one_assessment(app, post_feed, monkeypatch):
    sessions = app.extensions[EXTENSION].sessions
    post_feed(small_batch())
    ids = ids_by_number(sessions)
    # Four more asks that could not be merged (each written while a drain held the last).
    with transaction(sessions) as session:
        for _ in range(4):
            session.execute(
                insert(AssessmentRequest).values(customer_id=ids["C-100"], requested_at=NOW)
            )
    assert sum(1 for _, c in requests_of(sessions) if c == ids["C-100"]) == 5

    seen: list[list[int]] = []
    real = assessment_queue.reassess

    def spy(session, customer_ids, as_of, policy=None):
        seen.append(list(customer_ids))
        return real(session, customer_ids, as_of, policy)

    monkeypatch.setattr(assessment_queue, "reassess", spy)
    # limit=1: the oldest request names C-100; its four later requests come along.
    assert assessment_queue.drain_once(sessions, TODAY, limit=1) == [ids["C-100"]]
    assert seen == [[ids["C-100"]]]
    assert all(c != ids["C-100"] for _, c in requests_of(sessions))


def test_drain__a_customer_the_engine_cannot_assess_does_not_block_the_others(app, post_feed):
    sessions = app.extensions[EXTENSION].sessions
    doc = small_batch()
    doc["customers"].append({"number": "C-FX", "name": "Franc Tireur SA", "currency": "EUR"})
    doc["receivables"].append(chf_invoice("C-FX"))
    assert post_feed(doc).status_code == 200

    assert assessment_queue.drain(sessions, TODAY) == 4

    ids = ids_by_number(sessions)
    stored = assessments(sessions)
    assert stored[ids["C-FX"]].status == "ERROR"
    assert "CHF" in stored[ids["C-FX"]].error
    assert {stored[ids[n]].status for n in ("C-100", "C-200", "C-300")} <= {"OK", "WATCH", "HOLD"}
    assert all(stored[ids[n]].error is None for n in ("C-100", "C-200", "C-300"))
    assert requests_of(sessions) == []


# --- the import and the worker ------------------------------------------------------------------


def test_import__interrupted_after_some_chunks_the_workers_assessor_finishes(
    db_url, tmp_path, monkeypatch
):
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    files = [FIXTURES / "erp" / "customers.csv", FIXTURES / "erp" / "receivables.csv"]
    real_apply = importer.apply_batch
    calls = []

    def killed_on_the_third_chunk(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the receivables
        return real_apply(*args)

    monkeypatch.setattr(importer, "apply_batch", killed_on_the_third_chunk)
    try:
        with pytest.raises(KeyboardInterrupt):
            import_files(
                factory, [Path(f) for f in files], source="erp-main", now=NOW, chunk_size=2
            )
        monkeypatch.undo()
        ids = ids_by_number(factory)
        # Customers (chunks 1-2) committed with their requests; nobody assessed them yet.
        assert {c for _, c in requests_of(factory)} == set(ids.values())
        assert assessments(factory) == {}

        stop = threading.Event()
        kicked = threading.Event()
        assessor = Assessor(
            factory, lambda: TODAY, None, stop, on_commit=kicked.set, poll_seconds=0.05
        )
        thread = threading.Thread(target=assessor.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while requests_of(factory) and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        assessor.kick.set()
        thread.join(5)

        assert requests_of(factory) == []
        assert set(assessments(factory)) == set(ids.values())
        assert kicked.is_set()  # the pushers were woken after the commit
    finally:
        engine.dispose()


def test_import__drains_the_queue_before_returning(db_url):
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    files = [FIXTURES / "erp" / "customers.csv", FIXTURES / "erp" / "receivables.csv"]
    try:
        report = import_files(factory, files, source="erp-main", now=NOW, chunk_size=2)
        assert report.assessed == 3
        assert requests_of(factory) == []
        assert len(assessments(factory)) == 3
    finally:
        engine.dispose()


def test_import__a_drain_in_two_processes_assesses_everything_once_with_the_policy_given(
    db_url, monkeypatch
):
    # The fixture is small; make it count as big (two drain processes on PostgreSQL, one on
    # SQLite, whatever this machine's cores).
    monkeypatch.setattr(importer, "PARALLEL_DRAIN_MIN", 1)
    monkeypatch.setattr(importer.os, "cpu_count", lambda: 2)
    policy = load_policy({"name": "strict", "revision": 7, "hold": {"days_past_due_over": 20}})
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    files = [FIXTURES / "erp" / "customers.csv", FIXTURES / "erp" / "receivables.csv"]
    try:
        report = import_files(factory, files, source="erp-main", now=NOW, policy=policy)
        assert (report.assessed, report.assess_error) == (3, None)
        assert requests_of(factory) == []
        stored = assessments(factory)
        assert set(stored) == set(ids_by_number(factory).values())
        assert {a.document["policy"] for a in stored.values()} == {"strict r7"}
    finally:
        engine.dispose()


def test_drain_all__several_processes_share_a_long_queue_and_each_customer_is_assessed_once(
    db_url,
):
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    try:
        with transaction(factory) as session:
            session.execute(
                insert(Customer),
                [
                    {
                        "number": f"C-{n:03}",
                        "source": "erp-main",
                        "name": f"C {n}",
                        "currency": "CHF",
                    }
                    for n in range(60)
                ],
            )
        ids = sorted(ids_by_number(factory).values())
        with transaction(factory) as session:
            assessment_queue.request(session, ids, NOW)

        drained = assessment_queue.drain_all(factory, TODAY, limit=7, processes=3)

        assert (drained.assessed, drained.failed) == (60, None)
        assert requests_of(factory) == []
        assert sorted(assessments(factory)) == ids
        with factory() as session:
            queued = list(session.scalars(select(OutboxMessage.target)))
        assert sorted(queued) == sorted(f"Account:{cid}" for cid in ids)
    finally:
        engine.dispose()


def test_drain_all__a_helper_process_drains_with_the_callers_policy(db_url):
    policy = load_policy(
        {
            "name": "strict",
            "revision": 7,
            "segments": [
                {
                    "name": "big",
                    "when": {"tier": "A"},
                    "policy": {"hold": {"days_past_due_over": 20}},
                }
            ],
        }
    )
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    try:
        import_files(
            factory, [FIXTURES / "erp" / "customers.csv"], source="erp-main", now=NOW, drain=False
        )
        # What drain_all hands a helper process, through pickle as the process pool does.
        arguments = pickle.loads(pickle.dumps((db_url, TODAY, policy.portable_document(), 2)))

        drained = assessment_queue._drain_process(*arguments)

        assert (drained.assessed, drained.failed) == (3, None)
        assert {a.document["policy"] for a in assessments(factory).values()} == {"strict r7"}
        assert load_policy(arguments[2]) == policy
    finally:
        engine.dispose()


def test_import__a_failing_final_drain_is_reported_and_leaves_the_rest_queued(db_url, monkeypatch):
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    files = [FIXTURES / "erp" / "customers.csv", FIXTURES / "erp" / "receivables.csv"]

    def broken(*args, **kwargs):
        raise RuntimeError("engine bug")

    monkeypatch.setattr(assessment_queue, "assess_and_queue", broken)
    try:
        report = import_files(factory, files, source="erp-main", now=NOW)
        assert report.assessed == 0
        assert report.assess_error == "re-assessing 3 customers failed (RuntimeError)"
        assert report.counts["receivables"].accepted == 3  # the rows are stored
        assert {c for _, c in requests_of(factory)} == set(ids_by_number(factory).values())
    finally:
        engine.dispose()


def test_assessor__a_failing_batch_is_logged_kept_and_retried(app, post_feed, monkeypatch, caplog):
    sessions = app.extensions[EXTENSION].sessions
    post_feed(small_batch())
    assessor = Assessor(sessions, lambda: TODAY, None, threading.Event())

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(assessment_queue, "assess_and_queue", broken)
    assert assessor.drain_batch() == 0
    assert assessor.failures == 1
    assert "a batch of 3 customers failed" in caplog.text
    assert len(requests_of(sessions)) == 3

    monkeypatch.undo()
    done = 0
    while batch := assessor.drain_batch():
        done += batch
    assert done == 3
    assert assessor.failures == 0
    assert assessor.size > 1  # halved to 1 by the failure, grown back by the successes
    assert requests_of(sessions) == []


def test_assessor__one_customer_that_always_fails_does_not_hold_up_the_others(
    app, post_feed, monkeypatch, caplog
):
    """Not an engine "cannot assess" (stored as an error) but a crash, say a bug on one row."""
    sessions = app.extensions[EXTENSION].sessions
    post_feed(small_batch())
    ids = ids_by_number(sessions)
    poison = ids["C-100"]  # the oldest request: first in every batch
    real = assessment_queue.assess_and_queue

    def chokes_on_one(session, customer_ids, as_of, policy):
        if poison in customer_ids:
            raise RuntimeError("engine bug")
        return real(session, customer_ids, as_of, policy)

    monkeypatch.setattr(assessment_queue, "assess_and_queue", chokes_on_one)
    assessor = Assessor(sessions, lambda: TODAY, None, threading.Event())
    for _ in range(10):
        assessor.drain_batch()

    assert {c for _, c in requests_of(sessions)} == {poison}  # kept, not lost
    assert set(assessments(sessions)) == {ids["C-200"], ids["C-300"]}
    assert poison in assessor.quarantined
    assert f"customer {poison} cannot be assessed" in caplog.text

    # Once it can be assessed again (fixed, or the quarantine is over), it is.
    monkeypatch.undo()
    assessor.quarantined.clear()
    assert assessor.drain_batch() == 1
    assert requests_of(sessions) == []


def test_assessor__idle_on_sqlite_leaves_the_write_lock_to_others(sqlite_url):
    """An empty queue is seen without a write transaction: a busy writer elsewhere is no error."""
    engine = make_engine(sqlite_url, connect_args={"timeout": 0.2})
    other = make_engine(sqlite_url)
    try:
        assessor = Assessor(make_session_factory(engine), lambda: TODAY, None, threading.Event())
        with other.connect() as writer:
            writer.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: the write lock, held
            assert assessor.drain_batch() == 0
        assert assessor.failures == 0  # it never asked for the lock, so never met "locked"
    finally:
        engine.dispose()
        other.dispose()


# --- what operators see -------------------------------------------------------------------------


def test_metrics_and_readyz__show_the_queue_depth(client, post_feed, auth):
    post_feed(small_batch())

    metrics = client.get("/metrics", headers=auth).get_data(as_text=True)
    ready = client.get("/readyz", headers=auth).json

    assert "assessment_queue_requests 3.0" in metrics
    assert "assessment_queue_oldest_seconds" in metrics
    assert ready["checks"]["assessment_queue"]["requests"] == 3
    assert ready["status"] == "ok"

    client.get("/api/v1/accounts/C-100/credit", headers=auth)
    metrics = client.get("/metrics", headers=auth).get_data(as_text=True)
    assert "assessment_queue_requests 2.0" in metrics
    assert "assessment_duration_seconds_count 1.0" in metrics  # the on-read assessment
    assert "assessed_customers_total 1.0" in metrics


def test_request__a_customer_already_waiting_is_not_asked_for_again(app, post_feed):
    sessions = app.extensions[EXTENSION].sessions
    post_feed(small_batch())
    before = requests_of(sessions)
    doc = small_batch()
    for row in doc["receivables"]:
        row["updated_at"] = "2026-03-14T09:00:00Z"  # newer: a real change
    post_feed(doc)
    assert requests_of(sessions) == before  # the waiting requests cover the change

    drain_queue(app)
    c100 = ids_by_number(sessions)["C-100"]
    with transaction(sessions) as session:
        assessment_queue.request(session, [c100])
    assert [c for _, c in requests_of(sessions)] == [c100]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_request__while_a_drain_holds_the_waiting_request_a_new_one_is_written(
    app, db_url, post_feed, monkeypatch
):
    """PostgreSQL: the drain may have read the data already, so the held request cannot cover
    a change committed now. (SQLite runs one writer at a time: no such overlap exists.)"""
    sessions = app.extensions[EXTENSION].sessions
    post_feed(small_batch())
    c100 = ids_by_number(sessions)["C-100"]
    real_take = assessment_queue.take

    def take_then_a_feed_commits(session, *args):
        taken = real_take(session, *args)
        with transaction(sessions) as other:
            other.execute(
                update(Receivable)
                .where(Receivable.external_id == "INV-1001")
                .values(open_amount=Decimal(0), is_open=False)
            )
            assessment_queue.request(other, [c100])
        return taken

    monkeypatch.setattr(assessment_queue, "take", take_then_a_feed_commits)
    assert c100 in assessment_queue.drain_once(sessions, TODAY)
    monkeypatch.undo()

    assert [c for _, c in requests_of(sessions)] == [c100]  # written anew, survived the drain
    assert assessment_queue.drain_once(sessions, TODAY) == [c100]
    assert assessments(sessions)[c100].overdue_amount == 0


def test_request__one_row_per_distinct_customer(app, post_feed):
    sessions = app.extensions[EXTENSION].sessions
    post_feed(small_batch())
    drain_queue(app)
    ids = sorted(ids_by_number(sessions).values())

    with transaction(sessions) as session:
        assert assessment_queue.request(session, [ids[0], ids[1], ids[0]]) == 2
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AssessmentRequest)) == 2
