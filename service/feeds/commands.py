"""``credit-control import erp``: customers, receivables and payments from CSV or JSON files."""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import click

from service.assessments import load_policy_file
from service.config import load_config
from service.db import make_engine, make_session_factory, utcnow
from service.feeds.importer import import_files
from service.feeds.reading import ImportReadError
from service.progress import progress


@click.group("import")
def import_command() -> None:
    """Import data from files."""


@import_command.command("erp")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--source", default="erp-main", show_default=True, help="Feed source the rows belong to."
)
@click.option(
    "--kind",
    type=click.Choice(["customers", "receivables", "payments"]),
    help="What the CSV files hold (default: detected from the header).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every rejected row to this CSV file.",
)
# 10,000 rows a transaction: fewer commits and WAL checkpoints than small chunks; bigger ones
# are no faster with the file shared by two processes and hold more memory (docs/adr/0004).
@click.option("--chunk-size", default=10_000, show_default=True, type=click.IntRange(1, 50_000))
@click.option(
    "--processes",
    type=click.IntRange(1, 8),
    help="Processes importing a big customers or receivables CSV at once, each every n-th "
    "chunk [default: 2 where there are two cores, for files over 4 MB; else 1].",
)
def import_erp(
    files: tuple[Path, ...],
    source: str,
    kind: str | None,
    report_path: Path | None,
    chunk_size: int,
    processes: int | None,
) -> None:
    """Import customers, receivables and payments from CSV or JSON FILES (streamed).

    Each chunk commits with its re-assessment requests; at the end the queue is drained here,
    and if the command is interrupted the worker drains what the committed chunks asked for.
    """
    config = load_config(require=())
    policy = load_policy_file(config.credit_policy_file)
    engine = make_engine(config.database_url)
    shown = 0
    report_file = report_path.open("w", newline="") if report_path else None
    writer = csv.writer(report_file) if report_file else None
    if writer:
        writer.writerow(["file", "line", "path", "message"])

    def on_rejected(rejected) -> None:
        nonlocal shown
        if writer:
            writer.writerow([rejected.file, rejected.line or "", rejected.path, rejected.message])
        if shown < 20:
            where = f"{rejected.file}:{rejected.line}" if rejected.line else rejected.file
            click.echo(f"rejected {where} {rejected.path}: {rejected.message}", err=True)
        shown += 1

    started = time.perf_counter()
    try:
        with progress("importing", total=_csv_rows(files), unit="rows") as bar:
            report = import_files(
                make_session_factory(engine),
                list(files),
                source=source,
                kind=kind,
                now=utcnow(),
                chunk_size=chunk_size,
                on_rejected=on_rejected,
                policy=policy,
                processes=processes,
                on_rows=bar.advance,
            )
            bar.set(sum(c.accepted + c.ignored for c in report.counts.values())
                    + sum(report.rejected.values()))  # fmt: skip
    except ImportReadError as error:  # one line, no traceback: the file is named in it
        raise click.ClickException(str(error)) from None
    finally:
        if report_file:
            report_file.close()
        engine.dispose()
    elapsed = time.perf_counter() - started
    for name, counts in report.counts.items():
        click.echo(
            f"{name}: {counts.accepted} accepted, {counts.ignored} ignored (not newer), "
            f"{report.rejected[name]} rejected"
        )
    # The import drains the assessment queue after its last chunk, so the figures are ready now.
    click.echo(
        f"re-assessed {report.assessed} customers in {report.assess_seconds:.1f}s "
        f"({'stopped, see below' if report.assess_error else 'assessment queue drained'}); "
        f"{elapsed:.1f}s in all"
    )
    if report.assess_error:
        click.echo(
            f"re-assessment stopped: {report.assess_error}; the rows are stored and queued, "
            "the worker re-assesses the rest",
            err=True,
        )
    if shown > 20:
        click.echo(
            f"... {shown - 20} more rejected rows" + (f" in {report_path}" if report_path else ""),
            err=True,
        )
    if sum(report.rejected.values()):
        sys.exit(1)


def _csv_rows(files: tuple[Path, ...]) -> int | None:
    """Rows in the CSV files (lines less the header), for the progress bar's ETA; None when a
    file is JSON. A quoted value spanning lines counts twice: the bar may stop short of 100%.
    """
    if not all(path.suffix.lower() == ".csv" for path in files):
        return None
    rows = 0
    for path in files:
        with path.open("rb") as handle:
            lines = sum(block.count(b"\n") for block in iter(lambda h=handle: h.read(1 << 20), b""))
        rows += max(lines - 1, 0)
    return rows
