"""``credit-control``: the service's command line. Each command is a thin wrapper over a function.

Every command is registered here, by name, from the module that owns it. The demo and the local
org (``credit-control demo``, ``credit-control devorg``) are registered only where the local org
is installed (``pip install -e ./devorg``, as ``make`` does): a production install has neither.

A configuration problem ends the command with one line (``Error: DATABASE_URL is malformed:
expected ...``) and exit status 1; no traceback.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import sys
import time
from pathlib import Path

import click

from service.assessments import load_policy_file
from service.assessments.commands import assess_command
from service.config import load_config, safe_database_url
from service.db import make_engine, make_session_factory, utcnow
from service.erasure import customer_command
from service.errors import ConfigError
from service.feeds.importer import import_files
from service.feeds.reading import ImportReadError
from service.migrations import upgrade
from service.salesforce.cli import events_command, outbox_command, stream_command
from service.salesforce.fields import ACCOUNT_FIELD_MAP
from service.worker import worker_command

# The demo also runs the local Stripe (``devstripe``), installed beside the local org.
LOCAL_ORG_INSTALLED = all(importlib.util.find_spec(n) is not None for n in ("devorg", "devstripe"))
if LOCAL_ORG_INSTALLED:  # development and demo only; see the module's docstring
    from service.demo.commands import demo_command, devorg_command


class ServiceGroup(click.Group):
    """A click group that turns ``ConfigError`` into one line."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=ServiceGroup)
def main() -> None:
    """Credit Control for Salesforce: ERP feeds in, credit status out."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database (DATABASE_URL) to the latest schema. Safe to run again."""
    config = load_config(require=())
    upgrade(config.database_url, revision)
    click.echo(f"database {safe_database_url(config.database_url)} is at {revision}")


@main.group("import")
def import_group() -> None:
    """Import data from files."""


@import_group.command("erp")
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
        )
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


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def web(host: str, port: int, workers: int) -> None:
    """Run the web app under gunicorn (checks the configuration and the policy first)."""
    load_policy_file(load_config().credit_policy_file)
    # Replace this process with gunicorn (same interpreter), so signals reach it directly.
    command = [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}"]
    command += ["--workers", str(workers), "service.app:create_app()"]
    os.execv(sys.executable, command)  # noqa: S606 - fixed arguments, no shell


main.add_command(worker_command)
main.add_command(outbox_command)
main.add_command(stream_command)
main.add_command(customer_command)
main.add_command(events_command)
main.add_command(assess_command(ACCOUNT_FIELD_MAP))
if LOCAL_ORG_INSTALLED:
    main.add_command(demo_command)
    main.add_command(devorg_command)


if __name__ == "__main__":  # ``python -m service.cli`` (the benchmark runs the import this way)
    main()
