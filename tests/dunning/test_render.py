"""The reminder as mail: the customer's language and locale, the company, the pay link."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from service.credit import default_policy
from service.dunning.planning import DunningCase, plan
from service.dunning.render import Company, check_template, render
from tests.dunning.books import MONDAY, customer, invoice

COMPANY = Company(
    "Northwind Supplies GmbH", "Hafenstraße 1; 20457 Hamburg", "https://cdn.example/logo.png"
)


def _reminder(*items):
    return plan(DunningCase(customer(*items)), default_policy(), MONDAY).reminders[0]


def _render(reminder, language="en", pay_link="https://pay.example/pay/tok", name="Acme Ltd"):
    return render(
        reminder, customer_name=name, language=language, default_language="en",
        company=COMPANY, pay_link=pay_link,
    )  # fmt: skip


def test_render__english__money_dates_pay_link_and_reference():
    out = _render(_reminder(invoice(1, 16, "1234.50")))
    assert out.subject == "Payment reminder: €1,234.50 overdue (customer C-1)"
    assert "INV-1" in out.text and "€1,234.50" in out.text and "Feb 28, 2026" in out.text
    assert "Pay online: https://pay.example/pay/tok" in out.text
    assert 'href="https://pay.example/pay/tok"' in out.html
    assert "Customer number C-1" in out.html and "Northwind Supplies GmbH" in out.html
    assert 'src="https://cdn.example/logo.png"' in out.html
    assert "Hafenstraße 1 · 20457 Hamburg" in out.html


def test_render__german_in_the_customers_locale():
    out = _render(_reminder(invoice(1, 50, "1000.00")), language="de-AT")
    assert out.language == "de"
    hold_on = (MONDAY + timedelta(days=11)).strftime("%d.%m.%Y")
    assert out.subject == f"Ihr Konto wird am {hold_on} gesperrt (Kunde C-1)"
    # Babel puts a no-break space between the sign and the amount.
    assert "Eine Zahlung von €\xa01.000,00 bis dahin verhindert die Sperre." in out.text
    assert "Kontoauszug liegt bei" in out.text  # the pre-hold level attaches the statement


def test_render__a_language_we_have_no_words_for__falls_back_to_the_default():
    assert _render(_reminder(invoice(1, 16, "10.00")), language="fr").language == "en"
    assert _render(_reminder(invoice(1, 16, "10.00")), language="not a locale!").language == "en"


def test_render__html_has_inline_styles_only_and_escapes_what_the_erp_sent():
    out = _render(_reminder(invoice(1, 16, "10.00")), name='<script>alert("x")</script>')
    assert "<style" not in out.html and "class=" not in out.html
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html
    assert 'style="' in out.html


def test_render__without_a_pay_link__asks_for_a_transfer_quoting_the_customer_number():
    out = _render(_reminder(invoice(1, 16, "10.00")), pay_link=None)
    assert "quoting your customer number C-1" in out.text and "href" not in out.text


def test_check_template__an_unknown_template_is_refused():
    check_template("final")
    with pytest.raises(ValueError, match="unknown reminder template"):
        check_template("angry")


def test_render__past_the_hold_day__says_the_hold_has_started():
    out = _render(_reminder(invoice(1, 75, "500.00")))
    assert out.subject.startswith("Your account is on credit hold")
    assert "on credit hold since" in out.text


@pytest.mark.parametrize("locale", ["en", "en_GB", "de", "de_AT", "de_CH", "fr_FR", "en_IN"])
@pytest.mark.parametrize("currency", ["EUR", "GBP", "CHF", "USD", "JPY", "KWD"])
def test_money__the_fast_format_is_babels_exactly(locale, currency):
    from babel.numbers import format_currency

    from service.dunning.texts import Words

    w = Words("en", locale)
    for text in ["0", "0.5", "7", "999.99", "1000", "1234.5", "98765432.10", "1000000000.01"]:
        amount = Decimal(text)
        assert w.money(amount, currency) == format_currency(amount, currency, locale=locale)
