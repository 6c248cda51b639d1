"""BrandPay's hosted windows: registration, payment, settings, password, one-touch, billing.

Each page serves a window (`?window=<id>`, made by a shim call, see windows.py) and
ends it with the redirects of contract §2 (`redirectUrl?code&customerKey`) and §4
(`successUrl?amount&orderId&paymentKey`, `failUrl?code&message[&orderId]`), or the
overlay's relay to the shim. `pay`, `register` and `settings` also still open from
plain query parameters (`?clientKey&customerKey&redirectUrl...`): the v1
"navigate" transport and `SandboxServer`'s browser steps use that form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request
from flask.typing import ResponseReturnValue

from .api import english
from .catalog import (
    BANKS,
    DOC_CLIENT_KEY,
    INSTALLMENT_MINIMUM,
    INSTALLMENT_MONTHS,
    ORDER_ID_PATTERN,
    SCOPE_LABELS,
    SCOPES,
    TERMS,
    TEST_CARDS,
    TEST_PIN,
    card_for,
    mask_account,
    mask_card,
)
from .control import sandbox
from .errors import ApiError, message
from .windows import (
    Outcome,
    finish,
    load_window,
    new_window,
    page_url,
    with_query,
)

bp = Blueprint("hosted", __name__)

METHOD_TYPES = {"카드": "CARD", "계좌": "ACCOUNT", "CARD": "CARD", "ACCOUNT": "ACCOUNT"}
BILLING_SCOPE = "BILLING"
LEGACY_PAY_FIELDS = (
    "amount",
    "orderId",
    "orderName",
    "successUrl",
    "failUrl",
    "methodId",
    "taxFreeAmount",
    "cardInstallmentPlan",
    "customerEmail",
)


def _is_http_url(url: str | None) -> bool:
    return bool(url) and urlsplit(url or "").scheme in ("http", "https")


def registered_redirect_urls() -> list[str]:
    """SANDBOX_REDIRECT_URLS as a list (comma-separated string or list)."""
    raw = current_app.config.get("SANDBOX_REDIRECT_URLS") or []
    if isinstance(raw, str):
        raw = raw.split(",")
    return [u.strip() for u in raw if u.strip()]


def resolve_redirect_url(given: str | None) -> str:
    """contract §2: registered URLs only; with none registered, any loopback URL."""
    urls = registered_redirect_urls()
    if not given:
        if len(urls) == 1:  # contract §2: omitted -> the registered one
            return urls[0]
        raise ApiError("INVALID_PARAMETERS" if urls else "NOT_REGISTERED_REDIRECT_URL")
    if urls:
        if given not in urls:
            raise ApiError("NOT_REGISTERED_REDIRECT_URL")
        return given
    parts = urlsplit(given)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
        raise ApiError("NOT_REGISTERED_REDIRECT_URL")
    return given


def session(source: Any, need_redirect: bool = True) -> dict[str, Any]:
    """Validate clientKey/customerKey/redirectUrl given as query parameters."""
    client_key = source.get("clientKey", "")
    customer_key = source.get("customerKey", "")
    if "_sk_" in client_key or "_sk_" in customer_key:
        raise ApiError("INSECURE_KEY_USAGE")  # contract §10
    merchant = sandbox().engine.merchant_by_client(client_key)
    if merchant is None:
        raise ApiError("UNAUTHORIZED_KEY")
    sandbox().engine.check_customer_key(customer_key)
    return_url = source.get("returnUrl", "")
    redirect_url = source.get("redirectUrl")
    if need_redirect or redirect_url:
        redirect_url = resolve_redirect_url(redirect_url)
    return {
        "mid": merchant["mId"],
        "clientKey": client_key,
        "customerKey": customer_key,
        "redirectUrl": redirect_url or "",
        "returnUrl": return_url if _is_http_url(return_url) else "",
    }


def error_page(exc: ApiError) -> ResponseReturnValue:
    """What the SDK would throw, shown as a page."""
    text = exc.detail or message(exc.code, english())
    return render_template("error.html", code=exc.code, message=text), exc.status


def page_error(exc: ApiError) -> dict[str, str]:
    """An inline error on a hosted page (the buyer can correct and retry)."""
    return {"code": exc.code, "message": exc.detail or message(exc.code)}


def sdk_method(m: dict[str, Any]) -> dict[str, Any]:
    """A method as the v1 SDK returns it (no methodKey; icons, isAvailable)."""
    base = sandbox().engine.public_url
    icon = f"{base}/_hosted/static/method.svg"
    common = {
        "id": m["id"],
        "alias": m["alias"],
        "registeredAt": sandbox().clock.iso(m["registeredAt"]),
        "status": m["status"],
        "isAvailable": m["status"] == "ENABLED",
        "color": {"background": "#3182f6", "text": "#ffffff"},
    }
    if m["kind"] == "ACCOUNT":
        name, enum = BANKS[m["bankCode"]]
        slug = enum.lower()
        return common | {
            "icon": f"icn-bank-{slug}",
            "iconUrl": icon,
            "icons": _icons(slug, icon),
            "type": "WITHDRAW",
            "accountName": f"{name}은행 입출금",
            "accountNumber": mask_account(m["number"]),
            "bank": name,
            "bankCode": m["bankCode"],
        }
    card = card_for(m["number"])
    assert card is not None  # noqa: S101 - only catalogue cards are stored
    return common | {
        "icon": f"icn-bank-{card.icon}",
        "iconUrl": icon,
        "icons": _icons(card.icon, icon),
        "cardCompany": card.company,
        "cardType": card.card_type,
        "cardName": card.card_name,
        "issueCompany": card.card_name,
        "ownerType": card.owner_type,
        "acquirerCode": card.issuer_code,
        "issuerCode": card.issuer_code,
        "cardImgUrl": icon,
        "cardNumber": mask_card(card.number),
        "cardProductCode": "",
        "installmentMinimumAmount": INSTALLMENT_MINIMUM,
        "color": {"background": card.color, "text": "#ffffff"},
    }


def _icons(slug: str, url: str) -> dict[str, dict[str, str]]:
    return {
        style: {"name": f"icn-bank-{prefix}{slug}", "url": url}
        for style, prefix in (("normal", ""), ("fill", "fill-"), ("square", "square-"))
    }


# -- windows from a shim call or from plain query parameters --------------------
def window_for(pages: tuple[str, ...], form: Any, legacy: Any = None) -> dict:
    """The window this request belongs to; plain query parameters open a new one."""
    if form.get("window"):
        return load_window(form["window"], pages)
    if legacy is None:
        raise ApiError("NOT_FOUND_PAYMENT_SESSION")
    info, page, method, params, mode = legacy(form)
    return new_window(
        {
            "page": page,
            "method": method,
            "sdk": "v1",
            "mid": info["mid"],
            "clientKey": info["clientKey"],
            "customerKey": info["customerKey"],
            "redirectUrl": info["redirectUrl"],
            "returnUrl": info["returnUrl"],
            "origin": "",
            "nonce": "",
            "transport": "page",
            "mode": mode,
            "params": params,
            "request": None,
        }
    )


def window_view(
    pages: tuple[str, ...], legacy: Any = None, cancel: bool = True
) -> Callable[[Callable[..., Any]], Callable[[], ResponseReturnValue]]:
    """A hosted page's view gets its window and form; the page's cancel ends it."""

    def decorate(view: Callable[..., Any]) -> Callable[[], ResponseReturnValue]:
        @wraps(view)
        def wrapper() -> ResponseReturnValue:
            form = request.values
            try:
                window = window_for(pages, form, legacy)
            except ApiError as exc:
                return error_page(exc)
            if cancel and request.method == "POST" and form.get("action") == "cancel":
                return finish(window, Outcome("cancel"), english())
            return view(window, form)  # type: ignore[no-any-return]

        return wrapper

    return decorate


def _legacy_register(form: Any) -> tuple[dict, str, str, dict, str]:
    info = session(form)
    if form.get("mode") == "agreement":
        raw = form.get("scope", "REGISTER")
        scopes = [SCOPE_LABELS.get(s, s) for s in raw.split(",") if s]
        if not scopes or any(s not in SCOPES for s in scopes):
            raise ApiError("INVALID_PARAMETERS")
        params: dict[str, Any] = {"agreement": scopes}
        return info, "register", "v1.requestAgreement", params, "promise"
    params = {"methodType": METHOD_TYPES.get(form.get("methodType", ""), "")}
    return info, "register", "v1.addPaymentMethod", params, "promise"


def _legacy_settings(form: Any) -> tuple[dict, str, str, dict, str]:
    return session(form), "settings", "v1.openSettings", {}, "promise"


def _legacy_pay(form: Any) -> tuple[dict, str, str, dict, str]:
    """Query-parameter requestPayment (v1 shape, redirect mode only)."""
    info = session(form, need_redirect=False)  # payments don't use it
    params: dict[str, Any] = {k: form.get(k) or None for k in LEGACY_PAY_FIELDS}
    try:
        params["amount"] = int(form.get("amount", ""))
        params["taxFreeAmount"] = int(form.get("taxFreeAmount") or 0)
        plan = form.get("cardInstallmentPlan")
        params["cardInstallmentPlan"] = int(plan) if plan else None
    except ValueError:
        raise ApiError("INVALID_PARAMETERS") from None
    if (
        params["amount"] <= 0
        or not 0 <= params["taxFreeAmount"] <= params["amount"]
        or params["cardInstallmentPlan"] not in (None, *INSTALLMENT_MONTHS)
        or form.get("currency", "KRW") != "KRW"  # contract §4: KRW only
        or not re.match(ORDER_ID_PATTERN, params["orderId"] or "")
        or not params["orderName"]
        or len(params["orderName"]) > 100
        or not _is_http_url(params["successUrl"])
        or not _is_http_url(params["failUrl"])
    ):
        raise ApiError("INVALID_PARAMETERS")
    params |= {
        "customerName": None,
        "metadata": None,
        "useCardPoint": False,
        "discountCode": None,
        "cashReceipt": None,
        "cultureExpense": False,
    }
    return info, "pay", "v1.requestPayment", params, "redirect"


def _customer(window: dict[str, Any]) -> dict[str, Any] | None:
    return sandbox().engine.customer(window["mid"], window["customerKey"])


def _pin_ok(window: dict[str, Any], pin: str | None) -> bool:
    return sandbox().engine.check_pin(window["mid"], window["customerKey"], pin or "")


def _render(template: str, window: dict[str, Any], status: int = 200, **ctx: Any):
    """A hosted page of this window (the overlay script needs its origin/nonce)."""
    html = render_template(template, window=window, pin=TEST_PIN, **ctx)
    return html, status


# -- registration / agreement (addPaymentMethod, requestAgreement) -------------
@bp.route("/_hosted/register", methods=["GET", "POST"])
# Registration also happens inside a payment or settings window.
@window_view(("register", "pay", "settings"), _legacy_register, cancel=False)
def register(window: dict[str, Any], form: Any) -> ResponseReturnValue:
    """Consent (first time) and register a test card or bank account."""
    params = window["params"]
    inside = window["page"] != "register"
    agreement = params.get("agreement")
    scopes = agreement or ["REGISTER"]
    method_type = "" if inside else params.get("methodType", "")
    if request.method == "POST" and form.get("action") == "cancel":
        if inside:  # back to the payment (or settings) this window is for
            return redirect(page_url(window))
        return finish(window, Outcome("cancel"), english())
    if request.method == "GET" and window["stage"] == "redirected" and not inside:
        # The shim called redirectUrl with the browser's cookies; the call is done.
        return finish(window, Outcome("done", value=_register_result(window)))
    customer = _customer(window)
    agreed = set(customer["agreedTerms"]) if customer else set()
    mode = "agreement" if agreement else "register"
    if request.method == "GET":
        return _register_page(window, mode, scopes, method_type, agreed, form)
    chosen = method_type or METHOD_TYPES.get(form.get("chosenType", ""), "")
    method_scope = [chosen] if mode == "register" and chosen else []
    needed = {
        t.id
        for t in TERMS
        if t.required and (t.scope in scopes or t.scope in method_scope)
    } - agreed
    ticked = {int(i) for i in form.getlist("termsId") if i.isdigit()}
    card, bank, account = None, "", ""
    try:
        if not needed <= ticked:
            raise ApiError("NEED_AGREEMENT_WITH_TERMS")
        if mode == "register":
            if not chosen:
                raise ApiError("INVALID_PARAMETERS")
            card = card_for(form.get("cardNumber", "")) if chosen == "CARD" else None
            if chosen == "CARD" and card is None:
                raise ApiError("INVALID_CARD_NUMBER")
            bank, account = form.get("bankCode", ""), form.get("accountNumber", "")
            account = "".join(ch for ch in account if ch.isdigit())
            if chosen == "ACCOUNT" and (
                bank not in BANKS or not 10 <= len(account) <= 14
            ):
                raise ApiError("INVALID_ACCOUNT_NUMBER")
    except ApiError as exc:
        page = _register_page(
            window, mode, scopes, method_type, agreed, form, error=page_error(exc)
        )
        return page[0], 422
    engine = sandbox().engine
    mid, customer_key = window["mid"], window["customerKey"]
    valid_ids = {t.id for t in TERMS}
    code = engine.agree(mid, customer_key, sorted(ticked & valid_ids))
    alias = form.get("alias", "").strip()[:30]
    if mode == "register" and card is not None:
        engine.register_card(mid, customer_key, card, alias)
    elif mode == "register":
        engine.register_account(mid, customer_key, bank, account, alias)
    # contract §2: redirectUrl?code&customerKey, then (overlay) the window goes on.
    after = page_url(window) if inside else page_url(window, "register")
    return finish(window, Outcome("code", code=code, location=after), english())


def _register_result(window: dict[str, Any]) -> Any:
    """v1 addPaymentMethod resolves `{selectedMethodId, cards, accounts}`; v2 void."""
    if window["method"] != "v1.addPaymentMethod":
        return None
    from .sdk import methods_result  # sdk imports this module

    return methods_result(window["mid"], window["customerKey"])


def _register_page(
    window: dict[str, Any],
    mode: str,
    scopes: list[str],
    method_type: str,
    agreed: set[int],
    form: Any,
    error: dict[str, str] | None = None,
) -> tuple[str, int]:
    shown_scopes = set(scopes) | ({"CARD", "ACCOUNT"} if mode == "register" else set())
    terms = [t for t in TERMS if t.scope in shown_scopes]
    return _render(
        "register.html",
        window,
        mode=mode,
        method_type=method_type,
        terms=terms,
        agreed=agreed,
        cards=TEST_CARDS,
        banks=BANKS,
        error=error,
        form=form,
        inside=window["page"] != "register",
    )


# -- settings (openSettings) ----------------------------------------------
@bp.route("/_hosted/settings", methods=["GET", "POST"])
@window_view(("settings",), _legacy_settings)
def settings(window: dict[str, Any], form: Any) -> ResponseReturnValue:
    """Manage registered methods and one-touch pay."""
    engine = sandbox().engine
    mid, customer_key = window["mid"], window["customerKey"]
    if request.method == "POST":
        action = form.get("action")
        if action == "done":
            return finish(window, Outcome("done"))
        try:
            if action == "remove":
                method = sandbox().store.get("method", form.get("methodId", ""))
                if method is None:
                    raise ApiError("NOT_FOUND_METHOD")
                engine.remove_method(
                    mid, customer_key, method["kind"], method["methodKey"]
                )
            elif action == "onetouch":
                customer = engine.customer(mid, customer_key)
                enabled = bool(customer and customer["oneTouch"])
                engine.set_one_touch(mid, customer_key, not enabled)
        except ApiError as exc:
            return error_page(exc)
        return redirect(page_url(window))
    customer = engine.customer(mid, customer_key)
    methods = engine.enabled_methods(mid, customer_key) if customer else []
    return _render(
        "settings.html",
        window,
        customer=customer,
        methods=[sdk_method(m) for m in methods],
        register_url=page_url(window, "register"),
    )


# -- payment approval (requestPayment) -------------------------------------
@bp.route("/_hosted/pay", methods=["GET", "POST"])
@window_view(("pay",), _legacy_pay)
def pay(window: dict[str, Any], form: Any) -> ResponseReturnValue:
    """Pick a saved method, enter the PIN; redirect to successUrl or failUrl."""
    engine = sandbox().engine
    params = window["params"]
    mid, customer_key = window["mid"], window["customerKey"]
    customer = engine.customer(mid, customer_key)
    methods = engine.enabled_methods(mid, customer_key) if customer else []
    if request.method == "GET":
        return _render(
            "pay.html",
            window,
            params=params,
            methods=[sdk_method(m) for m in methods],
            selected=params.get("methodId") or engine.selected_method_id(methods),
            register_url=page_url(window, "register"),
            installments=_installment_choices(params),
        )
    method_id = form.get("methodId") or engine.selected_method_id(methods) or ""
    choices = params | _buyer_choices(params, form)
    try:
        if not _pin_ok(window, form.get("pin")):
            raise ApiError("INVALID_PASSWORD")
        payment = engine.authorize(mid, customer_key, choices, method_id)
    except ApiError as exc:
        fail = Outcome("fail", code=exc.code, order_id=params["orderId"])
        return finish(window, fail, english())
    return finish(window, _approved(window, payment, method_id), english())


def _installment_choices(params: dict[str, Any]) -> list[int]:
    """Months the buyer may pick: none below 50,000 KRW or with a fixed plan."""
    fixed = params.get("cardInstallmentPlan") is not None
    if params["amount"] < INSTALLMENT_MINIMUM or fixed:
        return []
    ceiling = params.get("maxCardInstallmentPlan") or 12
    return [m for m in INSTALLMENT_MONTHS if m <= ceiling]


def _buyer_choices(params: dict[str, Any], form: Any) -> dict[str, Any]:
    """What the buyer set in the window; a field the page did not show keeps the request's."""
    out: dict[str, Any] = {}
    if form.get("pointShown"):
        out["useCardPoint"] = form.get("useCardPoint") == "on"
    months = form.get("installment")
    if months and months.isdigit() and int(months) in _installment_choices(params):
        out["cardInstallmentPlan"] = int(months)
    return out


