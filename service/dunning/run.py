"""A dunning run: plan, render and queue today's reminders for the whole book (or some customers).

The book is walked in chunks of customer ids; each chunk is read in a handful of queries
(the engine's inputs through ``service.assessments.loading``, plus the dunning state and the
reminders already stored), planned (``service.dunning.planning``, pure), rendered and stored in
one transaction. ``run_book``'s processes on SQLite draft a chunk (read, plan, render) before
that transaction and reuse what is still valid in it (``_Draft``, docs/adr/0019). A run repeated
the same day, or resumed after a crash, stores nothing twice (``service.dunning.queue``).
``preview`` does the same reading and planning and writes nothing.

The run also keeps ``Customer.next_reminder_date`` current (pushed as Next_Reminder_Date__c)
and answers the pauses and reminder requests logged in Salesforce (``answer_requests``, which
the worker calls every few seconds).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from email.utils import make_msgid
from typing import Any

from sqlalchemy import bindparam, create_engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from service import outbox
from service.assessments.loading import id_ranges, load_inputs
from service.credit import CustomerInputs, Policy, load_policy
from service.db import make_engine, make_session_factory, utcnow
from service.dunning import queue
from service.dunning.planning import DunningCase, LastReminder, Plan, Reminder, plan
from service.dunning.recipients import choose
from service.dunning.render import Company, Rendered, check_template, render
from service.dunning.rules import check_calendar, dunning_rules
from service.errors import ConfigError
from service.models import BillingContact, CollectionAction, Customer, DunningMessage, Receivable
from service.paylinks import PayLinks

log = logging.getLogger(__name__)

DUNNING_PAUSE = "Dunning Pause"
REMINDER_REQUESTED = "Reminder Requested"
REMINDER_SENT = "Reminder Sent"
PROMISE = "Promise to Pay"
NO_RECIPIENT = "no recipient"
CHUNK = 2000


@dataclass(frozen=True)
class Settings:
    """What a run needs besides the database: the policy, who sends, the pay links."""

    policy: Policy
    company: Company
    mail_domain: str = "credit-control.invalid"
    pay_links: PayLinks | None = None


@dataclass
class Planned:
    """One reminder decided for a customer, as preview prints it and the queue stores it."""

    customer_id: int
    number: str
    name: str
    reminder: Reminder
    recipients: list[str]


@dataclass
class RunReport:
    as_of: date
    customers: int = 0
    due: int = 0  # reminders due today (with a recipient)
    planned: list[Planned] = field(default_factory=list)
    queued: int = 0
    already_queued: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    no_recipient: list[str] = field(default_factory=list)
    # Addresses left out of a reminder (not one plain e-mail address): "<customer>: <why>".
    bad_addresses: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, other: RunReport) -> None:
        self.customers += other.customers
        self.due += other.due
        self.planned += other.planned
        self.queued += other.queued
        self.already_queued += other.already_queued
        self.skipped.update(other.skipped)
        self.no_recipient += other.no_recipient
        self.bad_addresses += other.bad_addresses
        self.errors += other.errors

    def summary(self) -> str:
        skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(self.skipped.items()))
        return (
            f"dunning {self.as_of}: {self.customers} customers, {self.due} reminders due, "
            f"{self.queued} queued, {self.already_queued} already queued"
            + (f"; skipped: {skipped}" if skipped else "")
            + (f"; {len(self.bad_addresses)} addresses ignored" if self.bad_addresses else "")
        )


@dataclass
class _State:
    number: str
    name: str
    language: str | None
    email: str | None
    paused_until: date | None
    seen_action: int | None
    seen_pause: date | None
    next_reminder: date | None
    last: dict[str, LastReminder] = field(default_factory=dict)
    action_pause: date | None = None
    max_action: int | None = None
    requested: bool = False
    promised: dict[str, date] = field(default_factory=dict)
    item_link: str | None = None
    contacts: list[tuple[str, str]] = field(default_factory=list)  # (Contact Id, Email)


def _read_state(session: Session, ids: Sequence[int], as_of: date) -> dict[int, _State]:
    c = Customer
    states = {
        row.id: _State(
            row.number,
            row.name,
            row.language,
            row.billing_email,
            row.dunning_paused_until,
            row.dunning_seen_action_id,
            row.dunning_seen_pause,
            row.next_reminder_date,
        )
        for row in session.execute(
            select(
                c.id,
                c.number,
                c.name,
                c.language,
                c.billing_email,
                c.dunning_paused_until,
                c.dunning_seen_action_id,
                c.dunning_seen_pause,
                c.next_reminder_date,
            ).where(c.id.in_(ids))
        )
    }
    a = CollectionAction
    for cid, aid, kind, follow_up, receivable, promised in session.execute(
        select(a.customer_id, a.id, a.type, a.follow_up_date, a.receivable_id, a.promised_date)
        .where(
            a.customer_id.in_(ids),
            a.is_deleted.is_(False),
            a.type.in_((DUNNING_PAUSE, REMINDER_REQUESTED, PROMISE)),
        )
        .order_by(a.id)
    ):
        s = states.get(cid)
        if s is None:
            continue
        if kind == PROMISE:
            if receivable is not None and promised is not None:
                s.promised[str(receivable)] = promised
            continue
        s.max_action = aid
        if kind == DUNNING_PAUSE and follow_up is not None:
            s.action_pause = follow_up if s.action_pause is None else max(s.action_pause, follow_up)
        elif kind == REMINDER_REQUESTED and aid > (s.seen_action or 0):
            s.requested = True
    m = DunningMessage
    for cid, currency, level, run_date, items in session.execute(
        select(m.customer_id, m.currency, m.level, m.run_date, m.items)
        .where(m.customer_id.in_(ids), m.status.in_(queue.STORED))
        .order_by(m.run_date, m.level, m.id)
    ):
        s = states.get(cid)
        if s is not None:  # the latest wins
            s.last[currency] = LastReminder(level, run_date, frozenset(items or ()))
    b = BillingContact
    for cid, contact, email in session.execute(
        select(c.id, b.contact_id, b.email)
        .join(b, b.account_id == c.salesforce_account_id)
        .where(c.id.in_(ids), c.billing_email.is_(None) | (c.billing_email == ""))
    ):
        states[cid].contacts.append((contact, email))
    r = Receivable
    for cid, link in session.execute(
        select(r.customer_id, func.min(r.pay_link))
        .where(r.customer_id.in_(ids), r.is_open.is_(True), r.pay_link.is_not(None))
        .group_by(r.customer_id)
    ):
        if cid in states:
            states[cid].item_link = link
    return states


def check_policy(policy: Policy) -> None:
    """``ConfigError`` when a segment's dunning names a calendar or template we do not have."""
    try:
        check_calendar(policy)
        for p in (policy, *(s.policy for s in policy.segments)):
            for level in dunning_rules(p).levels:
                check_template(level.template)
    except ValueError as exc:
        raise ConfigError(
            "CREDIT_POLICY_FILE", f"a credit policy whose dunning section works ({exc})"
        ) from None


