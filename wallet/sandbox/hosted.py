"""Browser side: the SDK shim (contract §6) and the hosted pages it navigates to.

The shim navigates top-level to these server-rendered pages; they finish with
the redirects of contract §2 (`redirectUrl?code&customerKey`) and §4
(`successUrl?paymentKey&orderId&amount`, `failUrl?code&message[&orderId]`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from .api import english
from .catalog import (
    BANKS,
    DOC_CLIENT_KEY,
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

bp = Blueprint("hosted", __name__)

METHOD_TYPES = {"카드": "CARD", "계좌": "ACCOUNT", "CARD": "CARD", "ACCOUNT": "ACCOUNT"}
SESSION_FIELDS = ("clientKey", "customerKey", "redirectUrl", "returnUrl")
PAY_FIELDS = (
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


def with_query(url: str, **params: Any) -> str:
    """`url` with `params` appended to its existing query string."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [
        (k, str(v)) for k, v in params.items()
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


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
    """Validate clientKey/customerKey/redirectUrl of a hosted call (SDK checks)."""
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
    text = message(exc.code, english())
    return render_template("error.html", code=exc.code, message=text), exc.status


def sdk_json(data: Any, status: int = 200) -> Response:
    """JSON for the shim's cross-origin fetches (CORS open: public data)."""
    resp = jsonify(data)
    resp.status_code = status
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


# -- shim ---------------------------------------------------------------------
@bp.get("/v1/brandpay")
def shim() -> ResponseReturnValue:
    """The BrandPay v1 SDK shim (mirrors js.tosspayments.com/v1/brandpay)."""
    base = sandbox().engine.public_url
    js = render_template("brandpay.js", base=base, labels=SCOPE_LABELS)
    return Response(js, mimetype="application/javascript")


@bp.get("/_hosted/api/session")
def api_session() -> ResponseReturnValue:
    """Pre-flight for the shim: redirectUrl registered, keys valid."""
    try:
        info = session(request.args)
    except ApiError as exc:
        return sdk_json({"code": exc.code, "message": message(exc.code)}, 400)
    return sdk_json({"redirectUrl": info["redirectUrl"]})


@bp.get("/_hosted/api/methods")
def api_methods() -> ResponseReturnValue:
    """getPaymentMethods(): the v1 SDK `Methods` shape (contract §3, S5)."""
    try:
        info = session(request.args, need_redirect=False)
    except ApiError as exc:
        return sdk_json({"code": exc.code, "message": message(exc.code)}, 400)
    engine = sandbox().engine
    found = engine.enabled_methods(info["mid"], info["customerKey"])
    if engine.customer(info["mid"], info["customerKey"]) is None:
        found = []
    return sdk_json(
        {
            "cards": [sdk_method(m) for m in found if m["kind"] == "CARD"],
            "accounts": [sdk_method(m) for m in found if m["kind"] == "ACCOUNT"],
            "selectedMethodId": engine.selected_method_id(found),
        }
    )


@bp.route("/_hosted/api/one-touch", methods=["GET", "POST"])
def api_one_touch() -> ResponseReturnValue:
    """isOneTouchPayEnabled() (GET) / toggleOneTouchPay() (POST)."""
    try:
        info = session(request.args, need_redirect=False)
        engine = sandbox().engine
        customer = engine.customer(info["mid"], info["customerKey"])
        enabled = bool(customer and customer["oneTouch"])
        if request.method == "POST":
            enabled = engine.set_one_touch(
                info["mid"], info["customerKey"], not enabled
            )
    except ApiError as exc:
        return sdk_json({"code": exc.code, "message": message(exc.code)}, 400)
    return sdk_json({"isEnabled": enabled})


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
        "installmentMinimumAmount": 50000,
        "color": {"background": card.color, "text": "#ffffff"},
    }


def _icons(slug: str, url: str) -> dict[str, dict[str, str]]:
    return {
        style: {"name": f"icn-bank-{prefix}{slug}", "url": url}
        for style, prefix in (("normal", ""), ("fill", "fill-"), ("square", "square-"))
    }


