"""``credit-control import bank FILE...``: statement files (camt.05x, MT940/MT942, BAI2).

Each file is read, its format detected, and stored in one transaction of its own; the report
says what was read, stored, skipped as already stored, left pending, rejected (with the
position in the file) and whether the file's own control totals and balances add up. A file
that is not a statement is one error line and changes nothing; the other files still import.
The exit status is 1 when any file was refused or any transaction rejected.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from service.assessments import load_policy_file
from service.bank.hooks import cash_application_hooks
from service.bank.importing import import_statement
from service.bank.statement import NotAStatement
from service.config import load_config
from service.db import make_engine, make_session_factory, utcnow
from service.progress import progress

MAX_FILE_BYTES = 512 * 1024 * 1024


@click.command("bank")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def import_bank(files: tuple[Path, ...]) -> None:
    """Import bank statement FILES: camt.052/053/054, MT940/MT942 or BAI2 (detected)."""
    config = load_config(require=())
    engine = make_engine(config.database_url)
    sessions = make_session_factory(engine)
    on_credits, on_reversal = cash_application_hooks(
        config.cash_application_threshold,
        datetime.now(UTC).date(),
        load_policy_file(config.credit_policy_file),
    )
    failed = False
    total = sum(path.stat().st_size for path in files)
    try:
        with progress("importing bank statements", total=total, unit="bytes") as bar:
            failed = _import_each(files, sessions, on_credits, on_reversal, bar)
    finally:
        engine.dispose()
    if failed:
        sys.exit(1)


def _import_each(files, sessions, on_credits, on_reversal, bar) -> bool:
    """Import each file in turn, reporting on stdout; True when any failed or had rejects."""
    failed = False
    for path in files:
        size = path.stat().st_size
        try:
            if size > MAX_FILE_BYTES:
                click.echo(f"Error: {path}: larger than {MAX_FILE_BYTES} bytes", err=True)
                failed = True
                continue
            try:
                report = import_statement(
                    sessions,
                    path.read_bytes(),
                    name=str(path),
                    now=utcnow(),
                    on_credits=on_credits,
                    on_reversal=on_reversal,
                )
            except NotAStatement as error:
                click.echo(f"Error: {path}: {error}", err=True)
                failed = True
                continue
            for line in report.lines():
                click.echo(line)
            failed |= bool(report.rejected)
        finally:
            bar.advance(size)
    return failed