def _pause(s: _State) -> date | None:
    days = [d for d in (s.paused_until, s.action_pause) if d is not None]
    return max(days) if days else None


@dataclass
class _Draft:
    """A chunk read, planned and rendered without the write lock (``run_book`` on SQLite).

    What is stored is decided again under the lock, on the chunk read again: a customer whose
    inputs and state are unchanged keeps its plan, and a reminder rendered here is reused when
    the same reminder is decided for the same customer, name, language and link (rendering is
    a pure function of those). So the outcome is the one a run holding the lock throughout
    would have had; only the CPU-bound work happens while the other processes write.
    """

    inputs: dict[int, CustomerInputs]
    states: dict[int, _State]
    plans: dict[int, Plan]
    links: dict[tuple[str, str | None], str | None] = field(default_factory=dict)
    mails: dict[tuple[Any, ...], Rendered] = field(default_factory=dict)

    def unchanged(self, cid: int, inputs: CustomerInputs, state: _State) -> bool:
        return self.inputs.get(cid) == inputs and self.states.get(cid) == state

    def render_all(self, settings: Settings) -> None:
        for cid, p in self.plans.items():
            s = self.states[cid]
            if not p.reminders or not choose(s.email, s.contacts).to:
                continue
            link = self.link(settings, s)
            for reminder in p.reminders:
                self.mail(settings, s, p, reminder, link)

    def link(self, settings: Settings, s: _State) -> str | None:
        key = (s.number, s.item_link)
        if key not in self.links:
            self.links[key] = _pay_link(settings, s)
        return self.links[key]

    def mail(
        self, settings: Settings, s: _State, p: Plan, reminder: Reminder, link: str | None
    ) -> Rendered:
        key = (reminder, s.name, s.language, p.language, link)
        mail = self.mails.get(key)
        if mail is None:
            mail = self.mails[key] = _render(settings, s, p, reminder, link)
        return mail


