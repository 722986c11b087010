"""Reading statement files: every sample the banks' parsers ship, and each dialect's details.

Pure: no database. The checks are the file's own figures (control totals, closing balances)
against what its transactions add up to; where a trimmed sample does not add up, the difference
is what the import reports.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.bank.reading import read_statement
from service.bank.statement import NotAStatement, clean_text
from tests.bank.files import BANK, SHARED, data, samples

# file, format, statements, transactions, credits, checks, [(check that fails, difference)]
SAMPLES = [
    ("bai2/moj-citi_example.bai2", "BAI2", 1, 1, 1, 8, []),
    ("bai2/moov-sample2-lockbox.bai2", "BAI2", 5, 4, 4, 25, []),
    ("bai2/moov-sample4-ach-eref-remi.bai2", "BAI2", 5, 17, 9, 16, [
        ("account control total (49)", "+12601693417.22"),
        ("account records (49)", "-8"),
        ("account control total (49)", "+6600480.96"),
        ("account records (49)", "+80"),
        ("group 1 control total (98)", "+6680480.56"),
        ("group 1 accounts (98)", "+1"),
        ("group 1 records (98)", "+98"),
        ("file control total (99)", "+6680480.56"),
        ("file records (99)", "+98"),
    ]),
    ("camt053/genkgo-camt053.001.02-minimal.xml", "camt.053.001.02", 1, 1, 1, 1,
     [("closing balance (opening + booked entries)", "+54.00")]),
    ("camt053/genkgo-camt053.001.08.xml", "camt.053.001.08", 1, 1, 1, 1,
     [("closing balance (opening + booked entries)", "+54.00")]),
    ("camt054/genkgo-camt054.001.02.xml", "camt.054.001.02", 1, 1, 0, 0, []),
    ("camt054/genkgo-camt054.001.08.xml", "camt.054.001.08", 1, 1, 0, 0, []),
    ("more/bai2/dnsbty-gs-ach-wire.bai", "BAI2", 1, 1, 0, 8, [
        ("account records (49)", "+2"),
        ("group 1 control total (98)", "-10"),
        ("group 1 accounts (98)", "-1"),
        ("group 1 records (98)", "+1"),
        ("file control total (99)", "-110"),
        ("file groups (99)", "-1"),
        ("file records (99)", "-2"),
    ]),
    ("more/bai2/venturehacks-svb-daily-summary.bai2", "BAI2", 1, 1, 1, 8, []),
    ("more/bai2/venturehacks-svb-eod-wire.bai2", "BAI2", 1, 1, 1, 8, []),
    ("more/camt053/subite-be-053.001.02.xml", "camt.053.001.02", 1, 3, 1, 1, []),
    ("more/camt053/subite-lt-2stmts-053.001.08.xml", "camt.053.001.08", 2, 8, 3, 2, []),
    ("more/camt053/viafintech-ing-batch-053.001.02.xml", "camt.053.001.02", 1, 3, 2, 5, [
        ("sum of credit entries (TtlCdtNtries)", "-20734.40"),
        ("number of credit entries (TtlCdtNtries)", "-7"),
        ("sum of debit entries (TtlDbtNtries)", "-7960.26"),
        ("number of debit entries (TtlDbtNtries)", "-25"),
        ("closing balance (opening + booked entries)", "-12774.14"),
    ]),
    ("more/camt053/viafintech-postfinance-053.001.04.xml", "camt.053.001.04", 1, 32, 24, 1, []),
    ("more/camt054/subite-lt-netted-054.001.10.xml", "camt.054.001.10", 1, 41, 32, 0, []),
    ("more/camt054/viafintech-postfinance-054.001.04.xml", "camt.054.001.04", 1, 5, 3, 0, []),
    ("more/mt940/fruitl00p-kbs-mkd.sta", "MT940", 1, 3, 1, 1, []),
    ("more/mt940/fruitl00p-kontist.sta", "MT940", 1, 6, 4, 1, []),
    ("more/mt940/fruitl00p-sparkasse-2stmts.sta", "MT940", 4, 10, 9, 4, []),
    ("more/mt940/zilverline-deutsche-bank.txt", "MT940", 1, 2, 2, 1,
     [("closing balance :62: (opening :60: + transactions)", "-1.87")]),
    ("more/mt940/zilverline-ing-iban.txt", "MT940", 1, 21, 3, 1, []),
    ("mt940/betterplace-sepa_mt9401.sta", "MT940", 26, 97, 41, 26, []),
    ("mt940/jejik-abnamro.sta", "MT940", 2, 10, 0, 2, [
        ("closing balance :62: (opening :60: + transactions)", "+2038.00"),
        ("closing balance :62: (opening :60: + transactions)", "+1002.60"),
    ]),
    ("mt940/jejik-rabobank-iban.sta", "MT940", 2, 4, 0, 2, []),
]  # fmt: skip


def test_samples__the_table_names_every_sample_file():
    assert sorted(row[0] for row in SAMPLES) == samples()


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/fixtures/bank is not beside the repo")
def test_samples__are_the_shared_files_byte_for_byte():
    shared = sorted(
        str(p.relative_to(SHARED)) for p in SHARED.rglob("*") if p.is_file() and p.suffix != ".md"
    )
    assert shared == samples()
    for name in shared:
        assert (SHARED / name).read_bytes() == data(name), name


@pytest.mark.parametrize(
    ("name", "fmt", "statements", "transactions", "credits", "checks", "failing"),
    SAMPLES,
    ids=[row[0] for row in SAMPLES],
)
def test_samples__read_whole_and_checked_against_their_own_totals(
    name, fmt, statements, transactions, credits, checks, failing
):
    parsed = read_statement(data(name))

    assert parsed.format == fmt
    assert len(parsed.statements) == statements
    assert len(parsed.transactions) == transactions
    assert sum(t.credit for t in parsed.transactions) == credits
    assert parsed.all_rejected == []
    assert len(parsed.all_checks) == checks
    assert [(c.label, f"{c.difference:+}") for _, c in parsed.all_checks if not c.ok] == failing
    for t in parsed.transactions:
        assert t.amount > 0 and isinstance(t.amount, Decimal)
        assert len(t.currency) == 3 and t.problem() is None


def test_camt__versions_02_and_08_give_the_same_credit():
    old = read_statement(data("camt053/genkgo-camt053.001.02-minimal.xml")).transactions[0]
    new = read_statement(data("camt053/genkgo-camt053.001.08.xml")).transactions[0]

    for t in (old, new):
        assert (t.amount, t.currency, t.credit) == (Decimal("8.85"), "EUR", True)
        assert (t.booking_date, t.value_date) == (date(2014, 12, 31), date(2015, 1, 2))
        assert (t.payer_name, t.payer_iban) == ("NAME NAME", "NL56AGDH9619008421")
        assert t.references == ("4654654654654654",)


def test_camt__read_by_local_name_whatever_the_namespace_prefix():
    text = data("made/day1-notification.camt054.001.04.xml").decode()
    prefixed = text.replace("<Document xmlns=", "<c:Document xmlns:c=").replace(
        "</Document>", "</c:Document>"
    )
    prefixed = prefixed.replace("<", "<c:").replace("<c:/", "</c:").replace("<c:?xml", "<?xml")
    prefixed = prefixed.replace("<c:c:", "<c:").replace("</c:c:", "</c:")
    credit = read_statement(prefixed.encode()).transactions[0]

    assert credit.amount == Decimal("1190") and credit.references == ("INV-1001", "INV-1002")


def test_camt__a_wrapper_in_another_namespace_names_the_version_when_the_message_has_none():
    body = (
        b'<Envelope xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.04"><BkToCstmrDbtCdtNtfctn'
        b' xmlns=""><Ntfctn><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct></Ntfctn>'
        b"</BkToCstmrDbtCdtNtfctn></Envelope>"
    )

    assert read_statement(body).format == "camt.054.001.04"


def test_camt__comments_cdata_and_character_references_read_as_plain_text():
    text = data("made/day1-notification.camt054.001.04.xml").decode()
    odd = text.replace("Invoices INV-1001", "Invoices <!-- a note --><![CDATA[INV]]>&#45;1001")

    (plain,) = read_statement(data("made/day1-notification.camt054.001.04.xml")).transactions
    (read,) = read_statement(odd.encode()).transactions

    assert read == plain


def test_camt__an_entry_past_line_65535_has_its_own_line():
    text = data("made/bad-entry.camt053.001.02.xml").replace(b"<Stmt>", b"<Stmt>" + b"\n" * 70_000)

    positions = [r.position for r in read_statement(text).all_rejected]

    assert positions == ["Stmt 1, Ntry 2 (line 70014)", "Stmt 1, Ntry 3 (line 70020)"]


def test_camt__a_batch_entry_is_split_into_its_transactions():
    parsed = read_statement(data("made/day2-statement.camt053.001.02.xml"))
    batch = [t for t in parsed.transactions if t.bank_reference.startswith("BANKREF-0004")]

    assert [(t.amount, t.payer_name) for t in batch] == [
        (Decimal("100.00"), "Beta Ltd"),
        (Decimal("200.00"), "Gamma SA"),
    ]
    assert batch[0].references == ("RF18539007547034",)
    assert all(c.ok for _, c in parsed.all_checks) and len(parsed.all_checks) == 5


def test_camt__a_netted_entry_splits_into_credits_and_debits_that_net_to_it():
    parsed = read_statement(data("more/camt054/subite-lt-netted-054.001.10.xml"))
    net = sum(t.amount if t.credit else -t.amount for t in parsed.transactions)

    assert net == Decimal("-194672.25")  # the entry: DBIT 194672.25
    assert not any(t.booked for t in parsed.transactions)  # status INFO: not booked


def test_camt__an_entry_whose_details_carry_no_amounts_is_kept_whole_and_noted():
    parsed = read_statement(data("camt054/genkgo-camt054.001.02.xml"))

    (entry,) = parsed.transactions
    assert entry.amount == Decimal("200000") and not entry.credit
    assert "V3 block 2" in entry.remittance
    assert "kept as one" in parsed.statements[0].notes[0]


def test_camt__reversal_indicator_marks_a_reversal():
    (reversal,) = read_statement(data("made/day3-reversal.camt053.001.08.xml")).transactions

    assert reversal.reversal and not reversal.credit and reversal.amount == Decimal("1190.00")


def test_camt__pending_entries_are_read_but_not_booked():
    parsed = read_statement(data("made/day1-intraday.camt052.001.08.xml"))

    assert parsed.format == "camt.052.001.08"
    assert [(t.amount, t.booked) for t in parsed.transactions] == [
        (Decimal("1190.00"), True),
        (Decimal("50.00"), False),
    ]


def test_camt__a_bad_entry_is_rejected_with_its_position_and_the_rest_kept():
    parsed = read_statement(data("made/bad-entry.camt053.001.02.xml"))

    assert [t.bank_reference for t in parsed.transactions] == ["BAD-1", "BAD-4"]
    assert [(r.position, r.message) for r in parsed.all_rejected] == [
        ("Stmt 1, Ntry 2 (line 14)", "the entry's amount '12,50' is not an amount"),
        ("Stmt 1, Ntry 3 (line 20)", "BookgDt '2026-02-30' is not a date"),
    ]


def test_mt940__german_subfields():
    t = read_statement(data("more/mt940/fruitl00p-kontist.sta")).transactions[2]

    assert (t.amount, t.credit) == (Decimal("95.95"), True)
    assert t.payer_iban == "DE32334400000003909884"
    assert t.payer_name == "DM PUTZ + STUCK UG HAFTUNGSBESCHRANKT"
    assert t.remittance == "Rechnung-Nr.: INV-00002 v. 13.02.21"


def test_mt940__german_sepa_end_to_end_and_purpose():
    t = read_statement(data("more/mt940/zilverline-deutsche-bank.txt")).transactions[1]

    assert t.end_to_end_id == "D979899680037A3DFA78E45315095381"
    assert t.payer_name == "PETER TESTER" and t.payer_iban == "DE04400694620000233025"
    assert "IHRE REFERENZ: 766413" in t.remittance


def test_mt940__dutch_tags():
    ing = read_statement(data("more/mt940/zilverline-ing-iban.txt")).transactions[2]
    rabo = read_statement(data("mt940/jejik-rabobank-iban.sta")).transactions[0]

    assert (ing.amount, ing.credit) == (Decimal("20.00"), True)
    assert (ing.payer_name, ing.payer_iban) == ("BERTYU M", "NL57ABNA0876543211")
    assert ing.remittance == "18-08-2014 Een opmschrijving"
    assert ing.bank_reference == "14237653554593"
    assert rabo.end_to_end_id == "01-01-2013 12:00 0030000987654321"
    assert rabo.payer_name == "CONTRA ACCOUNT HOLDER"  # wrapped mid-word across two lines
    assert rabo.payer_iban == "NL70ABNA0987654321"  # the second line of :61:
    assert rabo.bank_reference is None  # "EREF" names the :86: tag, it is no reference


def test_mt940__dutch_structured_creditor_reference():
    parsed = read_statement(data("made/bad-line.mt940"))

    assert parsed.transactions[1].references == ("RF18539007547034",)


def test_mt940__reversal_marks():
    parsed = read_statement(data("mt940/betterplace-sepa_mt9401.sta"))
    reversals = [t for t in parsed.transactions if t.reversal]

    assert [(t.amount, t.credit) for t in reversals] == [
        (Decimal("204.88"), False),  # RC: a credit undone, money leaves
        (Decimal("204.88"), False),
    ]


def test_mt940__one_bad_line_is_rejected_with_its_line_and_the_rest_kept():
    parsed = read_statement(data("made/bad-line.mt940"))

    assert [t.bank_reference for t in parsed.transactions] == ["REF-A", "REF-C"]
    (rejected,) = parsed.all_rejected
    assert rejected.position == "line 7"
    assert "26031X0316C20,00" in rejected.message
    (check,) = [c for _, c in parsed.all_checks]
    assert check.difference == Decimal("-20.00")  # the rejected transaction, reported


def test_mt942__interim_totals_checked():
    parsed = read_statement(data("made/interim.mt942"))

    assert parsed.format == "MT942"
    assert [(c.label, c.ok) for _, c in parsed.all_checks] == [
        ("sum of credits :90C:", True),
        ("number of credits :90C:", True),
        ("sum of debits :90D:", True),
        ("number of debits :90D:", True),
    ]
    assert parsed.transactions[0].end_to_end_id == "E2E-INV-1001-1002"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1", "cp1252"])
def test_encodings__utf8_latin1_and_cp1252_read_alike(encoding):
    text = data("made/umlauts.mt940").decode("utf-8")

    (t,) = read_statement(text.encode(encoding)).transactions

    assert t.payer_name == "Jürgen Müller"
    assert t.remittance == "Rechnung 4711 Grüße"


def test_encodings__cp1252_euro_sign_in_a_file_declared_utf8():
    xml = data("made/day1-notification.camt054.001.04.xml").decode()
    xml = xml.replace("Invoices INV-1001", "Invoices \u20ac INV-1001")

    (t,) = read_statement(xml.encode("cp1252")).transactions

    assert t.remittance.startswith("Invoices \u20ac INV-1001")


def test_bai2__continuation_of_an_account_record_and_lockbox_detail():
    parsed = read_statement(data("bai2/moov-sample2-lockbox.bai2"))

    assert [(t.amount, t.account) for t in parsed.transactions][:2] == [
        (Decimal("4500.00"), "0123456789"),
        (Decimal("5000.00"), "9876543210"),
    ]
    assert parsed.transactions[1].remittance == "LOCK BOX NO.68751"


def test_bai2__returns_are_reversals_and_88_tags_are_read():
    parsed = read_statement(data("bai2/moov-sample4-ach-eref-remi.bai2"))
    by_ref = {t.bank_reference: t for t in parsed.transactions}

    ach = by_ref["SPB2322684598521"]  # 447 ACH disbursement funding debit
    assert (ach.credit, ach.end_to_end_id, ach.payer_name) == (
        False,
        "AB-GS-RPFILERP0001-RPBA0001",
        "SAMPLE INC",
    )
    wire = by_ref["GI2228400005800"]  # 195 incoming money transfer
    assert (wire.credit, wire.amount, wire.reversal) == (True, Decimal("500.50"), False)
    assert "Test Remittance" in wire.remittance
    assert by_ref["SB2322600000214"].reversal and not by_ref["SB2322600000214"].credit  # 557
    assert by_ref["SB2225800001203"].reversal and by_ref["SB2225800001203"].credit  # 257


def test_bai2__a_bad_detail_record_is_rejected_with_its_line():
    text = data("more/bai2/venturehacks-svb-eod-wire.bai2").decode()
    text = text.replace("16,195,8325982,", "16,195,83259X2,")

    parsed = read_statement(text.encode())

    assert parsed.transactions == []
    assert [(r.position, r.message) for r in parsed.all_rejected] == [
        ("line 4", "amount '83259X2' is not a number")
    ]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"id,amount\n1,2\n", "not a bank statement"),
        (b"%PDF-1.7\n", "not a bank statement"),
        (b"\x00\x01\x02binary", "binary"),
        (b"<html><body>hi</body></html>", "not a camt"),
        (b"<Document><Other/></Document>", "not a camt"),
        (b"<Document><BkToCstmrStmt></BkToCstmrStmt></Document>", "holds no <Stmt>"),
        (b"<unclosed", "not well-formed"),
        (b"<Document><BkToCstmrStmt><Stmt><Id>x", "not well-formed"),
        (b"01,a,b\n99,1,1,1/\n", "no 03 account"),
        (b":20:X\n:25:Y\n:60F:", "statement"),
    ],
)
def test_not_a_statement__one_clear_reason(body, says):
    with pytest.raises(NotAStatement) as raised:
        read_statement(body)

    assert says in str(raised.value)
    assert "\n" not in str(raised.value)


def test_fixture_folder_is_where_the_tests_think():
    assert (BANK / "SOURCES.md").is_file()


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40), st.integers(1, 30))
def test_clean_text__is_the_regular_expressions_whether_or_not_it_needs_them(value, limit):
    spaced = re.sub(r"\s+", " ", re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", value))

    assert clean_text(value, limit) == (spaced.strip()[:limit] or None)


def test_clean_text__only_the_plain_space_is_printable_whitespace():
    printable_spaces = [
        c
        for c in map(chr, range(0x110000))
        if not 0xD800 <= ord(c) <= 0xDFFF and re.fullmatch(r"\s", c) and c.isprintable()
    ]

    assert printable_spaces == [" "]
