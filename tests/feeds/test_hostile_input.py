"""The ERP feed against hostile and edge-of-the-calendar input (issue 13), SQLite and PostgreSQL.

Every case here must be a 4xx in the usual error envelope (with a path when it is about one
field), never a 500; must store nothing; and must leave the feed and the credit read working
for the next, ordinary customer.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from service.app import create_app
from service.extensions import EXTENSION
from service.feeds.reading import plan, validated_chunks
from service.models import Customer, Payment, Receivable
from service.security import sign
from tests.assessing import drain_queue
from tests.conftest import (
    FEED_SECRET,
    NOW,
    TOKEN,
    _truncate_all,
    app_overrides,
    load_fixture,
    signed_headers,
    snapshot,
)

FEED = "/api/v1/feeds/erp"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# A function-scoped app is fine to share between examples: nothing a refused request does
# changes it (that is what the tests check).
HOSTILE = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def batch() -> dict[str, Any]:
    return copy.deepcopy(load_fixture("erp", "batch_small.json"))


def engine_of(app):
    return app.extensions[EXTENSION].engine


def post_raw(client, body: bytes, signature: str | None = None):
    headers = signed_headers(body)
    if signature is not None:
        headers["X-Signature"] = signature
    return client.post(FEED, data=body, headers=headers)


def assert_refused(response, status: int, code: str) -> list[dict]:
    """A refusal in the one error envelope; returns its errors."""
    assert response.status_code == status, response.get_data(as_text=True)
    errors = response.json["errors"]
    assert errors and all(e["code"] == code and e["message"] for e in errors), errors
    return errors


def assert_still_works(app, client) -> None:
    """An ordinary customer's feed is accepted and assessed, and its credit reads as usual."""
    doc = {
        "source": "erp-main",
        "customers": [{"number": "OK-1", "name": "Ordinary Ltd", "currency": "EUR"}],
        "receivables": [
            {
                "id": "OK-INV-1",
                "customer": "OK-1",
                "type": "invoice",
                "number": "OK-INV-1",
                "issue_date": "2026-01-01",
                "due_date": "2026-01-31",
                "currency": "EUR",
                "amount": "100.00",
                "open_amount": "100.00",
                "updated_at": "2026-03-01T00:00:00Z",
            }
        ],
    }
    body = json.dumps(doc).encode()
    assert post_raw(client, body).status_code == 200
    drain_queue(app)
    credit = client.get("/api/v1/accounts/OK-1/credit", headers=AUTH)
    assert credit.status_code == 200, credit.json
    assert credit.json["balance_outstanding"] == "100.00"
    assert credit.json["days_past_due"] == 43


# --- the signature header -------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param("t=²,v1=00", id="unicode digit t"),
        pytest.param("t=١٧٧٣٥٦٦٦٠٠,v1=00", id="arabic-indic digits t"),
        pytest.param("t=" + "9" * 400 + ",v1=00", id="400-digit t"),
        pytest.param("t=" + "9" * 5000 + ",v1=00", id="5000-digit t (past int's digit limit)"),
        pytest.param("t=-1,v1=00", id="negative t"),
        pytest.param("t=1e9,v1=00", id="float t"),
        pytest.param(f"t={int(NOW.timestamp())},v1=\ud800", id="lone surrogate v1"),
        pytest.param(f"t={int(NOW.timestamp())},v1=ÿÿ", id="latin-1 v1"),
        pytest.param(f"t={int(NOW.timestamp())},v1=😀", id="emoji v1"),
        pytest.param(f"t={int(NOW.timestamp())}" + ",v1=00" * 10_000, id="10k v1 values"),
        pytest.param("t=1,v1=" + "a" * 100_000, id="100k-char v1"),
        pytest.param("\x00" * 1000, id="NULs"),
        pytest.param("", id="empty"),
    ],
)
def test_signature_header__any_garbage_is_401(app, client, signature):
    before = snapshot(engine_of(app))

    response = post_raw(client, json.dumps(batch()).encode(), signature)

    assert_refused(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"]
    assert snapshot(engine_of(app)) == before
    assert_still_works(app, client)


# Header values cannot carry CR or LF (the test client and every server refuse them).
header_text = st.text(st.characters(blacklist_characters="\r\n"), max_size=300)


@HOSTILE
@given(signature=st.one_of(header_text, header_text.map(lambda s: "t=" + s + ",v1=" + s)))
def test_signature_header__any_unicode_of_any_length_is_401(app, client, signature):
    response = post_raw(client, b'{"source": "erp-main"}', signature)

    assert_refused(response, 401, "unauthorized")


@HOSTILE
@given(token=header_text)
def test_bearer_token__any_unicode_is_401(client, token):
    for value in (token, f"Bearer {token}"):
        response = client.get("/api/v1/accounts/C-100/credit", headers={"Authorization": value})
        assert_refused(response, 401, "unauthorized")


def test_signature_header__a_valid_signature_still_verifies(app, client):
    body = json.dumps(batch()).encode()
    good = sign(FEED_SECRET, body, int(NOW.timestamp()))
    rotated = good + ",v1=" + "0" * 64  # a second candidate, as during secret rotation

    assert post_raw(client, body, rotated).status_code == 200


# --- the JSON body ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"[" * 50_000 + b"]" * 50_000, "nested too deeply", id="50k nested arrays"),
        pytest.param(
            b'{"customers": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001,
            "nested too deeply",
            id="50k nested objects",
        ),
        pytest.param(b'{"source": "erp-\xff"}', "not valid JSON", id="not UTF-8"),
        pytest.param(b"\x00" * 100, "not valid JSON", id="NUL bytes"),
        pytest.param(b"[" * 500 + b"]" * 500, "must be a JSON object", id="500 nested arrays"),
        pytest.param(b'{"source": "erp-main", "customers": 1e999}', "list", id="infinity"),
        pytest.param(b'{"source": ' + b"9" * 5000 + b"}", "not valid JSON", id="5000-digit int"),
    ],
)
def test_json_body__hostile_shapes_are_400(app, client, body, message):
    before = snapshot(engine_of(app))

    response = post_raw(client, body)

    errors = assert_refused(response, 400, "invalid")
    assert message.lower() in " ".join(e["message"] for e in errors).lower()
    assert snapshot(engine_of(app)) == before
    assert_still_works(app, client)


