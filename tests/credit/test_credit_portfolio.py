"""Portfolio figures on a book small enough to work out on paper."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from service.credit import (
    INVOICE,
    CustomerInputs,
    Item,
    default_policy,
    load_policy,
    portfolio_figures,
)
from service.credit.portfolio import dso_countback

AS_OF = date(2026, 11, 23)


def _inv(id_, issued, due, amount, open_, paid=None, currency="EUR"):
    return Item(id_, INVOICE, id_, issued, due, currency, Decimal(amount), Decimal(open_), paid)


BOOK = CustomerInputs(
    number="C-1",
    currency="EUR",
    items=(
        _inv("A", date(2026, 11, 10), date(2026, 12, 10), 10000, 10000),  # current
        _inv("B", date(2026, 10, 5), date(2026, 11, 4), 10000, 5000),  # overdue
        _inv("C", date(2026, 8, 20), date(2026, 9, 19), 4000, 0, date(2026, 9, 15)),
        _inv("D", date(2026, 9, 10), date(2026, 10, 10), 6000, 0, date(2026, 10, 10)),
    ),
)


def test_dso_countback__walks_back_month_by_month():
    # 15,000 owed: November's 10,000 of sales (23 days so far) and half of October's.
    assert dso_countback(Decimal(15000), [(23, Decimal(10000)), (31, Decimal(10000))]) == Decimal(
        "38.5"
    )
    assert dso_countback(Decimal(0), [(23, Decimal(10000))]) == Decimal(0)


def test_portfolio_figures__for_one_customer():
    f = portfolio_figures([BOOK], default_policy(), AS_OF)
    assert f.period_start == date(2026, 9, 1)
    assert (f.receivables, f.current_receivables, f.sales) == (
        Decimal(15000),
        Decimal(10000),
        Decimal(26000),
    )
    assert f.dso == Decimal("38.5")
    assert f.best_possible_dso == Decimal("23.0")
    assert f.average_days_delinquent == Decimal("15.5")
    # CEI = (4,000 open at 1 Sep + 26,000 sales - 15,000 open now) / (4,000 + 26,000 - 10,000 current)
    assert f.cei == Decimal("75.0")


def test_portfolio_figures__convert_the_whole_book_and_report_customers_left_out():
    policy = load_policy({"base_currency": "EUR", "fx_rates": {"USD": "0.80"}})
    usd = CustomerInputs(
        number="C-2",
        currency="USD",
        items=(_inv("E", date(2026, 11, 1), date(2026, 12, 1), 1000, 1000, currency="USD"),),
    )
    chf = CustomerInputs(
        number="C-3",
        currency="CHF",
        items=(_inv("F", date(2026, 11, 1), date(2026, 12, 1), 1000, 1000, currency="CHF"),),
    )
    f = portfolio_figures([BOOK, usd, chf], policy, AS_OF)
    assert f.currency == "EUR" and f.customers == 2
    assert f.receivables == Decimal(15800)
    assert len(f.errors) == 1 and "C-3" in f.errors[0]
