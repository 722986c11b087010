"""Bank statement import: parse and store 100,000 transactions, with peak memory.

A camt.053 and an MT940 file are generated with 100,000 bookings each (one in three a debit,
credits with remittance text, payer name and IBAN), then imported through
``service.bank.importing.import_statement`` exactly as ``credit-control import bank`` does:
read as it streams, stored in one transaction, every key looked up first, the new rows written
set-based. Printed: parse seconds,
store seconds, transactions per second, and the process's peak RSS. The issue's target covers
import *and* matching of 100,000 transactions in under 30 s, so the import alone is shown
against that whole budget (the whole path, matching included, is ``bench.cash_application``).
Then the same file again: all duplicates. SQLite, then PostgreSQL when it answers. The
process's CPU time is printed too: on a shared machine it says more than the wall clock.

    python -m bench.bank_import [--transactions 100000] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.postgres import PG_SERVER, PG_URL, postgres_reachable, scratch_schema
from service.bank.importing import import_statement
from service.bank.reading import read_statement
from service.db import make_engine, make_session_factory
from service.migrations import upgrade

TARGET_SECONDS = 30.0  # import and matching together (issue 16)
ACCOUNT = "DE89370400440532013000"


def camt053(n: int) -> bytes:
    start = date(2026, 1, 1)
    entries = []
    for i in range(n):
        credit = i % 3 != 0
        amount = f"{100 + (i % 9000)}.{i % 100:02d}"
        day = (start + timedelta(days=i % 60)).isoformat()
        party = "Dbtr" if credit else "Cdtr"
        entries.append(
            f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{"CRDT" if credit else "DBIT"}'
            f"</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt>"
            f"</ValDt><AcctSvcrRef>BENCH-{i:09d}</AcctSvcrRef><NtryDtls><TxDtls><Refs>"
            f"<EndToEndId>E2E-{i:09d}</EndToEndId></Refs><RltdPties><{party}><Nm>Customer "
            f"{i % 5000} GmbH</Nm></{party}><{party}Acct><Id><IBAN>DE0212030000{i:010d}</IBAN>"
            f"</Id></{party}Acct></RltdPties><RmtInf><Ustrd>Invoice INV-{i:07d} customer "
            f"{i % 5000}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2026-03-01T06:00:00+01:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>BENCH-1</Id><Acct><Id><IBAN>{ACCOUNT}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        + "".join(entries)
        + "</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def mt940(n: int) -> bytes:
    lines = [":20:BENCH", f":25:{ACCOUNT}", ":28C:1/1", ":60F:C260101EUR0,00"]
    for i in range(n):
        credit = i % 3 != 0
        day = date(2026, 1, 1) + timedelta(days=i % 60)
        lines.append(
            f":61:{day:%y%m%d}{day:%m%d}{'C' if credit else 'D'}{100 + (i % 9000)},{i % 100:02d}"
            f"NTRFNONREF//BENCH-{i:09d}"
        )
        lines.append(
            f":86:166?00GUTSCHRIFT?20EREF+E2E-{i:09d}?21SVWZ+Invoice INV-{i:07d}"
            f"?31DE0212030000{i:010d}?32Customer {i % 5000} GmbH"
        )
    lines.append("-")
    return "\n".join(lines).encode()


def run(url: str, name: str, body: bytes) -> tuple[float, float, float, float]:
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    now = datetime(2026, 3, 1, 6, tzinfo=UTC)
    started = time.perf_counter()
    read = len(read_statement(body).transactions)  # not kept: the import reads it again
    parse_seconds = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    report = import_statement(sessions, body, name=name, now=now)
    total_seconds = time.perf_counter() - started  # reads again, then stores
    total_cpu = time.process_time() - cpu
    again = time.perf_counter()
    second = import_statement(sessions, body, name=name, now=now)
    again_seconds = time.perf_counter() - again
    engine.dispose()
    stored = report.credits + report.debits
    assert stored == read, (stored, read)
    assert second.duplicates == stored
    return parse_seconds, total_seconds, total_cpu, again_seconds


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bank_import")
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--formats", default="camt.053,MT940")
    args = parser.parse_args(argv)
    n = args.transactions
    backends = [b for b in args.backends.split(",") if b]
    if "postgresql" in backends and (reason := postgres_reachable()):
        print(f"bank_import: PostgreSQL skipped ({PG_SERVER} does not answer: {reason})")
        backends.remove("postgresql")
    print(f"bank_import: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    missed = 0
    formats = [f for f in (("camt.053", camt053), ("MT940", mt940)) if f[0] in args.formats]
    for fmt, make in formats:
        body = make(n)
        for backend in backends:
            with tempfile.TemporaryDirectory(prefix="bench-bank-") as tmp:
                if backend == "sqlite":
                    parse_s, total_s, cpu_s, again_s = run(
                        f"sqlite:///{Path(tmp) / 'bank.sqlite3'}", fmt, body
                    )
                else:
                    with scratch_schema(PG_URL, prefix="bench_bank") as url:
                        parse_s, total_s, cpu_s, again_s = run(url, fmt, body)
            ok = total_s < TARGET_SECONDS
            missed += not ok
            print(
                f"bank_import {fmt:8} {backend:10} {n:,} transactions ({len(body) / 1e6:.0f} MB): "
                f"parse {parse_s:.1f} s, parse+store {total_s:.1f} s "
                f"({n / total_s:,.0f}/s; this process's CPU {cpu_s:.1f} s; "
                f"target: import and matching < {TARGET_SECONDS:.0f} s), "
                f"again (all duplicates) {again_s:.1f} s; peak RSS so far {peak_mb():.0f} MB",
                flush=True,
            )
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