# -- registration / agreement ------------------------------------------------
def _scopes_for(form: Any) -> tuple[str, list[str]]:
    """(mode, scopes): agreement-only (requestAgreement) or registration."""
    if form.get("mode") == "agreement":
        raw = form.get("scope", "REGISTER")
        scopes = [SCOPE_LABELS.get(s, s) for s in raw.split(",") if s]
        if not scopes or any(s not in SCOPES for s in scopes):
            raise ApiError("INVALID_PARAMETERS")
        return "agreement", scopes
    method_type = METHOD_TYPES.get(form.get("methodType", ""), "")
    return "register", ["REGISTER"] + ([method_type] if method_type else [])


@bp.route("/_hosted/register", methods=["GET", "POST"])
def register() -> ResponseReturnValue:
    """Consent (first time) and register a test card or bank account."""
    form = request.values
    try:
        info = session(form)
        mode, scopes = _scopes_for(form)
    except ApiError as exc:
        return error_page(exc)
    if request.method == "POST" and form.get("action") == "cancel":
        if info["returnUrl"]:  # SDK: USER_CANCEL; back to the calling page
            return redirect(info["returnUrl"])
        return render_template("canceled.html"), 200
    engine = sandbox().engine
    customer = engine.customer(info["mid"], info["customerKey"])
    agreed = set(customer["agreedTerms"]) if customer else set()
    if request.method == "GET":
        return _register_page(info, mode, scopes, agreed, form)
    chosen = METHOD_TYPES.get(form.get("methodType", ""), "")
    if mode == "register" and not chosen:
        chosen = METHOD_TYPES.get(form.get("chosenType", ""), "")
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
        page = _register_page(info, mode, scopes, agreed, form, error=exc)
        return page[0], 422
    valid_ids = {t.id for t in TERMS}
    code = engine.agree(info["mid"], info["customerKey"], sorted(ticked & valid_ids))
    alias = form.get("alias", "").strip()[:30]
    if mode == "register" and card is not None:
        engine.register_card(info["mid"], info["customerKey"], card, alias)
    elif mode == "register":
        engine.register_account(info["mid"], info["customerKey"], bank, account, alias)
    # contract §2: top-level GET to redirectUrl?code&customerKey
    target = with_query(info["redirectUrl"], code=code, customerKey=info["customerKey"])
    return redirect(target)


def _register_page(
    info: dict[str, Any],
    mode: str,
    scopes: list[str],
    agreed: set[int],
    form: Any,
    error: ApiError | None = None,
) -> tuple[str, int]:
    method_type = METHOD_TYPES.get(form.get("methodType", ""), "")
    shown_scopes = set(scopes) | ({"CARD", "ACCOUNT"} if mode == "register" else set())
    terms = [t for t in TERMS if t.scope in shown_scopes]
    html = render_template(
        "register.html",
        info=info,
        mode=mode,
        scope=",".join(scopes),
        method_type=method_type,
        raw_method_type=form.get("methodType", ""),
        terms=terms,
        agreed=agreed,
        cards=TEST_CARDS,
        banks=BANKS,
        error=error and {"code": error.code, "message": message(error.code)},
        form=form,
    )
    return html, 200


# -- settings (openSettings) ----------------------------------------------
@bp.route("/_hosted/settings", methods=["GET", "POST"])
def settings() -> ResponseReturnValue:
    """Manage registered methods and one-touch pay."""
    form = request.values
    try:
        info = session(form)
    except ApiError as exc:
        return error_page(exc)
    engine = sandbox().engine
    if request.method == "POST":
        action = form.get("action")
        try:
            if action == "remove":
                method = sandbox().store.get("method", form.get("methodId", ""))
                if method is None:
                    raise ApiError("NOT_FOUND_METHOD")
                engine.remove_method(
                    info["mid"],
                    info["customerKey"],
                    method["kind"],
                    method["methodKey"],
                )
            elif action == "onetouch":
                customer = engine.customer(info["mid"], info["customerKey"])
                enabled = bool(customer and customer["oneTouch"])
                engine.set_one_touch(info["mid"], info["customerKey"], not enabled)
        except ApiError as exc:
            return error_page(exc)
        keep = {k: info[k] for k in SESSION_FIELDS if info[k]}
        return redirect(url_for("hosted.settings", **keep))
    customer = engine.customer(info["mid"], info["customerKey"])
    methods = (
        engine.enabled_methods(info["mid"], info["customerKey"]) if customer else []
    )
    return render_template(
        "settings.html",
        info=info,
        customer=customer,
        methods=[sdk_method(m) for m in methods],
        register_url=_register_url(info, ""),
    )


