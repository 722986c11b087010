"""Alembic migrations, configured in code so ``credit-control db upgrade`` works from any
directory and from an installed wheel (no ``alembic.ini`` to find, no path to pass).

The URL is handed to ``env.py`` through ``Config.attributes`` rather than ``sqlalchemy.url``:
an ini option would be %-interpolated (URL-encoded passwords contain ``%``) and could end up in
a log line.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Undo migrations down to ``revision``, before rolling the code back to a release that
    expects it (docs/operations.md); the newer code holds the steps that undo its migrations."""
    command.downgrade(alembic_config(database_url), revision)


def current_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head
