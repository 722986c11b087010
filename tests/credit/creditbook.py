"""A small language for writing a customer's book in one line, as the golden table does.

Days are offsets from the as-of date, so a row reads the way a credit controller thinks:
``inv 5000 dpd=75`` is an open invoice of 5,000 that is 75 days past due.

Entries are separated by ``;``. Item ids are ``i1``, ``i2``, ... in order of appearance.

items      inv <amount> dpd=<days past due> [open=<open amount>] [cur=<ccy>]
           cn <amount> [cur=<ccy>]                       open credit note
           settled <amount> late=<days> ago=<days since paid> [terms=<days>]
payments   cash <amount> ago=<days> [cur=<ccy>]          confirmed, unapplied
           pay <amount> ago=<days>                       confirmed, applied (by the ERP)
           prov <amount> to=<item id> ago=<days>         provisional, allocated to an item
promises   ptp <amount> date=<offset> made=<offset>
disputes   dsp <amount> [on=<item id>] [status=open|resolved_valid|resolved_invalid]
               [opened=<offset>]
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from service.credit import (
    CREDIT_NOTE,
    INVOICE,
    Allocation,
    CustomerInputs,
    Dispute,
    Item,
    Payment,
    Promise,
)


def _entries(text: str) -> list[tuple[str, Decimal, dict[str, str]]]:
    out = []
    for raw in text.split(";"):
        words = raw.split()
        if not words or words == ["-"]:
            continue
        kind, amount, *rest = words
        opts = dict(w.split("=", 1) for w in rest)
        out.append((kind, Decimal(amount), opts))
    return out


def _day(as_of: date, offset: str | int) -> date:
    return as_of + timedelta(days=int(offset))


def _instant(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def items(text: str, as_of: date, currency: str = "EUR") -> tuple[Item, ...]:
    out = []
    for n, (kind, amount, o) in enumerate(_entries(text), start=1):
        cur = o.get("cur", currency)
        if kind == "inv":
            due = as_of - timedelta(days=int(o["dpd"]))
            open_ = Decimal(o.get("open", amount))
            out.append(
                Item(
                    f"i{n}", INVOICE, f"INV-{n}", due - timedelta(days=30), due, cur, amount, open_
                )
            )
        elif kind == "cn":
            day = as_of - timedelta(days=10)
            out.append(Item(f"i{n}", CREDIT_NOTE, f"CN-{n}", day, day, cur, amount, amount))
        elif kind == "settled":
            paid = as_of - timedelta(days=int(o["ago"]))
            due = paid - timedelta(days=int(o["late"]))
            issue = due - timedelta(days=int(o.get("terms", 30)))
            out.append(
                Item(f"i{n}", INVOICE, f"INV-{n}", issue, due, cur, amount, Decimal(0), paid)
            )
        else:
            raise ValueError(f"unknown item kind {kind!r}")
    return tuple(out)


def payments(text: str, as_of: date, currency: str = "EUR") -> tuple[Payment, ...]:
    out = []
    for n, (kind, amount, o) in enumerate(_entries(text), start=1):
        at = _instant(as_of - timedelta(days=int(o.get("ago", 0))))
        cur = o.get("cur", currency)
        if kind == "cash":
            out.append(Payment(f"p{n}", amount, cur, at))
        elif kind == "pay":
            out.append(Payment(f"p{n}", amount, cur, at, False, (Allocation("erp", amount),)))
        elif kind == "prov":
            out.append(Payment(f"p{n}", amount, cur, at, True, (Allocation(o["to"], amount),)))
        else:
            raise ValueError(f"unknown payment kind {kind!r}")
    return tuple(out)


def promises(text: str, as_of: date) -> tuple[Promise, ...]:
    return tuple(
        Promise(f"ptp{n}", amount, _day(as_of, o["date"]), _day(as_of, o["made"]))
        for n, (_kind, amount, o) in enumerate(_entries(text), start=1)
    )


def disputes(text: str, as_of: date) -> tuple[Dispute, ...]:
    return tuple(
        Dispute(
            f"d{n}",
            o.get("on"),
            amount,
            o.get("status", "open"),
            _day(as_of, o.get("opened", "-1")),
        )
        for n, (_kind, amount, o) in enumerate(_entries(text), start=1)
    )


def book(
    as_of: date,
    *,
    items_: str = "",
    payments_: str = "",
    promises_: str = "",
    disputes_: str = "",
    limit: str = "",
    override: str = "",
    attrs: str = "",
    currency: str = "EUR",
    number: str = "C-1",
) -> CustomerInputs:
    """One customer's inputs from the mini-language (empty or ``-`` means none)."""
    attributes = dict(a.split("=", 1) for a in attrs.split() if a != "-")
    return CustomerInputs(
        number=number,
        currency=currency,
        credit_limit=Decimal(limit) if limit not in ("", "-") else None,
        override_until=_day(as_of, override) if override not in ("", "-") else None,
        attributes=attributes,
        items=items(items_, as_of, currency),
        payments=payments(payments_, as_of, currency),
        promises=promises(promises_, as_of),
        disputes=disputes(disputes_, as_of),
    )
