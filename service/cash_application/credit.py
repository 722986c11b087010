"""One credit to one of our bank accounts: what statement reading hands to cash application.

Statement parsing (``service.bank``) produces these; matching them to open receivables and
applying them as in-flight cash is ``service.cash_application``'s. Debits never become a
``BankCredit``: only money received is cash to apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class BankCredit:
    """A credit as the bank reports it, after the file's own dialect has been read away.

    ``transaction_id`` is the stored bank transaction's id once it has been recorded (``None``
    in pure code that never touches the database). ``references`` holds the structured creditor
    references exactly as written (ISO 11649 ``RF...``, Swiss QRR, referred document numbers);
    ``remittance`` the unstructured remittance lines joined by single spaces ("" when none).
    """

    transaction_id: int | None
    account: str
    bank_reference: str | None
    end_to_end_id: str | None
    amount: Decimal
    currency: str
    booking_date: date
    value_date: date | None
    payer_name: str | None
    payer_iban: str | None
    remittance: str
    references: tuple[str, ...] = ()