SURROGATE = "\ud800"
NUL = "\x00"


def _set(doc: dict, path: str, value: Any) -> None:
    kind_index, field = path.split(".", 1)
    kind, index = kind_index.rstrip("]").split("[")
    doc[kind][int(index)][field] = value


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("customers[0].name", f"Acme{NUL}Tools", "NUL"),
        ("customers[1].number", f"{NUL}", "NUL"),
        ("receivables[2].number", f"CN{NUL}1003", "NUL"),
        ("receivables[3].id", f"INV{NUL}", "NUL"),
        ("payments[0].reference", f"BACS{NUL}4471", "NUL"),
        ("customers[0].name", f"Acme {SURROGATE} Tools", "surrogate"),
        ("receivables[0].id", f"{SURROGATE}INV", "surrogate"),
        ("payments[0].reference", f"\udfff{SURROGATE}", "surrogate"),
        # Not text fields: refused by their own rules, whatever the characters.
        ("receivables[0].currency", f"EU{SURROGATE}", "ISO 4217"),
        ("receivables[0].type", f"invoice{NUL}", "one of"),
        ("receivables[0].amount", f"1{NUL}", "decimal string"),
        ("receivables[0].due_date", f"2026-03-2{SURROGATE}", "date"),
        ("receivables[0].updated_at", f"2026-03-01T08:00:00Z{NUL}", "ISO 8601"),
    ],
)
def test_text__nul_and_lone_surrogates_are_400_with_the_path(app, client, path, value, message):
    doc = batch()
    _set(doc, path, value)
    before = snapshot(engine_of(app))

    # json.dumps escapes both (\u0000, \ud800): the JSON is valid, the text is not storable.
    response = post_raw(client, json.dumps(doc).encode())

    errors = assert_refused(response, 400, "invalid")
    assert [e["path"] for e in errors] == [path]
    assert message.lower() in errors[0]["message"].lower()
    assert snapshot(engine_of(app)) == before
    assert_still_works(app, client)


def test_text__a_surrogate_sent_as_raw_bytes_is_400(app, client):
    # UTF-8's encoding of U+D800, which json decodes with "surrogatepass".
    body = json.dumps(batch()).encode().replace(b"Acme Tools", b"Acme \xed\xa0\x80Tools")

    response = post_raw(client, body)

    errors = assert_refused(response, 400, "invalid")
    assert [e["path"] for e in errors] == ["customers[0].name"]


def test_text__nul_and_surrogates_in_keys_and_source_are_400(app, client):
    doc = batch()
    doc["source"] = f"erp{NUL}"
    doc["customers"][0][f"note{SURROGATE}"] = "x"
    doc[f"extra{NUL}"] = []
    before = snapshot(engine_of(app))

    response = post_raw(client, json.dumps(doc).encode())

    errors = assert_refused(response, 400, "invalid")
    assert {e["path"] for e in errors} == {
        "source",
        f"customers[0].note{SURROGATE}",
        f"extra{NUL}",
    }
    assert snapshot(engine_of(app)) == before
    assert_still_works(app, client)


