"""The pay page in a real browser: Playwright driving Debian's Chromium (no browser download).

Skipped, with the reason, when no Chromium is installed (``.ci/run`` installs Debian's
``chromium``). Screenshots of each page go to docs/screenshots/pay-*.png.
"""

from __future__ import annotations

import json
import shutil
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import NOW, signed_headers

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium found: browser tests of the pay page skipped (apt-get install chromium)",
)


@pytest.fixture
def served(pay_app, small_batch):
    """The app on a real port (a browser needs one), with the small book fed."""
    body = json.dumps(small_batch).encode()
    client = pay_app.test_client()
    assert (
        client.post("/api/v1/feeds/erp", data=body, headers=signed_headers(body)).status_code == 200
    )
    server = make_server("127.0.0.1", 0, pay_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_open_choose_dispute_promise_and_download_in_chromium(served, links, tmp_path):
    token = links.token("C-100", now=NOW)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844}, locale="de-DE")
            page.goto(f"{served}/pay/{token}")
            assert page.locator("html").get_attribute("lang") == "de"
            assert page.get_by_role("main").is_visible()
            page.screenshot(path=str(SHOTS / "pay-page.png"), full_page=True)

            page.get_by_role("button", name="Ausgewählte Rechnungen bezahlen").click()
            assert "Kartenzahlung ist noch nicht eingerichtet" in page.inner_text("#checkout")
            page.screenshot(path=str(SHOTS / "pay-checkout.png"), full_page=True)
            page.go_back()

            page.get_by_label("Grund").select_option("Quality")
            page.get_by_label("Beanstandeter Betrag (EUR)").fill("100,00")
            page.get_by_role("button", name="Beanstandung senden").click()
            assert "Beanstandung der Rechnung" in page.get_by_role("status").inner_text()
            page.screenshot(path=str(SHOTS / "pay-dispute.png"), full_page=True)

            page.get_by_label("Wir zahlen am").fill((NOW.date() + timedelta(days=7)).isoformat())
            page.get_by_role("button", name="Zusage senden").click()
            assert "Zusage" in page.get_by_role("status").inner_text()
            page.screenshot(path=str(SHOTS / "pay-promise.png"), full_page=True)

            with page.expect_download() as download:
                page.get_by_role("link", name="Kontoauszug herunterladen (PDF)").click()
            saved = tmp_path / "statement.pdf"
            download.value.save_as(saved)
            assert saved.read_bytes().startswith(b"%PDF")

            page.goto(f"{served}/pay/{token[:-3]}abc")
            assert page.locator("#refusal").get_attribute("data-reason") == "tampered"
            page.screenshot(path=str(SHOTS / "pay-refused.png"), full_page=True)
        finally:
            browser.close()
