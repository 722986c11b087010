"""/readyz names the database it uses, and says a SQLite file serves one machine only."""

from __future__ import annotations

from service.api.health import SQLITE_SCOPE


def test_readyz__says_which_database_and_that_sqlite_is_single_machine(client, auth, db_url):
    database = client.get("/readyz", headers=auth).json["checks"]["database"]

    assert database["status"] == "ok"
    if db_url.startswith("sqlite"):
        assert database["backend"] == "sqlite"
        assert database["url"] == db_url
        assert database["scope"] == SQLITE_SCOPE
        assert "single machine" in database["scope"]
    else:
        assert database == {"status": "ok", "backend": "postgresql"}
