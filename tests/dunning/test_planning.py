"""The planner: who gets which reminder today, and who does not, and why."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from service.credit import PolicyError, default_policy, load_policy
from service.dunning import planning
from service.dunning.planning import DunningCase, LastReminder, plan
from service.dunning.rules import dunning_rules
from tests.dunning.books import MONDAY, customer, dispute, invoice, promise


def _sent(reminder, on=MONDAY) -> dict[str, LastReminder]:
    return {
        reminder.currency: LastReminder(reminder.level.number, on, frozenset(reminder.item_ids))
    }


def test_plan__the_issue_check_one_overdue_one_disputed_one_promised__lists_only_the_first():
    book = customer(
        invoice(1, 16, "100.00"), invoice(2, 16, "200.00"), invoice(3, 16, "300.00"),
        disputes=[dispute("i2", "200.00")],
        promises=[promise("300.00", MONDAY + timedelta(days=7))],
    )  # fmt: skip
    case = DunningCase(book, promised_items={"i3": MONDAY + timedelta(days=7)})

    first = plan(case, default_policy(), MONDAY)

    assert len(first.reminders) == 1
    (reminder,) = first.reminders
    assert [line.number for line in reminder.lines] == ["INV-1"]
    assert reminder.total == Decimal("100.00")
    assert reminder.level.template == "reminder"  # 16 days: the +15 level
    again = plan(DunningCase(book, _sent(reminder), promised_items=case.promised_items),
                 default_policy(), MONDAY)  # fmt: skip
    assert again.reminders == ()
    assert [s.reason for s in again.skipped] == [planning.SENT_TODAY]


def test_plan__fifty_days_overdue_under_the_default_policy__gets_the_pre_hold_warning():
    book = customer(invoice(1, 50, "1000.00"), invoice(2, 20, "250.00"), invoice(3, 5, "40.00"))

    (reminder,) = plan(DunningCase(book), default_policy(), MONDAY).reminders

    assert reminder.level.template == "pre_hold"
    # HOLD: more than 60 days past due, so on day 61 of the oldest invoice.
    assert reminder.pre_hold.hold_on == MONDAY + timedelta(days=11)
    assert reminder.pre_hold.amount == Decimal("1000.00")
    assert reminder.total == Decimal("1290.00")
    assert [line.level for line in reminder.lines] == [4, 2, 1]


def test_rules__the_pre_hold_warning_follows_the_hold_rule():
    policy = load_policy({"hold": {"days_past_due_over": 45}})
    rules = dunning_rules(policy)
    assert rules.pre_hold.days_past_due == 35
    assert [lv.days_past_due for lv in rules.levels] == [3, 15, 30, 35]


def test_rules__a_warning_on_the_day_of_another_level__is_refused_when_loading():
    with pytest.raises(PolicyError) as caught:
        load_policy({"hold": {"days_past_due_over": 40}})
    assert "dunning" in caught.value.errors


def test_rules__a_segment_has_its_own_ladder():
    policy = load_policy(
        {
            "segments": [
                {
                    "name": "enterprise",
                    "when": {"segment": "enterprise"},
                    "policy": {
                        "dunning": {
                            "levels": [
                                {
                                    "days_past_due": 10,
                                    "template": "reminder",
                                    "attach_statement": False,
                                }
                            ],
                            "pre_hold_warning": None,
                        }
                    },
                }
            ]
        }
    )
    plain = customer(invoice(1, 5, "500.00"))
    enterprise = customer(invoice(1, 5, "500.00"), attributes={"segment": "enterprise"})
    assert plan(DunningCase(plain), policy, MONDAY).reminders[0].level.template == "friendly"
    assert plan(DunningCase(enterprise), policy, MONDAY).reminders == ()
    # Due +10 is Saturday the 21st: the next business day.
    assert plan(DunningCase(enterprise), policy, MONDAY).next_reminder_date == date(2026, 3, 23)


def test_plan__a_promise_covering_the_overdue__pauses_until_its_date_plus_grace():
    until = MONDAY + timedelta(days=4)  # Friday; grace 3 days -> Monday after
    book = customer(invoice(1, 20, "100.00"), promises=[promise("100.00", until)])

    paused = plan(DunningCase(book), default_policy(), MONDAY)

    assert paused.reminders == ()
    assert [(s.reason, s.until) for s in paused.skipped] == [
        (planning.PROMISED, until + timedelta(days=3))
    ]
    assert paused.next_reminder_date == until + timedelta(days=4)


def test_plan__a_broken_promise__resumes_dunning_and_is_mentioned():
    promised_on = MONDAY - timedelta(days=10)
    book = customer(
        invoice(1, 40, "100.00"),
        promises=[promise("100.00", promised_on, promised_on - timedelta(days=5))],
    )
    last = {"EUR": LastReminder(2, MONDAY - timedelta(days=20), frozenset({"i1"}))}

    (reminder,) = plan(DunningCase(book, last), default_policy(), MONDAY).reminders

    assert reminder.level.template == "final"
    assert reminder.broken_promise is not None
    assert reminder.broken_promise.promised_date == promised_on


def test_plan__a_pause_from_salesforce__stops_everything_through_its_day():
    book = customer(invoice(1, 20, "100.00"))
    paused = plan(DunningCase(book, paused_until=MONDAY), default_policy(), MONDAY)
    assert paused.reminders == () and paused.skipped[0].reason == planning.PAUSED
    assert paused.next_reminder_date == MONDAY + timedelta(days=1)
    assert plan(
        DunningCase(book, paused_until=MONDAY - timedelta(days=1)), default_policy(), MONDAY
    ).reminders


@pytest.mark.parametrize(
    "day",
    [date(2026, 3, 14), date(2026, 3, 15), date(2026, 4, 3), date(2026, 12, 25)],
    ids=["saturday", "sunday", "good-friday", "christmas"],
)
def test_plan__on_a_weekend_or_public_holiday__nothing_goes_out(day):
    book = customer(invoice(1, 20, "100.00", as_of=day))
    result = plan(DunningCase(book), default_policy(), day)
    assert result.reminders == ()
    assert result.skipped[0].reason == planning.NOT_BUSINESS_DAY
    assert dunning_rules(default_policy()).is_business_day(result.next_reminder_date)


def test_plan__below_the_minimum_amount__nothing_goes_out():
    result = plan(DunningCase(customer(invoice(1, 20, "9.99"))), default_policy(), MONDAY)
    assert result.reminders == () and result.skipped[0].reason == planning.BELOW_MINIMUM


def test_plan__a_level_already_sent__is_not_sent_again_and_the_next_waits_for_the_interval():
    book = customer(invoice(1, 31, "100.00"))
    # Level 2 went out last Wednesday; level 3 (+30) is due but the 5 business days are not over.
    last = {"EUR": LastReminder(2, MONDAY - timedelta(days=5), frozenset({"i1"}))}
    soon = plan(DunningCase(book, last), default_policy(), MONDAY)
    assert soon.reminders == () and soon.skipped[0].reason == planning.TOO_SOON
    assert soon.next_reminder_date == MONDAY + timedelta(days=2)
    same = {"EUR": LastReminder(3, MONDAY - timedelta(days=20), frozenset({"i1"}))}
    assert (
        plan(DunningCase(book, same), default_policy(), MONDAY).skipped[0].reason
        == planning.LEVEL_SENT
    )


def test_plan__a_new_episode_after_everything_was_paid__starts_at_its_own_level():
    book = customer(invoice(7, 4, "100.00"))
    last = {"EUR": LastReminder(3, MONDAY - timedelta(days=40), frozenset({"i1"}))}  # paid since
    (reminder,) = plan(DunningCase(book, last), default_policy(), MONDAY).reminders
    assert reminder.level.number == 1


def test_plan__one_message_per_currency():
    book = customer(
        invoice(1, 20, "100.00"), invoice(2, 20, "80.00", "GBP"), invoice(3, 4, "50.00", "GBP")
    )
    result = plan(
        DunningCase(book),
        load_policy({"base_currency": "EUR", "fx_rates": {"GBP": "1.15"}}),
        MONDAY,
    )
    assert [(r.currency, r.total, len(r.lines)) for r in result.reminders] == [
        ("EUR", Decimal("100.00"), 1),
        ("GBP", Decimal("130.00"), 2),
    ]


def test_plan__a_requested_reminder__goes_out_at_once_but_never_twice_a_day():
    book = customer(invoice(1, 20, "100.00"))
    yesterday = {"EUR": LastReminder(2, MONDAY - timedelta(days=3), frozenset({"i1"}))}
    (reminder,) = plan(
        DunningCase(book, yesterday, requested=True), default_policy(), MONDAY
    ).reminders
    assert reminder.requested and reminder.level.number == 2
    today = {"EUR": LastReminder(2, MONDAY, frozenset({"i1"}))}
    assert plan(DunningCase(book, today, requested=True), default_policy(), MONDAY).reminders == ()


def test_plan__an_account_level_dispute__is_set_against_the_oldest_invoices():
    book = customer(
        invoice(1, 40, "100.00"), invoice(2, 20, "100.00"), disputes=[dispute(None, "150.00")]
    )
    (reminder,) = plan(DunningCase(book), default_policy(), MONDAY).reminders
    assert [(line.number, line.amount) for line in reminder.lines] == [("INV-2", Decimal("50.00"))]


def test_plan__nothing_overdue__names_the_day_the_first_level_is_due():
    result = plan(DunningCase(customer(invoice(1, -10, "100.00"))), default_policy(), MONDAY)
    assert result.reminders == () and result.skipped == ()
    assert result.next_reminder_date == MONDAY + timedelta(days=14)  # due +3 is a Sunday


@pytest.mark.parametrize(
    ("dunning", "path"),
    [
        ({"levels": []}, "dunning.levels"),
        (
            {"levels": [{"days_past_due": 3, "template": "friendly"}]},
            "dunning.levels.0.attach_statement",
        ),
        (
            {"levels": [{"days_past_due": 0, "template": "friendly", "attach_statement": False}]},
            "dunning.levels.0.days_past_due",
        ),
        (
            {
                "levels": [
                    {"days_past_due": 3, "template": "../etc/passwd", "attach_statement": False}
                ]
            },
            "dunning.levels.0.template",
        ),
        ({"min_amount": "NaN"}, "dunning.min_amount"),
        ({"min_amount": "-1"}, "dunning.min_amount"),
        ({"min_days_between": 1.5}, "dunning.min_days_between"),
        (
            {"business_days": {"country": "Germany", "subdivision": None}},
            "dunning.business_days.country",
        ),
        ({"default_language": "deutsch"}, "dunning.default_language"),
        ({"surprise": True}, "dunning.surprise"),
    ],
)
def test_rules__a_bad_dunning_section_is_refused_with_its_path(dunning, path):
    with pytest.raises(PolicyError) as caught:
        load_policy({"dunning": dunning})
    assert path in caught.value.errors
