"""SWIFT MT940 (statement) and MT942 (interim report), read with the ``mt-940`` library.

The library reads the tags, the ``:61:`` line and the German ``?NN`` sub-fields of ``:86:``
(``?20``-``?29`` purpose with ``EREF+``/``SVWZ+``, ``?31`` IBAN, ``?32``/``?33`` name); the
Dutch ``/TAG/value`` form of ``:86:`` (``/EREF/``, ``/CNTP/``, ``/REMI/``, ``/NAME/``...) it
leaves as text, so ``dutch_fields`` splits it here. The file is cut into statements at each
``:20:`` first (the library alone would keep only the last statement's balances), and a
statement the library cannot read is read again one ``:61:`` at a time, so one bad transaction
is reported with its line and the others are kept.

``:61:`` marks: ``C`` credit, ``D`` debit, ``RC`` reversal of a credit (money leaves, undoing
a credit), ``RD`` reversal of a debit (money comes back).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import Decimal

import mt940
from mt940 import processors

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

_STATEMENT_START = re.compile(r"(?m)^(?=:20:)")
_TRANSACTION_START = re.compile(r"(?m)^(?=:61:)")
_TRAILER = re.compile(r"(?m)^(?=:62[FM]?:|:64:|:65:|:90[CD]:)")
_SWIFT_BLOCK = re.compile(r"\{[1235]:(?:[^{}]|\{[^{}]*\})*\}")
_DUTCH_TAG = re.compile(
    r"/(EREF|MARF|CSID|CNTP|REMI|PURP|ULTC|ULTD|ULTB|BENM|ORDP|NAME|ADDR|ISDT|IBAN|BIC|"
    r"RTRN|CREF|SVCL|TRCD|ACCW|PREF|NRTX|BUSP|EI)/"
)
# The library logs every line it cannot match, at ERROR, with the line's text (payer names and
# accounts) and its regular expression; we report the line's position and reason ourselves.
logging.getLogger("mt940.tags").setLevel(logging.CRITICAL)

_IBAN = re.compile(r"\b([A-Z]{2}[0-9]{2}[A-Z0-9]{10,30})\b")
_NOT_PROVIDED = {"NONREF", "NOTPROVIDED", ""}


def looks_like_mt940(text: str) -> bool:
    head = text.lstrip()[:2000]
    return head.startswith("{1:") or (":20:" in text and ":25:" in text and ":6" in text)


def parse(text: str) -> ParsedFile:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SWIFT_BLOCK.sub("", text).replace("{4:", "")
    kind = "MT942" if re.search(r"(?m)^:(?:34F|13D|90[CD]):", text) else "MT940"
    parsed = ParsedFile(format=kind)
    for start, block in _blocks(text, _STATEMENT_START):
        if not block.startswith(":20:"):
            continue
        parsed.statements.append(_statement(block, _line_of(text, start), kind))
    if not parsed.statements:
        raise NotAStatement(f"the {kind} text holds no statement (no :20: tag)")
    if not any(statement.account for statement in parsed.statements):
        first = parsed.all_rejected[0].message if parsed.all_rejected else "no :25: account"
        raise NotAStatement(f"no {kind} statement in the file can be read: {first}")
    return parsed


def _statement(block: str, first_line: int, kind: str) -> Statement:
    block = re.sub(r"(?m)^-\}?\s*$[\s\S]*", "", block)  # the end of the message, and after it
    try:
        header = _library_parse(block)
        parsed = header.transactions
        failures: list[Rejected] = []
    except Exception as error:  # the library raises anything on bad input
        header, parsed, failures = _one_at_a_time(block, first_line, error)
    data = header.data if header is not None else {}
    account = clean_text(data.get("account_identification"), 64) or ""
    reference = data.get("transaction_reference") or ""
    number = "/".join(
        str(x) for x in (data.get("statement_number"), data.get("sequence_number")) if x
    )
    opening = data.get("final_opening_balance") or data.get("intermediate_opening_balance")
    closing = data.get("final_closing_balance") or data.get("intermediate_closing_balance")
    currency = _currency(opening) or _currency(closing)
    statement = Statement(
        label=f"{kind} {reference} {number} ({account or 'no account'})".replace("  ", " "),
        account=account,
        currency=currency,
        rejected=failures,
    )
    if not account:
        statement.rejected.append(
            Rejected(f"line {first_line}", "the statement has no :25: account; none of it is read")
        )
        return statement
    key = f"{kind}:{reference}:{number}:{getattr(opening, 'date', '')}"
    lines = _transaction_lines(block, first_line)
    net = Decimal(0)
    credits = debits = Decimal(0)
    counts = {"credit": 0, "debit": 0}
    for index, item in enumerate(parsed):
        line = lines[index] if index < len(lines) else first_line
        if isinstance(item, Rejected):
            statement.rejected.append(item)
            continue
        position = f"line {line}"
        try:
            transaction = _transaction(item.data, account, currency, key, position)
        except BadTransaction as error:
            statement.rejected.append(Rejected(position, str(error)))
            continue
        statement.transactions.append(transaction)
        signed = transaction.amount if transaction.credit else -transaction.amount
        net += signed
        counts[transaction.direction] += 1
        if transaction.credit:
            credits += transaction.amount
        else:
            debits += transaction.amount
    if opening is not None and closing is not None:
        statement.checks.append(
            Check(
                "closing balance :62: (opening :60: + transactions)",
                closing.amount.amount,
                opening.amount.amount + net,
            )
        )
    for tag, total, kind_ in (("90C", credits, "credit"), ("90D", debits, "debit")):
        declared = data.get("sum_credit_entries" if kind_ == "credit" else "sum_debit_entries")
        if declared is not None:
            statement.checks.append(Check(f"sum of {kind_}s :{tag}:", abs(declared.amount), total))
            number_ = getattr(declared, "number", None)
            if number_ is not None:
                statement.checks.append(
                    Check(
                        f"number of {kind_}s :{tag}:", Decimal(int(number_)), Decimal(counts[kind_])
                    )
                )
    return statement


def _library_parse(block: str) -> mt940.models.Transactions:
    transactions = mt940.models.Transactions(
        processors={"post_transaction_details": [processors.transaction_details_post_processor]},
        options=mt940.Options.all(),
    )
    transactions.parse(block)
    return transactions


def _one_at_a_time(block: str, first_line: int, error: Exception):
    """Read the header alone, then each ``:61:`` with its ``:86:``; keep what reads."""
    pieces = list(_blocks(block, _TRANSACTION_START))
    header_text = pieces[0][1] if pieces and not pieces[0][1].startswith(":61:") else ""
    trailer = ""
    if pieces and pieces[-1][1].startswith(":61:"):
        last_start, last = pieces[-1]
        cut = _TRAILER.search(last, 4)
        if cut:
            trailer = last[cut.start() :]
            pieces[-1] = (last_start, last[: cut.start()])
    try:
        header = _library_parse(header_text + trailer)
    except Exception:
        return (
            None,
            [],
            [
                Rejected(
                    f"line {first_line}",
                    f"the statement's header does not read as MT940 ({_reason(error)})",
                )
            ],
        )
    items: list = []
    for start, piece in pieces:
        if not piece.startswith(":61:"):
            continue
        try:
            one = _library_parse(":20:X\n:25:X\n" + piece).transactions
            if len(one) != 1:
                raise ValueError("not one :61: transaction")
            items.append(one[0])
        except Exception:
            line = first_line + block.count("\n", 0, start)
            first = clean_text(piece.splitlines()[0], 60)
            items.append(
                Rejected(f"line {line}", f"the transaction does not read as MT940: {first}")
            )
    return header, items, []


def _transaction(data: dict, account: str, currency: str | None, key: str, position: str):
    mark = (data.get("status") or "").upper()
    if mark not in ("C", "D", "RC", "RD"):
        raise BadTransaction(f"the :61: mark {mark[:4]!r} is none of C, D, RC, RD")
    credit = mark in ("C", "RD")
    amount_obj = data.get("amount")
    if amount_obj is None:
        raise BadTransaction("the :61: line has no amount")
    amount = check_amount(abs(Decimal(amount_obj.amount)), "the :61: amount")
    booked = data.get("entry_date") or data.get("date")
    if booked is None:
        raise BadTransaction("the :61: line has no date")
    value = data.get("date")
    raw_details = data.get("transaction_details") or ""
    dutch = dutch_fields(raw_details) if _DUTCH_TAG.search(raw_details or "") else {}
    purpose = " ".join(
        p for p in (data.get("purpose"), data.get("additional_purpose")) if p and p.strip()
    )
    remittance = dutch.get("remittance") or purpose or " ".join(raw_details.split())
    reference = data.get("bank_reference")
    customer = (data.get("customer_reference") or "").strip()
    # Rabobank writes the :86: tag that holds the reference (EREF, MARF...) in its place.
    if (
        not reference
        and customer.upper() not in _NOT_PROVIDED
        and not _DUTCH_TAG.fullmatch(f"/{customer.upper()}/")
    ):
        reference = customer
    end_to_end = dutch.get("end_to_end") or data.get("end_to_end_reference")
    if end_to_end and end_to_end.strip().upper() in _NOT_PROVIDED:
        end_to_end = None
    extra = data.get("extra_details") or ""
    iban = dutch.get("iban") or data.get("applicant_iban") or data.get("gvc_applicant_iban")
    if not iban:
        found = _IBAN.search(extra.replace(" ", ""))
        iban = found.group(1) if found else None
    return Transaction(
        position=position,
        account=account,
        currency=(data.get("currency") or currency or "").upper()[:3],
        amount=amount,
        credit=credit,
        booking_date=_as_date(booked),
        value_date=_as_date(value) if value else None,
        bank_reference=clean_text(reference),
        end_to_end_id=clean_text(end_to_end),
        payer_name=clean_text(dutch.get("name") or data.get("applicant_name")),
        payer_iban=clean_text(iban, 64),
        remittance=clean_text(remittance, MAX_TEXT) or "",
        references=tuple(r for r in (clean_text(x) for x in dutch.get("references", ())) if r),
        reversal=mark.startswith("R"),
        statement_key=key,
    )


@dataclass(frozen=True)
class _Field:
    tag: str
    value: str


def dutch_fields(details: str) -> dict:
    """Split a Dutch ``:86:`` (``/EREF/x/CNTP/iban/bic/name/city/REMI/USTD//text/``).

    SWIFT wraps ``:86:`` at 65 characters mid-word, so its lines are joined without a space.
    """
    joined = "".join(details.splitlines())
    tags = list(_DUTCH_TAG.finditer(joined))
    fields = [
        _Field(m.group(1), joined[m.end() : tags[i + 1].start() if i + 1 < len(tags) else None])
        for i, m in enumerate(tags)
    ]
    out: dict = {"references": []}
    for f in fields:
        value = f.value.strip("/ ").strip()
        if f.tag == "EREF" and value:
            out.setdefault("end_to_end", value)
        elif f.tag == "CNTP":
            parts = f.value.split("/")
            if parts and parts[0].strip():
                out.setdefault("iban", parts[0].strip())
            if len(parts) > 2 and parts[2].strip():
                out.setdefault("name", parts[2].strip())
        elif f.tag == "NAME" and value:
            out.setdefault("name", value)
        elif f.tag == "IBAN" and value:
            out.setdefault("iban", value)
        elif f.tag == "REMI":
            remittance = f.value
            if remittance.startswith("USTD//"):
                remittance = remittance[len("USTD//") :]
            elif remittance.startswith("STRD/"):
                # STRD/CUR/<creditor reference>: a structured reference, not free text.
                parts = remittance.split("/")
                if len(parts) > 2 and parts[2].strip():
                    out["references"].append(parts[2].strip())
                remittance = ""
            out.setdefault("remittance", remittance.strip("/ ").strip())
    return out


def _transaction_lines(block: str, first_line: int) -> list[int]:
    lines, line, at = [], first_line, 0
    for match in re.finditer(r"(?m)^:61:", block):
        line += block.count("\n", at, match.start())
        at = match.start()
        lines.append(line)
    return lines


def _blocks(text: str, pattern: re.Pattern):
    starts = [m.start() for m in pattern.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        yield start, text[start:end]


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _currency(balance) -> str | None:
    amount = getattr(balance, "amount", None)
    return getattr(amount, "currency", None)


def _as_date(value):
    from datetime import date

    return date(value.year, value.month, value.day)


def _reason(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return clean_text(text, 160) or type(error).__name__
