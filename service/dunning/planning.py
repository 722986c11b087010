"""Which reminder each customer gets today: pure, no I/O, the same answer for the same input.

``plan(case, policy, as_of)`` looks at one customer's open items, payments, promises, disputes,
pause and the reminders already sent, and answers with at most one :class:`Reminder` per
currency (every overdue invoice of that currency on it, each with its own level) plus the
currencies it skipped and why, and the day the next reminder is due.

The rules (docs/dunning.md gives the reasons):

- An invoice's level is the highest level of the ladder its days past due have reached; the
  message's level is the highest among its invoices.
- Invoices under an open dispute are left out; an account-level dispute is set against the
  oldest overdue invoices first, as the credit engine does.
- Provisional payments (card, bank, Salesforce) count at once, as they do in the figures.
- An invoice with a promise to pay of its own is left out until the promised date plus grace.
- A pending promise to pay that covers the overdue amount pauses the customer until its date
  plus grace; a broken promise resumes dunning and the next message says so.
- A pause set in Salesforce (``paused_until``) stops every message up to and including that day.
- Reminders go out on business days only, never below ``min_amount``, never at a level already
  sent in this episode (an episode ends when none of the last reminder's invoices is still
  overdue), and at least ``min_days_between`` business days apart.
- A reminder requested from Salesforce goes out today at the current level whatever the
  interval or the day, but never twice in one day, and not while paused or under a promise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from service.credit import AssessmentError, CustomerInputs, Policy, Promise
from service.credit.dates import add_days
from service.credit.figures import compute_figures
from service.credit.fx import converter
from service.credit.inputs import DISPUTE_OPEN, INVOICE
from service.credit.promises import NO_PROMISES, evaluate_promises
from service.dunning.rules import DunningRules, Level, dunning_rules

_ZERO = Decimal(0)

# Why a currency got no message today (``Skip.reason``).
NOT_BUSINESS_DAY = "not a business day"
PAUSED = "paused"
PROMISED = "promise to pay"
BELOW_MINIMUM = "below the minimum amount"
LEVEL_SENT = "level already sent"
TOO_SOON = "too soon after the last reminder"
SENT_TODAY = "already sent today"
PLANNING_ERROR = "cannot be planned"


@dataclass(frozen=True, slots=True)
class LastReminder:
    """The last reminder stored for one customer and currency (sent or waiting to be sent)."""

    level: int
    sent_on: date
    item_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class DunningCase:
    """What the planner is told about one customer besides the engine's inputs."""

    inputs: CustomerInputs
    last: Mapping[str, LastReminder] = field(default_factory=dict)  # by currency
    paused_until: date | None = None
    requested: bool = False  # a reminder asked for from Salesforce, not yet answered
    # Promises to pay logged on one invoice: item id -> the promised date. The invoice is left
    # out of reminders until that date plus grace; then it is back, and the broken promise said.
    promised_items: Mapping[str, date] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Line:
    """One overdue invoice on a reminder, in its own currency."""

    item_id: str
    number: str
    issue_date: date
    due_date: date
    days_overdue: int
    level: int  # 0: overdue but below the first level
    amount: Decimal  # open, undisputed


@dataclass(frozen=True, slots=True)
class PreHold:
    """The pre-hold warning's facts: the day the hold would start and what avoids it."""

    hold_on: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Reminder:
    customer: str
    currency: str
    level: Level
    lines: tuple[Line, ...]
    total: Decimal
    as_of: date
    pre_hold: PreHold | None = None
    broken_promise: Promise | None = None
    requested: bool = False

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(line.item_id for line in self.lines)


@dataclass(frozen=True, slots=True)
class Skip:
    customer: str
    currency: str | None  # None: the whole customer
    reason: str
    until: date | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    reminders: tuple[Reminder, ...]
    skipped: tuple[Skip, ...]
    next_reminder_date: date | None
    language: str


