"""The pay page's routes: public (the signed token is the credential), HTML, never a stack trace.

* ``GET /pay/<token>``: open items, the amount that releases a hold, forms.
* ``POST /pay/<token>/checkout``: the chosen invoices' amount, computed now. Card payments are
  the seam for Stripe Checkout: without ``STRIPE_API_KEY`` a clear "not configured" page.
* ``POST /pay/<token>/dispute`` and ``/promise``: recorded as collection actions.
* ``GET /pay/<token>/statement.pdf``: the statement.

Expired, tampered, unknown and paid links each get their own page (410, 403, 404, 410).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from flask import Blueprint, Response, render_template, request

from service.db import transaction
from service.extensions import services
from service.paylinks import PayLinkRefused, Refusal
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
    # The seam for Stripe Checkout (issue 14, must-have 3): the amount above is what it charges.
    status = 503 if not svc.config.stripe_api_key else 501
    html = render_template(
        "portal/checkout.html", page=page, w=words, token=token, amount=shown, chosen=chosen
    )
    return html, status


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
