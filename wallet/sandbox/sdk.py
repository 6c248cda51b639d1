"""The browser SDK: scripts at Toss's paths and the JSON API the shims call.

- `GET /v2/standard`: `window.TossPayments(clientKey)` as npm
  `@tosspayments/tosspayments-sdk` 2.8.1 declares it (contract §6.1), the default.
- `GET /v1/brandpay`: the v1 `BrandPay(clientKey, customerKey, options)` (contract §6).
- `POST /_hosted/api/windows`: one SDK call -> validated, stored window (windows.py).
- `GET /_hosted/api/...`: the calls that open no window (methods, one-touch state).

Every answer here is for cross-origin scripts in a merchant's page, so it is CORS-open:
it carries nothing secret (client keys are public, state is per test merchant).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from . import sdkparams
from .catalog import ANONYMOUS, SCOPE_LABELS, SCOPES
from .control import sandbox
from .errors import ApiError, message
from .hosted import resolve_redirect_url, sdk_method, session
from .windows import new_window, nonce, page_url

bp = Blueprint("sdk", __name__)

NARROW = 600  # px: below this the shim reports a phone-sized viewport
V1_TRANSPORTS = ("overlay", "navigate")
# method -> (hosted page, parameter check or None, needs a redirectUrl)
METHODS: dict[str, tuple[str, Any, bool]] = {
    "brandpay.requestPayment": ("pay", sdkparams.brandpay_payment, True),
    "brandpay.addPaymentMethod": ("register", None, True),
    "brandpay.openSettings": ("settings", None, True),
    "brandpay.changePassword": ("password", None, True),
    "brandpay.changeOneTouchPay": ("onetouch", None, True),
    "brandpay.requestBillingAuth": ("billing", None, True),
    "payment.requestPayment": ("card", sdkparams.card_payment, False),
    "payment.requestBillingAuth": ("card-billing", sdkparams.billing_auth, False),
    "v1.requestPayment": ("pay", sdkparams.v1_payment, True),
    "v1.addPaymentMethod": ("register", None, True),
    "v1.requestAgreement": ("register", None, True),
    "v1.openSettings": ("settings", None, True),
}
METHOD_TYPES = {"카드": "CARD", "계좌": "ACCOUNT", "미선택": ""}


def cors(resp: Response) -> Response:
    """Open to any merchant origin: the shim runs in the merchant's page."""
    resp.headers["Access-Control-Allow-Origin"] = "*"
    resp.headers["Access-Control-Allow-Headers"] = "Content-Type"
    resp.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    return resp


def sdk_json(data: Any, status: int = 200) -> Response:
    """JSON for the shim's cross-origin fetches."""
    resp = jsonify(data)
    resp.status_code = status
    return cors(resp)


def sdk_error(exc: ApiError) -> Response:
    """The typed error the shim throws: `{code, message}` (HTTP 400)."""
    english = request.headers.get("Accept-Language", "").lower().startswith("en")
    return sdk_json(
        {"code": exc.code, "message": exc.detail or message(exc.code, english)}, 400
    )


def v1_transport() -> str:
    """SANDBOX_V1_TRANSPORT: "overlay" (as v1's windowTarget "iframe") or "navigate"."""
    value = str(current_app.config.get("SANDBOX_V1_TRANSPORT") or "overlay")
    return value if value in V1_TRANSPORTS else "overlay"


# -- scripts --------------------------------------------------------------------
def _script(template: str, **context: Any) -> Response:
    base = sandbox().engine.public_url
    js = render_template(template, base=base, narrow=NARROW, **context)
    resp = Response(js, mimetype="application/javascript")
    resp.headers["Cache-Control"] = "no-cache"  # settings may change between tests
    return cors(resp)


@bp.get("/v2/standard")
def standard() -> ResponseReturnValue:
    """The v2 SDK (mirrors js.tosspayments.com/v2/standard)."""
    return _script("standard.js", anonymous=ANONYMOUS)


