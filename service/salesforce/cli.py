"""``credit-control worker``, ``credit-control outbox`` and ``credit-control outbox retry``.

Thin click wrappers over plain functions (``list_failed``, ``retry``) so tests and the admin pages
can call the same code. service/cli.py loads them lazily: ``worker`` as
``service.worker:worker_command`` and ``outbox`` as ``service.salesforce.cli:outbox_command``.
"""

from __future__ import annotations

import os
import sys

import click
from sqlalchemy import inspect

from service import outbox
from service.db import make_engine, make_session_factory, transaction


def _database_url() -> str:
    try:
        from service.config import load_config

        return load_config(os.environ, require=()).database_url
    except ImportError:  # pragma: no cover - foundation config not present
        return os.environ.get("DATABASE_URL", "sqlite:///var/credit-control.sqlite3")


def _factory():
    engine = make_engine(_database_url())
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


@click.command("worker")
@click.option("--no-subscriber", is_flag=True, help="Do not run the CometD subscriber here.")
@click.option("--no-pusher", is_flag=True, help="Do not run the outbox pusher here.")
@click.option("--no-scheduler", is_flag=True, help="Do not run the daily re-assessment here.")
def worker_command(no_subscriber: bool, no_pusher: bool, no_scheduler: bool) -> None:
    """Run the Salesforce sync: subscriber, pusher and scheduler (SIGTERM stops cleanly)."""
    from service.errors import ConfigError
    from service.feeds.assessment import load_policy_file
    from service.logs import configure_logging
    from service.salesforce.settings import SettingsError, SyncSettings
    from service.worker import Worker, make_reassess

    # JSON lines like the web process, so one log pipeline reads both.
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    try:
        settings = SyncSettings.from_env(os.environ)
        # The same policy as the web process, or the worker would judge customers differently.
        policy = load_policy_file(os.environ.get("CREDIT_POLICY_FILE") or None)
    except (SettingsError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    engine, factory = _factory()
    worker = Worker(
        engine,
        factory,
        settings,
        reassess=make_reassess(settings, policy),
        subscribe=not no_subscriber,
        push=not no_pusher,
        schedule=not no_scheduler,
    )
    sys.exit(worker.run_forever())


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


def register(cli: click.Group) -> None:
    cli.add_command(worker_command)
    cli.add_command(outbox_command)
