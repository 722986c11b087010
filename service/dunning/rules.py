"""The dunning policy of one segment, read from the credit policy's ``dunning`` section.

The credit policy validates the section when it is loaded (``service.credit.policy``); this
module only turns it into the ladder of levels the planner walks. The pre-hold warning is not
written by the admin as a day: it is computed from the hold rule itself, ``days_before_hold``
before ``hold.days_past_due_over``, so moving the hold rule moves the warning with it.

Pure: no I/O. Business days come from the ``holidays`` library (its data ships in the package).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import holidays

from service.credit import Policy

PRE_HOLD = "pre_hold"


@dataclass(frozen=True, slots=True)
class Level:
    """One step of the ladder: reached when an invoice is ``days_past_due`` days overdue."""

    number: int  # 1, 2, ...: the value of Dunning_Level__c once sent
    days_past_due: int
    template: str
    attach_statement: bool

    @property
    def is_pre_hold(self) -> bool:
        return self.template == PRE_HOLD


@dataclass(frozen=True, slots=True)
class DunningRules:
    levels: tuple[Level, ...]  # ascending by days past due
    pre_hold: Level | None
    hold_days_past_due: int  # HOLD once an invoice is more than this many days overdue
    min_amount: Decimal
    min_days_between: int  # business days between two reminders to one customer and currency
    country: str
    subdivision: str | None
    default_language: str
    promise_grace_days: int

    def level_at(self, days_past_due: int) -> Level | None:
        """The highest level an invoice this many days overdue has reached (None: none yet)."""
        found = None
        for level in self.levels:
            if days_past_due >= level.days_past_due:
                found = level
            else:
                break
        return found

    def level(self, number: int) -> Level | None:
        return self.levels[number - 1] if 0 < number <= len(self.levels) else None

    def is_business_day(self, day: date) -> bool:
        if day.year > _LAST_CALENDAR_YEAR:  # "no due date" dates: no calendar to consult
            return True
        return day.weekday() < 5 and day not in _holiday_dates(
            self.country, self.subdivision, day.year
        )

    def business_day_on_or_after(self, day: date) -> date:
        while not self.is_business_day(day):
            day += _DAY
        return day

    def add_business_days(self, day: date, count: int) -> date:
        """The business day ``count`` business days after ``day`` (``day`` itself when 0)."""
        while count > 0 and day < date.max:
            day += _DAY
            if self.is_business_day(day):
                count -= 1
        return day


_DAY = timedelta(days=1)
# Beyond this year every weekday counts (ERPs write 9999-12-31 for "never"; holidays would
# compute that year's calendar for nothing).
_LAST_CALENDAR_YEAR = 2200


@functools.cache
def _holidays(country: str, subdivision: str | None) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision)


@functools.lru_cache(maxsize=256)
def _holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """One year's public holidays as a plain set: asking ``holidays`` itself normalises the
    key and checks the year's calendar on every lookup, and a run asks for each customer."""
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def check_calendar(policy: Policy) -> None:
    """Raise ``ValueError`` when a segment names a country or subdivision ``holidays`` lacks.

    Called where the policy file is loaded, so a typo stops start-up rather than a run.
    """
    for p in (policy, *(s.policy for s in policy.segments)):
        rules = dunning_rules(p)
        try:
            _holidays(rules.country, rules.subdivision)
        except NotImplementedError as exc:
            raise ValueError(f"dunning.business_days: {exc}") from None


_RULES: dict[int, tuple[Policy, DunningRules]] = {}


def dunning_rules(policy: Policy) -> DunningRules:
    """The rules of a (segment's) policy; built once per policy object."""
    cached = _RULES.get(id(policy))
    if cached is not None and cached[0] is policy:
        return cached[1]
    rules = _build(policy)
    _RULES[id(policy)] = (policy, rules)
    return rules


def _build(policy: Policy) -> DunningRules:
    section = policy.document["dunning"]
    steps = [
        (int(lv["days_past_due"]), str(lv["template"]), bool(lv["attach_statement"]))
        for lv in section["levels"]
    ]
    warning = section.get("pre_hold_warning")
    if warning is not None:
        day = policy.hold_days_past_due - int(warning["days_before_hold"])
        steps.append((day, PRE_HOLD, bool(warning["attach_statement"])))
    steps.sort()
    levels = tuple(Level(i + 1, d, t, a) for i, (d, t, a) in enumerate(steps))
    business = section["business_days"]
    return DunningRules(
        levels=levels,
        pre_hold=next((lv for lv in levels if lv.is_pre_hold), None),
        hold_days_past_due=policy.hold_days_past_due,
        min_amount=Decimal(str(section["min_amount"])),
        min_days_between=int(section["min_days_between"]),
        country=str(business["country"]),
        subdivision=business.get("subdivision"),
        default_language=str(section["default_language"]),
        promise_grace_days=policy.promise_grace_days,
    )