@bp.get("/v1/brandpay")
def shim() -> ResponseReturnValue:
    """The BrandPay v1 SDK (mirrors js.tosspayments.com/v1/brandpay)."""
    return _script("brandpay.js", labels=SCOPE_LABELS, transport=v1_transport())


# -- windows ------------------------------------------------------------------------
@bp.route("/_hosted/api/windows", methods=["POST", "OPTIONS"])
def create_window() -> ResponseReturnValue:
    """One SDK call: validate it as the SDK would, store it, say how to open it."""
    if request.method == "OPTIONS":
        return cors(Response(status=204))
    call = request.get_json(silent=True)
    try:
        if not isinstance(call, dict) or call.get("method") not in METHODS:
            raise ApiError("INVALID_PARAMETERS", "unknown SDK method")
        window = _window_for(call)
    except ApiError as exc:
        return sdk_error(exc)
    params = window["params"]
    return sdk_json(
        {
            "id": window["id"],
            "url": page_url(window),
            "transport": window["transport"],
            "mode": window["mode"],
            "redirectUrl": window["redirectUrl"] or None,
            "successUrl": params.get("successUrl"),
            "failUrl": params.get("failUrl"),
        },
        201,
    )


def _window_for(call: dict[str, Any]) -> dict[str, Any]:
    """Check keys, redirectUrl and parameters; decide transport and mode."""
    method = call["method"]
    page, check, needs_redirect = METHODS[method]
    client_key = sdkparams.check_client_key(call.get("clientKey"))
    anonymous = method == "payment.requestPayment"
    customer_key = sdkparams.check_customer_key(call.get("customerKey"), anonymous)
    merchant = sandbox().engine.merchant_by_client(client_key)
    if merchant is None:
        raise ApiError("INVALID_CLIENT_KEY")
    redirect_url = (
        resolve_redirect_url(call.get("redirectUrl")) if needs_redirect else ""
    )
    raw = call.get("params")
    params = check(raw) if check else _extra_params(method, raw)
    if method == "brandpay.changeOneTouchPay" and not merchant.get("oneTouch", True):
        raise ApiError("NEED_MERCHANT_ONE_TOUCH_SETTING")
    mode = params.pop("mode", "promise")
    transport = _transport(method, mode, params, call)
    origin = call.get("origin")
    if transport == "overlay" and not _is_origin(origin):
        raise ApiError("INVALID_PARAMETERS", "origin of the calling page")
    return_url = call.get("returnUrl")
    return new_window(
        {
            "page": page,
            "method": method,
            "sdk": "v1" if method.startswith("v1.") else "v2",
            "mid": merchant["mId"],
            "clientKey": client_key,
            "customerKey": customer_key,
            "redirectUrl": redirect_url,
            "returnUrl": return_url if sdkparams.is_http_url(return_url) else "",
            "origin": origin if transport == "overlay" else "",
            "nonce": str(call.get("nonce") or nonce())[:64],
            "transport": transport,
            "mode": mode,
            "params": params,
            "request": raw,  # as the merchant sent it, for the control API
        }
    )


def _extra_params(method: str, raw: Any) -> dict[str, Any]:
    """The few arguments of window calls other than payments."""
    raw = raw if isinstance(raw, dict) else {}
    if method == "v1.addPaymentMethod":
        kind = raw.get("methodType") or "미선택"
        if kind not in METHOD_TYPES:
            raise ApiError("INVALID_PARAMETERS", "methodType: 카드, 계좌 or 미선택")
        return {"methodType": METHOD_TYPES[kind]}
    if method == "v1.requestAgreement":
        scopes = raw.get("scope")
        scopes = scopes if isinstance(scopes, list) else [scopes or "회원가입"]
        codes = [SCOPE_LABELS.get(s, s) for s in scopes]
        if any(c not in SCOPES for c in codes):
            raise ApiError("INVALID_PARAMETERS", "scope: 회원가입, 카드, 계좌 or 빌링")
        return {"agreement": codes}
    return {}