def _approved(
    window: dict[str, Any], payment: dict[str, Any], method_id: str
) -> Outcome:
    """Success: Toss's successUrl query (v2 typings' order) or the promise's value."""
    amount = payment["totalAmount"]
    location = None
    if window["mode"] == "redirect":
        location = with_query(
            window["params"]["successUrl"],
            amount=amount,
            orderId=payment["orderId"],
            paymentKey=payment["paymentKey"],
        )
    if window["sdk"] == "v1":  # v1 typings: amount a number, plus methodId
        value: dict[str, Any] = {
            "paymentKey": payment["paymentKey"],
            "orderId": payment["orderId"],
            "amount": amount,
            "methodId": method_id,
        }
    else:
        value = {
            "paymentKey": payment["paymentKey"],
            "orderId": payment["orderId"],
            "amount": {"currency": "KRW", "value": amount},
        }
    window["paymentKey"] = payment["paymentKey"]
    return Outcome("success", value=value, location=location)


# -- changePassword, changeOneTouchPay, requestBillingAuth (v2) ------------------
@bp.route("/_hosted/password", methods=["GET", "POST"])
@window_view(("password",))
def password(window: dict[str, Any], form: Any) -> ResponseReturnValue:
    """changePassword(): the current PIN, then a new 6-digit one."""
    customer = _customer(window)
    if request.method == "POST":
        try:
            if form.get("newPin") != form.get("newPinAgain"):
                raise ApiError("INVALID_PARAMETERS", "새 비밀번호가 서로 다릅니다.")
            sandbox().engine.change_pin(
                window["mid"],
                window["customerKey"],
                form.get("pin", ""),
                form.get("newPin", ""),
            )
        except ApiError as exc:
            return _render(
                "password.html", window, 422, customer=customer, error=page_error(exc)
            )
        return finish(window, Outcome("done"))
    return _render("password.html", window, customer=customer)


