"""``credit-control sync <erp> [--full]``: one pull from the ERP and the closed loop, with
progress on stderr and a report on stdout; exit status 1 when any record was rejected or a
write failed for good."""

from __future__ import annotations

import os
import sys

import click

from service.config import load_config
from service.connectors.http import ErpError
from service.connectors.registry import NAMES, build
from service.connectors.run import run_connector
from service.connectors.sync import SyncReport
from service.connectors.writeback import retry_dead
from service.db import make_engine, make_session_factory, transaction, utcnow

SHOWN = 20


@click.command("sync")
@click.argument("erp", type=click.Choice(NAMES))
@click.option("--full", is_flag=True, help="Reconcile every open item, not just the changes.")
@click.option(
    "--processes",
    type=click.IntRange(1, 8),
    help="Processes sharing a full reconciliation of 50,000 open items or more "
    "[default: 2 where there are two cores, else 1].",
)
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Queue again the writes to the ERP that failed for good (after fixing the cause).",
)
def sync_command(erp: str, full: bool, processes: int | None, retry_failed: bool) -> None:
    """Pull customers, receivables and payments from an ERP, and write back promises, disputes,
    hold overrides and bank cash where it has a place for them (docs/connectors.md)."""
    config = load_config(require=())
    connector = build(erp, config.erp(erp))
    engine = make_engine(config.database_url)

    def progress(report: SyncReport) -> None:
        accepted = sum(report.counts.accepted.values())
        rejected = sum(report.counts.rejected.values())
        click.echo(
            f"page {report.pages}: {report.read} items read, {accepted} rows stored, "
            f"{rejected} rejected",
            err=True,
        )

    sessions = make_session_factory(engine)
    if retry_failed:
        with transaction(sessions) as session:
            again = retry_dead(session, connector.name, utcnow())
        click.echo(f"{again} failed writes queued again", err=True)
    try:
        report = run_connector(
            sessions,
            connector,
            full=full,
            on_page=progress,
            processes=processes or min(os.cpu_count() or 1, 2),
        )
    except ErpError as error:
        raise click.ClickException(f"{erp}: {error}") from None
    finally:
        engine.dispose()
    for line in report.lines():
        click.echo(line)
    problems = report.sync.counts.problems
    for problem in problems[:SHOWN]:
        where = f" {problem.path}" if problem.path else ""
        click.echo(
            f"rejected {problem.kind} {problem.source_id}{where}: {problem.message}", err=True
        )
    if len(problems) > SHOWN:
        click.echo(f"... {len(problems) - SHOWN} more", err=True)
    if problems or report.loop.dead:
        sys.exit(1)
