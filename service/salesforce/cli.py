"""``credit-control outbox`` and ``credit-control outbox retry``: what could not be pushed;
``credit-control stream gaps``: replay-id gaps met by the subscriber, and what they lost.

Thin click wrappers over plain functions (``list_failed``, ``retry``) so tests and the admin pages
can call the same code.
"""

from __future__ import annotations

import click
from sqlalchemy import inspect

from service import outbox
from service.config import load_config
from service.db import make_engine, make_session_factory, transaction
from service.salesforce.gaps import list_gaps


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