def _register_url(info: dict[str, Any], back: str) -> str:
    params = {k: info[k] for k in ("clientKey", "customerKey", "redirectUrl")}
    return url_for("hosted.register", **params, returnUrl=back or request.url)


# -- payment approval (requestPayment) -------------------------------------
def _pay_params(source: Any) -> dict[str, Any]:
    """Validate requestPayment parameters (SDK-side INVALID_PARAMETERS)."""
    params: dict[str, Any] = {k: source.get(k) or None for k in PAY_FIELDS}
    try:
        params["amount"] = int(source.get("amount", ""))
        params["taxFreeAmount"] = int(source.get("taxFreeAmount") or 0)
        params["cardInstallmentPlan"] = int(source.get("cardInstallmentPlan") or 0)
    except ValueError:
        raise ApiError("INVALID_PARAMETERS") from None
    if (
        params["amount"] <= 0
        or not 0 <= params["taxFreeAmount"] <= params["amount"]
        or source.get("currency", "KRW") != "KRW"  # contract §4: KRW only
        or not re.match(ORDER_ID_PATTERN, params["orderId"] or "")
        or not params["orderName"]
        or len(params["orderName"]) > 100
        or not _is_http_url(params["successUrl"])
        or not _is_http_url(params["failUrl"])
    ):
        raise ApiError("INVALID_PARAMETERS")
    return params


@bp.route("/_hosted/pay", methods=["GET", "POST"])
def pay() -> ResponseReturnValue:
    """Pick a saved method, enter the PIN; redirect to successUrl or failUrl."""
    form = request.values
    try:
        info = session(form, need_redirect=False)  # payments don't use it
        params = _pay_params(form)
    except ApiError as exc:
        return error_page(exc)
    engine = sandbox().engine
    customer = engine.customer(info["mid"], info["customerKey"])
    methods = (
        engine.enabled_methods(info["mid"], info["customerKey"]) if customer else []
    )
    if request.method == "GET":
        return render_template(
            "pay.html",
            info=info,
            params=params,
            methods=[sdk_method(m) for m in methods],
            selected=params["methodId"] or engine.selected_method_id(methods),
            register_url=_register_url(info, request.url),
            pin=TEST_PIN,
        )
    english_ = english()
    if form.get("action") == "cancel":  # contract §4: no orderId for this code
        code = "PAY_PROCESS_CANCELED"
        return redirect(
            with_query(params["failUrl"], code=code, message=message(code, english_))
        )
    method_id = form.get("methodId") or engine.selected_method_id(methods) or ""
    try:
        if form.get("pin") != TEST_PIN:
            raise ApiError("INVALID_PASSWORD")
        payment = engine.authorize(info["mid"], info["customerKey"], params, method_id)
    except ApiError as exc:
        return redirect(
            with_query(
                params["failUrl"],
                code=exc.code,
                message=message(exc.code, english_),
                orderId=params["orderId"],
            )
        )
    return redirect(
        with_query(
            params["successUrl"],
            paymentKey=payment["paymentKey"],
            orderId=payment["orderId"],
            amount=payment["totalAmount"],
        )
    )


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
    return render_template(
        "index.html",
        cards=TEST_CARDS,
        banks=BANKS,
        pin=TEST_PIN,
        client_key=DOC_CLIENT_KEY,
    )
