"""Each reminder template rendered and opened in a real browser (Playwright driving Debian's
Chromium, as the pay page's tests do): nothing overflows a phone's width, the pay button is a
link to the pay page, and screenshots go to docs/screenshots/dunning-*.png."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from service.credit import Promise, default_policy
from service.dunning.planning import DunningCase, plan
from service.dunning.render import Company, render
from tests.dunning.books import MONDAY, customer, invoice

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
COMPANY = Company("Northwind Supplies GmbH", "Hafenstraße 1; 20457 Hamburg; Germany")
LINK = "https://pay.northwind.example/pay/eyJhbGciOiJIUzI1NiJ9.demo"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium found: browser tests of the reminders skipped (apt-get install chromium)",
)

BOOKS = {
    "friendly": (invoice(1, 5, "1240.00"), invoice(2, 4, "310.50")),
    "reminder": (invoice(1, 18, "1240.00"), invoice(2, 16, "310.50"), invoice(3, 2, "99.90")),
    "final": (invoice(1, 33, "1240.00"), invoice(2, 16, "310.50")),
    "pre_hold": (invoice(1, 52, "8400.00"), invoice(2, 31, "1240.00"), invoice(3, 6, "310.50")),
}


def _reminder(template: str):
    broken = ()
    if template == "final":  # the final notice of a customer who broke a promise
        promised = MONDAY - timedelta(days=8)
        broken = (
            Promise(
                "p",
                __import__("decimal").Decimal("1240.00"),
                promised,
                promised - timedelta(days=9),
            ),
        )
    (reminder,) = plan(
        DunningCase(customer(*BOOKS[template], promises=broken)), default_policy(), MONDAY
    ).reminders
    assert reminder.level.template == template
    return reminder


@pytest.mark.parametrize("language", ["en", "de"])
def test_each_template_renders_in_chromium(language, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for template in BOOKS:
                mail = render(_reminder(template), customer_name="Acme Trading Ltd", language=language,
                              default_language="en", company=COMPANY, pay_link=LINK)  # fmt: skip
                path = tmp_path / f"{template}-{language}.html"
                path.write_text(mail.html, encoding="utf-8")
                for width, suffix in ((700, ""), (390, "-phone")):
                    page = browser.new_page(viewport={"width": width, "height": 900})
                    page.goto(path.as_uri())
                    assert page.locator("html").get_attribute("lang") == language
                    button = page.get_by_role("link").filter(has_text="€")
                    assert button.get_attribute("href") == LINK
                    scroll = page.evaluate("document.documentElement.scrollWidth")
                    assert scroll <= width, f"{template} overflows {width}px"
                    if suffix == "" or language == "en":
                        page.screenshot(
                            path=str(SHOTS / f"dunning-{template}-{language}{suffix}.png"),
                            full_page=True,
                        )
                    page.close()
        finally:
            browser.close()