def _render(
    settings: Settings, s: _State, p: Plan, reminder: Reminder, link: str | None
) -> Rendered:
    return render(
        reminder,
        customer_name=s.name,
        language=s.language,
        default_language=p.language,
        company=settings.company,
        pay_link=link,
    )


def plan_chunk(
    session: Session,
    inputs: dict[int, CustomerInputs],
    as_of: date,
    settings: Settings,
    *,
    earlier: _Draft | None = None,
) -> tuple[dict[int, _State], dict[int, Plan]]:
    """Each customer's state and plan. A customer whose inputs and state equal those of
    ``earlier`` (the same chunk read before) keeps its plan: ``plan`` is pure."""
    ids = sorted(inputs)
    states: dict[int, _State] = {}
    for i in range(0, len(ids), 900):
        states.update(_read_state(session, ids[i : i + 900], as_of))
    plans = {}
    for cid in ids:
        s = states[cid]
        if earlier is not None and earlier.unchanged(cid, inputs[cid], s):
            plans[cid] = earlier.plans[cid]
            continue
        case = DunningCase(
            inputs[cid],
            last=s.last,
            paused_until=_pause(s),
            requested=s.requested,
            promised_items=s.promised,
        )
        plans[cid] = plan(case, settings.policy, as_of)
    return states, plans


def _pay_link(settings: Settings, s: _State) -> str | None:
    if settings.pay_links is not None:
        return settings.pay_links.url(s.number)
    return s.item_link  # the ERP's own link, until pay links are configured


def _chunks(session: Session, ids: Iterable[int] | None) -> Iterator[dict[str, Any]]:
    if ids is None:
        for lo, hi in id_ranges(session, CHUNK):
            yield {"lo": lo, "hi": hi}
    else:
        wanted = sorted(set(ids))
        for i in range(0, len(wanted), CHUNK):
            yield {"ids": wanted[i : i + CHUNK]}


def run(
    factory: sessionmaker[Session],
    as_of: date,
    settings: Settings,
    *,
    customer_ids: Iterable[int] | None = None,
    write: bool = True,
    on_chunk: Callable[[], bool] | None = None,
) -> RunReport:
    """Plan (and with ``write``, render and queue) today's reminders; one transaction a chunk.

    ``on_chunk`` is called after each chunk (the worker's heartbeat); False stops the run.
    """
    report = RunReport(as_of)
    with factory() as reader:
        keys = list(_chunks(reader, customer_ids))
    for key in keys:
        _run_chunk(factory, key, as_of, settings, report, write=write)
        if on_chunk is not None and not on_chunk():
            break
    log.info(report.summary())
    return report


def _run_chunk(
    factory: sessionmaker[Session],
    key: dict[str, Any],
    as_of: date,
    settings: Settings,
    report: RunReport,
    *,
    write: bool,
    keep_planned: bool = True,
    draft: _Draft | None = None,
) -> None:
    with factory() as session, session.begin():
        inputs = load_inputs(session, as_of, settings.policy, **key)
        if not inputs:
            return
        states, plans = plan_chunk(session, inputs, as_of, settings, earlier=draft)
        rows = _decide(
            report, states, plans, settings, as_of,
            render_mail=write, keep_planned=keep_planned, draft=draft,
        )  # fmt: skip
        if write:
            new = queue.store(session, rows)
            report.queued += new
            report.already_queued += len(rows) - new
            _record_state(session, states, plans)


