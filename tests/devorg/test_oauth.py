"""Checklist 18 (token endpoint) and 19 (401 INVALID_SESSION_ID as an array), with real JWTs."""

import base64
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from devorg.org import INTEGRATION_USERNAME, DevOrg

from tests.devorg.devorg_helpers import Api, tls_session

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _assertion(org, **override):
    claims = {
        "iss": org.client_id,
        "sub": INTEGRATION_USERNAME,
        "aud": org.url,
        "exp": int(time.time()) + 180,
    }
    claims.update(override)
    key = override.pop("key", None) if "key" in override else org.private_key_pem
    claims.pop("key", None)
    return jwt.encode(claims, key, algorithm="RS256")


def _token(org, base=None, **kw):
    return tls_session(org).post((base or org.url) + "/services/oauth2/token", timeout=30, **kw)


def test_jwt_bearer__success_shape_has_no_issued_at_or_signature(org):
    response = _token(org, data={"grant_type": JWT_GRANT, "assertion": _assertion(org)})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    body = response.json()
    assert list(body) == ["access_token", "scope", "instance_url", "id", "token_type"]
    assert body["scope"] == "web openid api id" and body["token_type"] == "Bearer"
    assert body["instance_url"] == org.url
    assert body["id"].endswith(f"/id/{org.org_id}/{org.integration_user.id}")
    assert Api(org, body["access_token"]).get("limits").status_code == 200


def test_jwt_bearer__audience_login_salesforce_com_is_accepted(org):
    response = _token(
        org,
        data={
            "grant_type": JWT_GRANT,
            "assertion": _assertion(org, aud="https://login.salesforce.com"),
        },
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("override", "error", "description"),
    [
        ({"aud": "https://example.com"}, "invalid_grant", "audience is invalid"),
        ({"exp": int(time.time()) - 10}, "invalid_grant", "expired authorization code"),
        ({"iss": "unknown-consumer"}, "invalid_client_id", "client identifier invalid"),
        ({"sub": "nobody@example.com"}, "invalid_grant", "user hasn't approved this consumer"),
    ],
)
def test_jwt_bearer__claim_errors(org, override, error, description):
    response = _token(org, data={"grant_type": JWT_GRANT, "assertion": _assertion(org, **override)})
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_jwt_bearer__wrong_key_is_invalid_assertion(org):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    response = _token(org, data={"grant_type": JWT_GRANT, "assertion": _assertion(org, key=other)})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}
    hs = jwt.encode(
        {
            "iss": org.client_id,
            "sub": INTEGRATION_USERNAME,
            "aud": org.url,
            "exp": time.time() + 60,
        },
        "s" * 32,
    )
    response = _token(org, data={"grant_type": JWT_GRANT, "assertion": hs})
    assert response.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}


def test_client_credentials__basic_header_on_my_domain(org):
    basic = base64.b64encode(f"{org.client_id}:{org.client_secret}".encode()).decode()
    response = _token(
        org, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 200
    body = response.json()
    assert {
        "access_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    } <= set(body)
    assert body["token_type"] == "Bearer" and body["issued_at"].isdigit()
    assert Api(org, body["access_token"]).get("limits").status_code == 200


def test_client_credentials__body_credentials_and_bad_secret(org):
    ok = _token(
        org,
        data={
            "grant_type": "client_credentials",
            "client_id": org.client_id,
            "client_secret": org.client_secret,
        },
    )
    assert ok.status_code == 200
    bad = _token(
        org,
        data={
            "grant_type": "client_credentials",
            "client_id": org.client_id,
            "client_secret": "nope",
        },
    )
    assert bad.status_code == 400
    assert bad.json() == {
        "error": "invalid_client",
        "error_description": "invalid client credentials",
    }
    unknown = _token(
        org, data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}
    )
    assert unknown.json() == {
        "error": "invalid_client_id",
        "error_description": "client identifier invalid",
    }


def test_client_credentials__refused_on_login_host(org):
    response = _token(
        org,
        base=org.login_url,
        data={
            "grant_type": "client_credentials",
            "client_id": org.client_id,
            "client_secret": org.client_secret,
        },
    )
    assert org.login_url.startswith("https://127.0.0.1:")
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "request not supported on this domain",
    }


def test_password_grant__shape_and_failure(org):
    password = org.auth.user(INTEGRATION_USERNAME).password
    form = {
        "grant_type": "password",
        "client_id": org.client_id,
        "client_secret": org.client_secret,
        "username": INTEGRATION_USERNAME,
        "password": password,
    }
    body = _token(org, base=org.login_url, data=form).json()
    assert list(body) == [
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
    ]
    assert body["instance_url"] == org.url
    bad = _token(org, data=dict(form, password="wrong"))
    assert bad.status_code == 400
    assert bad.json() == {"error": "invalid_grant", "error_description": "authentication failure"}


def test_unsupported_grant(org):
    response = _token(org, data={"grant_type": "authorization_code"})
    assert response.json() == {
        "error": "unsupported_grant_type",
        "error_description": "grant type not supported",
    }


def test_invalid_session__401_array_everywhere(org, api):
    for method, path in [
        ("GET", "sobjects"),
        ("GET", "query?q=SELECT+Id+FROM+Account"),
        ("POST", "composite/sobjects"),
        ("GET", "limits"),
    ]:
        response = api.request(method, path, token="00Dbogus!token")
        assert response.status_code == 401
        assert response.json() == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ]
        assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert api.get("sobjects", token="").status_code == 401


def test_revoke__token_stops_working(org, api):
    assert api.get("limits").status_code == 200
    revoked = tls_session(org).post(
        org.url + "/services/oauth2/revoke", data={"token": api.token}, timeout=30
    )
    assert revoked.status_code == 200
    response = api.get("limits")
    assert response.status_code == 401 and response.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_token_ttl__idle_session_expires(tmp_path):
    with DevOrg(token_ttl=0.3).start() as org:
        api = Api(org, org.token_for())
        assert api.get("limits").status_code == 200
        time.sleep(0.5)
        response = api.get("limits")
        assert response.status_code == 401
        assert response.json() == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ]


def test_oauth_accepts_jsforce_style_oauth_scheme(org, api):
    response = api.get("limits", token="", headers={"Authorization": f"OAuth {api.token}"})
    assert response.status_code == 200
