"""ISO 20022 cash management: camt.052 (account report), camt.053 (statement), camt.054
(debit/credit notification), any version, read by local element names.

The versions differ in detail (``Sts`` is text up to .001.06 and ``Sts/Cd`` after; a party is
``Dbtr/Nm`` in .02 and ``Dbtr/Pty/Nm`` from .08; ``BIC`` became ``BICFI``); reading by local
name and looking in both places covers .001.02 to .001.10 with one reader. Entries are booked
amounts; an entry's ``TxDtls`` split it into its transactions when each carries its own amount
and they add up to the entry (a batch, or a netted entry with credits and debits inside),
otherwise the entry is kept whole with all its details.

The XML is read by ``service.bank.safe_xml`` (the standard library's expat, DTDs and entities
refused, nesting and text limited) into a light tree walked with ``find``/``text``/``children``;
a position names the line the entry's start tag begins on.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from service.bank.safe_xml import (
    attribute,
    children,
    clear,
    find,
    iter_xml,
    local_name,
    namespace,
    remove,
    sourceline,
    text,
)
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

# message element -> (message name, the element of each statement in it)
MESSAGES = {
    "BkToCstmrAcctRpt": ("camt.052", "Rpt"),
    "BkToCstmrStmt": ("camt.053", "Stmt"),
    "BkToCstmrDbtCdtNtfctn": ("camt.054", "Ntfctn"),
}
_AMOUNT = re.compile(r"^[0-9]{1,18}(\.[0-9]{1,6})?$")
_COUNT = re.compile(r"^[0-9]{1,15}$")
_VERSION = re.compile(r"(camt\.05[234]\.[0-9]{3}\.[0-9]{2})")
_NOT_PROVIDED = {"NOTPROVIDED", "NONREF"}
_EVENT_TAGS = (*MESSAGES, "Stmt", "Rpt", "Ntfctn", "Ntry")
_ROOT = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")


def looks_like_camt(text_: str) -> bool:
    return text_.lstrip().startswith("<")


def parse(text_: str) -> ParsedFile:
    """Read the message as it streams: each entry is read and dropped at its end tag, so the
    tree never holds more than the statement's header and the entries of one chunk (100,000
    entries whole would be several hundred MB). Only the message, statement and entry elements
    raise events."""
    parsed: ParsedFile | None = None
    name = statement_tag = ""
    index = 0
    reader: _Reader | None = None
    for event, node, parent in iter_xml(text_, _EVENT_TAGS):
        local = local_name(node)
        if event == "start":
            if parsed is None and local in MESSAGES:
                name, statement_tag = MESSAGES[local]
                found = _VERSION.search(namespace(node) or namespace(parent))
                parsed = ParsedFile(format=found.group(1) if found else name)
            elif parsed is not None and local == statement_tag and reader is None:
                index += 1
                reader = _Reader(node, f"{statement_tag} {index}", name)
            continue
        if reader is None:
            continue
        if local == "Ntry" and local_name(parent) == statement_tag:
            reader.entry(node)
            remove(parent, node)
        elif local == statement_tag:
            parsed.statements.append(reader.finish(node))
            reader = None
            clear(node)
    if parsed is None:
        root = _ROOT.search(text_)
        raise NotAStatement(
            "the XML is not a camt.052, camt.053 or camt.054 message "
            f"(its root element is <{root.group(1)[:40] if root else '?'}>)"
        )
    if not parsed.statements:
        raise NotAStatement(f"the {name} message holds no <{statement_tag}>")
    return parsed


class _Reader:
    """One statement as its entries stream past; the header is read at the first entry (the
    schema puts account, balances and summary before the entries)."""

    def __init__(self, element, where: str, message: str) -> None:
        self.element, self.where, self.message = element, where, message
        self.statement: Statement | None = None
        self.index = 0
        self.credits = self.debits = self.booked_net = Decimal(0)
        self.counted = {"credit": 0, "debit": 0}

    def _start(self) -> Statement:
        element = self.element
        account = (
            text(element, "Acct", "Id", "IBAN")
            or text(element, "Acct", "Id", "Othr", "Id")
            or text(element, "Acct", "Id", "PrtryAcct", "Id")
        )
        statement_id = clean_text(text(element, "Id")) or ""
        statement = Statement(
            label=f"{self.message} {statement_id or self.where} "
            f"({clean_text(account) or 'no account'})",
            account=clean_text(account, 64) or "",
            currency=text(element, "Acct", "Ccy"),
        )
        if not statement.account:
            statement.rejected.append(
                Rejected(
                    _at(element, self.where), "the statement names no account; none of it is read"
                )
            )
        self.key = f"{self.message}:{statement_id}:{text(element, 'ElctrncSeqNb') or ''}"
        # Some banks leave the dates off the entries; the statement's own date stands in (noted).
        self.fallback_date = _statement_date(element)
        self.statement = statement
        return statement

    def entry(self, entry) -> None:
        statement = self.statement or self._start()
        self.index += 1
        if not statement.account:
            return
        position = _at(entry, f"{self.where}, Ntry {self.index}")
        try:
            amount, credit, booked = _entry_figures(entry)
        except BadTransaction as error:
            statement.rejected.append(Rejected(position, str(error)))
            return
        self.counted["credit" if credit else "debit"] += 1
        if credit:
            self.credits += amount
        else:
            self.debits += amount
        if booked:
            self.booked_net += amount if credit else -amount
        try:
            statement.transactions.extend(
                _transactions(
                    entry,
                    statement,
                    position,
                    self.key,
                    amount,
                    credit,
                    booked,
                    self.fallback_date,
                )
            )
        except BadTransaction as error:
            statement.rejected.append(Rejected(position, str(error)))

    def finish(self, element) -> Statement:
        statement = self.statement or self._start()
        if not statement.account:
            return statement
        statement.checks.extend(_summary_checks(element, self.credits, self.debits, self.counted))
        opening, closing = _balances(element)
        if opening is not None and closing is not None:
            statement.checks.append(
                Check(
                    "closing balance (opening + booked entries)",
                    closing,
                    opening + self.booked_net,
                )
            )
        return statement


def _entry_figures(entry) -> tuple[Decimal, bool, bool]:
    amount = _amount(find(entry, "Amt"), "the entry's amount")
    credit = _direction(text(entry, "CdtDbtInd"), "the entry")
    status = text(entry, "Sts", "Cd") or text(entry, "Sts") or "BOOK"
    return amount, credit, status.upper() == "BOOK"


def _transactions(
    entry, statement, position, key, amount, credit, booked, fallback_date
) -> list[Transaction]:
    currency = (attribute(find(entry, "Amt"), "Ccy") or statement.currency or "").strip().upper()
    value = _date(entry, "ValDt")
    booking = _date(entry, "BookgDt") or value
    if booking is None:
        if fallback_date is None:
            raise BadTransaction("neither the entry nor its statement has a date")
        booking = fallback_date
        note = f"entries carry no booking date; the statement's date {booking} is used"
        if note not in statement.notes:
            statement.notes.append(note)
    reversal = (text(entry, "RvslInd") or "").lower() in ("true", "1")
    entry_ref = clean_text(text(entry, "AcctSvcrRef"))
    entry_info = text(entry, "AddtlNtryInf")
    details = [tx for d in children(entry, "NtryDtls") for tx in children(d, "TxDtls")]
    base = {
        "account": statement.account,
        "currency": currency,
        "booking_date": booking,
        "value_date": value,
        "reversal": reversal,
        "booked": booked,
        "statement_key": key,
    }
    split = _split(details, amount, credit) if len(details) > 1 else None
    if split is None:
        note = None
        if len(details) > 1:
            note = f"{position}: its {len(details)} transactions carry no amounts adding up to it; kept as one"
            statement.notes.append(note)
        facts = _details(details, credit, entry_info)
        own = facts.pop("own_ref")
        return [
            Transaction(
                position=position,
                amount=amount,
                credit=credit,
                bank_reference=entry_ref or own,
                **facts,
                **base,
            )
        ]
    out = []
    for index, (tx, tx_amount, tx_credit) in enumerate(split, start=1):
        facts = _details([tx], tx_credit, entry_info)
        own = facts.pop("own_ref")
        settled = (
            None if _date(entry, "BookgDt") or value else _date(tx, "RltdDts", "IntrBkSttlmDt")
        )
        suffix = clean_text(text(tx, "Refs", "TxId")) or facts["end_to_end_id"] or str(index)
        out.append(
            Transaction(
                position=f"{position}, TxDtls {index}",
                amount=tx_amount,
                credit=tx_credit,
                bank_reference=own or (f"{entry_ref}/{suffix}" if entry_ref else None),
                **facts,
                **{**base, "booking_date": settled or booking},
            )
        )
    return out


def _split(details, amount: Decimal, credit: bool):
    """Each ``TxDtls`` with its amount and direction, if they add up to the entry; else None."""
    parts = []
    net = Decimal(0)
    for tx in details:
        element = find(tx, "Amt")
        if element is None:
            element = find(tx, "AmtDtls", "TxAmt", "Amt")
        if element is None:
            return None
        tx_amount = _amount(element, "a transaction's amount")
        indicator = text(tx, "CdtDbtInd")
        tx_credit = _direction(indicator, "a transaction") if indicator else credit
        parts.append((tx, tx_amount, tx_credit))
        net += tx_amount if tx_credit else -tx_amount
    return parts if net == (amount if credit else -amount) else None


def _details(details, credit: bool, entry_info: str | None) -> dict:
    """Counterparty, references and remittance of one transaction (or of all, joined)."""
    party = "Dbtr" if credit else "Cdtr"
    names, ibans, lines, refs, e2e, own = [], [], [], [], [], []
    for tx in details:
        parties, refs_element = find(tx, "RltdPties"), find(tx, "Refs")
        names.append(
            text(parties, party, "Nm")
            or text(parties, party, "Pty", "Nm")
            or text(parties, f"Ultmt{party}", "Nm")
            or text(parties, f"Ultmt{party}", "Pty", "Nm")
        )
        account = find(parties, f"{party}Acct", "Id")
        ibans.append(text(account, "IBAN") or text(account, "Othr", "Id"))
        end_to_end = text(refs_element, "EndToEndId")
        if end_to_end and end_to_end.upper() not in _NOT_PROVIDED:
            e2e.append(end_to_end)
        own.append(text(refs_element, "AcctSvcrRef"))
        for info in children(tx, "RmtInf"):
            for unstructured in children(info, "Ustrd"):
                line = text(unstructured)
                if line and line.upper() not in _NOT_PROVIDED:
                    lines.append(line)
            for structured in children(info, "Strd"):
                refs.append(text(structured, "CdtrRefInf", "Ref"))
                refs.extend(text(d, "Nb") for d in children(structured, "RfrdDocInf"))
                lines.extend(text(a) for a in children(structured, "AddtlRmtInf"))
        additional = text(tx, "AddtlTxInf")
        if additional:
            lines.append(additional)
    if entry_info:
        lines.append(entry_info)
    return {
        "payer_name": clean_text(_one(names)),
        "payer_iban": clean_text(_one(ibans), 64),
        "end_to_end_id": clean_text(_one(e2e)),
        "own_ref": clean_text(_one(own)),
        "remittance": clean_text(" ".join(dict.fromkeys(filter(None, lines))), MAX_TEXT) or "",
        "references": tuple(dict.fromkeys(filter(None, map(clean_text, refs)))),
    }


def _one(values: list[str | None]) -> str | None:
    """The value when every transaction agrees on it (or there is one); else None."""
    if len(values) == 1:
        return values[0] or None
    distinct = {v for v in values if v}
    return distinct.pop() if len(distinct) == 1 else None


def _summary_checks(element, credits, debits, counted) -> list[Check]:
    summary = find(element, "TxsSummry")
    if summary is None:
        return []
    checks = []
    for tag, total, kind in (
        ("TtlCdtNtries", credits, "credit"),
        ("TtlDbtNtries", debits, "debit"),
    ):
        block = find(summary, tag)
        if block is None:
            continue
        declared = text(block, "Sum")
        if declared and _AMOUNT.match(declared):
            checks.append(Check(f"sum of {kind} entries ({tag})", Decimal(declared), total))
        number = text(block, "NbOfNtries")
        if number and _COUNT.match(number):
            checks.append(
                Check(f"number of {kind} entries ({tag})", Decimal(number), Decimal(counted[kind]))
            )
    return checks


def _balances(element) -> tuple[Decimal | None, Decimal | None]:
    by_type: dict[str, list[Decimal]] = {}
    for balance in children(element, "Bal"):
        kind = text(balance, "Tp", "CdOrPrtry", "Cd") or text(balance, "Tp", "CdOrPrtry", "Prtry")
        figure = text(balance, "Amt")
        if not kind or not figure or not _AMOUNT.match(figure):
            continue
        sign = -1 if (text(balance, "CdtDbtInd") or "").upper() == "DBIT" else 1
        by_type.setdefault(kind.upper(), []).append(sign * Decimal(figure))
    interim = by_type.get("ITBD", [])
    opening = (by_type.get("OPBD") or by_type.get("PRCD") or interim[:1] or [None])[0]
    closing = (by_type.get("CLBD") or interim[1:] or [None])[-1]
    return opening, closing


def _amount(element, what: str) -> Decimal:
    raw = (text(element) or "") if element is not None else ""
    if not _AMOUNT.match(raw):
        raise BadTransaction(f"{what} {raw[:40]!r} is not an amount")
    return check_amount(Decimal(raw), what)


def _direction(indicator: str | None, what: str) -> bool:
    if indicator is None or indicator.upper() not in ("CRDT", "DBIT"):
        raise BadTransaction(f"{what} is neither CRDT nor DBIT ({(indicator or '')[:20]!r})")
    return indicator.upper() == "CRDT"


def _statement_date(element) -> date | None:
    """The statement's period end, else its creation, else its last balance's date."""
    candidates = [text(element, "FrToDt", "ToDtTm"), text(element, "CreDtTm")]
    candidates += [text(b, "Dt", "Dt") for b in reversed(list(children(element, "Bal")))]
    for raw in candidates:
        if raw:
            try:
                return date.fromisoformat(raw[:10])
            except ValueError:
                continue
    return None


def _date(entry, *path: str) -> date | None:
    if len(path) == 2:  # a plain date element (RltdDts/IntrBkSttlmDt)
        raw = text(entry, *path)
    else:
        raw = text(entry, path[0], "Dt") or text(entry, path[0], "DtTm")
    tag = path[-1]
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise BadTransaction(f"{tag} {raw[:40]!r} is not a date") from None


def _at(element, where: str) -> str:
    return f"{where} (line {sourceline(element)})" if sourceline(element) else where
