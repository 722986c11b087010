"""BAI2 (the US cash management balance report), read here rather than with the ``bai2`` library.

Why by hand (docs/adr/0011-bai2-reader.md): the library refuses real files whose trailer counts
are wrong (it checks them strictly and raises), and raises ``NotSupportedYetException`` on an
``88`` continuation of an ``03`` account record, which the BAI2 specification allows and banks
send. A statement reader must read such files and *report* the differences, not refuse the cash.

Records: ``01`` file header, ``02`` group header (as-of date, currency), ``03`` account (its
summary and status amounts), ``16`` transaction detail, ``88`` continuation of the record before,
``49`` account trailer (control total and record count), ``98`` group trailer, ``99`` file
trailer. Amounts have implied decimals by currency. Type codes 100-399 are credits and 400-699
debits; the return and reversal codes below undo a booking of the other direction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from service.bank.statement import (
    MAX_TEXT,
    BadTransaction,
    Check,
    NotAStatement,
    ParsedFile,
    Rejected,
    Statement,
    Transaction,
    check_amount,
    clean_text,
)

# Returns and reversals (BAI2 type code list): credits undoing our debits, debits undoing credits.
CREDIT_REVERSALS = frozenset({252, 255, 257, 258, 261, 266, 395})
DEBIT_REVERSALS = frozenset({552, 555, 557, 558, 566, 694})
_ZERO_DECIMALS = frozenset({"JPY", "KRW", "CLP", "ISK", "VND", "XOF", "XAF", "PYG", "UGX", "XPF"})
_THREE_DECIMALS = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
_NUMBER = re.compile(r"^[+-]?[0-9]{1,18}$")
_PAYER_KEYS = ("DBNM", "ORG", "ORIGINATOR", "B/O")


@dataclass
class _Record:
    line: int
    code: str
    fields: list[str]
    continuations: list[str] = field(default_factory=list)


@dataclass
class _Account:
    statement: Statement
    line: int
    total: int = 0  # algebraic sum of every amount in the account's records, in minor units
    records: int = 0
    decimals: int = 2


def looks_like_bai2(text: str) -> bool:
    return text.lstrip().startswith("01,")


def parse(text: str) -> ParsedFile:
    records = _records(text)
    if not records or records[0].code != "01":
        raise NotAStatement("a BAI2 file starts with an 01 file header")
    parsed = ParsedFile(format="BAI2")
    header = records[0].fields
    file_key = ":".join(_field(header, i) for i in (1, 2, 3, 5))
    group_date: date | None = None
    group_currency = "USD"
    group_index = 0
    account: _Account | None = None
    group_total = 0
    group_records = 0
    group_accounts = 0
    file_total = 0
    file_groups = 0
    file_records = 0
    for record in records:
        try:
            _check_trailer_numbers(record)
        except BadTransaction as error:
            parsed.rejected.append(
                Rejected(f"line {record.line}", f"{record.code} record: {error}")
            )
            continue
        size = 1 + len(record.continuations)
        file_records += size
        group_records += size
        if account is not None:
            account.records += size
        code = record.code
        if code == "02":
            group_index += 1
            group_records, group_total, group_accounts = size, 0, 0
            group_currency = _field(record.fields, 6) or "USD"
            try:
                group_date = _yymmdd(_field(record.fields, 4))
            except BadTransaction as error:
                parsed.rejected.append(Rejected(f"line {record.line}", f"02 as-of date: {error}"))
                group_date = None
        elif code == "03":
            account = _account(record, group_currency, f"{file_key}:{group_index}")
            account.records = size
            group_accounts += 1
            parsed.statements.append(account.statement)
        elif code == "16":
            if account is None:
                parsed.rejected.append(
                    Rejected(f"line {record.line}", "a 16 record outside an account")
                )
                continue
            try:
                transaction, minor = _detail(record, account, group_date)
            except BadTransaction as error:
                account.statement.rejected.append(Rejected(f"line {record.line}", str(error)))
                continue
            account.total += minor
            if transaction is not None:
                account.statement.transactions.append(transaction)
        elif code == "49":
            if account is None:
                continue
            _trailer_checks(account, record, "account")
            group_total += account.total
            account = None
        elif code == "98":
            scale = Decimal(10) ** _decimals(group_currency)
            declared = _minor(_field(record.fields, 1))
            if declared is not None:
                parsed.checks.append(
                    Check(
                        f"group {group_index} control total (98)",
                        declared / scale,
                        group_total / scale,
                    )
                )
            _count_check(
                parsed.checks,
                f"group {group_index} accounts (98)",
                _field(record.fields, 2),
                group_accounts,
            )
            _count_check(
                parsed.checks,
                f"group {group_index} records (98)",
                _field(record.fields, 3),
                group_records,
            )
            file_total += group_total
            file_groups += 1
        elif code == "99":
            declared = _minor(_field(record.fields, 1))
            if declared is not None:
                scale = Decimal(100)
                parsed.checks.append(
                    Check("file control total (99)", declared / scale, file_total / scale)
                )
            _count_check(parsed.checks, "file groups (99)", _field(record.fields, 2), file_groups)
            _count_check(parsed.checks, "file records (99)", _field(record.fields, 3), file_records)
        elif code not in ("01",):
            parsed.rejected.append(
                Rejected(f"line {record.line}", f"record type {code[:4]!r} is not BAI2")
            )
    if not parsed.statements:
        raise NotAStatement("the BAI2 file holds no 03 account record")
    return parsed


def _records(text: str) -> list[_Record]:
    """Logical records: each ``88`` joined to the record before it."""
    out: list[_Record] = []
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        line = raw.strip()
        if not line:
            continue
        if line.endswith("/"):
            line = line[:-1]
        code, _, rest = line.partition(",")
        if code == "88" and out:
            previous = out[-1]
            if previous.code == "16":
                previous.continuations.append(rest)
            else:
                previous.fields.extend(rest.split(","))
                previous.continuations.append(rest)
            continue
        out.append(_Record(number, code.strip(), [code, *rest.split(",")]))
    return out


def _account(record: _Record, group_currency: str, group_key: str) -> _Account:
    fields = record.fields
    number = clean_text(_field(fields, 1), 64) or ""
    currency = (_field(fields, 2) or group_currency).upper()[:3]
    statement = Statement(
        label=f"BAI2 account {number or '?'} ({currency})", account=number, currency=currency
    )
    account = _Account(statement, record.line, decimals=_decimals(currency))
    if not number:
        statement.rejected.append(Rejected(f"line {record.line}", "the 03 record names no account"))
    index = 3
    try:
        while index < len(fields):
            amount = _minor(_field(fields, index + 1))
            if amount is not None:
                account.total += amount
            index = _skip_funds(fields, index + 3) if index + 3 < len(fields) else len(fields)
    except BadTransaction as error:
        statement.notes.append(f"line {record.line}: summary amounts unreadable ({error})")
    statement.label += f" {group_key}"
    return account


def _detail(record: _Record, account: _Account, as_of: date | None):
    fields = record.fields
    type_text = _field(fields, 1)
    if not type_text.isdigit() or len(type_text) != 3:
        raise BadTransaction(f"type code {type_text[:10]!r} is not a BAI2 type code")
    type_code = int(type_text)
    minor = _minor(_field(fields, 2))
    if minor is None:
        raise BadTransaction("the 16 record has no amount")
    value_date = None
    funds = _field(fields, 3).upper()
    if funds == "V":
        try:
            value_date = _yymmdd(_field(fields, 4))
        except BadTransaction:
            value_date = None
    after = _skip_funds(fields, 3)
    bank_ref = _field(fields, after)
    customer_ref = _field(fields, after + 1)
    text = ",".join(fields[after + 2 :]).strip()
    if 100 <= type_code <= 399:
        credit = True
    elif 400 <= type_code <= 699:
        credit = False
    else:
        # Status (0xx), loan (7xx) and bank-specific (9xx) codes carry no direction we know.
        raise BadTransaction(f"type code {type_code} is not a credit or debit we read (100-699)")
    if as_of is None:
        raise BadTransaction("its group (02) has no as-of date")
    statement = account.statement
    amount = check_amount(Decimal(abs(minor)) / (Decimal(10) ** account.decimals), "the amount")
    tags = _tags(record.continuations)
    lines = [text] if text and text != "-" else []
    lines += [c.strip() for c in record.continuations if c.strip()]
    end_to_end = tags.get("EREF") or (customer_ref if customer_ref not in ("", "-") else None)
    transaction = Transaction(
        position=f"line {record.line}",
        account=statement.account,
        currency=statement.currency or "USD",
        amount=amount,
        credit=credit,
        booking_date=as_of,
        value_date=value_date,
        bank_reference=clean_text(bank_ref) if bank_ref not in ("", "-") else None,
        end_to_end_id=clean_text(end_to_end),
        payer_name=clean_text(next((tags[k] for k in _PAYER_KEYS if tags.get(k)), None)),
        payer_iban=None,
        remittance=clean_text(" ".join(lines), MAX_TEXT) or "",
        reversal=type_code in (CREDIT_REVERSALS if credit else DEBIT_REVERSALS),
        statement_key=f"bai2:{statement.label}",
    )
    if not statement.account:
        raise BadTransaction("its account (03) has no number")
    return transaction, minor


def _check_trailer_numbers(record: _Record) -> None:
    """Trailer totals must be numbers; a trailer that is not is reported and skipped."""
    if record.code in ("49", "98", "99"):
        _minor(_field(record.fields, 1))


def _tags(continuations: list[str]) -> dict[str, str]:
    """``88,EREF: 1111`` / ``88,ORG:=NAME``: the key-value lines banks put under a 16 record."""
    out: dict[str, str] = {}
    for line in continuations:
        match = re.match(r"^\s*([A-Z/ ]{2,20}?)\s*:=?\s*(.*)$", line)
        if match and match.group(2).strip():
            out.setdefault(match.group(1).strip(), match.group(2).strip())
    return out


def _skip_funds(fields: list[str], funds_index: int) -> int:
    """The index after a funds-type field and the availability fields it announces."""
    funds = _field(fields, funds_index).upper()
    if funds in ("", "0", "1", "2", "Z"):
        return funds_index + 1
    if funds == "S":
        return funds_index + 4
    if funds == "V":
        return funds_index + 3
    if funds == "D":
        count = _field(fields, funds_index + 1)
        if not count.isdigit() or int(count) > 1000:
            raise BadTransaction(f"distributed availability count {count[:10]!r} is not a number")
        return funds_index + 2 + 2 * int(count)
    raise BadTransaction(f"funds type {funds[:5]!r} is not a BAI2 funds type")


def _trailer_checks(account: _Account, record: _Record, what: str) -> None:
    statement = account.statement
    declared = _minor(_field(record.fields, 1))
    scale = Decimal(10) ** account.decimals
    if declared is not None:
        statement.checks.append(
            Check("account control total (49)", declared / scale, account.total / scale)
        )
    _count_check(
        statement.checks, "account records (49)", _field(record.fields, 2), account.records
    )


def _count_check(checks: list[Check], label: str, declared: str, found: int) -> None:
    if declared.isdigit() and len(declared) < 12:
        checks.append(Check(label, Decimal(int(declared)), Decimal(found)))


def _minor(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not _NUMBER.match(raw):
        raise BadTransaction(f"amount {raw[:20]!r} is not a number")
    return int(raw)


def _decimals(currency: str) -> int:
    if currency in _ZERO_DECIMALS:
        return 0
    return 3 if currency in _THREE_DECIMALS else 2


def _field(fields: list[str], index: int) -> str:
    return fields[index].strip() if index < len(fields) else ""


def _yymmdd(raw: str) -> date:
    if len(raw) != 6 or not raw.isdigit():
        raise BadTransaction(f"{raw[:10]!r} is not a YYMMDD date")
    try:
        return date(2000 + int(raw[:2]), int(raw[2:4]), int(raw[4:]))
    except ValueError:
        raise BadTransaction(f"{raw!r} is not a date") from None
