"""The package's own components in a real browser (Debian's Chromium through Playwright), built by
the LWC compiler with Salesforce's base components, reading and writing the demo's org over the UI
API, GraphQL and the Streaming API, while the worker runs. Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

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
    """A GBP customer on HOLD; with ``days_past_due_only`` another one, on HOLD only for days past
    due (a promise can lift that), so the test that lifts it leaves the first one on HOLD."""
    held = [
        number
        for number, c in sorted(stack.customers.items())
        if c["currency"] == "GBP" and c["status"] == "HOLD"
    ]
    if not days_past_due_only:
        return held[0]
    liftable = [
        number
        for number in held[1:]
        if not {"exposure", "promise"} & set(stack.customers[number]["reason"].lower().split())
    ]
    if not liftable:
        pytest.fail("the demo book has no such customer")
    return liftable[-1]


def org_statuses(stack) -> list[str]:
    rows = stack.client.query_all(
        "SELECT Credit_Status__c FROM Account WHERE ERP_Customer_Number__c != null"
    )
    return [r["Credit_Status__c"] for r in rows]


def wait_for_banner(page, text: str, timeout: int = 20_000) -> None:
    page.locator(tag("c/creditStatusBanner")).get_by_text(text, exact=False).first.wait_for(
        timeout=timeout
    )


def open_all_accounts(signed_in, link: str | None = None):
    """The worklist with every Account on Watch or Hold (the admin owns none of them)."""
    page = signed_in.open_worklist(link)
    worklist = page.locator(tag("c/collectionsWorklist"))
    worklist.get_by_text(LABELS["CC_Worklist_All"], exact=True).click()
    worklist.get_by_role("row").nth(1).wait_for()
    return page


def test_every_component_renders_with_no_console_error(signed_in, stack):
    seen: set[str] = set()
    pages = manifest()["pages"]
    modals = set(manifest().get("modals", []))
    expected = set(manifest()["renders"]) - modals
    dialogs_opened = 0

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
    if "CC_Banner_RequestReview" in LABELS:  # the credit review dialog, where the package has one
        page.get_by_role("button", name=LABELS["CC_Banner_RequestReview"]).click()
        page.get_by_role("dialog").wait_for()
        dialogs_opened += page.locator("lightning-modal").count()
        collect(page)
        page.keyboard.press("Escape")
        page.get_by_role("dialog").wait_for(state="detached")

    page = open_all_accounts(signed_in)
    collect(page)
    page.get_by_role("button", name=re.compile("Show actions")).first.click()
    page.get_by_role("menuitem", name=LABELS["CC_Worklist_LogAction"]).click()
    page.get_by_role("dialog").wait_for()
    dialogs_opened += page.locator("lightning-modal").count()
    collect(page)
    page.keyboard.press("Escape")
    assert signed_in.errors == []

    # The error panel shows only when something fails: an expired session does.
    link = signed_in.links(stack.org, None)["worklist"]
    page = open_all_accounts(signed_in, link)
    stack.org.auth.expire(parse_qs(urlsplit(link).query)["sid"][0])
    page.get_by_role("button", name=LABELS["CC_Worklist_Refresh"]).click()
    page.get_by_text(LABELS["CC_Worklist_LoadError"]).wait_for()
    collect(page)
    assert seen == expected, f"never rendered: {sorted(expected - seen)}"
    # A LightningModal subclass renders as <lightning-modal>: each dialog above opened one.
    assert dialogs_opened >= len(modals), f"modals {sorted(modals)}, dialogs {dialogs_opened}"


def customer_currency_supported() -> bool:
    """Whether the components read the Account's currency at all (issue 17, must-have 2)."""
    sources = [p for p in package_files("*.js") if "lwc" in p.parts and "__tests__" not in p.parts]
    return any(re.search(r"Account\.\w*Currency\w*", p.read_text()) for p in sources)


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
    log.locator(tag("c/collectionActionTimeline")).get_by_text("Promise to Pay").first.wait_for()
    screenshot(page, "preview-promise-watch.png")
    assert signed_in.errors == []


def overdue_column(page) -> list[Decimal]:
    rows = page.locator(tag("c/collectionsWorklist")).get_by_role("row")
    header = [c.strip() for c in rows.nth(0).get_by_role("columnheader").all_inner_texts()]
    index = next(i for i, h in enumerate(header) if LABELS["CC_Worklist_Overdue"] in h)
    values = []
    for i in range(1, rows.count()):
        cells = rows.nth(i).locator("th, td").all_inner_texts()
        values.append(money(cells[index]))
    return values


def status_column(page) -> list[str]:
    rows = page.locator(tag("c/collectionsWorklist")).get_by_role("row")
    return [rows.nth(i).inner_text() for i in range(1, rows.count())]


def test_the_worklist_filters_and_sorts(signed_in, stack):
    page = open_all_accounts(signed_in)
    worklist = page.locator(tag("c/collectionsWorklist"))
    statuses = org_statuses(stack)
    not_ok = sum(1 for status in statuses if status in ("WATCH", "HOLD"))
    held = statuses.count("HOLD")
    expect(worklist.locator("tbody tr")).to_have_count(not_ok)
    screenshot(page, "preview-worklist.png")

    worklist.get_by_role("combobox", name=LABELS["CC_Worklist_StatusFilter"]).click()
    worklist.get_by_role("option", name=LABELS["CC_Status_HOLD"], exact=True).click()
    expect(worklist.locator("tbody tr")).to_have_count(held)
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
    assert all(amount > 0 for amount in first)  # every account on hold has something overdue
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
        page = open_all_accounts(signed_in)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert serious == [], json.dumps(serious, indent=2)
