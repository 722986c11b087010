"""The pay page's words in English and German, and money and dates formatted by Babel.

The language is the customer's (the ERP feed's ``language``) when it is one we have, else the
browser's ``Accept-Language``, else English.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency

LANGUAGES = ("en", "de")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your open items",
        "hello": "Open items of {name}",
        "status_HOLD": "Your account is on credit hold.",
        "status_WATCH": "Some invoices are overdue.",
        "status_OK": "Your account is in good standing.",
        "release": "Paying {amount} releases the hold.",
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "number": "Number",
        "due": "Due",
        "overdue_days": "Days overdue",
        "open_amount": "Open amount",
        "choose": "Choose",
        "choose_invoice": "Choose invoice {number}",
        "total_open": "Total open",
        "pay": "Pay the chosen invoices",
        "pay_all": "Choose all",
        "statement": "Download statement (PDF)",
        "dispute": "Dispute an invoice",
        "dispute_invoice": "Invoice",
        "dispute_reason": "Reason",
        "dispute_amount": "Disputed amount",
        "dispute_send": "Send dispute",
        "promise": "Promise a payment date",
        "promise_date": "We will pay on",
        "promise_amount": "Amount",
        "promise_send": "Send promise",
        "thanks_dispute": "Thank you. Your dispute of invoice {number} ({amount}) was recorded.",
        "thanks_promise": "Thank you. Your promise to pay {amount} on {date} was recorded.",
        "none_open": "Nothing is open.",
        "error_title": "This link cannot be used",
        "paid": "Everything this link asks for is paid. Thank you!",
        "expired": "This pay link has expired. Please ask us for a new one.",
        "tampered": "This pay link is not valid. Please use the link exactly as we sent it.",
        "unknown": "We do not know this account. Please contact us.",
        "not_configured": "Card payments are not configured yet. Please pay {amount} by bank transfer.",
        "checkout_failed": "The card payment page could not be opened. Nothing was charged; please try again in a minute (amount {amount}).",
        "payment_cancelled": "Payment cancelled. Nothing was charged.",
        "paid_title": "Thank you for your payment",
        "paid_text": "Your payment has been received. Your account is updated within moments; the invoices are closed once your payment is posted.",
        "nothing_chosen": "Please choose at least one invoice.",
        "bad_input": "Please check the form: {problem}",
        "reason_Pricing": "Pricing",
        "reason_Quantity": "Quantity",
        "reason_Quality": "Quality",
        "reason_Not Delivered": "Not delivered",
        "reason_Duplicate Invoice": "Duplicate invoice",
        "reason_Already Paid": "Already paid",
        "reason_Tax": "Tax",
        "reason_Other": "Other",
        "statement_title": "Statement of account",
        "as_of": "As of {date}",
        "back": "Back to your open items",
    },
    "de": {
        "title": "Ihre offenen Posten",
        "hello": "Offene Posten von {name}",
        "status_HOLD": "Ihr Konto ist für Lieferungen gesperrt.",
        "status_WATCH": "Einige Rechnungen sind überfällig.",
        "status_OK": "Ihr Konto ist ausgeglichen.",
        "release": "Eine Zahlung von {amount} hebt die Sperre auf.",
        "invoice": "Rechnung",
        "credit_note": "Gutschrift",
        "number": "Nummer",
        "due": "Fällig",
        "overdue_days": "Tage überfällig",
        "open_amount": "Offener Betrag",
        "choose": "Auswahl",
        "choose_invoice": "Rechnung {number} auswählen",
        "total_open": "Summe offen",
        "pay": "Ausgewählte Rechnungen bezahlen",
        "pay_all": "Alle auswählen",
        "statement": "Kontoauszug herunterladen (PDF)",
        "dispute": "Eine Rechnung beanstanden",
        "dispute_invoice": "Rechnung",
        "dispute_reason": "Grund",
        "dispute_amount": "Beanstandeter Betrag",
        "dispute_send": "Beanstandung senden",
        "promise": "Zahlungstermin zusagen",
        "promise_date": "Wir zahlen am",
        "promise_amount": "Betrag",
        "promise_send": "Zusage senden",
        "thanks_dispute": "Danke. Ihre Beanstandung der Rechnung {number} ({amount}) ist erfasst.",
        "thanks_promise": "Danke. Ihre Zusage, {amount} am {date} zu zahlen, ist erfasst.",
        "none_open": "Es ist nichts offen.",
        "error_title": "Dieser Link kann nicht verwendet werden",
        "paid": "Alles, worum dieser Link bittet, ist bezahlt. Vielen Dank!",
        "expired": "Dieser Zahlungslink ist abgelaufen. Bitte fordern Sie einen neuen an.",
        "tampered": "Dieser Zahlungslink ist ungültig. Bitte verwenden Sie ihn genau so, wie wir ihn gesendet haben.",
        "unknown": "Dieses Konto ist uns nicht bekannt. Bitte wenden Sie sich an uns.",
        "not_configured": "Kartenzahlung ist noch nicht eingerichtet. Bitte überweisen Sie {amount}.",
        "checkout_failed": "Die Seite für die Kartenzahlung konnte nicht geöffnet werden. Es wurde nichts abgebucht; bitte versuchen Sie es in einer Minute erneut (Betrag {amount}).",
        "payment_cancelled": "Zahlung abgebrochen. Es wurde nichts abgebucht.",
        "paid_title": "Vielen Dank für Ihre Zahlung",
        "paid_text": "Ihre Zahlung ist eingegangen. Ihr Konto wird in wenigen Augenblicken aktualisiert; die Rechnungen werden ausgeglichen, sobald die Zahlung gebucht ist.",
        "nothing_chosen": "Bitte wählen Sie mindestens eine Rechnung.",
        "bad_input": "Bitte prüfen Sie das Formular: {problem}",
        "reason_Pricing": "Preis",
        "reason_Quantity": "Menge",
        "reason_Quality": "Qualität",
        "reason_Not Delivered": "Nicht geliefert",
        "reason_Duplicate Invoice": "Doppelte Rechnung",
        "reason_Already Paid": "Bereits bezahlt",
        "reason_Tax": "Steuer",
        "reason_Other": "Sonstiges",
        "statement_title": "Kontoauszug",
        "as_of": "Stand {date}",
        "back": "Zurück zu Ihren offenen Posten",
    },
}


def choose_language(customer_language: str | None, accept: object | None) -> str:
    """The customer's language if we have it, else the browser's best match, else English."""
    if customer_language:
        base = customer_language.split("-")[0].lower()
        if base in LANGUAGES:
            return base
    if accept is not None:
        match = accept.best_match(LANGUAGES)  # werkzeug's LanguageAccept
        if match:
            return match
    return "en"


class Words:
    """``t("key", **params)``, ``money(amount, currency)`` and ``day(date)`` in one language."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else "en"
        self.texts = TEXTS[self.language]

    def t(self, key: str, **params: object) -> str:
        text = self.texts.get(key) or TEXTS["en"].get(key, key)
        return text.format(**params) if params else text

    def money(self, amount: Decimal | None, currency: str) -> str:
        return format_currency(amount or Decimal(0), currency, locale=self.language)

    def day(self, value: date) -> str:
        return format_date(value, format="medium", locale=self.language)
