"""The Lightning preview's pages: the package's own components, built by ``npm run
preview:build`` into ``preview/dist`` (docs/preview.md), served as Lightning Experience's
addresses against this org's data.

- ``GET /secur/frontdoor.jsp?sid=<session>&retURL=/lightning/...``: Salesforce's documented way
  into the UI with an existing session; sets the session cookie and goes to ``retURL`` (a path
  on this org only).
- ``GET /lightning/r/<Object>/<id>/view`` (a record page), ``GET /lightning/n/<Tab>`` (a tab's
  page): the page shell with the signed-in user's context; the bundle decides which FlexiPage
  and components to show.
- ``GET /lightning/preview/<file>``: the bundle, SLDS styles and icons.

Without a session cookie a page answers 401 and says how to get one; without a built preview,
503 and how to build it.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Response, redirect, request, send_from_directory

# The repository's preview/dist (devorg is installed from the repository, never deployed).
DEFAULT_PREVIEW_DIR = Path(__file__).resolve().parents[3] / "preview" / "dist"
COOKIE = "sid"
LOCALE = "en-US"
CURRENCY = "USD"


def preview_dir(org) -> Path:
    return Path(getattr(org, "preview_dir", None) or DEFAULT_PREVIEW_DIR)


def _page(status: int, title: str, message: str) -> Response:
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><main><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(message)}</p></main></body></html>"
    )
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


def _local_path(target: str | None) -> str | None:
    """``retURL`` when it is a path on this org (never another host: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def make_lightning_blueprint(org) -> Blueprint:
    bp = Blueprint("devorg_lightning", __name__)

    @bp.get("/secur/frontdoor.jsp")
    def frontdoor():
        session = org.auth.session_for(request.args.get("sid"))
        if session is None:
            return _page(401, "Session expired or invalid", "Ask for a new sign-in link.")
        target = _local_path(request.args.get("retURL")) or "/lightning/page/home"
        response = redirect(target, code=302)
        response.set_cookie(
            COOKIE,
            request.args["sid"],
            httponly=True,
            samesite="Lax",
            secure=request.scheme == "https",
            path="/",
        )
        return response

    @bp.get("/lightning/preview/<path:name>")
    def asset(name):
        root = preview_dir(org)
        if not root.is_dir():
            return _page(503, "Preview not built", "Run `npm run preview:build`.")
        response = send_from_directory(root, name, max_age=0)
        return response

    def shell():
        root = preview_dir(org)
        index = root / "index.html"
        if not index.is_file():
            return _page(
                503,
                "Preview not built",
                "The Lightning preview is not built: run `npm run preview:build` "
                "(`make run` builds it).",
            )
        token = request.cookies.get(COOKIE)
        session = org.auth.session_for(token)
        user = org.auth.user_by_id(session.user_id) if session else None
        if session is None or user is None:
            return _page(
                401,
                "Sign in",
                "Open the preview through the sign-in link that `credit-control demo` prints "
                "(/secur/frontdoor.jsp?sid=...).",
            )
        context = {
            "session": token,
            "apiVersion": org.api_version_max,
            "userId": user.id,
            "userName": user.last_name,
            "permissions": sorted(user.permissions),
            "locale": LOCALE,
            "currency": CURRENCY,
            "timeZone": "UTC",
        }
        # JSON inside <script>: "<", ">" and "&" escaped so no value can close the element.
        text = (
            json.dumps(context)
            .replace("<", "\\u003c")
            .replace(">", "\\u003e")
            .replace("&", "\\u0026")
        )
        page = index.read_text(encoding="utf-8").replace(
            "<!--preview-context-->",
            f'<script type="application/json" id="preview-context">{text}</script>',
        )
        response = Response(page, content_type="text/html; charset=utf-8")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    @bp.get("/lightning/r/<sobject>/<record_id>/view")
    def record_page(sobject, record_id):
        return shell()

    @bp.get("/lightning/n/<tab>")
    def tab_page(tab):
        return shell()

    @bp.get("/lightning/page/home")
    def home():
        return shell()

    return bp