_WORKER: dict[str, Any] = {}


def _worker_start(url: str, policy_document: dict[str, Any], settings: Settings, as_of: date):
    engine = make_engine(url)
    # On SQLite every transaction of ``make_engine`` takes the write lock (BEGIN IMMEDIATE):
    # a chunk read, planned and rendered in one would keep the other processes waiting. A
    # plain engine begins deferred, so the draft is made while others write (WAL).
    drafts = create_engine(url, hide_parameters=True) if engine.dialect.name == "sqlite" else None
    _WORKER.update(
        factory=make_session_factory(engine),
        readers=make_session_factory(drafts) if drafts is not None else None,
        settings=replace(settings, policy=load_policy(policy_document)),
        as_of=as_of,
    )


def _worker_chunk(key: dict[str, Any]) -> RunReport:
    as_of, settings = _WORKER["as_of"], _WORKER["settings"]
    report = RunReport(as_of)
    draft = None
    if _WORKER["readers"] is not None:
        draft = _make_draft(_WORKER["readers"], key, as_of, settings)
        if draft is None:
            return report
    _run_chunk(
        _WORKER["factory"], key, as_of, settings, report,
        write=True, keep_planned=False, draft=draft,
    )  # fmt: skip
    return report


def _make_draft(
    readers: sessionmaker[Session], key: dict[str, Any], as_of: date, settings: Settings
) -> _Draft | None:
    """The chunk read, planned and rendered outside the write transaction (None: empty)."""
    with readers() as session:
        inputs = load_inputs(session, as_of, settings.policy, **key)
        if not inputs:
            return None
        states, plans = plan_chunk(session, inputs, as_of, settings)
        session.rollback()
    draft = _Draft(inputs, states, plans)
    draft.render_all(settings)
    return draft


def run_book(
    url: str,
    as_of: date,
    settings: Settings,
    *,
    processes: int | None = None,
    on_chunk: Callable[[], bool] | None = None,
) -> RunReport:
    """``run`` over the whole book, its chunks spread over one process per CPU (planning and
    rendering are CPU-bound Python). Stores and queues like ``run``; the report has counts, not
    the reminders themselves."""
    processes = processes or os.cpu_count() or 1
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as reader:
            keys = list(_chunks(reader, None))
    finally:
        engine.dispose()
    report = RunReport(as_of)
    if processes <= 1 or len(keys) <= 1:
        engine = make_engine(url)
        try:
            factory = make_session_factory(engine)
            for key in keys:
                _run_chunk(factory, key, as_of, settings, report, write=True, keep_planned=False)
                if on_chunk is not None and not on_chunk():
                    break
        finally:
            engine.dispose()
        log.info(report.summary())
        return report
    bare = replace(settings, policy=None)
    with ProcessPoolExecutor(
        max_workers=processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_start,
        initargs=(url, settings.policy.portable_document(), bare, as_of),
    ) as pool:
        for part in pool.map(_worker_chunk, keys):
            report.add(part)
            if on_chunk is not None and not on_chunk():
                pool.shutdown(wait=True, cancel_futures=True)
                break
    log.info(report.summary())
    return report


