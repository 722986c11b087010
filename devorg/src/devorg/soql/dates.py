"""SOQL date literals (TODAY, LAST_N_DAYS:n, THIS_MONTH, ...) as inclusive date ranges.

devorg's users are in UTC, so ranges start at UTC midnight. Weeks start on Sunday (en_US).
"""

from __future__ import annotations

import datetime as dt


def _month_start(day: dt.date, shift: int = 0) -> dt.date:
    month = day.month - 1 + shift
    return dt.date(day.year + month // 12, month % 12 + 1, 1)


def _quarter_start(day: dt.date, shift: int = 0) -> dt.date:
    q = (day.month - 1) // 3 + shift
    return dt.date(day.year + q // 4, (q % 4) * 3 + 1, 1)


def _week_start(day: dt.date, shift: int = 0) -> dt.date:
    return day - dt.timedelta(days=(day.weekday() + 1) % 7) + dt.timedelta(weeks=shift)


ONE = dt.timedelta(days=1)


def date_range(
    name: str, n: int | None, today: dt.date | None = None
) -> tuple[dt.date, dt.date] | None:
    """Inclusive (first, last) day of a date literal, or None if the name is unknown."""
    today = today or dt.datetime.now(dt.UTC).date()
    simple = {
        "TODAY": (today, today),
        "YESTERDAY": (today - ONE, today - ONE),
        "TOMORROW": (today + ONE, today + ONE),
        "THIS_WEEK": (_week_start(today), _week_start(today, 1) - ONE),
        "LAST_WEEK": (_week_start(today, -1), _week_start(today) - ONE),
        "NEXT_WEEK": (_week_start(today, 1), _week_start(today, 2) - ONE),
        "THIS_MONTH": (_month_start(today), _month_start(today, 1) - ONE),
        "LAST_MONTH": (_month_start(today, -1), _month_start(today) - ONE),
        "NEXT_MONTH": (_month_start(today, 1), _month_start(today, 2) - ONE),
        "THIS_QUARTER": (_quarter_start(today), _quarter_start(today, 1) - ONE),
        "LAST_QUARTER": (_quarter_start(today, -1), _quarter_start(today) - ONE),
        "NEXT_QUARTER": (_quarter_start(today, 1), _quarter_start(today, 2) - ONE),
        "THIS_YEAR": (dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)),
        "LAST_YEAR": (dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31)),
        "NEXT_YEAR": (dt.date(today.year + 1, 1, 1), dt.date(today.year + 1, 12, 31)),
        "LAST_90_DAYS": (today - dt.timedelta(days=90), today),
        "NEXT_90_DAYS": (today + ONE, today + dt.timedelta(days=90)),
    }
    if n is None:
        return simple.get(name)
    if name == "LAST_N_DAYS":
        return today - dt.timedelta(days=n), today
    if name == "NEXT_N_DAYS":
        return today + ONE, today + dt.timedelta(days=n)
    if name == "N_DAYS_AGO":
        day = today - dt.timedelta(days=n)
        return day, day
    if name == "LAST_N_WEEKS":
        return _week_start(today, -n), _week_start(today) - ONE
    if name == "NEXT_N_WEEKS":
        return _week_start(today, 1), _week_start(today, n + 1) - ONE
    if name == "LAST_N_MONTHS":
        return _month_start(today, -n), _month_start(today) - ONE
    if name == "NEXT_N_MONTHS":
        return _month_start(today, 1), _month_start(today, n + 1) - ONE
    if name == "LAST_N_YEARS":
        return dt.date(today.year - n, 1, 1), dt.date(today.year - 1, 12, 31)
    if name == "NEXT_N_YEARS":
        return dt.date(today.year + 1, 1, 1), dt.date(today.year + n, 12, 31)
    return None
