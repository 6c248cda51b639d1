"""The member's BrandPay pages: link, redirect handler, methods, withdrawal."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from wallet.errors import WalletError
from wallet.extensions import limiter
from wallet.forms import ConfirmForm
from wallet.security import safe_next
from wallet.services import brandpay
from wallet.templating import fixed_url

bp = Blueprint("wallet", __name__)

LINK_MODES = ("link", "add")
# Every BrandPay window may call the redirect handler (a consent or a registration,
# also inside a payment or the settings): each records a pending attempt first.
# "mandate": BrandPay's billing agreement on a mandate's approval page (issue 15).
ATTEMPT_MODES = (*LINK_MODES, "settings", "pay", "mandate")
AFTER_LINK_KEY = "after_link"
LINK_MODE_KEY = "link_mode"


def public_url_for(endpoint: str, **values: Any) -> str:
    """An absolute URL Toss can send the browser to (PUBLIC_URL, else this host).

    A URL without arguments (the BrandPay redirect URL, on every checkout) comes from
    `fixed_url` (issue 16)."""
    base = current_app.config.get("PUBLIC_URL") or request.host_url
    path = url_for(endpoint, **values) if values else fixed_url(endpoint)
    return str(base).rstrip("/") + path


@bp.app_context_processor
def _link_summary() -> dict[str, Any]:
    """`brandpay_link()` in templates: the member's link row (status, counts), or None."""

    def brandpay_link() -> Any:
        if not current_user.is_authenticated:
            return None
        return brandpay.link_of(current_user)

    def brandpay_redirect_url() -> str:
        return public_url_for("wallet.callback")

    return {
        "brandpay_link": brandpay_link,
        "brandpay_redirect_url": brandpay_redirect_url,
    }


def browser_navigation() -> bool:
    """A person's browser opening the page (not the SDK, a script or a test client):
    such a page may render at once and finish its slow part afterwards."""
    return request.headers.get("Sec-Fetch-Mode") == "navigate"


@bp.get("/wallet/link")
@login_required
def link() -> ResponseReturnValue:
    """Explain linking and offer the button that starts it."""
    return render_template("wallet/link.html", link=brandpay.link_of(current_user))


@bp.post("/wallet/link")
@login_required
@limiter.limit("10 per minute")
def start_link() -> ResponseReturnValue:
    """Record a pending attempt, then open the SDK page (link or add a method)."""
    mode = request.form.get("mode", "link")
    if not ConfirmForm().validate_on_submit() or mode not in LINK_MODES:
        raise WalletError(_("Start linking from your wallet page."))
    _record_attempt(mode, request.form.get("next"))
    return redirect(url_for("wallet.connect", mode=mode), code=303)


def _record_attempt(mode: str, next_url: str | None) -> None:
    brandpay.start_link_attempt(current_user)
    # Where to go once linked (e.g. back to the checkout that sent them); same-site only.
    session[AFTER_LINK_KEY] = safe_next(next_url, url_for("wallet.methods"))
    session[LINK_MODE_KEY] = mode


@bp.post("/wallet/link/attempt")
@login_required
@limiter.limit("30 per minute")
def record_attempt() -> ResponseReturnValue:
    """JSON (CSRF header): a BrandPay window is about to open on this page."""
    data = request.get_json(silent=True)
    data = data if isinstance(data, dict) else {}
    mode, next_url = data.get("mode"), data.get("next")
    if mode not in ATTEMPT_MODES or not isinstance(next_url, str | None):
        return jsonify(code="INVALID_REQUEST", message=_("Reload the page.")), 400
    _record_attempt(mode, next_url)
    return jsonify(ok=True)


def _fetched_by_sdk() -> bool:
    """Whether the SDK called the redirect handler with fetch (cookies included),
    rather than sending the whole page there (contract §2: the transport is open)."""
    return request.headers.get("Sec-Fetch-Mode") in ("cors", "same-origin") and (
        request.headers.get("Sec-Fetch-Dest") == "empty"
    )


def _linked_message(
    mode: str | None, target: str, was_linked: bool, fetched: bool
) -> str | None:
    if mode == "mandate":
        # Fetched: the approval page goes on by itself. As a whole page: back to it.
        if fetched:
            return None
        return _("You agreed to BrandPay's automatic payment terms. Approve to finish.")
    if mode in ("add", "settings") or (mode == "pay" and was_linked):
        return _("The payment method was added.")
    if mode == "pay" and fetched:  # the payment goes on in the same window
        return _("Your BrandPay wallet is now linked.")
    if target == url_for("wallet.methods"):
        return _("BrandPay is linked. Your payment methods are below.")
    return _("BrandPay is linked. You can pay now.")


