"""The pay page's routes: public (the signed token is the credential), HTML, never a stack trace.

* ``GET /pay/<token>``: open items, the amount that releases a hold, forms.
* ``POST /pay/<token>/checkout``: the chosen invoices' amount, computed now, paid through a
  Stripe Checkout Session (``service.card_payments.checkout``): a redirect to Stripe's page.
  Without ``STRIPE_API_KEY`` a clear "not configured" page (503), and when Stripe cannot be
  reached a "try again" page (502). ``/paid`` and ``/cancelled`` are where Stripe sends back.
* ``POST /pay/<token>/dispute`` and ``/promise``: recorded as collection actions.
* ``GET /pay/<token>/statement.pdf``: the statement.

Expired, tampered, unknown and paid links each get their own page (410, 403, 404, 410).
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from flask import Blueprint, Response, redirect, render_template, request

from service.card_payments.checkout import (
    CheckoutUnavailable,
    Purchase,
    client,
    create_session,
)
from service.db import transaction
from service.extensions import services
from service.paylinks import PayLinkRefused, Refusal, link_id
from service.portal import actions
from service.portal.book import LinkRefused, Page, chosen_total, open_page
from service.portal.statement import statement_pdf
from service.portal.texts import Words, choose_language

log = logging.getLogger(__name__)

blp = Blueprint("portal", __name__, url_prefix="/pay", template_folder="templates")

PROMISE_HORIZON_DAYS = 365
CENT = Decimal("0.01")
_REFUSALS = {Refusal.EXPIRED: ("expired", 410), Refusal.TAMPERED: ("tampered", 403)}


class _Problem(Exception):
    """A form the customer must correct (400, the page again with the message)."""


def _public(view):
    # service.api.auth lets a view marked so through without a bearer token: the token in the
    # path is the credential here. (Set directly: the portal and the API are sibling layers.)
    view.is_public = True
    return view


def _page(token: str, session) -> tuple[Page, Words]:
    svc = services()
    links = svc.config.pay_links
    if links is None:
        raise LinkRefused("unknown", 404)
    try:
        claims = links.verify(token, now=svc.clock())
    except PayLinkRefused as refused:
        raise LinkRefused(*_REFUSALS[refused.reason]) from None
    page = open_page(session, claims, svc.clock().date())
    return page, Words(choose_language(page.language, request.accept_languages))


def _refusal_page(refused: LinkRefused):
    words = Words(choose_language(None, request.accept_languages))
    html = render_template("portal/refused.html", w=words, reason=refused.reason)
    return html, refused.status


def _render(page: Page, words: Words, token: str, *, notice=None, problem=None, status=200):
    html = render_template(
        "portal/page.html",
        page=page,
        w=words,
        token=token,
        notice=notice,
        problem=problem,
        reasons=actions.DISPUTE_REASONS,
        today=page.as_of,
        # One rendering, one payment attempt: its Checkout idempotency key (pressing twice).
        attempt=secrets.token_hex(16),
    )
    return html, status


@blp.errorhandler(LinkRefused)
def link_refused(refused: LinkRefused):
    return _refusal_page(refused)


@blp.route("/<token>", methods=["GET"])
@_public
def pay_page(token: str):
    with services().sessions() as session:
        page, words = _page(token, session)
    return _render(page, words, token)


@blp.route("/<token>/statement.pdf", methods=["GET"])
@_public
def statement(token: str):
    with services().sessions() as session:
        page, words = _page(token, session)
    pdf = statement_pdf(page, words)
    name = f"statement-{page.number}-{page.as_of.isoformat()}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@blp.route("/<token>/checkout", methods=["POST"])
@_public
def checkout(token: str):
    svc = services()
    with svc.sessions() as session:
        page, words = _page(token, session)
    chosen = request.form.getlist("invoice")
    if request.form.get("all"):
        chosen = [i.external_id for i in page.items if i.kind == "invoice"]
    amount = chosen_total(page, chosen)
    if amount <= 0:
        return _render(page, words, token, problem=words.t("nothing_chosen"), status=400)
    shown = words.money(amount, page.currency)
    if not svc.config.stripe_api_key:
        html = render_template(
            "portal/checkout.html", page=page, w=words, token=token, amount=shown, chosen=chosen
        )
        return html, 503
    wanted = set(chosen)
    items = [i for i in page.items if i.kind == "invoice" and i.external_id in wanted]
    purchase = Purchase(
        customer_number=page.number,
        receivables=[i.external_id for i in items],
        numbers=[i.number for i in items],
        amount=amount,
        currency=page.currency,
        pay_link=link_id(token),
        attempt=request.form.get("attempt") or secrets.token_hex(16),
    )
    base = svc.config.public_base_url or request.host_url.rstrip("/")
    try:
        url = create_session(
            client(svc.config.stripe_api_key, svc.config.stripe_api_base),
            purchase,
            success_url=f"{base}/pay/{token}/paid?session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{base}/pay/{token}/cancelled",
        )
    except CheckoutUnavailable as exc:
        log.warning("stripe checkout failed for customer %s: %s", page.number, exc)
        html = render_template(
            "portal/checkout.html", page=page, w=words, token=token, amount=shown, failed=True
        )
        return html, 502
    return redirect(url, 303)


@blp.route("/<token>/paid", methods=["GET"])
@_public
def paid(token: str):
    """Where Stripe sends the customer back after paying: thanks, for any valid link (its
    invoices may all be settled by now, so the open items are not read)."""
    svc = services()
    links = svc.config.pay_links
    if links is None:
        raise LinkRefused("unknown", 404)
    try:
        links.verify(token, now=svc.clock())
    except PayLinkRefused as refused:
        raise LinkRefused(*_REFUSALS[refused.reason]) from None
    words = Words(choose_language(None, request.accept_languages))
    return render_template("portal/paid.html", w=words, token=token)


@blp.route("/<token>/cancelled", methods=["GET"])
@_public
def cancelled(token: str):
    with services().sessions() as session:
        page, words = _page(token, session)
    return _render(page, words, token, notice=words.t("payment_cancelled"))


def _amount(text: str | None, limit: Decimal, words: Words) -> Decimal:
    try:
        amount = Decimal((text or "").strip().replace(",", "."))
    except InvalidOperation:
        raise _Problem(words.t("dispute_amount")) from None
    if not amount.is_finite() or amount <= 0 or amount > limit:
        raise _Problem(words.t("dispute_amount"))
    if amount != amount.quantize(CENT):  # 12.50 and 12.5000 are fine, 12.505 is not
        raise _Problem(words.t("dispute_amount"))
    return amount.quantize(CENT)


@blp.route("/<token>/dispute", methods=["POST"])
@_public
def dispute(token: str):
    svc = services()
    with transaction(svc.sessions) as session:
        page, words = _page(token, session)
        item = page.item(request.form.get("invoice", ""))
        reason = request.form.get("reason", "")
        try:
            if item is None or item.kind != "invoice":
                raise _Problem(words.t("dispute_invoice"))
            if reason not in actions.DISPUTE_REASONS:
                raise _Problem(words.t("dispute_reason"))
            amount = _amount(request.form.get("amount"), item.open_amount, words)
        except _Problem as problem:
            return _render(
                page, words, token, problem=words.t("bad_input", problem=problem), status=400
            )
        actions.record_dispute(
            session, page.customer_id, item.id, reason, amount, page.as_of, svc.policy
        )
    notice = words.t(
        "thanks_dispute", number=item.number, amount=words.money(amount, item.currency)
    )
    return _after(token, notice)


@blp.route("/<token>/promise", methods=["POST"])
@_public
def promise(token: str):
    svc = services()
    with transaction(svc.sessions) as session:
        page, words = _page(token, session)
        try:
            try:
                on = date.fromisoformat(request.form.get("date", ""))
            except ValueError:
                raise _Problem(words.t("promise_date")) from None
            if not page.as_of <= on <= page.as_of + timedelta(days=PROMISE_HORIZON_DAYS):
                raise _Problem(words.t("promise_date"))
            amount = _amount(request.form.get("amount"), page.total_open, words)
        except _Problem as problem:
            return _render(
                page, words, token, problem=words.t("bad_input", problem=problem), status=400
            )
        actions.record_promise(session, page.customer_id, amount, on, page.as_of, svc.policy)
    notice = words.t(
        "thanks_promise", amount=words.money(amount, page.currency), date=words.day(on)
    )
    return _after(token, notice)


def _after(token: str, notice: str):
    """The page again, read after the action committed (the status may have changed)."""
    with services().sessions() as session:
        try:
            page, words = _page(token, session)
        except LinkRefused as refused:  # the dispute took the last open amount out
            return _refusal_page(refused)
    return _render(page, words, token, notice=notice)