def _decide(
    report: RunReport,
    states: dict[int, _State],
    plans: dict[int, Plan],
    settings: Settings,
    as_of: date,
    *,
    render_mail: bool,
    keep_planned: bool = True,
    draft: _Draft | None = None,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    now = utcnow()
    for cid, p in plans.items():
        s = states[cid]
        report.customers += 1
        for skip in p.skipped:
            report.skipped[skip.reason.split(":")[0]] += 1
            if skip.reason.startswith("cannot"):
                report.errors.append(f"{s.number}: {skip.reason}")
        for reminder in p.reminders:
            chosen = choose(s.email, s.contacts)
            recipients = chosen.to
            for problem in chosen.problems:
                line = f"{s.number}: {problem}"
                if line not in report.bad_addresses[-len(chosen.problems) :]:
                    report.bad_addresses.append(line)
                    log.warning("dunning: %s", line)
            if not recipients:
                report.skipped[NO_RECIPIENT] += 1
                report.no_recipient.append(s.number)
                continue
            report.due += 1
            if keep_planned:
                report.planned.append(Planned(cid, s.number, s.name, reminder, recipients))
            if not render_mail:
                continue
            if draft is None:
                link = _pay_link(settings, s)
                mail = _render(settings, s, p, reminder, link)
            else:
                link = draft.link(settings, s)
                mail = draft.mail(settings, s, p, reminder, link)
            rows.append(
                {
                    "customer_id": cid,
                    "currency": reminder.currency,
                    "level": reminder.level.number,
                    "template": reminder.level.template,
                    "run_date": as_of,
                    "status": queue.QUEUED,
                    "recipients": recipients,
                    "message_id": make_msgid(domain=settings.mail_domain),
                    "subject": mail.subject[:255],
                    "body_text": mail.text,
                    "body_html": mail.html,
                    "language": mail.language,
                    "attach_statement": reminder.level.attach_statement,
                    "items": list(reminder.item_ids),
                    "total": reminder.total,
                    "pay_link": link,
                    "requested": reminder.requested,
                    "attempts": 0,
                    "available_at": now,
                    "created_at": now,
                }
            )
    return rows


def _record_state(session: Session, states: dict[int, _State], plans: dict[int, Plan]) -> None:
    """Next reminder dates, and the pauses and requests now answered; Accounts whose
    Next_Reminder_Date__c moved are queued for Salesforce."""
    changed: list[dict[str, Any]] = []
    moved: list[int] = []
    for cid, p in plans.items():
        s = states[cid]
        values: dict[str, Any] = {}
        if p.next_reminder_date != s.next_reminder:
            values["next_reminder_date"] = p.next_reminder_date
            moved.append(cid)
        if s.max_action is not None and s.max_action != s.seen_action:
            values["dunning_seen_action_id"] = s.max_action
        if s.paused_until != s.seen_pause:
            values["dunning_seen_pause"] = s.paused_until
        if values:
            changed.append({"id": cid, **values})
    # Core executemany on the session's connection: the ORM's bulk update by primary key does
    # the same with more bookkeeping per row, inside the write transaction.
    table = Customer.__table__
    by_id = update(table).where(table.c.id == bindparam("customer_id"))
    conn = session.connection()
    for group in _same_keys(changed):
        conn.execute(by_id, [{"customer_id": row.pop("id"), **row} for row in group])
    if moved:
        outbox.queue_for_salesforce(session, moved)


def _same_keys(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted(row))].append(row)
    return list(groups.values())


def customers_to_answer(session: Session) -> list[int]:
    """Customers with a pause or reminder request from Salesforce the run has not seen yet."""
    a = CollectionAction
    c = Customer
    latest = (
        select(a.customer_id, func.max(a.id).label("top"))
        .where(a.type.in_((DUNNING_PAUSE, REMINDER_REQUESTED)), a.customer_id.is_not(None))
        .group_by(a.customer_id)
        .subquery()
    )
    by_action = (
        select(latest.c.customer_id)
        .join(c, c.id == latest.c.customer_id)
        .where(latest.c.top > func.coalesce(c.dunning_seen_action_id, 0))
    )
    by_pause = select(c.id).where(
        func.coalesce(c.dunning_paused_until, date(1, 1, 1))
        != func.coalesce(c.dunning_seen_pause, date(1, 1, 1))
    )
    return sorted(set(session.scalars(by_action)) | set(session.scalars(by_pause)))


def answer_requests(
    factory: sessionmaker[Session], as_of: date, settings: Settings
) -> RunReport | None:
    """Run for the customers whose pause or reminder request is new (within seconds)."""
    with factory() as session:
        ids = customers_to_answer(session)
    if not ids:
        return None
    return run(factory, as_of, settings, customer_ids=ids)