def plan(case: DunningCase, policy: Policy, as_of: date) -> Plan:
    inputs = case.inputs
    segment_policy, _ = policy.for_customer(inputs.attributes)
    rules = dunning_rules(segment_policy)
    language = rules.default_language
    lines_by_currency = _overdue_lines(inputs, as_of, rules, case.promised_items)
    upcoming = _upcoming(inputs, as_of, rules)

    promises = NO_PROMISES
    overdue = _ZERO
    if inputs.promises:  # the figures matter only to weigh promises against the overdue
        try:
            convert = converter(segment_policy, inputs.currency, inputs.number)
            overdue = compute_figures(inputs, as_of, convert, segment_policy.bucket_edges).overdue
            promises = evaluate_promises(
                inputs,
                as_of,
                convert,
                segment_policy.promise_grace_days,
                segment_policy.broken_promise_window_days,
            )
        except AssessmentError as exc:
            skip = Skip(inputs.number, None, f"{PLANNING_ERROR}: {exc}")
            return Plan((), (skip,), None, language)

    # Who holds the customer back for the whole customer: a pause, a promise.
    held_until: date | None = None
    reason = None
    if case.paused_until is not None and case.paused_until >= as_of:
        held_until, reason = case.paused_until, PAUSED
    if promises.pending and promises.covers(overdue):
        promise_end = max(
            add_days(p.promised_date, rules.promise_grace_days) for p in promises.pending
        )
        if held_until is None or promise_end > held_until:
            held_until, reason = promise_end, PROMISED

    reminders: list[Reminder] = []
    skipped: list[Skip] = []
    next_dates: list[date] = []
    business_day = rules.is_business_day(as_of)
    for currency in sorted(lines_by_currency.keys() | upcoming.keys()):
        lines = lines_by_currency.get(currency, [])
        last = case.last.get(currency)
        ids = {line.item_id for line in lines}
        sent_level = last.level if last is not None and last.item_ids & ids else 0
        top = max((line.level for line in lines), default=0)
        nxt = _next_due(rules, lines, upcoming.get(currency), sent_level, last, as_of)
        if held_until is not None:
            if top:
                skipped.append(Skip(inputs.number, currency, reason, held_until))
            if nxt is not None:
                next_dates.append(max(nxt, rules.business_day_on_or_after(add_days(held_until, 1))))
            continue
        if not top:
            if nxt is not None:
                next_dates.append(nxt)
            continue
        total = sum((line.amount for line in lines), _ZERO)
        skip = None
        if last is not None and last.sent_on == as_of:
            skip = Skip(inputs.number, currency, SENT_TODAY)
        elif total < rules.min_amount:
            skip = Skip(inputs.number, currency, BELOW_MINIMUM)
        elif not case.requested:
            if not business_day:
                skip = Skip(inputs.number, currency, NOT_BUSINESS_DAY)
            elif top <= sent_level:
                skip = Skip(inputs.number, currency, LEVEL_SENT)
            elif last is not None and as_of < _earliest_after(rules, last.sent_on):
                skip = Skip(inputs.number, currency, TOO_SOON, _earliest_after(rules, last.sent_on))
        if skip is not None:
            skipped.append(skip)
            if nxt is not None and skip.reason != BELOW_MINIMUM:  # due when it grows, not a day
                next_dates.append(nxt)
            continue
        level = rules.level(top)
        assert level is not None
        broken = [
            p
            for p in promises.broken_recently
            if last is None or add_days(p.promised_date, rules.promise_grace_days) >= last.sent_on
        ]
        reminders.append(
            Reminder(
                customer=inputs.number,
                currency=currency,
                level=level,
                lines=tuple(lines),
                total=total,
                as_of=as_of,
                pre_hold=_pre_hold(rules, lines) if level.is_pre_hold else None,
                broken_promise=max(broken, key=lambda p: p.promised_date) if broken else None,
                requested=case.requested,
            )
        )
        sent = LastReminder(top, as_of, frozenset(ids))
        after = _next_due(rules, lines, upcoming.get(currency), top, sent, as_of)
        if after is not None:
            next_dates.append(after)
    return Plan(
        tuple(reminders),
        tuple(skipped),
        min(next_dates) if next_dates else None,
        language,
    )


def _earliest_after(rules: DunningRules, sent_on: date) -> date:
    return rules.add_business_days(sent_on, rules.min_days_between)


