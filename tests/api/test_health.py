"""/healthz, /readyz, /metrics and /openapi.json."""

from __future__ import annotations

import pytest

from service.app import EXTENSION, create_app
from tests.conftest import app_overrides


def test_healthz__answers_without_a_token(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz__database_ok_and_salesforce_not_configured(client, auth):
    response = client.get("/readyz", headers=auth)

    assert response.status_code == 200
    checks = response.json["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["salesforce"] == {"status": "not configured"}
    assert checks["subscriber"] == {"status": "not configured"}


def test_readyz__a_failing_registered_check_makes_it_503(app, client, auth):
    app.extensions[EXTENSION].readiness_checks["salesforce"] = lambda: {
        "status": "failing",
        "detail": "login refused",
    }

    response = client.get("/readyz", headers=auth)

    assert response.status_code == 503
    assert response.json["checks"]["salesforce"]["detail"] == "login refused"


def test_readyz__unmigrated_database_is_not_ready(tmp_path, auth):
    app = create_app(app_overrides(f"sqlite:///{tmp_path / 'empty.sqlite3'}"))

    response = app.test_client().get("/readyz", headers=auth)

    assert response.status_code == 503
    assert "db upgrade" in response.json["checks"]["database"]["detail"]


@pytest.mark.parametrize(
    "path", ["/readyz", "/metrics", "/openapi.json", "/api/v1/accounts/C-1/credit", "/no/such/path"]
)
def test_every_endpoint_but_healthz__needs_a_token(client, path):
    response = client.get(path)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_metrics__answers_a_token_and_refuses_everyone_else(client, auth):
    good = client.get("/metrics", headers=auth)
    none = client.get("/metrics")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token-0123456789"})

    assert good.status_code == 200
    assert good.mimetype == "text/plain"
    assert "# TYPE http_requests_total counter" in good.get_data(as_text=True)
    assert (none.status_code, wrong.status_code) == (401, 401)
    assert "http_requests_total" not in none.get_data(as_text=True) + wrong.get_data(as_text=True)


def test_metrics__counts_requests_by_endpoint_and_status(client, auth):
    client.get("/healthz")
    client.get("/api/v1/accounts/C-1/credit", headers=auth)

    text = client.get("/metrics", headers=auth).get_data(as_text=True)

    assert 'http_requests_total{endpoint="/healthz",method="GET",status="200"} 1.0' in text
    assert (
        'endpoint="/api/v1/accounts/<string:number>/credit",method="GET",status="404"} 1.0' in text
    )


def test_openapi__documents_the_feed_and_the_account_endpoint(client, auth):
    spec = client.get("/openapi.json", headers=auth).json

    assert "/api/v1/feeds/erp" in spec["paths"]
    assert "/api/v1/accounts/{number}/credit" in spec["paths"]
    batch = spec["components"]["schemas"]["ErpBatchIn"]
    assert set(batch["properties"]) == {"source", "customers", "receivables", "payments"}
    assert spec["paths"]["/api/v1/feeds/erp"]["post"]["security"] == [{"feedSignature": []}]
    answer = spec["components"]["schemas"]["ErpBatchOut"]["properties"]
    assert "queued_for_assessment" in answer and "assessed" not in answer