def _transport(
    method: str, mode: str, params: dict[str, Any], call: dict[str, Any]
) -> str:
    """ "overlay" (an iframe over the page) or "page" (the browser goes there)."""
    narrow = call.get("viewport") == "narrow"
    if call.get("transport") == "page":  # sandbox-only: SandboxServer's browser steps
        if mode == "promise" and method in (
            "brandpay.requestPayment",
            "v1.requestPayment",
            "payment.requestPayment",
        ):
            raise ApiError("NOT_SUPPORTED_PROMISE")
        return "page"
    if method.startswith("v1.") and v1_transport() == "navigate":
        if mode == "promise" and method == "v1.requestPayment":
            raise ApiError("INVALID_PARAMETERS", "promise mode needs the overlay")
        return "page"
    if method.startswith("payment."):
        target = params.get("windowTarget") or ("self" if narrow else "iframe")
        if target == "self":
            if mode == "promise":  # contract §6.1: promise mode is for PCs only
                raise ApiError("NOT_SUPPORTED_PROMISE")
            return "page"
        return "overlay"
    if method in ("brandpay.requestPayment", "v1.requestPayment"):
        # On a phone a redirect-mode payment takes the whole page; a promise cannot
        # survive leaving the page, so promise mode stays an overlay (full screen).
        return "page" if narrow and mode == "redirect" else "overlay"
    return "overlay"  # promise-only BrandPay windows


def _is_origin(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and value == f"{parts.scheme}://{parts.netloc}"
    )


# -- calls that open no window ----------------------------------------------------
@bp.get("/_hosted/api/session")
def api_session() -> ResponseReturnValue:
    """v1 navigate transport's pre-flight: redirectUrl registered, keys valid."""
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
    return sdk_json(methods_result(info["mid"], info["customerKey"]))


def methods_result(mid: str, customer_key: str) -> dict[str, Any]:
    """`{cards, accounts, selectedMethodId}` as the v1 SDK returns it (S5)."""
    engine = sandbox().engine
    found = engine.enabled_methods(mid, customer_key)
    if engine.customer(mid, customer_key) is None:
        found = []
    return {
        "selectedMethodId": engine.selected_method_id(found),
        "cards": [sdk_method(m) for m in found if m["kind"] == "CARD"],
        "accounts": [sdk_method(m) for m in found if m["kind"] == "ACCOUNT"],
    }


@bp.route("/_hosted/api/one-touch", methods=["GET", "POST"])
def api_one_touch() -> ResponseReturnValue:
    """isOneTouchPayEnabled() (GET) / v1 toggleOneTouchPay() (POST)."""
    args = request.args
    v2 = args.get("sdk") == "v2"
    engine = sandbox().engine
    try:
        if v2:  # the v2 typings' checks and codes
            client_key = sdkparams.check_client_key(args.get("clientKey"))
            sdkparams.check_customer_key(args.get("customerKey"))
            if engine.merchant_by_client(client_key) is None:
                raise ApiError("INVALID_CLIENT_KEY")
            resolve_redirect_url(args.get("redirectUrl"))
        info = session(args, need_redirect=False)
        merchant = engine.merchant_by_client(info["clientKey"]) or {}
        customer = engine.customer(info["mid"], info["customerKey"])
        if v2 and not merchant.get("oneTouch", True):
            raise ApiError("NEED_MERCHANT_ONE_TOUCH_SETTING")
        if v2 and customer is None:  # v2 typings: a customer who never agreed
            raise ApiError("NEED_AGREEMENT_WITH_TERMS")
        enabled = bool(customer and customer["oneTouch"])
        if request.method == "POST":
            enabled = engine.set_one_touch(
                info["mid"], info["customerKey"], not enabled
            )
    except ApiError as exc:
        return sdk_json({"code": exc.code, "message": message(exc.code)}, 400)
    return sdk_json({"isEnabled": enabled})
