"""The ERP feed's pay_link and language, and the credit read's pay_link."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from service.models import Customer, Receivable
from tests.conftest import load_fixture, signed_headers
from tests.portal.conftest import BASE_URL


def _post(client, doc):
    body = json.dumps(doc).encode()
    return client.post("/api/v1/feeds/erp", data=body, headers=signed_headers(body))


def test_feed__stores_the_erp_pay_link_and_the_customer_language(pay_client, small_batch, factory):
    small_batch["customers"][0]["language"] = "de-AT"
    small_batch["receivables"][0]["pay_link"] = "https://erp.example.com/pay?doc=INV-1001&x=1"

    assert _post(pay_client, small_batch).status_code == 200

    with factory() as s:
        assert s.scalar(select(Customer.language).where(Customer.number == "C-100")) == "de-at"
        link = s.scalar(select(Receivable.pay_link).where(Receivable.external_id == "INV-1001"))
    assert link == "https://erp.example.com/pay?doc=INV-1001&x=1"


@pytest.mark.parametrize(
    "link",
    [
        "http://erp.example.com/pay",
        "javascript:alert(1)",
        "https://",
        "/pay/relative",
        "https://erp.example.com/a b",
        "https://erp.example.com/" + "a" * 300,
    ],
)
def test_feed__a_pay_link_that_is_not_an_absolute_https_url_is_a_400_with_its_path(
    pay_client, small_batch, link
):
    small_batch["receivables"][0]["pay_link"] = link

    answer = _post(pay_client, small_batch)

    assert answer.status_code == 400
    assert "receivables[0].pay_link" in {e.get("path") for e in answer.get_json()["errors"]}


def test_feed__a_language_that_is_not_a_code_is_a_400(pay_client, small_batch):
    small_batch["customers"][0]["language"] = "German"

    answer = _post(pay_client, small_batch)

    assert answer.status_code == 400
    assert "customers[0].language" in {e.get("path") for e in answer.get_json()["errors"]}


def test_credit_read__carries_the_customers_signed_pay_link(pay_client, small_batch, links, auth):
    _post(pay_client, small_batch)

    body = pay_client.get("/api/v1/accounts/C-100/credit", headers=auth).get_json()

    assert body["pay_link"].startswith(BASE_URL + "/pay/")
    assert links.verify(body["pay_link"].rsplit("/", 1)[1]).customer == "C-100"


def test_credit_read__pay_link_is_null_without_a_pay_link_secret(client, post_feed, auth):
    post_feed(load_fixture("erp", "batch_small.json"))

    assert client.get("/api/v1/accounts/C-100/credit", headers=auth).get_json()["pay_link"] is None
