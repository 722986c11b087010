"""The ERP feed's optional ``billing_email``: stored when valid, refused whole when not."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.app import EXTENSION
from service.models import Customer


def _batch(email):
    customer = {"number": "C-1", "name": "Acme", "currency": "EUR"}
    if email is not ...:
        customer["billing_email"] = email
    return {"source": "erp-main", "customers": [customer], "receivables": [], "payments": []}


def _stored(app):
    with app.extensions[EXTENSION].sessions() as session:
        return session.scalars(select(Customer.billing_email)).all()


def test_feed__a_billing_email_is_stored_and_can_be_cleared(app, post_feed):
    assert post_feed(_batch("ap@acme.example")).status_code == 200
    assert _stored(app) == ["ap@acme.example"]
    assert post_feed(_batch(None)).status_code == 200
    assert _stored(app) == [None]


@pytest.mark.parametrize(
    "email",
    [
        "not-an-address",
        "ap@acme.example\r\nBcc: victim@example.com",
        "Acme <ap@acme.example>",
        "ap@acme.example, other@example.com",
        "a" * 70 + "@acme.example",
        42,
        "",
    ],
)
def test_feed__a_hostile_billing_email_is_refused_and_nothing_stored(app, post_feed, email):
    answer = post_feed(_batch(email))
    assert answer.status_code == 400
    assert answer.get_json()["errors"][0]["path"] == "customers[0].billing_email"
    assert _stored(app) == []
