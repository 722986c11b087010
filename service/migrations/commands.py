"""``credit-control db upgrade`` and ``db downgrade``: migrate the database forward or back."""

from __future__ import annotations

import click

from service.config import load_config, safe_database_url
from service.migrations import downgrade, upgrade


@click.group("db")
def db_command() -> None:
    """Database schema."""


@db_command.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database (DATABASE_URL) to the latest schema. Safe to run again."""
    config = load_config(require=())
    upgrade(config.database_url, revision)
    click.echo(f"database {safe_database_url(config.database_url)} is at {revision}")


@db_command.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database back to REVISION (e.g. 0007) before rolling the code back to it."""
    config = load_config(require=())
    downgrade(config.database_url, revision)
    click.echo(f"database {safe_database_url(config.database_url)} is at {revision}")
