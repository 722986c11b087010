"""What could not be pushed or handled, for an operator: ``credit-control outbox`` (dead rows)
and ``outbox retry``; ``credit-control events parked`` and ``events replay`` (parked Salesforce
events, see ``service.salesforce.parked``); ``credit-control stream gaps`` (replay-id gaps met by
the subscriber, and what they lost).

Thin click wrappers over plain functions (``list_failed``, ``retry``, ``parked.replay``) so tests
and the admin pages can call the same code.
"""

from __future__ import annotations

import sys

import click
from sqlalchemy import inspect

from service import outbox
from service.assessments import Reassessor, load_policy_file
from service.config import load_config
from service.db import make_engine, make_session_factory, transaction
from service.inbox import PARKED
from service.salesforce import parked
from service.salesforce.client import SalesforceClient, read_record_with
from service.salesforce.errors import PermanentError
from service.salesforce.gaps import list_gaps
from service.salesforce.handlers import Handlers


def _factory():
    engine = make_engine(load_config(require=()).database_url)
    if not inspect(engine).has_table("outbox"):
        raise click.ClickException(
            "the database has no outbox table: run `credit-control db upgrade`"
        )
    return engine, make_session_factory(engine)


def list_failed(factory, limit: int = 200) -> list[dict]:
    with factory() as session:
        return [
            {
                "id": r.id,
                "status": r.status,
                "target": r.target,
                "attempts": r.attempts,
                "code": r.error_code,
                "error": r.last_error,
                "created_at": r.created_at,
            }
            for r in outbox.failed_rows(session, limit)
        ]


def retry(factory, ids: list[int] | None) -> int:
    with transaction(factory) as session:
        return outbox.retry_failed(session, ids or None)


@click.group("outbox", invoke_without_command=True)
@click.option("--limit", default=200, show_default=True)
@click.pass_context
def outbox_command(ctx: click.Context, limit: int) -> None:
    """List what could not be pushed to Salesforce (dead letters, unmatched customers)."""
    if ctx.invoked_subcommand is not None:
        return
    _, factory = _factory()
    rows = list_failed(factory, limit)
    if not rows:
        click.echo("outbox: no dead letters")
        return
    for row in rows:
        click.echo(
            f"{row['id']:>8}  {row['status']:<9}  {row['target']:<28}  "
            f"attempts={row['attempts']}  {row['code'] or '-'}: {(row['error'] or '')[:160]}"
        )
    click.echo(f"{len(rows)} row(s); `credit-control outbox retry` puts them back in the queue")


@outbox_command.command("retry")
@click.argument("ids", nargs=-1, type=int)
def outbox_retry(ids: tuple[int, ...]) -> None:
    """Queue dead letters again: the given ids, or all of them."""
    _, factory = _factory()
    count = retry(factory, list(ids))
    click.echo(f"outbox: {count} row(s) queued again")


@click.group("stream")
def stream_command() -> None:
    """The Streaming API subscription: what it could not recover."""


@stream_command.command("gaps")
@click.option("--limit", default=200, show_default=True)
def stream_gaps(limit: int) -> None:
    """List the replay-id gaps (an expired replay id) and what each could not recover."""
    _, factory = _factory()
    with factory() as session:
        rows = list_gaps(session, limit)
        if not rows:
            click.echo("stream: no gaps")
            return
        for row in rows:
            p = row.payload or {}
            click.echo(
                f"{row.received_at:%Y-%m-%d %H:%M}  {row.status:<13}  {row.kind:<40}  "
                f"{p.get('from', '?')} .. {p.get('to', '?')}  reconciled={p.get('reconciled', 0)} "
                f"deleted={p.get('deleted', 0)} skipped={p.get('skipped', 0)}"
                + (f"  lost: {row.error}" if row.error else "")
            )


@click.group("events")
def events_command() -> None:
    """Salesforce events that could not be handled (parked), and replaying them after a fix."""


@events_command.command("parked")
@click.option("--limit", default=200, show_default=True)
def events_parked(limit: int) -> None:
    """List parked events, oldest first, with their errors."""
    _, factory = _factory()
    with factory() as session:
        rows = parked.parked_rows(session, limit)
        lines = [
            f"{r.id:>8}  {r.received_at:%Y-%m-%d %H:%M:%S}  {r.kind:<36}  {r.external_id:<44}  "
            f"{(r.error or '')[:160]}"
            for r in rows
        ]
    if not lines:
        click.echo("events: none parked")
        return
    for line in lines:
        click.echo(line)
    click.echo(
        f"{len(lines)} parked event(s); `credit-control events replay [IDS...]` handles them "
        "again after a fix"
    )


def _no_org(sobject: str, record_id: str) -> dict | None:
    raise PermanentError(
        f"cannot re-read {sobject} {record_id}: SALESFORCE_CLIENT_ID and the other Salesforce "
        "settings are not set"
    )


def replay_handlers() -> Handlers:
    """The handlers the worker's subscriber runs, composed from the same settings and policy."""
    config = load_config(require=())
    policy = load_policy_file(config.credit_policy_file)
    settings = config.salesforce
    if settings is None:  # most events need no re-read; those that do stay parked and say why
        return Handlers(Reassessor(policy), _no_org)
    return Handlers(Reassessor(policy, settings.zone), read_record_with(SalesforceClient(settings)))


@events_command.command("replay")
@click.argument("ids", nargs=-1, type=int)
def events_replay(ids: tuple[int, ...]) -> None:
    """Handle parked events again (the given inbox ids, parked or failed; else every parked one).

    Each in its own transaction, through the worker's handlers. Exit status 1 if any is still
    parked.
    """
    _, factory = _factory()
    results = parked.replay(factory, replay_handlers(), list(ids) or None)
    for r in results:
        click.echo(f"{r.id:>8}  {r.status:<9}  {r.kind:<36}  {(r.error or '')[:160]}")
    still = sum(r.status == PARKED for r in results)
    click.echo(f"events: {len(results) - still} replayed, {still} still parked")
    if still:
        sys.exit(1)
