"""The package's own components in a real browser (Debian's Chromium through Playwright), built by
the LWC compiler with Salesforce's base components, reading and writing the demo's org over the UI
API, GraphQL and the Streaming API, while the worker runs. Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.preview.conftest import CHROMIUM, DIST, ROOT, labels, package_files, screenshot

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium found: the preview's browser tests are skipped (apt-get install chromium)",
)

LABELS = labels()
LIVE_SECONDS = 45_000  # ms: worker round trip plus the page's streaming long poll
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def tag(name: str) -> str:
    namespace, component = name.split("/")
    return f"{namespace}-" + re.sub(r"[A-Z]", lambda m: f"-{m.group(0).lower()}", component)


def manifest() -> dict:
    return json.loads((DIST / "manifest.json").read_text())


def org_account(stack, number: str) -> dict:
    account_id = stack.accounts[number]
    return stack.client.rest("GET", f"sobjects/Account/{account_id}")


def money(text: str) -> Decimal:
    return Decimal(re.sub(r"[^\d.\-]", "", text) or "0")


def held_gbp(stack, *, days_past_due_only: bool = False) -> str:
    """A GBP customer on HOLD (only for days past due, when asked: a promise can lift that)."""
    for number, c in sorted(stack.customers.items()):
        reason = c["reason"].lower()
        if c["currency"] != "GBP" or c["status"] != "HOLD":
            continue
        if days_past_due_only and ("exposure" in reason or "promise" in reason):
            continue
        return number
    pytest.fail("the demo book has no such customer")


def wait_for_banner(page, text: str, timeout: int = 20_000) -> None:
    page.locator(tag("c/creditStatusBanner")).get_by_text(text, exact=False).first.wait_for(
        timeout=timeout
    )


def test_every_component_renders_with_no_console_error(signed_in, stack):
    seen: set[str] = set()
    pages = manifest()["pages"]
    expected = set(manifest()["renders"])

    def collect(page):
        for name in expected:
            if page.locator(tag(name)).count() > 0:
                seen.add(name)

    number = held_gbp(stack)
    page = signed_in.open_record(stack.accounts[number])
    wait_for_banner(page, LABELS["CC_Status_HOLD"])
    record_page = next(n for n, comps in pages.items() if "c/creditStatusBanner" in comps)
    for name in pages[record_page]:
        page.locator(tag(name)).first.wait_for()
    page.get_by_text(LABELS["CC_Log_TimelineEmpty"]).or_(
        page.locator(".slds-timeline")
    ).first.wait_for()
    page.locator(tag("c/openReceivables")).get_by_role("row").nth(1).wait_for()
    collect(page)
    screenshot(page, "preview-account.png")

    page = signed_in.open_worklist()
    page.get_by_role("row").nth(1).wait_for()
    collect(page)
    page.get_by_text(LABELS["CC_Worklist_All"], exact=True).click()
    page.get_by_role("button", name=re.compile("Show actions")).first.click()
    page.get_by_role("menuitem", name=LABELS["CC_Worklist_LogAction"]).click()
    page.get_by_role("dialog").wait_for()
    collect(page)
    page.keyboard.press("Escape")
    assert signed_in.errors == []

    # The error panel shows only when something fails: an expired session does.
    sid = parse_qs(urlsplit(signed_in.links(stack.org, None)["worklist"]).query)["sid"][0]
    page = signed_in.open_worklist()
    page.get_by_role("row").nth(1).wait_for()
    stack.org.auth.expire(sid)
    page.get_by_role("button", name=LABELS["CC_Worklist_Refresh"]).click()
    page.get_by_text(LABELS["CC_Worklist_LoadError"]).wait_for()
    collect(page)
    assert seen == expected, f"never rendered: {sorted(expected - seen)}"


def customer_currency_supported() -> bool:
    banner = next(iter(package_files("creditStatusBanner.js")), None)
    return bool(banner) and bool(
        re.search(r"@salesforce/schema/Account\.\w*Currency\w*", Path(banner).read_text())
    )


@pytest.mark.skipif(
    not customer_currency_supported(),
    reason="the banner formats amounts in the user's currency until issue 17's must-have 2 lands",
)
def test_banner_shows_hold_and_amount_to_release_in_the_customers_currency(signed_in, stack):
    number = held_gbp(stack)
    account = org_account(stack, number)
    page = signed_in.open_record(account["Id"])
    wait_for_banner(page, LABELS["CC_Status_HOLD"])
    release = Decimal(str(account["Amount_To_Release__c"]))
    assert release > 0
    banner = page.locator(tag("c/creditStatusBanner"))
    banner.get_by_text(f"£{release:,.2f}").first.wait_for()
    assert "€" not in banner.inner_text() and "$" not in banner.inner_text()


def test_banner_shows_hold_with_the_amount_to_release(signed_in, stack):
    number = held_gbp(stack)
    account = org_account(stack, number)
    page = signed_in.open_record(account["Id"])
    wait_for_banner(page, LABELS["CC_Status_HOLD"])
    release = Decimal(str(account["Amount_To_Release__c"]))
    banner = page.locator(tag("c/creditStatusBanner"))
    banner.get_by_text(f"{release:,.2f}").first.wait_for()
    assert signed_in.errors == []


def test_a_promise_logged_in_the_action_log_turns_the_banner_to_watch_without_a_reload(
    signed_in, stack
):
    number = held_gbp(stack, days_past_due_only=True)
    account = org_account(stack, number)
    page = signed_in.open_record(account["Id"])
    wait_for_banner(page, LABELS["CC_Status_HOLD"])
    page.evaluate("window.__notReloaded = true")

    log = page.locator(tag("c/collectionActionLog"))
    log.get_by_role("combobox", name=LABELS["CC_Log_Type"]).click()
    log.get_by_role("option", name="Promise to Pay").click()
    promised = stack.today + timedelta(days=7)
    log.get_by_label(LABELS["CC_Log_PromisedDate"]).fill(promised.strftime("%b %-d, %Y"))
    log.get_by_label(LABELS["CC_Log_PromisedAmount"]).fill(f"{account['Overdue_Amount__c']:.2f}")
    log.get_by_role("button", name=LABELS["CC_Log_Submit"]).click()

    wait_for_banner(page, LABELS["CC_Status_WATCH"], timeout=LIVE_SECONDS)
    assert page.evaluate("window.__notReloaded") is True
    assert org_account(stack, number)["Credit_Status__c"] == "WATCH"
    log.get_by_text("Promise to Pay").first.wait_for()
    screenshot(page, "preview-promise-watch.png")
    assert signed_in.errors == []


def overdue_column(page) -> list[Decimal]:
    rows = page.locator(tag("c/collectionsWorklist")).get_by_role("row")
    header = [c.strip() for c in rows.nth(0).get_by_role("columnheader").all_inner_texts()]
    index = next(i for i, h in enumerate(header) if h.startswith(LABELS["CC_Worklist_Overdue"]))
    values = []
    for i in range(1, rows.count()):
        cells = rows.nth(i).locator("th, td").all_inner_texts()
        values.append(money(cells[index]))
    return values


def status_column(page) -> list[str]:
    rows = page.locator(tag("c/collectionsWorklist")).get_by_role("row")
    return [rows.nth(i).inner_text() for i in range(1, rows.count())]


def test_the_worklist_filters_and_sorts(signed_in, stack):
    page = signed_in.open_worklist()
    worklist = page.locator(tag("c/collectionsWorklist"))
    worklist.get_by_text(LABELS["CC_Worklist_All"], exact=True).click()
    page.get_by_role("row").nth(1).wait_for()
    not_ok = sum(1 for c in stack.customers.values() if c["status"] in ("WATCH", "HOLD"))
    held = sum(1 for c in stack.customers.values() if c["status"] == "HOLD")
    page.wait_for_function(
        f"() => document.querySelectorAll('{tag('c/collectionsWorklist')} tbody tr').length === {not_ok}"
    )
    screenshot(page, "preview-worklist.png")

    worklist.get_by_role("combobox", name=LABELS["CC_Worklist_StatusFilter"]).click()
    worklist.get_by_role("option", name=LABELS["CC_Status_HOLD"], exact=True).click()
    page.wait_for_function(
        f"() => document.querySelectorAll('{tag('c/collectionsWorklist')} tbody tr').length === {held}"
    )
    rows = status_column(page)
    assert len(rows) == held
    assert all(LABELS["CC_Status_HOLD"] in row for row in rows)

    sort = worklist.get_by_role(
        "button", name=re.compile(r"Sort by:?\s*" + re.escape(LABELS["CC_Worklist_Overdue"]))
    ).first
    sort.click()
    first = overdue_column(page)
    sort.click()
    second = overdue_column(page)
    assert sorted(first) == sorted(second) and len(first) == held
    assert {tuple(first), tuple(second)} == {
        tuple(sorted(first)),
        tuple(sorted(first, reverse=True)),
    }
    assert signed_in.errors == []


@pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed (make node)")
@pytest.mark.parametrize("where", ["record", "worklist"])
def test_no_serious_accessibility_violations(signed_in, stack, where):
    if where == "record":
        page = signed_in.open_record(stack.accounts[held_gbp(stack)])
        wait_for_banner(page, LABELS["CC_Status_HOLD"])
        page.locator(tag("c/openReceivables")).get_by_role("row").nth(1).wait_for()
    else:
        page = signed_in.open_worklist()
        page.get_by_role("row").nth(1).wait_for()
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert serious == [], json.dumps(serious, indent=2)
