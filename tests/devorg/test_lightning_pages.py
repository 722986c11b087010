"""The Lightning preview's pages as devorg serves them: sign-in through frontdoor.jsp (cookie, a
local return path only), the page shell with the user's context (escaped), and clear answers
without a session or a built preview. The pages' content is tested in tests/preview/."""

from __future__ import annotations

import json
import re

import pytest
import requests
from devorg.org import ADMIN_USERNAME


@pytest.fixture
def built(org, tmp_path):
    """A stand-in for preview/dist: the shell with its placeholder, and one asset."""
    (tmp_path / "index.html").write_text(
        "<html><head><!--preview-context--></head><body></body></html>"
    )
    (tmp_path / "preview.js").write_text("console.log('preview')")
    previous = getattr(org, "preview_dir", None)
    org.preview_dir = tmp_path
    yield tmp_path
    org.preview_dir = previous


def browser(org) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(org.ca_path)
    return session


def context_of(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="preview-context">(.*?)</script>', html)
    assert match, html
    return json.loads(match.group(1))


def test_frontdoor_signs_in_and_the_page_carries_the_users_context(org, built):
    org.auth.grant_permission(ADMIN_USERNAME, "Credit_Hold_Override")
    token = org.token_for(ADMIN_USERNAME)
    web = browser(org)
    response = web.get(
        f"{org.http_url}/secur/frontdoor.jsp",
        params={"sid": token, "retURL": "/lightning/n/Collections_Worklist"},
        allow_redirects=False,
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/lightning/n/Collections_Worklist")
    assert "HttpOnly" in response.headers["Set-Cookie"]
    page = web.get(f"{org.http_url}/lightning/n/Collections_Worklist")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    context = context_of(page.text)
    assert context["session"] == token
    assert context["userId"] == org.auth.user(ADMIN_USERNAME).id
    assert context["permissions"] == ["Credit_Hold_Override"]
    record = web.get(f"{org.http_url}/lightning/r/Account/001000000000000AAA/view")
    assert record.status_code == 200
    assert web.get(f"{org.http_url}/lightning/preview/preview.js").text == "console.log('preview')"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/x", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"],
)
def test_frontdoor_never_sends_anyone_elsewhere(org, built, target):
    token = org.token_for(ADMIN_USERNAME)
    response = browser(org).get(
        f"{org.http_url}/secur/frontdoor.jsp",
        params={"sid": token, "retURL": target},
        allow_redirects=False,
    )
    assert response.status_code == 302
    assert response.headers["Location"] in (
        "/lightning/page/home",
        f"{org.http_url}/lightning/page/home",
    )


def test_a_bad_session_is_refused_and_sets_nothing(org, built):
    response = browser(org).get(
        f"{org.http_url}/secur/frontdoor.jsp",
        params={"sid": "00Dforged!token", "retURL": "/lightning/n/X"},
        allow_redirects=False,
    )
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers


def test_pages_without_a_session_say_how_to_sign_in(org, built):
    web = browser(org)
    page = web.get(f"{org.http_url}/lightning/n/Collections_Worklist")
    assert page.status_code == 401
    assert "frontdoor.jsp" in page.text
    web.cookies.set("sid", "not-a-session")
    assert web.get(f"{org.http_url}/lightning/r/Account/x/view").status_code == 401
    token = org.token_for(ADMIN_USERNAME)
    web.cookies.set("sid", token)
    assert web.get(f"{org.http_url}/lightning/n/Collections_Worklist").status_code == 200
    org.auth.expire(token)
    assert web.get(f"{org.http_url}/lightning/n/Collections_Worklist").status_code == 401


def test_the_context_cannot_close_its_script_element(org, built):
    user = org.auth.user(ADMIN_USERNAME)
    user.permissions.add("</script><script>alert(1)</script>")
    web = browser(org)
    web.cookies.set("sid", org.token_for(ADMIN_USERNAME))
    page = web.get(f"{org.http_url}/lightning/n/Collections_Worklist").text
    assert "</script><script>alert(1)" not in page
    assert "</script><script>alert(1)</script>" in context_of(page)["permissions"]


def test_before_the_preview_is_built_the_page_says_how_to_build_it(org, tmp_path):
    previous = getattr(org, "preview_dir", None)
    org.preview_dir = tmp_path / "missing"
    try:
        web = browser(org)
        web.cookies.set("sid", org.token_for(ADMIN_USERNAME))
        page = web.get(f"{org.http_url}/lightning/n/Collections_Worklist")
        assert page.status_code == 503
        assert "npm run preview:build" in page.text
        assert web.get(f"{org.http_url}/lightning/preview/../../etc/passwd").status_code in (
            404,
            503,
        )
    finally:
        org.preview_dir = previous
