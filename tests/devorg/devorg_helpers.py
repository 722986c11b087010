"""Helpers shared by the devorg tests (imported by name: tests/ has no packages)."""

from __future__ import annotations

import requests
from devorg.org import DevOrg

API = "62.0"


class Api:
    """Raw HTTP against the org, with a bearer token, for asserting exact wire answers."""

    def __init__(self, org: DevOrg, token: str) -> None:
        self.org = org
        self.token = token
        self.session = requests.Session()
        self.session.verify = str(org.ca_path)
        self.session.trust_env = False

    def url(self, path: str) -> str:
        if path.startswith("/"):
            return self.org.url + path
        return f"{self.org.url}/services/data/v{API}/{path}"

    def request(
        self, method: str, path: str, *, token: str | None = None, **kw
    ) -> requests.Response:
        headers = kw.pop("headers", {}) or {}
        auth = self.token if token is None else token
        if auth:
            headers.setdefault("Authorization", f"Bearer {auth}")
        return self.session.request(method, self.url(path), headers=headers, timeout=30, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def admin(self, method: str, path: str, **kw) -> requests.Response:
        headers = {"X-Devorg-Admin": self.org.admin_token}
        return self.session.request(method, self.org.url + path, headers=headers, timeout=30, **kw)


def tls_session(org: DevOrg) -> requests.Session:
    session = requests.Session()
    session.verify = str(org.ca_path)
    session.trust_env = False
    return session


def new_account(api: Api, **fields) -> str:
    body = {"Name": "Acme"}
    body.update(fields)
    response = api.post("sobjects/Account", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]
