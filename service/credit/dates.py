"""Day arithmetic that stays on the calendar.

ERPs write "no due date" as the last day there is (SAP: 9999-12-31), and promises, follow-ups
and overrides can be dated anywhere a date can be. ``date + timedelta`` raises
``OverflowError`` past 9999-12-31 (or before 0001-01-01), which would make such a customer
impossible to assess. Here a day beyond the calendar saturates at its edge: "the day after
9999-12-31" is 9999-12-31, which still compares as later than every real date, so "which comes
first" keeps its answer.
"""

from __future__ import annotations

from datetime import date

_FIRST = date.min.toordinal()
_LAST = date.max.toordinal()


def add_days(day: date, days: int) -> date:
    """``day + days``, held at ``date.min`` / ``date.max`` instead of overflowing."""
    ordinal = day.toordinal() + days
    if ordinal > _LAST:
        return date.max
    if ordinal < _FIRST:
        return date.min
    return date.fromordinal(ordinal)
