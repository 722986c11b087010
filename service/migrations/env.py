"""Alembic environment: the service's own models, URL and engine settings.

Run through ``service.migrations.upgrade`` (and so ``credit-control db upgrade``). SQLite gets
batch mode so later migrations that alter columns work there as on PostgreSQL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.pool import NullPool

from service import models  # noqa: F401  (registers the tables on Base.metadata)
from service.config import load_config
from service.db import Base, make_engine

config = context.config


def _url() -> str:
    url = config.attributes.get("database_url")
    return url or load_config(require=()).database_url


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url(), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
