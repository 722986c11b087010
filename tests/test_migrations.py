"""Migrations: a fresh database upgrades to head on both backends and matches service/models.py.

If this fails after you changed a model, write the migration:
``alembic revision --autogenerate`` through ``service.migrations.alembic_config`` (see README).
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service.db import Base, make_engine
from service.migrations import current_head, upgrade


def test_migrations__head_matches_the_models(db_url):
    engine = make_engine(db_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
        version = context.get_current_revision()
    engine.dispose()

    assert differences == []
    assert version == current_head()


def test_migrations__upgrade_again_is_a_no_op(db_url):
    upgrade(db_url)
    upgrade(db_url)

    engine = make_engine(db_url)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == current_head()
    engine.dispose()
