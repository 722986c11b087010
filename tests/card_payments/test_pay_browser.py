"""Paying by card in a real browser: Playwright driving Debian's Chromium from the pay page to
the local Stripe's hosted page and back, the hold lifted. Screenshots go to docs/screenshots/.

Skipped, with the reason, when no Chromium is installed (as the pay page's own browser test).
"""

from __future__ import annotations

import json
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from devstripe.server import DevStripe
from werkzeug.serving import make_server

from service.app import EXTENSION, create_app
from tests.card_payments.conftest import PAY_SECRET, WEBHOOK_PATH, WEBHOOK_SECRET, credit
from tests.conftest import app_overrides, load_fixture, signed_headers

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium found: browser tests of card payments skipped (apt-get install chromium)",
)


def test_a_customer_pays_by_card_in_chromium_and_the_hold_lifts(db_url):
    with DevStripe() as local_stripe:
        server = make_server("127.0.0.1", 0, None, threaded=True)  # a port first: links need it
        base = f"http://127.0.0.1:{server.server_port}"
        app = create_app(
            app_overrides(
                db_url,
                CLOCK=lambda: datetime.now(UTC),
                STRIPE_API_KEY="sk_test_browser_0123456789",
                STRIPE_API_BASE=local_stripe.base_url,
                STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
                PAY_LINK_SECRET=PAY_SECRET,
                PUBLIC_BASE_URL=base,
            )
        )
        server.app = app
        threading.Thread(target=server.serve_forever, daemon=True).start()
        local_stripe.configure_webhooks(base + WEBHOOK_PATH, WEBHOOK_SECRET)
        web = app.test_client()
        body = json.dumps(load_fixture("erp", "batch_small.json")).encode()
        now = datetime.now(UTC)
        web.post("/api/v1/feeds/erp", data=body, headers=signed_headers(body, at=now))
        assert credit(web)["status"] == "HOLD"
        link = app.extensions[EXTENSION].config.pay_links.url("C-100")
        SHOTS.mkdir(parents=True, exist_ok=True)
        try:
            with playwright.sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                try:
                    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="en-GB")
                    page.goto(link)
                    page.get_by_role("button", name="Pay the chosen invoices").click()
                    page.wait_for_url(local_stripe.base_url + "/c/pay/**")
                    assert "4242" in page.get_by_label("Card number").input_value()
                    page.screenshot(path=str(SHOTS / "pay-card-stripe.png"), full_page=True)

                    page.get_by_role("button", name="Pay").click()
                    page.wait_for_url(base + "/pay/**/paid**")
                    assert "Thank you" in page.get_by_role("heading").first.inner_text()
                    page.screenshot(path=str(SHOTS / "pay-card-paid.png"), full_page=True)
                finally:
                    browser.close()
        finally:
            server.shutdown()
        assert credit(web)["status"] in ("OK", "WATCH")
        app.extensions[EXTENSION].engine.dispose()
