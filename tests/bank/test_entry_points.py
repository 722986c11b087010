"""``credit-control import bank FILE...`` and the signed ``POST /api/v1/feeds/bank``."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from service.bank.commands import MAX_FILE_BYTES
from service.cli import main
from service.extensions import EXTENSION
from service.models import BankTransaction
from tests.bank.files import BANK, data
from tests.conftest import NOW, signed_headers, snapshot

FEED = "/api/v1/feeds/bank"


def stored(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(BankTransaction))


def post(client, body: bytes, **kwargs):
    headers = signed_headers(body, **kwargs)
    headers["Content-Type"] = "application/octet-stream"
    return client.post(FEED, data=body, headers=headers)


# --- the command line ---------------------------------------------------------------------------


def test_cli__imports_files_of_every_format_with_a_report(runner, db):
    files = [
        BANK / "camt053/genkgo-camt053.001.08.xml",
        BANK / "mt940/jejik-abnamro.sta",
        BANK / "bai2/moj-citi_example.bai2",
    ]

    result = runner.invoke(main, ["import", "bank", *map(str, files)])

    assert result.exit_code == 0, result.output
    assert "camt.053.001.08 (utf-8), 1 statement(s), 1 transaction(s) read" in result.output
    assert "stored: 0 credit(s) (nothing), 10 debit(s)" in result.output
    assert "checks: all 8 control totals and balances add up" in result.output
    assert "difference +2038.00" in result.output
    assert stored(db[0]) == 12


def test_cli__a_file_that_is_not_a_statement_is_one_line_and_the_others_still_import(
    runner, db, tmp_path
):
    notes = tmp_path / "notes.csv"
    notes.write_text("customer,amount\nACME,10\n")

    result = runner.invoke(
        main, ["import", "bank", str(notes), str(BANK / "bai2/moj-citi_example.bai2")]
    )

    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert errors == [
        f"Error: {notes}: the file is not a bank statement; expected a camt.052/053/054 XML "
        "file, an MT940/MT942 file or a BAI2 file"
    ]
    assert "Traceback" not in result.output
    assert stored(db[0]) == 1


def test_cli__rejected_transactions_are_listed_with_their_position(runner, db):
    result = runner.invoke(main, ["import", "bank", str(BANK / "made/bad-line.mt940")])

    assert result.exit_code == 1
    assert "rejected line 7: the transaction does not read as MT940" in result.output
    assert stored(db[0]) == 2


def test_cli__the_same_file_twice_is_all_duplicates(runner, db):
    name = str(BANK / "made/day2-statement.camt053.001.02.xml")
    runner.invoke(main, ["import", "bank", name])

    again = runner.invoke(main, ["import", "bank", name])

    assert "stored: 0 credit(s) (nothing), 0 debit(s); 4 duplicate(s) skipped" in again.output
    assert stored(db[0]) == 4


def test_cli__import_erp_is_still_there(runner):
    result = runner.invoke(main, ["import", "--help"])

    assert "erp" in result.output and "bank" in result.output


def test_cli__a_huge_file_is_refused_before_it_is_read(runner, db, tmp_path):
    big = tmp_path / "big.sta"
    with big.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used

    result = runner.invoke(main, ["import", "bank", str(big)])

    assert result.exit_code == 1 and "larger than" in result.output
    assert stored(db[0]) == 0


# --- the endpoint -------------------------------------------------------------------------------


def test_endpoint__a_signed_statement_is_stored_and_reported(client, app):
    response = post(client, data("made/day2-statement.camt053.001.02.xml"))

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body["format"] == "camt.053.001.02"
    assert body["stored"] == {"credits": 3, "debits": 1}
    assert body["credited"] == {"EUR": "1490.00"}
    assert all(check["ok"] for check in body["checks"]) and len(body["checks"]) == 5
    again = post(client, data("made/day2-statement.camt053.001.02.xml"))
    assert again.json["duplicates"] == 4 and again.json["stored"] == {"credits": 0, "debits": 0}
    assert stored(app.extensions[EXTENSION].engine) == 4


def test_endpoint__bad_transactions_are_listed_and_the_rest_stored(client, app):
    response = post(client, data("made/bad-entry.camt053.001.02.xml"))

    assert response.status_code == 200
    assert [r["position"] for r in response.json["rejected"]] == [
        "Stmt 1, Ntry 2 (line 14)",
        "Stmt 1, Ntry 3 (line 20)",
    ]
    assert stored(app.extensions[EXTENSION].engine) == 2


def test_endpoint__not_a_statement_is_a_400_naming_what_was_expected(client, app):
    engine = app.extensions[EXTENSION].engine
    before = snapshot(engine)

    response = post(client, b'{"payments": []}')

    assert response.status_code == 400
    (error,) = response.json["errors"]
    assert error["code"] == "invalid"
    assert error["message"].startswith("The body is not a bank statement: the file is not")
    assert snapshot(engine) == before


def test_endpoint__unsigned_wrong_or_stale_is_401_before_anything_is_read(client, app):
    engine = app.extensions[EXTENSION].engine
    body = data("made/day2-statement.camt053.001.02.xml")

    unsigned = client.post(FEED, data=body)
    wrong = post(client, body, secret="not-the-feed-secret")
    stale = post(client, body, at=NOW - timedelta(minutes=10))
    tampered_headers = signed_headers(body)
    tampered = client.post(FEED, data=body + b" ", headers=tampered_headers)

    assert [r.status_code for r in (unsigned, wrong, stale, tampered)] == [401, 401, 401, 401]
    assert stored(engine) == 0


def test_endpoint__documented_in_openapi(client, auth):
    spec = client.get("/openapi.json", headers=auth).json

    operation = spec["paths"]["/api/v1/feeds/bank"]["post"]
    assert operation["security"] == [{"feedSignature": []}]
    assert {"200", "400", "401", "413"} <= set(operation["responses"])
