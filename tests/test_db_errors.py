"""Database errors and SQL echo logs never carry bound values (secrets, personal data).

SQLAlchemy appends a statement's parameters to the text of every database error and to its echo
log unless the engine hides them; whatever logs such an error would then log a customer's name,
a collector's note or a token. Engines come from ``service.db.make_engine`` on both databases.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from service.db import make_engine
from service.models import Customer

SECRET = "Jane Secret-Doe, jane@example.com"


def _duplicate_customer(engine) -> IntegrityError:
    row = {"number": "C-1", "source": "erp-main", "name": SECRET, "currency": "EUR"}
    with engine.begin() as connection:
        connection.execute(insert(Customer), row)
    with pytest.raises(IntegrityError) as raised, engine.begin() as connection:
        connection.execute(insert(Customer), row)
    return raised.value


def test_integrity_error__names_the_statement_but_not_the_values_bound_to_it(db_url, caplog):
    engine = make_engine(db_url)
    try:
        error = _duplicate_customer(engine)
    finally:
        engine.dispose()

    logging.getLogger("service.test").exception("insert failed", exc_info=error)

    assert "INSERT INTO customers" in str(error)
    assert SECRET not in str(error)
    assert "parameters hidden" in str(error)
    assert caplog.records and SECRET not in caplog.text


def test_sql_echo_log__hides_the_values_bound_to_each_statement(db_url, caplog):
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    engine = make_engine(db_url, echo=True)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(Customer),
                {"number": "C-2", "source": "erp-main", "name": SECRET, "currency": "EUR"},
            )
    finally:
        engine.dispose()

    assert "INSERT INTO customers" in caplog.text
    assert SECRET not in caplog.text
