"""Properties of the planner over random books: what a customer is sent can be trusted."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from service.credit import default_policy
from service.dunning.planning import DunningCase, LastReminder, plan
from service.dunning.rules import dunning_rules
from tests.dunning.books import customer, dispute, invoice, promise

DAYS = st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31))


@st.composite
def books(draw):
    as_of = draw(DAYS)
    n = draw(st.integers(min_value=0, max_value=8))
    items = [
        invoice(
            i,
            draw(st.integers(min_value=-30, max_value=120)),
            str(draw(st.decimals(min_value=1, max_value=10_000, places=2))),
            draw(st.sampled_from(["EUR", "EUR", "USD"])),
            as_of=as_of,
        )
        for i in range(n)
    ]
    disputed = (
        draw(st.sets(st.sampled_from([it.id for it in items]), max_size=2)) if items else set()
    )
    disputes = [dispute(i, "1000000", as_of) for i in sorted(disputed)]
    promises = []
    if draw(st.booleans()):
        promises.append(
            promise(str(draw(st.integers(1, 50_000))), as_of + timedelta(days=draw(st.integers(-20, 20))),
                    as_of - timedelta(days=25))
        )  # fmt: skip
    return as_of, customer(*items, disputes=disputes, promises=promises), disputed


POLICY = default_policy()


@settings(max_examples=300, deadline=None)
@given(books())
def test_plan__every_message_is_sound(drawn):
    as_of, book, disputed = drawn
    result = plan(DunningCase(book), POLICY, as_of)
    currencies = [r.currency for r in result.reminders]
    assert len(currencies) == len(set(currencies))  # one per currency
    for r in result.reminders:
        assert r.lines and r.total == sum(line.amount for line in r.lines)
        assert r.total >= dunning_rules(POLICY).min_amount
        assert r.level.number == max(line.level for line in r.lines)
        assert all(line.days_overdue > 0 and line.item_id not in disputed for line in r.lines)
        assert dunning_rules(POLICY).is_business_day(as_of)
    if result.next_reminder_date is not None:
        assert result.next_reminder_date > as_of or not result.reminders
        assert dunning_rules(POLICY).is_business_day(result.next_reminder_date)


@settings(max_examples=300, deadline=None)
@given(books())
def test_plan__once_sent__the_same_day_sends_nothing_and_no_level_is_repeated(drawn):
    as_of, book, _ = drawn
    first = plan(DunningCase(book), POLICY, as_of)
    sent = {
        r.currency: LastReminder(r.level.number, as_of, frozenset(r.item_ids))
        for r in first.reminders
    }
    assert plan(DunningCase(book, sent), POLICY, as_of).reminders == ()
    # The next day (or any later day with the same book): never the same level again.
    later = plan(DunningCase(book, sent), POLICY, as_of + timedelta(days=1))
    for r in later.reminders:
        if r.currency in sent:
            assert r.level.number > sent[r.currency].level


def test_plan__money_stays_decimal():
    result = plan(DunningCase(customer(invoice(1, 20, "100.10"))), POLICY, date(2026, 3, 16))
    assert isinstance(result.reminders[0].total, Decimal)
