"""The pay page through Flask's test client: the page, every refusal page, disputes, promises."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from service import outbox
from service.models import Assessment, CollectionAction, OutboxMessage
from service.paylinks import PayLinks
from tests.conftest import NOW, signed_headers
from tests.portal.conftest import BASE_URL, PAY_SECRET


@pytest.fixture
def fed(pay_client, small_batch):
    body = json.dumps(small_batch).encode()
    assert (
        pay_client.post("/api/v1/feeds/erp", data=body, headers=signed_headers(body)).status_code
        == 200
    )
    return small_batch


def _path(url: str) -> str:
    return url[len(BASE_URL) :]


def test_the_page_lists_open_items_and_needs_no_bearer_token(pay_client, fed, links):
    answer = pay_client.get(_path(links.url("C-100", now=NOW)))

    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "INV-1001" in page and "<main" in page and 'lang="en"' in page


def test_the_page_speaks_german_to_a_german_browser(pay_client, fed, links):
    answer = pay_client.get(
        _path(links.url("C-100", now=NOW)), headers={"Accept-Language": "de-DE,de;q=0.9"}
    )

    page = answer.get_data(as_text=True)
    assert 'lang="de"' in page and "Offene Posten" in page and "12.400,00" in page
    # Invoices 12,400 + 800 less the 150 credit note.
    assert "13.050,00" in page


@pytest.mark.parametrize(
    ("make", "status", "reason"),
    [
        (lambda links: links.url("C-100", now=NOW - timedelta(days=90)), 410, "expired"),
        (lambda links: links.url("C-100", now=NOW)[:-3] + "abc", 403, "tampered"),
        (
            lambda links: PayLinks(["x" * 40], BASE_URL).url("C-100", now=NOW),
            403,
            "tampered",
        ),
        (lambda links: links.url("NOBODY", now=NOW), 404, "unknown"),
        (lambda links: BASE_URL + "/pay/garbage", 403, "tampered"),
    ],
    ids=["expired", "tampered", "foreign-key", "unknown", "garbage"],
)
def test_refused_links_get_their_own_page_never_a_stack_trace(
    pay_client, fed, links, make, status, reason
):
    answer = pay_client.get(_path(make(links)))

    assert answer.status_code == status
    assert answer.mimetype == "text/html"
    assert f'data-reason="{reason}"' in answer.get_data(as_text=True)


def test_a_link_naming_another_customers_invoice_is_refused(pay_client, fed, links):
    other = next(r for r in fed["receivables"] if r["customer"] != "C-100")

    answer = pay_client.get(_path(links.url("C-100", [other["id"]], now=NOW)))

    assert answer.status_code == 403


def test_a_link_whose_invoices_are_paid_says_so(pay_client, fed, links):
    fed["receivables"][0].update(open_amount="0.00", updated_at="2026-03-10T08:00:00Z")
    body = json.dumps({**fed, "customers": [], "payments": []}).encode()
    pay_client.post("/api/v1/feeds/erp", data=body, headers=signed_headers(body))

    answer = pay_client.get(_path(links.url("C-100", ["INV-1001"], now=NOW)))

    assert answer.status_code == 410
    assert 'data-reason="paid"' in answer.get_data(as_text=True)


def test_checkout_computes_the_amount_now_and_says_card_payments_are_not_configured(
    pay_client, fed, links
):
    answer = pay_client.post(
        _path(links.url("C-100", now=NOW)) + "/checkout", data={"invoice": ["INV-1001"]}
    )

    assert answer.status_code == 503
    assert "€12,400.00" in answer.get_data(as_text=True)


def test_a_dispute_is_a_portal_action_reassessed_and_queued_for_salesforce(
    pay_client, fed, links, factory
):
    answer = pay_client.post(
        _path(links.url("C-100", now=NOW)) + "/dispute",
        data={"invoice": "INV-1001", "reason": "Pricing", "amount": "12400.00"},
    )

    assert answer.status_code in (200, 410)
    with factory() as s:
        action = s.scalars(select(CollectionAction)).one()
        assert (action.type, action.origin, action.dispute_status) == (
            "Dispute",
            "Customer Portal",
            "Open",
        )
        assessment = s.scalars(select(Assessment)).first()
        assert assessment is not None
        targets = set(s.scalars(select(OutboxMessage.target)))
    assert outbox.collection_action_target(action.id) in targets


def test_a_promise_out_of_range_is_a_400_and_records_nothing(pay_client, fed, links, factory):
    answer = pay_client.post(
        _path(links.url("C-100", now=NOW)) + "/promise",
        data={"date": (NOW.date() - timedelta(days=1)).isoformat(), "amount": "100"},
    )

    assert answer.status_code == 400
    with factory() as s:
        assert s.scalars(select(CollectionAction)).first() is None


def test_the_statement_is_a_pdf(pay_client, fed, links):
    answer = pay_client.get(_path(links.url("C-100", now=NOW)) + "/statement.pdf")

    assert answer.status_code == 200
    assert answer.mimetype == "application/pdf"
    assert answer.data.startswith(b"%PDF")


__all__ = ["PAY_SECRET"]
