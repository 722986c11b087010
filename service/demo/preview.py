"""The Lightning preview in the demo: where to open the package's own components against the
local org's data (docs/preview.md), signed in as the org's admin through Salesforce's
frontdoor (a local devorg session, shown on purpose)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from devorg.lightning import preview_dir
from devorg.org import ADMIN_USERNAME

Echo = Callable[[str], None]
WORKLIST_TAB = "Collections_Worklist"


def preview_links(org, account_id: str | None) -> dict[str, str]:
    """Sign-in links (frontdoor) to the worklist and, given one, an Account's record page."""
    base = org.http_url or org.url
    token = org.token_for(ADMIN_USERNAME)

    def link(path: str) -> str:
        return f"{base}/secur/frontdoor.jsp?sid={quote(token)}&retURL={quote(path)}"

    links = {"worklist": link(f"/lightning/n/{WORKLIST_TAB}")}
    if account_id:
        links["record"] = link(f"/lightning/r/Account/{account_id}/view")
    return links


def print_preview(org, echo: Echo, account_id: str | None) -> None:
    base = org.http_url or org.url
    echo("")
    if not (Path(preview_dir(org)) / "index.html").is_file():
        echo("Lightning preview: not built (`make run` builds it; or `npm run preview:build`).")
        return
    links = preview_links(org, account_id)
    echo(f"Lightning preview at {base}/lightning/ (the package's components, this org's data):")
    if "record" in links:
        echo(f"  Account page  {links['record']}")
    echo(f"  Worklist      {links['worklist']}")
