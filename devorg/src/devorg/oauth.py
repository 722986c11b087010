"""``/services/oauth2/token`` and ``/services/oauth2/revoke`` with Salesforce's exact shapes.

Success bodies differ per grant (wire facts §3.1): JWT bearer has no ``issued_at`` or
``signature``; client credentials and username-password have both. Errors are 400
``{"error", "error_description"}``.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, request

from .auth import OAuthError
from .wire import JSON_TYPE, bearer_token

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _json(body: dict, status: int = 200) -> Response:
    response = Response(
        json.dumps(body, separators=(",", ":")), status=status, content_type=JSON_TYPE
    )
    response.headers["Cache-Control"] = "no-cache,must-revalidate,max-age=0,no-store,private"
    return response


def make_oauth_blueprint(org) -> Blueprint:
    bp = Blueprint("devorg_oauth", __name__)

    def login_host() -> bool:
        return (request.host.rsplit(":", 1)[0] or "").lower() in org.login_hosts

    def instance_url() -> str:
        # The token answer points at the My Domain host, on the scheme the client used.
        scheme = request.scheme
        return org.url if scheme == "https" or not org.http_url else org.http_url

    def audiences() -> set[str]:
        found = {"https://login.salesforce.com", "https://test.salesforce.com"}
        for base in (org.url, org.login_url, org.http_url):
            if base:
                found.add(base.rstrip("/"))
        return found

    @bp.post("/services/oauth2/token")
    def token():
        form = request.form.to_dict()
        grant = form.get("grant_type", "")
        auth_header = request.headers.get("Authorization")
        try:
            if grant == JWT_GRANT:
                session = org.auth.grant_jwt(form.get("assertion"), audiences())
                return _json(
                    {
                        "access_token": session.token,
                        "scope": "web openid api id",
                        "instance_url": instance_url(),
                        "id": org.auth.identity_url(session, org.login_url or instance_url()),
                        "token_type": "Bearer",
                    }
                )
            if grant == "client_credentials":
                session = org.auth.grant_client_credentials(form, auth_header, login_host())
                body = {
                    "access_token": session.token,
                    "signature": org.auth.signature(session, instance_url(), org.client_secret),
                    "scope": "web api id",
                    "instance_url": instance_url(),
                    "id": org.auth.identity_url(session, instance_url()),
                    "token_type": "Bearer",
                    "issued_at": str(int(session.issued_at * 1000)),
                    "api_instance_url": instance_url(),
                }
                return _json(body)
            if grant == "password":
                session = org.auth.grant_password(form, auth_header)
                return _json(
                    {
                        "access_token": session.token,
                        "instance_url": instance_url(),
                        "id": org.auth.identity_url(session, org.login_url or instance_url()),
                        "token_type": "Bearer",
                        "issued_at": str(int(session.issued_at * 1000)),
                        "signature": org.auth.signature(session, instance_url(), org.client_secret),
                    }
                )
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        except OAuthError as err:
            return _json(err.body(), err.status)

    @bp.route("/services/oauth2/revoke", methods=["POST", "GET"])
    def revoke():
        token = request.values.get("token", "")
        if not org.auth.revoke(token):
            return _json(
                {
                    "error": "unsupported_token_type",
                    "error_description": "this token type is not supported",
                },
                400,
            )
        return Response(b"", status=200)

    @bp.get("/services/oauth2/userinfo")
    def userinfo():
        session = org.auth.session_for(bearer_token())
        if session is None:
            return Response(b"Bad_OAuth_Token", status=403)
        return _json(
            {
                "sub": org.auth.identity_url(session, org.login_url),
                "user_id": session.user_id,
                "organization_id": org.org_id,
                "preferred_username": session.username,
                "email": session.username,
            }
        )

    return bp
