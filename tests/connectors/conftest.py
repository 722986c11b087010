"""A local SAP (``deverp``) with a small book, and a connector pointed at it."""

from __future__ import annotations

from datetime import date

import pytest
from deverp.sap import DevSap, SapBook

from service.config import sap_settings
from service.connectors.sap.connector import SapConnector

TODAY = date(2026, 3, 10)
CUSTOMER = "10100001"


def small_book() -> SapBook:
    """10100001 holds an invoice of two items (1,190.00), partly paid (500.00), a credit memo
    (100.00), and a second invoice (238.00) cleared by a payment; 10100002 one open invoice."""
    book = SapBook(today=TODAY)
    book.add_customer(CUSTOMER, "Inlandskunde DE 1")
    book.add_customer("10100002", "Inlandskunde DE 2")
    book.invoice(
        CUSTOMER, "1190.00", document="1800000412", reference="90000412",
        due=date(2026, 4, 9), items=2, posted=date(2026, 3, 1),
    )  # fmt: skip
    book.partial_payment(CUSTOMER, "1800000412", "500.00", document="1400000087", posted=TODAY)
    book.credit_memo(CUSTOMER, "100.00", document="1700000010", posted=date(2026, 3, 2))
    book.invoice(CUSTOMER, "238.00", document="1800000413", posted=date(2026, 2, 1))
    book.clearing_payment(CUSTOMER, ["1800000413"], "238.00", document="1400000088", on=TODAY)
    book.invoice("10100002", "50.00", document="1800000500", currency="EUR", posted=TODAY)
    return book


@pytest.fixture
def book() -> SapBook:
    return small_book()


@pytest.fixture
def sap(book):
    with DevSap(book) as server:
        yield server


def connector(server: DevSap, *, oauth: bool = True, **settings: str) -> SapConnector:
    env = {**(server.oauth_env() if oauth else server.basic_env()), **settings}
    return SapConnector(sap_settings(env), sleep=lambda seconds: None)
