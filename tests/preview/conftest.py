"""The Lightning preview in Debian's Chromium, against the demo's own stack: the demo book fed
through the signed ERP feed, devorg, and the worker pushing every Account (as `make run` does).

Skipped, with the reason, when no Chromium or no Node tooling is installed. The preview is built
first when its bundle is missing or older than the package's user interface.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import subprocess
from fnmatch import fnmatch
from pathlib import Path
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from service.extensions import EXTENSION
from service.migrations import upgrade
from service.models import Assessment, Customer

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "preview" / "dist"
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NS = "{http://soap.sforce.com/2006/04/metadata}"
SKIPPED_DIRS = {"node_modules", "var", "preview", "tests", "service", "bench", "coverage"}


def package_files(pattern: str) -> list[Path]:
    """Files of the package matching ``pattern``, wherever its package directories are."""
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")]
        found += [Path(folder) / name for name in files if fnmatch(name, pattern)]
    return found


def labels() -> dict[str, str]:
    """The package's custom labels, so the tests read what a user reads."""
    out = {}
    for path in package_files("*.labels-meta.xml"):
        for label in ElementTree.parse(path).getroot().iter(f"{NS}labels"):
            out[label.findtext(f"{NS}fullName")] = label.findtext(f"{NS}value") or ""
    return out


def _sources() -> list[Path]:
    ui = [p for p in package_files("*") if "lwc" in p.parts and p.is_file()]
    ui += package_files("*.flexipage-meta.xml") + package_files("*.labels-meta.xml")
    preview = [p for p in (ROOT / "preview").rglob("*") if p.is_file() and "dist" not in p.parts]
    return ui + preview


@pytest.fixture(scope="session")
def preview_bundle() -> Path:
    if CHROMIUM is None:
        pytest.skip(
            "no Chromium found: the preview's browser tests are skipped (apt-get install chromium)"
        )
    bundle = DIST / "preview.js"
    newest = max(p.stat().st_mtime for p in _sources())
    if not bundle.exists() or bundle.stat().st_mtime < newest:
        if not (ROOT / "node_modules" / "@lwc" / "rollup-plugin").exists():
            pytest.skip("the preview is not built and the Node tooling is missing (make node)")
        subprocess.run(["npm", "run", "--silent", "preview:build"], cwd=ROOT, check=True)
    return DIST


@pytest.fixture(scope="module")
def stack(preview_bundle, tmp_path_factory):
    """The demo: feed, assessments, devorg with every Account pushed, the worker running."""
    from service.demo.run import DemoSettings, assess_queued, build_app, load_book
    from service.demo.sync import start_demo_sync

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    tmp = tmp_path_factory.mktemp("preview")
    settings = DemoSettings(
        database_url=f"sqlite:///{tmp / 'demo.sqlite3'}",
        api_token="demo-" + secrets.token_urlsafe(12),
        feed_secret=secrets.token_urlsafe(32),
    )
    upgrade(settings.database_url)
    app = build_app(settings)
    svc = app.extensions[EXTENSION]
    today = svc.clock().date()
    load_book(app, settings, today)
    assess_queued(app, today)
    sync = start_demo_sync(svc.engine, svc.sessions, lambda _line: None, key_dir=tmp / "devorg")
    with svc.sessions() as session:
        rows = session.execute(
            select(Customer.number, Customer.currency, Assessment).join(
                Assessment, Assessment.customer_id == Customer.id
            )
        ).all()
    sync.today = today
    sync.customers = {
        number: {
            "currency": currency,
            "status": a.status,
            "reason": (a.document or {}).get("reason", ""),
        }
        for number, currency, a in rows
    }
    yield sync
    sync.close()
    svc.engine.dispose()


@pytest.fixture(scope="module")
def browser(preview_bundle):
    with playwright.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield instance
        instance.close()


class Page:
    """A signed-in page that records every console error, page error and failed request."""

    def __init__(self, browser, stack) -> None:
        from service.demo.preview import preview_links

        self.stack = stack
        self.links = preview_links
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="en-US")
        self.errors: list[str] = []
        self.page.on(
            "console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}")
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on(
            "response",
            lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status} {r.url}"),
        )

    def open_record(self, account_id: str):
        self.page.goto(self.links(self.stack.org, account_id)["record"])
        return self.page

    def open_worklist(self, link: str | None = None):
        self.page.goto(link or self.links(self.stack.org, None)["worklist"])
        return self.page

    def close(self):
        self.page.close()


@pytest.fixture
def signed_in(browser, stack):
    page = Page(browser, stack)
    yield page
    page.close()


def screenshot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)