def test_text__other_unicode_is_stored_as_sent(app, client):
    doc = batch()
    doc["customers"][0]["name"] = "Ācme 工具 😀 \u200b\t GmbH"
    response = post_raw(client, json.dumps(doc).encode())

    assert response.status_code == 200
    drain_queue(app)
    credit = client.get("/api/v1/accounts/C-100/credit", headers=AUTH)
    assert credit.json["name"] == "Ācme 工具 😀 \u200b\t GmbH"


def test_import_files__nul_and_surrogates_are_row_errors_too(tmp_path):
    """The import reads files through the same rules: a row error, not a database error."""

    csv_path = tmp_path / "customers.csv"
    csv_path.write_text(
        "number,name,currency\nC-1,Acme\x00Tools,EUR\nC-2,Fine Ltd,EUR\n", encoding="utf-8"
    )
    json_path = tmp_path / "batch.json"
    json_path.write_text(
        '{"customers": [{"number": "C-3", "name": "Bad \\ud800", "currency": "EUR"}]}'
    )

    chunks = list(validated_chunks(plan([csv_path, json_path], None), 10))

    errors = [(e.path, e.message.split(" (")[0]) for c in chunks for e in c.errors]
    # A JSON file is planned first: it may hold every kind.
    assert errors == [
        ("customers[0].name", "Must not contain unpaired UTF-16 surrogates"),
        ("customers[0].name", "Must not contain NUL characters"),
    ]
    assert [row is not None for c in chunks for row in c.loaded] == [False, False, True]


# --- instants at the edges of the calendar ------------------------------------------------------

# In UTC these fall outside year 1..9999: no datetime, and so no driver, can hold them.
UNREPRESENTABLE = [
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:59:59.999999+01:00",
    "0001-01-01T12:00:00+14:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:30:00-00:30",
    "9999-12-31T12:00:00-12:00",
]
# The first and last instants there are, written in UTC and in other offsets.
EDGES = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T01:00:00+01:00",
    "0001-01-01T14:00:00+14:00",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T22:59:59.999999-01:00",
    "9999-12-31T23:59:59+14:00",
]
INSTANT_FIELDS = [
    "customers[0].updated_at",
    "receivables[1].updated_at",
    "payments[0].received_at",
    "payments[0].updated_at",
]


@pytest.mark.parametrize("path", INSTANT_FIELDS)
@pytest.mark.parametrize("value", UNREPRESENTABLE)
def test_instant__beyond_the_calendar_in_utc_is_400_with_the_path(app, client, path, value):
    doc = batch()
    _set(doc, path, value)
    before = snapshot(engine_of(app))

    response = post_raw(client, json.dumps(doc).encode())

    errors = assert_refused(response, 400, "invalid")
    assert errors == [
        {
            "code": "invalid",
            "path": path,
            "message": "Must be within 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z "
            "once converted to UTC.",
        }
    ]
    assert snapshot(engine_of(app)) == before
    assert_still_works(app, client)


def _edge_doc(value: str) -> dict:
    doc = batch()
    for path in INSTANT_FIELDS:
        _set(doc, path, value)
    return doc


def _stored_instants(app) -> set:

    with app.extensions[EXTENSION].sessions() as session:
        return {
            *session.scalars(select(Customer.source_updated_at).where(Customer.number == "C-100")),
            *session.scalars(
                select(Receivable.source_updated_at).where(Receivable.external_id == "INV-1002")
            ),
            *session.scalars(select(Payment.received_at)),
            *session.scalars(select(Payment.source_updated_at)),
        }


@pytest.mark.parametrize("value", EDGES)
def test_instant__the_calendar_edges_are_stored_read_back_and_assessed(app, client, value):

    response = post_raw(client, json.dumps(_edge_doc(value)).encode())
    assert response.status_code == 200, response.json

    # Read back as the same instant, in UTC (a later feed compares against it).
    assert _stored_instants(app) == {datetime.fromisoformat(value).astimezone(UTC)}
    again = _edge_doc(value)
    again["receivables"][1]["open_amount"] = "700.00"  # a new body, not the inbox's duplicate
    replay = post_raw(client, json.dumps(again).encode())
    assert replay.status_code == 200, replay.json
    assert replay.json["receivables"]["ignored"] == 6  # not newer than what is stored
    drain_queue(app)
    for number in ("C-100", "C-200", "C-300"):
        credit = client.get(f"/api/v1/accounts/{number}/credit", headers=AUTH)
        assert credit.status_code == 200, credit.json
    assert_still_works(app, client)