@bp.route("/_hosted/onetouch", methods=["GET", "POST"])
@window_view(("onetouch",))
def one_touch(window: dict[str, Any], form: Any) -> ResponseReturnValue:
    """changeOneTouchPay(): switch one-touch payment on or off with the PIN."""
    customer = _customer(window)
    if request.method == "POST":
        if customer is None or not _pin_ok(window, form.get("pin")):
            error = page_error(ApiError("INVALID_PASSWORD"))
            return _render("onetouch.html", window, 422, customer=customer, error=error)
        sandbox().engine.set_one_touch(
            window["mid"], window["customerKey"], form.get("enable") == "1"
        )
        return finish(window, Outcome("done"))
    return _render("onetouch.html", window, customer=customer)


@bp.route("/_hosted/billing", methods=["GET", "POST"])
@window_view(("billing",))
def billing(window: dict[str, Any], form: Any) -> ResponseReturnValue:
    """requestBillingAuth(): agree to the BILLING terms and confirm with the PIN."""
    if request.method == "GET" and window["stage"] == "redirected":
        return finish(window, Outcome("done"))
    customer = _customer(window)
    agreed = set(customer["agreedTerms"]) if customer else set()
    scopes = ("REGISTER", BILLING_SCOPE)
    terms = [t for t in TERMS if t.scope in scopes and t.id not in agreed]
    if request.method == "GET":
        return _render("billing.html", window, terms=terms, form=form)
    ticked = {int(i) for i in form.getlist("termsId") if i.isdigit()}
    needed = {t.id for t in terms if t.required}
    try:
        if not needed <= ticked:
            raise ApiError("NEED_AGREEMENT_WITH_TERMS")
        if not _pin_ok(window, form.get("pin")):
            raise ApiError("INVALID_PASSWORD")
    except ApiError as exc:
        return _render(
            "billing.html", window, 422, terms=terms, form=form, error=page_error(exc)
        )
    # Agreeing yields a code like any agreement: redirectUrl?code&customerKey (§2).
    code = sandbox().engine.agree(window["mid"], window["customerKey"], sorted(needed))
    after = page_url(window)
    return finish(window, Outcome("code", code=code, location=after), english())


# -- plain pages -----------------------------------------------------------------
@bp.get("/_hosted/receipt/<payment_key>")
def receipt(payment_key: str) -> ResponseReturnValue:
    """The sandbox receipt (Payment.receipt.url)."""
    payment = sandbox().payment(payment_key)
    if payment is None:
        return error_page(ApiError("NOT_FOUND_PAYMENT"))
    return render_template("receipt.html", p=payment)


@bp.get("/_hosted/terms/<int:term_id>")
def term(term_id: int) -> ResponseReturnValue:
    """Text of one term (Terms.url)."""
    found = next((t for t in TERMS if t.id == term_id), None)
    if found is None:
        return error_page(ApiError("NOT_FOUND"))
    return render_template("term.html", term=found)


@bp.get("/")
def index() -> ResponseReturnValue:
    """A landing page listing the test data."""
    from .catalog import FOREIGN_CARDS, USD_RATE

    return render_template(
        "index.html",
        cards=TEST_CARDS,
        foreign_cards=FOREIGN_CARDS,
        usd_rate=USD_RATE,
        banks=BANKS,
        pin=TEST_PIN,
        client_key=DOC_CLIENT_KEY,
    )
