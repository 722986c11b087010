"""The reminders' words in English and German; money and dates formatted by Babel.

A customer's ``language`` from the ERP feed (``de``, ``de-AT``) chooses the words and the
locale (``de_AT`` formats money as Austrians write it); anything we have no words for falls back
to the policy's ``default_language``, then English.

Each level's template name has its own subject, opening and closing; the rest is shared.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, get_currency_precision

LANGUAGES = ("en", "de")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "subject_friendly": "Friendly reminder: {total} overdue (customer {customer})",
        "subject_reminder": "Payment reminder: {total} overdue (customer {customer})",
        "subject_final": "Final notice: {total} overdue (customer {customer})",
        "subject_pre_hold": "Your account will be put on hold on {hold_on} (customer {customer})",
        "intro_friendly": "Perhaps it slipped through: the invoices below are past their due date. If you have already paid, thank you, and please ignore this message.",
        "intro_reminder": "We have not yet received payment for the invoices below, although we reminded you before. Please pay them now.",
        "intro_final": "Despite our reminders, the invoices below are still unpaid. Please pay them within seven days.",
        "intro_pre_hold": "Your account will be put on credit hold on {hold_on} unless we receive payment. Paying {amount} by then avoids the hold.",
        "subject_on_hold": "Your account is on credit hold: {total} overdue (customer {customer})",
        "intro_on_hold": "Your account has been on credit hold since {hold_on}. Paying the overdue invoices below lifts it.",
        "broken_promise": "You promised to pay {amount} by {date}; we have not received that payment.",
        "greeting": "Dear {name},",
        "invoice": "Invoice",
        "issued": "Issued",
        "due": "Due",
        "days_overdue": "Days overdue",
        "overdue_for": "{days} days overdue",
        "level": "Reminder",
        "amount": "Open amount",
        "total": "Total overdue",
        "pay": "Pay now",
        "pay_text": "Pay online:",
        "no_link": "Please transfer the total quoting your customer number {customer}.",
        "statement": "Your statement of account is attached.",
        "statement_title": "Statement of account",
        "statement_file": "statement",
        "total_open": "Total open",
        "closing": "If you have questions about an invoice, simply reply to this message.",
        "regards": "Kind regards,",
        "reference": "Customer number {customer}",
    },
    "de": {
        "subject_friendly": "Freundliche Erinnerung: {total} überfällig (Kunde {customer})",
        "subject_reminder": "Zahlungserinnerung: {total} überfällig (Kunde {customer})",
        "subject_final": "Letzte Mahnung: {total} überfällig (Kunde {customer})",
        "subject_pre_hold": "Ihr Konto wird am {hold_on} gesperrt (Kunde {customer})",
        "intro_friendly": "Vielleicht ist es Ihnen entgangen: Die folgenden Rechnungen sind fällig. Falls Sie bereits bezahlt haben, danken wir Ihnen und bitten Sie, diese Nachricht zu ignorieren.",
        "intro_reminder": "Für die folgenden Rechnungen haben wir trotz unserer Erinnerung noch keine Zahlung erhalten. Bitte begleichen Sie sie jetzt.",
        "intro_final": "Trotz unserer Erinnerungen sind die folgenden Rechnungen noch offen. Bitte begleichen Sie sie innerhalb von sieben Tagen.",
        "intro_pre_hold": "Ihr Konto wird am {hold_on} für Lieferungen gesperrt, wenn bis dahin keine Zahlung eingeht. Eine Zahlung von {amount} bis dahin verhindert die Sperre.",
        "subject_on_hold": "Ihr Konto ist gesperrt: {total} überfällig (Kunde {customer})",
        "intro_on_hold": "Ihr Konto ist seit dem {hold_on} für Lieferungen gesperrt. Die Zahlung der folgenden überfälligen Rechnungen hebt die Sperre auf.",
        "broken_promise": "Sie hatten zugesagt, {amount} bis zum {date} zu zahlen; diese Zahlung ist nicht eingegangen.",
        "greeting": "Sehr geehrte Damen und Herren ({name}),",
        "invoice": "Rechnung",
        "issued": "Datum",
        "due": "Fällig",
        "days_overdue": "Tage überfällig",
        "overdue_for": "{days} Tage überfällig",
        "level": "Stufe",
        "amount": "Offener Betrag",
        "total": "Summe überfällig",
        "pay": "Jetzt bezahlen",
        "pay_text": "Online bezahlen:",
        "no_link": "Bitte überweisen Sie die Summe unter Angabe Ihrer Kundennummer {customer}.",
        "statement": "Ihr Kontoauszug liegt bei.",
        "statement_title": "Kontoauszug",
        "statement_file": "kontoauszug",
        "total_open": "Summe offen",
        "closing": "Bei Fragen zu einer Rechnung antworten Sie einfach auf diese Nachricht.",
        "regards": "Mit freundlichen Grüßen",
        "reference": "Kundennummer {customer}",
    },
}

TEMPLATES = ("friendly", "reminder", "final", "pre_hold")


def locale_of(language: str | None, default: str) -> tuple[str, str]:
    """(words language, Babel locale) for a customer's language, e.g. ``de-AT`` -> (de, de_AT)."""
    for candidate in (language, default):
        if not candidate:
            continue
        try:
            locale = Locale.parse(candidate.replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            continue
        if locale.language in LANGUAGES:
            return locale.language, str(locale)
    return "en", "en"


class Words:
    """``t(key, **params)``, ``money(amount, currency)`` and ``day(date)`` in one locale."""

    def __init__(self, language: str, locale: str) -> None:
        self.language = language
        self.locale = locale
        self.texts = TEXTS[language]

    def t(self, key: str, **params: object) -> str:
        text = self.texts.get(key) or TEXTS["en"][key]
        return text.format(**params) if params else text

    def money(self, amount: Decimal, currency: str) -> str:
        return _money_format(self.locale, currency)(amount)

    def day(self, value: date) -> str:
        return _day(value, self.locale)


@functools.lru_cache(maxsize=4096)
def _day(value: date, locale: str) -> str:
    return format_date(value, format="medium", locale=locale)


_PROBE = Decimal("1234567.89")


@functools.lru_cache(maxsize=512)
def _money_format(locale: str, currency: str) -> Callable[[Decimal], str]:
    """Babel's format for amounts of ``currency`` in ``locale``, learnt once from Babel itself.

    Babel parses the locale's pattern on every call, which is most of the cost of a reminder
    (a run renders one for each of 100,000 customers). The symbol, separators and their places
    are read off Babel's own rendering of a probe amount and the precision from Babel's
    currency data; amounts are then laid out with ``format``. Reminders show positive amounts
    only; anything else, and any locale whose probe does not parse as expected, goes to Babel.
    """

    def babel(amount: Decimal) -> str:
        return format_currency(amount, currency, locale=locale)

    digits = get_currency_precision(currency)
    if digits != 2:
        return babel
    probe = babel(_PROBE)
    match = _PROBE_SHAPE.fullmatch(probe)
    if match is None:
        return babel
    prefix, group, decimal, suffix = match.group("prefix", "group", "decimal", "suffix")

    def fast(amount: Decimal) -> str:
        if amount < 0 or not amount.is_finite():
            return babel(amount)
        text = f"{amount:,.2f}"
        if group != "," or decimal != ".":
            text = text.replace(",", "\0").replace(".", decimal).replace("\0", group)
        return f"{prefix}{text}{suffix}"

    return fast


_PROBE_SHAPE = re.compile(
    r"(?P<prefix>[^0-9]*)1(?P<group>[^0-9])234(?P=group)567(?P<decimal>[^0-9])89(?P<suffix>[^0-9]*)"
)