@pytest.mark.postgres
@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "America/New_York"])
@pytest.mark.parametrize("value", [EDGES[0], EDGES[3]])
def test_instant__edges_read_back_whatever_the_servers_time_zone(pg_schema_url, zone, value):
    """A server whose default zone is not UTC (initdb takes the machine's): psycopg would answer
    9999-12-31T23:59Z as year 10000 in Kiritimati and fail; the engine's sessions use UTC."""

    if pg_schema_url is None:
        pytest.skip("PostgreSQL not reachable")
    url = f"{pg_schema_url}%20-ctimezone%3D{zone.replace('/', '%2F')}"
    app = create_app(app_overrides(url))
    try:
        with engine_of(app).connect() as connection:
            assert connection.exec_driver_sql("SHOW TimeZone").scalar() == "UTC"
        client = app.test_client()
        assert post_raw(client, json.dumps(_edge_doc(value)).encode()).status_code == 200
        assert _stored_instants(app) == {datetime.fromisoformat(value).astimezone(UTC)}
        drain_queue(app)
        assert client.get("/api/v1/accounts/C-200/credit", headers=AUTH).status_code == 200
    finally:
        engine_of(app).dispose()
        _truncate_all(pg_schema_url)


# --- legal ERP values at the edges --------------------------------------------------------------


def test_due_9999_12_31__is_accepted_and_the_credit_read_answers(app, client):
    """SAP's "no due date": the engine's next action date used to overflow (a 500)."""
    doc = batch()
    for item in doc["receivables"]:
        item["due_date"] = "9999-12-31"
    doc["receivables"][0]["issue_date"] = "0001-01-01"

    assert post_raw(client, json.dumps(doc).encode()).status_code == 200
    drain_queue(app)

    credit = client.get("/api/v1/accounts/C-100/credit", headers=AUTH)
    assert credit.status_code == 200, credit.json
    assert credit.json["status"] == "OK"
    assert credit.json["days_past_due"] == 0
    assert credit.json["aging"]["current"] == "13200.00"  # 12,400 + 800, nothing overdue
    assert credit.json["balance_outstanding"] == "13050.00"  # less the 150 credit note
    assert credit.json["next_action_date"] == "9999-12-31"
    for number in ("C-200", "C-300"):
        assert client.get(f"/api/v1/accounts/{number}/credit", headers=AUTH).status_code == 200
    assert_still_works(app, client)


LIMIT_MESSAGE = (
    "Must be at most 99999999999999.99: the largest amount the database and Salesforce's "
    "currency fields hold."
)


@pytest.mark.parametrize(
    "path",
    [
        "customers[0].credit_limit",
        "receivables[0].amount",
        "payments[0].amount",
    ],
)
@pytest.mark.parametrize(
    "value",
    ["100000000000000", "99999999999999.991", "99999999999999.9999", "9" * 40],
)
def test_amount__beyond_the_limit_is_400_with_the_path(app, client, path, value):
    doc = batch()
    _set(doc, path, value)
    before = snapshot(engine_of(app))

    response = post_raw(client, json.dumps(doc).encode())

    errors = assert_refused(response, 400, "invalid")
    assert {"code": "invalid", "path": path, "message": LIMIT_MESSAGE} in errors
    assert snapshot(engine_of(app)) == before
    assert_still_works(app, client)


def test_amount__an_allocation_beyond_the_limit_is_400_with_its_path(app, client):
    doc = batch()
    doc["payments"][0]["applied_to"][1]["amount"] = "100000000000000.00"

    response = post_raw(client, json.dumps(doc).encode())

    errors = assert_refused(response, 400, "invalid")
    assert errors == [
        {"code": "invalid", "path": "payments[0].applied_to[1].amount", "message": LIMIT_MESSAGE}
    ]


MAX = "99999999999999.99"


