"""Statement files from someone hostile, or broken on the way: never a 500, never half stored.

Every case either imports (the file's good transactions, the bad ones listed with their
position) or is refused whole (400, one message) with the database as it was. XML that declares
a DTD or entities is refused unread, so bombs and external entities get nowhere; nesting and
text have libxml2's limits (256 levels, 10,000,000 characters).
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from service.bank import safe_xml
from service.bank.reading import read_statement
from service.bank.statement import NotAStatement
from service.extensions import EXTENSION
from service.models import BankTransaction
from tests.bank.files import data, samples
from tests.conftest import signed_headers, snapshot

FEED = "/api/v1/feeds/bank"
HOSTILE = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PURE = settings(max_examples=400, deadline=None, derandomize=True)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Document><BkToCstmrStmt><Stmt><Id>&lol9;</Id></Stmt></BkToCstmrStmt></Document>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Document><BkToCstmrStmt><Stmt><Id>&x;</Id>
<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct></Stmt></BkToCstmrStmt></Document>
"""


def post(client, body: bytes):
    return client.post(FEED, data=body, headers=signed_headers(body))


def engine_of(app):
    return app.extensions[EXTENSION].engine


def camt_with_amount(amount: str) -> bytes:
    text = data("made/bad-entry.camt053.001.02.xml").decode()
    return text.replace('<Amt Ccy="EUR">40.00</Amt>', f'<Amt Ccy="EUR">{amount}</Amt>').encode()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (BILLION_LAUGHS, "DTD"),
        (EXTERNAL_ENTITY, "DTD"),
        (b"<Document>" + b"<a>" * 50_000 + b"</a>" * 50_000 + b"</Document>", "nested deeper"),
        (b"<?xml version='1.0' encoding='utf-32'?><Document/>", "not a camt"),
        (b"\xff\xfe<\x00D\x00", "binary"),
        (b"01," + b"9" * 10_000, "no 03 account"),
    ],
    ids=["billion-laughs", "external-entity", "deep-nesting", "odd-encoding", "utf16", "bai2-junk"],
)
def test_refused_whole_quickly_and_nothing_stored(client, app, body, says):
    before = snapshot(engine_of(app))
    started = time.monotonic()

    response = post(client, body)

    assert response.status_code == 400, response.get_data(as_text=True)
    assert says in response.json["errors"][0]["message"]
    assert time.monotonic() - started < 30  # not expanded: a bomb would never finish
    assert snapshot(engine_of(app)) == before


def nested(depth: int) -> bytes:
    """A camt.053 whose statement holds an element ``depth`` levels below the document's root."""
    inner = depth - 3  # Document, BkToCstmrStmt, Stmt
    return (
        b"<Document><BkToCstmrStmt><Stmt><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id>"
        b"</Acct>" + b"<X>" * inner + b"</X>" * inner + b"</Stmt></BkToCstmrStmt></Document>"
    )


def test_nesting_is_read_to_256_levels_and_refused_below():
    (statement,) = read_statement(nested(256)).statements

    with pytest.raises(NotAStatement, match="nested deeper than 256 elements"):
        read_statement(nested(257))
    assert statement.account == "DE89370400440532013000"


@pytest.mark.parametrize(
    "body",
    [
        b"<Document><BkToCstmrStmt><Stmt><Id>" + b"x" * 10_000_001 + b"</Id>",
        # after a child element, and split by an entity: still one run of text
        b"<Document><BkToCstmrStmt><Stmt><Id/>" + b"x" * 6_000_000 + b"&amp;" + b"x" * 6_000_000,
    ],
    ids=["text", "text-after-a-child"],
)
def test_a_text_longer_than_ten_million_characters_is_refused(body):
    with pytest.raises(NotAStatement, match="longer than 10,000,000 characters"):
        read_statement(body + b"</Stmt></BkToCstmrStmt></Document>")


