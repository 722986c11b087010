"""The demo's second story: a customer on HOLD pays by card and its Account turns OK.

``start_demo_stripe`` starts the local Stripe (``devstripe``) and gives the settings that point
the service at it: pay links served by the demo's web app, Checkout through the stand-in, its
webhooks signed for this run. ``print_pay_story`` prints the pay link of a customer on HOLD;
opening it, paying with the stand-in's test card and watching the Account change in the local
org (the sync's watcher prints it) is the story.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from devstripe.server import TEST_CARD, DevStripe

WEBHOOK_PATH = "/api/v1/webhooks/stripe"

Echo = Callable[[str], None]


def start_demo_stripe(base_url: str) -> tuple[DevStripe, dict[str, str]]:
    """The stand-in, sending its webhooks to ``base_url``, and the service's settings for it."""
    secret = "whsec_demo_" + secrets.token_urlsafe(24)
    stand_in = DevStripe(base_url + WEBHOOK_PATH, secret).start()
    return stand_in, {
        "PAY_LINK_SECRET": secrets.token_urlsafe(40),
        "PUBLIC_BASE_URL": base_url,
        "STRIPE_API_KEY": "sk_test_demo_" + secrets.token_urlsafe(12),
        "STRIPE_API_BASE": stand_in.base_url,
        "STRIPE_WEBHOOK_SECRET": secret,
    }


def print_pay_story(echo: Echo, pay_link: str | None, number: str, stand_in: DevStripe) -> None:
    if pay_link is None:
        return
    echo("")
    echo(f"Pay by card as {number} (on HOLD), then watch its Account turn OK in Salesforce:")
    echo(f"  pay page      {pay_link}")
    echo(f"  test card     {TEST_CARD}   (the local Stripe at {stand_in.base_url})")
    echo("")