def _next_due(
    rules: DunningRules,
    lines: list[Line],
    upcoming: date | None,
    sent_level: int,
    last: LastReminder | None,
    as_of: date,
) -> date | None:
    """The first business day a level above ``sent_level`` is due and the interval allows."""
    candidates = []
    nxt = rules.level(sent_level + 1)
    if nxt is not None:
        for line in lines:
            candidates.append(add_days(line.due_date, nxt.days_past_due))
    if upcoming is not None and sent_level == 0:
        candidates.append(upcoming)
    if not candidates:
        return None
    due = max(
        min(candidates), as_of if last is None or last.sent_on != as_of else add_days(as_of, 1)
    )
    if last is not None:
        due = max(due, _earliest_after(rules, last.sent_on))
    return rules.business_day_on_or_after(due)


def _pre_hold(rules: DunningRules, lines: list[Line]) -> PreHold:
    """The hold starts the day the oldest listed invoice passes the hold rule's days; paying
    every invoice already at the warning's days (each crosses the rule within the warning's
    window) avoids it."""
    warning = rules.pre_hold
    assert warning is not None
    oldest = min(line.due_date for line in lines)
    hold_on = add_days(oldest, rules.hold_days_past_due + 1)
    amount = sum(
        (line.amount for line in lines if line.days_overdue >= warning.days_past_due), _ZERO
    )
    return PreHold(hold_on, amount)


def _open_amounts(inputs: CustomerInputs, as_of: date) -> dict[str, Decimal]:
    """Each open invoice's open amount net of provisional payments (in its own currency)."""
    provisional: dict[str, Decimal] = {}
    for p in inputs.payments:
        if p.provisional and p.received_on <= as_of:
            for a in p.allocations:
                # Allocations are in the payment's currency; an invoice is paid in its own.
                provisional[a.receivable_id] = provisional.get(a.receivable_id, _ZERO) + a.amount
    return {
        it.id: it.open_amount - provisional.get(it.id, _ZERO)
        for it in inputs.items
        if it.kind == INVOICE and it.open_amount > 0
    }


def _overdue_lines(
    inputs: CustomerInputs, as_of: date, rules: DunningRules, promised: Mapping[str, date]
) -> dict[str, list[Line]]:
    open_amounts = _open_amounts(inputs, as_of)
    disputed_items = {
        item
        for item, promised_date in promised.items()
        if add_days(promised_date, rules.promise_grace_days) >= as_of
    }
    account_disputed = _ZERO
    for d in inputs.disputes:
        if d.status != DISPUTE_OPEN or d.opened_on > as_of or d.amount <= 0:
            continue
        if d.receivable_id is None:
            account_disputed += d.amount
        else:
            disputed_items.add(d.receivable_id)  # left out like an invoice promised
    ordinal = as_of.toordinal()
    overdue = sorted(
        (it for it in inputs.items if it.id in open_amounts and it.due_date.toordinal() < ordinal),
        key=lambda it: (it.due_date, it.issue_date, it.number, it.id),
    )
    out: dict[str, list[Line]] = {}
    for it in overdue:
        if it.id in disputed_items:
            continue
        amount = open_amounts[it.id]
        if account_disputed > 0 and it.currency == inputs.currency:
            take = min(account_disputed, amount)
            amount -= take
            account_disputed -= take
        if amount <= 0:
            continue
        days = ordinal - it.due_date.toordinal()
        level = rules.level_at(days)
        out.setdefault(it.currency, []).append(
            Line(
                item_id=it.id,
                number=it.number,
                issue_date=it.issue_date,
                due_date=it.due_date,
                days_overdue=days,
                level=level.number if level else 0,
                amount=amount,
            )
        )
    return out


def _upcoming(inputs: CustomerInputs, as_of: date, rules: DunningRules) -> dict[str, date]:
    """Per currency, the day the earliest invoice not yet overdue reaches the first level."""
    first = rules.levels[0].days_past_due
    out: dict[str, date] = {}
    open_ids = _open_amounts(inputs, as_of)
    for it in inputs.items:
        if it.id in open_ids and open_ids[it.id] > 0 and it.due_date >= as_of:
            day = add_days(it.due_date, first)
            if it.currency not in out or day < out[it.currency]:
                out[it.currency] = day
    return out