@pytest.mark.parametrize("declaration", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_the_parser_itself_refuses_a_dtd_not_only_the_text_search_before_it(declaration):
    parser, _ = safe_xml._parser(frozenset({"Ntry"}), [])

    with pytest.raises(NotAStatement, match="DTD"):
        parser.Parse(declaration, True)


@pytest.mark.parametrize(
    ("amount", "says"),
    [
        ("9" * 400, "is not an amount"),
        ("999999999999999999", "larger than any bank amount"),
        ("1e9", "is not an amount"),
        ("NaN", "is not an amount"),
        ("-5.00", "is not an amount"),
        ("1.123456", "more than four decimals"),
    ],
)
def test_huge_or_odd_amounts_are_rejected_with_their_position(client, app, amount, says):
    response = post(client, camt_with_amount(amount))

    assert response.status_code == 200
    rejected = response.json["rejected"]
    assert rejected[-1]["position"] == "Stmt 1, Ntry 4 (line 26)"
    assert says in rejected[-1]["message"]
    with engine_of(app).connect() as connection:
        refs = connection.scalars(select(BankTransaction.bank_reference)).all()
    assert sorted(refs) == ["BAD-1"]


def test_huge_amounts_in_mt940_and_bai2_are_rejected(client):
    mt940 = data("made/bad-line.mt940").replace(b"C30,00N", b"C999999999999999N")
    bai2 = data("more/bai2/venturehacks-svb-eod-wire.bai2").replace(
        b"16,195,8325982,", b"16,195,999999999999999999,"
    )

    first = post(client, mt940).json
    second = post(client, bai2).json

    assert "larger than any bank amount" in first["rejected"][-1]["message"]
    assert "larger than any bank amount" in second["rejected"][-1]["message"]


def test_control_characters_and_very_long_fields_are_stored_cleanly(client, app):
    padding = b":86:" + b"x" * 5000 + b"\n"  # the NUL comes after the binary sniff
    text = data("made/bad-line.mt940").replace(b":86:/EREF/E2E-A", padding + b":86:/EREF/E2\x00E-A")
    text = text.replace(b"Payer A", b"Payer " + b"A" * 5000)

    response = post(client, text)

    assert response.status_code == 200, response.get_data(as_text=True)
    with engine_of(app).connect() as connection:
        row = connection.execute(
            select(BankTransaction).where(BankTransaction.bank_reference == "REF-A")
        ).one()
    assert "\x00" not in row.end_to_end_id and len(row.payer_name) == 255


def test_a_currency_that_is_not_a_code_is_rejected(client):
    body = data("made/bad-entry.camt053.001.02.xml").replace(
        b'<Amt Ccy="EUR">10.00</Amt>', b'<Amt Ccy="' + b"E" * 300 + b'">10.00</Amt>'
    )

    response = post(client, body)

    assert response.status_code == 200
    messages = {r["position"]: r["message"] for r in response.json["rejected"]}
    assert "is not a three-letter code" in messages["Stmt 1, Ntry 1 (line 8)"]


@PURE
@given(st.binary(max_size=2000))
def test_random_bytes_read_or_refuse_never_crash(body):
    try:
        parsed = read_statement(body)
    except NotAStatement as error:
        assert str(error) and "\n" not in str(error)
        return
    for transaction in parsed.transactions:
        transaction.problem()
        transaction.dedupe_key()


def _mutate(base: bytes, edits) -> bytes:
    out = bytearray(base)
    for position, byte in edits:
        if out:
            out[position % len(out)] = byte
    return bytes(out)


@PURE
@given(
    st.sampled_from([*samples(), "made/interim.mt942", "made/day2-statement.camt053.001.02.xml"]),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
)
def test_mutated_real_files_read_or_refuse_never_crash(name, edits):
    body = _mutate(data(name), edits)
    try:
        parsed = read_statement(body)
    except NotAStatement:
        return
    for transaction in parsed.transactions:
        transaction.problem()
        transaction.dedupe_key()


@HOSTILE
@given(
    st.sampled_from(samples()),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_mutated_files_through_the_endpoint_are_200_or_400_never_500(client, app, name, edits):
    engine = engine_of(app)
    before = snapshot(engine)

    response = post(client, _mutate(data(name), edits))

    assert response.status_code in (200, 400), response.get_data(as_text=True)
    if response.status_code == 400:
        assert snapshot(engine) == before
    else:
        assert isinstance(response.json["rejected"], list)


@HOSTILE
@given(st.binary(min_size=1, max_size=500))
def test_random_bodies_through_the_endpoint_are_never_a_500(client, app, body):
    response = post(client, body)

    assert response.status_code in (200, 400), response.get_data(as_text=True)