@bp.get("/wallet/connect")
@login_required
def connect() -> ResponseReturnValue:
    """The SDK launcher: static/js/brandpay.js opens BrandPay with data-* settings."""
    mode = request.args.get("mode", "link")
    if mode not in LINK_MODES:
        mode = "link"
    # addPaymentMethod resolves once the window is done (fetch mode: the redirect
    # handler was already called); then go where the member was headed.
    done = safe_next(session.get(AFTER_LINK_KEY), url_for("wallet.methods"))
    return render_template("wallet/connect.html", mode=mode, done_url=done)


@bp.get("/brandpay/callback")
@limiter.limit("20 per minute")
def callback() -> ResponseReturnValue:
    """contract §2 redirect `?code&customerKey`: refused unless it is this member's."""
    member = current_user if current_user.is_authenticated else None
    fetched = _fetched_by_sdk()
    link = brandpay.link_of(member) if member is not None else None
    was_linked = link is not None and link.status == "linked"
    try:
        brandpay.complete_link(
            member, request.args.get("code"), request.args.get("customerKey")
        )
    except (brandpay.LinkRefusedError, brandpay.LinkFailedError) as exc:
        if fetched:  # the SDK rejects its call; the page says what to do
            return jsonify(code=exc.code, message=exc.message), exc.status
        page = render_template("wallet/callback_refused.html", message=exc.message)
        return page, exc.status
    mode = session.pop(LINK_MODE_KEY, None)
    target = safe_next(session.pop(AFTER_LINK_KEY, None), url_for("wallet.methods"))
    message = _linked_message(mode, target, was_linked, fetched)
    if message:
        flash(message, "success")
    if fetched:
        # The SDK goes on in its window (e.g. to the payment): answer at once, no
        # page; the message waits in the session for the next page.
        return jsonify(linked=True)
    return redirect(target)


@bp.get("/wallet/methods")
@login_required
def methods() -> ResponseReturnValue:
    """Cards and accounts, live from Toss; empty, re-link and error states.

    Issue 14: in a browser the page answers at once and loads Toss's list from
    `methods_list`; `?sync=1` (the no-script link) renders it in the page.
    """
    link = brandpay.link_of(current_user)
    linked = link is not None and link.status == "linked"
    if linked and browser_navigation() and not request.args.get("sync"):
        return render_template("wallet/methods.html", overview=None, link=link)
    overview = brandpay.methods_overview_of(current_user, link)
    page = render_template("wallet/methods.html", overview=overview, link=link)
    return page, 503 if overview.unavailable else 200


@bp.get("/wallet/methods/list")
@login_required
def methods_list() -> ResponseReturnValue:
    """JSON for the methods page: Toss's live list, rendered as the page shows it."""
    overview = brandpay.methods_overview(current_user)
    html = render_template("wallet/_methods_list.html", overview=overview)
    body = jsonify(html=html, count=overview.count, unavailable=overview.unavailable)
    return body, 503 if overview.unavailable else 200


@bp.post("/wallet/methods/remove")
@login_required
def remove_method() -> ResponseReturnValue:
    """Remove one method at Toss (confirmed in the browser first)."""
    # CSRFProtect (global) has already refused a POST without a valid token.
    try:
        removed = brandpay.remove_method(
            current_user,
            request.form.get("kind", ""),
            request.form.get("method_key", ""),
        )
    except WalletError as exc:
        flash(exc.message, "error")
        return redirect(url_for("wallet.methods"), code=303)
    flash(_("%(name)s was removed.", name=removed.alias or _("The method")), "success")
    return redirect(url_for("wallet.methods"), code=303)


@bp.get("/wallet/withdraw")
@login_required
def withdraw() -> ResponseReturnValue:
    """Explain what leaving BrandPay does, and ask to confirm."""
    return render_template("wallet/withdraw.html", link=brandpay.link_of(current_user))


@bp.post("/wallet/withdraw")
@login_required
def confirm_withdraw() -> ResponseReturnValue:
    """Withdraw at Toss, then forget the tokens; payment history stays."""
    try:
        brandpay.withdraw(current_user)
    except WalletError as exc:
        flash(exc.message, "error")
        return redirect(url_for("wallet.withdraw"), code=303)
    flash(_("You have left BrandPay. Your payment history is kept."), "success")
    return redirect(url_for("portal.home"), code=303)