def test_amount__the_largest_amounts_are_stored_and_assessed_exactly(app, client):
    doc = batch()
    doc["customers"][0]["credit_limit"] = MAX
    item = doc["receivables"][0]  # C-100's overdue invoice
    item["amount"] = item["open_amount"] = MAX
    doc["receivables"] = [item, doc["receivables"][3], doc["receivables"][4]]
    doc["payments"][0]["amount"] = MAX

    assert post_raw(client, json.dumps(doc).encode()).status_code == 200
    drain_queue(app)

    credit = client.get("/api/v1/accounts/C-100/credit", headers=AUTH)
    assert credit.status_code == 200, credit.json
    assert credit.json["error"] is None
    assert credit.json["balance_outstanding"] == MAX
    assert credit.json["overdue_amount"] == MAX
    assert credit.json["credit_limit"] == MAX
    assert credit.json["aging"]["61_90"] == MAX
    assert credit.json["status"] == "HOLD"  # 74 days past due
    assert client.get("/api/v1/accounts/C-200/credit", headers=AUTH).json["error"] is None


def test_amount__a_total_beyond_the_limit_is_an_assessment_error_not_a_500(app, client):
    """Two of the largest invoices add up to more than NUMERIC(18, 4) holds: writing the
    assessment failed on PostgreSQL, failing the whole drain and the credit read (a 500)."""
    doc = batch()
    for item in doc["receivables"][:2]:  # C-100's two invoices
        item["amount"] = item["open_amount"] = MAX

    assert post_raw(client, json.dumps(doc).encode()).status_code == 200
    drain_queue(app)

    credit = client.get("/api/v1/accounts/C-100/credit", headers=AUTH)
    assert credit.status_code == 200, credit.json
    assert credit.json["status"] == "ERROR"
    assert credit.json["error"] == (
        "balance_outstanding EUR 199,999,999,999,849.98 is beyond EUR 99,999,999,999,999.99, "
        "the largest amount the service stores and Salesforce shows"
    )
    # The others in the same drain were assessed as usual.
    other = client.get("/api/v1/accounts/C-200/credit", headers=AUTH)
    assert other.status_code == 200 and other.json["error"] is None
    assert other.json["status"] in ("OK", "WATCH", "HOLD")
    assert_still_works(app, client)


# --- ids as long as the Salesforce fields they go to -------------------------------------------


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("customers[0].number", 80),  # Account.ERP_Customer_Number__c
        ("receivables[0].id", 80),  # Receivable__c.ERP_Item_Id__c
        ("receivables[0].number", 80),  # Receivable__c.Name
        ("receivables[0].customer", 80),
        ("payments[0].applied_to[0].receivable", 80),
        ("payments[0].id", 120),  # not pushed: the column's length
        ("payments[0].reference", 255),
        ("customers[0].name", 255),
    ],
)
def test_ids__longer_than_their_salesforce_field_are_400_with_the_path(app, client, path, limit):
    doc = batch()
    row_path, _, field = path.rpartition(".")
    row: Any = doc
    for part in row_path.split("."):
        name, _, index = part.partition("[")
        row = row[name][int(index.rstrip("]"))]
    row[field] = "X" * (limit + 1)
    before = snapshot(engine_of(app))

    response = post_raw(client, json.dumps(doc).encode())

    errors = assert_refused(response, 400, "invalid")
    assert {
        "code": "invalid",
        "path": path,
        "message": f"Longer than {limit} characters.",
    } in errors
    assert snapshot(engine_of(app)) == before
    assert_still_works(app, client)


def test_ids__exactly_as_long_as_the_fields_are_stored(app, client):
    doc = batch()
    number, item = "N" * 80, "I" * 80
    doc["customers"][0]["number"] = number
    for row in doc["receivables"][:3]:
        row["customer"] = number
    doc["receivables"][0]["id"] = item
    doc["receivables"][0]["number"] = "R" * 80
    doc["customers"][1]["name"] = "ü" * 255  # characters, not bytes
    doc["payments"][0]["applied_to"][0]["receivable"] = "INV-2002"
    doc["payments"][0]["applied_to"][1]["receivable"] = "INV-2001"

    response = post_raw(client, json.dumps(doc).encode())

    assert response.status_code == 200, response.json
    drain_queue(app)
    assert client.get(f"/api/v1/accounts/{number}/credit", headers=AUTH).status_code == 200


@pytest.mark.parametrize(
    "value", ["001000000000001AAA\n", "001000000000001AA", "00100000000000\u0661AAA", " " * 18]
)
def test_salesforce_account_id__anything_but_15_or_18_letters_and_digits_is_400(app, client, value):
    doc = batch()
    doc["customers"][0]["salesforce_account_id"] = value
    before = snapshot(engine_of(app))

    response = post_raw(client, json.dumps(doc).encode())

    errors = assert_refused(response, 400, "invalid")
    assert [e["path"] for e in errors] == ["customers[0].salesforce_account_id"]
    assert snapshot(engine_of(app)) == before
