"""The Toss REST API (contract §1-§5, §8, §9) with auth, idempotency and faults."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import socket
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from flask.typing import ResponseReturnValue

from .control import Sandbox, sandbox
from .errors import STATUS, ApiError
from .faults import Fault

bp = Blueprint("api", __name__, url_prefix="/v1")

IDEMPOTENCY_TTL = 15 * 86400  # contract §4: valid 15 days from first use
CONSECUTIVE_WINDOW = 1.0  # seconds; FORBIDDEN_CONSECUTIVE_REQUEST (§10)

View = Callable[..., Any]


def english() -> bool:
    """`Accept-Language: en-US` asks for English messages (contract §1)."""
    return request.headers.get("Accept-Language", "").lower().startswith("en")


def error_response(exc: ApiError) -> Response:
    """`{code, message}` with the contract §8 status."""
    resp = jsonify(exc.body(english()))
    resp.status_code = exc.status
    return resp


def _basic(sb: Sandbox) -> str:
    """Secret key from `Basic base64(secretKey:)`; returns the identity string."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise ApiError("UNAUTHORIZED_KEY")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ApiError("INCORRECT_BASIC_AUTH_FORMAT") from None
    if ":" not in decoded:  # contract §1: the colon is mandatory
        raise ApiError("INCORRECT_BASIC_AUTH_FORMAT")
    merchant = sb.engine.merchant_by_secret(decoded.partition(":")[0])
    if merchant is None:
        raise ApiError("UNAUTHORIZED_KEY")
    g.mid, g.customer_key, g.test_mode = merchant["mId"], None, True
    return "basic:" + merchant["secretKey"]


def _bearer(sb: Sandbox) -> str:
    """Customer from `Bearer {accessToken}`; returns the identity string."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError("UNAUTHORIZED_KEY")
    g.mid, g.customer_key = sb.engine.bearer(token.strip())
    g.test_mode = True  # every sandbox merchant holds test keys
    return "bearer:" + token.strip()


def endpoint(auth: str) -> Callable[[View], View]:
    """Wrap a view: auth (§1), test codes (§9), idempotency (§4), faults."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(**kwargs: Any) -> ResponseReturnValue:
            sb = sandbox()
            try:
                identity = (_basic if auth == "basic" else _bearer)(sb)
                forced = request.headers.get("TossPayments-Test-Code")
                if forced is not None and g.test_mode:  # contract §9
                    raise ApiError(forced if forced in STATUS else "INVALID_TEST_CODE")
                if request.method == "POST":
                    return _idempotent(sb, identity, lambda: _run(sb, view, kwargs))
                return _run(sb, view, kwargs)
            except ApiError as exc:
                return error_response(exc)

        return wrapper

    return decorate


def _run(sb: Sandbox, view: View, kwargs: dict[str, Any]) -> Response:
    """Apply faults around the view; the view's ApiErrors become responses."""
    fault = sb.faults.take(request.method, request.path)
    if fault is not None:
        early = _fault_before(sb, fault)
        if early is not None:
            return early
    try:
        resp = jsonify(view(**kwargs))
    except ApiError as exc:
        resp = error_response(exc)
    g.response_for_idempotency = resp
    if fault is not None and fault.drop:
        g.dropped = True
        if fault.drop == "close":  # the effect is committed; the answer is lost
            _close_connection()
        return error_response(ApiError("FAILED_INTERNAL_SYSTEM_PROCESSING"))
    return resp


def _fault_before(sb: Sandbox, fault: Fault) -> Response | None:
    """Latency proceeds; hang and forced 5xx answer without any effect."""
    if fault.latency:
        sb.faults.cleared.wait(fault.latency)
    if fault.hang:
        sb.faults.cleared.wait(fault.hang)
        g.dropped = True
        _close_connection()
        return error_response(ApiError("FAILED_INTERNAL_SYSTEM_PROCESSING"))
    if fault.status:
        resp = error_response(ApiError("FAILED_INTERNAL_SYSTEM_PROCESSING"))
        resp.status_code = fault.status
        return resp
    return None


def _close_connection() -> None:
    """Shut the client socket so the client sees a dropped connection."""
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _idempotent(sb: Sandbox, identity: str, run: Callable[[], Response]) -> Response:
    """contract §4: key + API key + URL + method -> one stored response."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return run()
    if not key or len(key) > 300:
        raise ApiError("INVALID_IDEMPOTENCY_KEY")
    g.idempotency_key = key
    parts = (key, identity, request.path, request.method)
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()  # no raw keys
    stored = sb.store.get("idem", digest)
    if stored is not None and stored["expiresAt"] > sb.clock.time():
        g.replay = True  # the body is deliberately not compared (contract §4)
        resp = jsonify(stored["body"])
        resp.status_code = stored["status"]
        return resp
    with sb.store.transaction():
        if digest in sb.in_flight:
            raise ApiError("IDEMPOTENT_REQUEST_PROCESSING")
        sb.in_flight.add(digest)
    try:
        resp = run()
        final = g.get("response_for_idempotency")
        if final is not None and final.status_code < 500 and not _transient(final):
            doc = {
                "status": final.status_code,
                "body": final.get_json(),
                "expiresAt": sb.clock.time() + IDEMPOTENCY_TTL,
            }
            sb.store.put("idem", digest, doc)
        return resp
    finally:
        sb.in_flight.discard(digest)


# [G] Refusals that say "not processed, try again" are not stored under the key: a
# 5xx, and the 1-second throttle (§10), whose whole point is that a retry a second
# later (same Idempotency-Key, as a careful client sends) goes through.
TRANSIENT_CODES = frozenset({"FORBIDDEN_CONSECUTIVE_REQUEST"})


def _transient(resp: Response) -> bool:
    data = resp.get_json(silent=True)
    return isinstance(data, dict) and data.get("code") in TRANSIENT_CODES


def guard_consecutive(payment_key: str) -> None:
    """Same paymentKey twice within 1 s -> 403 FORBIDDEN_CONSECUTIVE_REQUEST."""
    sb = sandbox()
    now = sb.clock.time()
    with sb.store.transaction():
        last = sb.last_hit.get(payment_key)
        if last is not None and now - last < CONSECUTIVE_WINDOW:
            raise ApiError("FORBIDDEN_CONSECUTIVE_REQUEST")
        sb.last_hit[payment_key] = now


def body() -> dict[str, Any]:
    """The JSON object body ({} when absent); anything else is INVALID_REQUEST."""
    if not request.data:
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError("INVALID_REQUEST")
    return data


def required(data: dict[str, Any], **types: type) -> None:
    """Each named field is present with the given type (bool is not an int)."""
    for name, kind in types.items():
        value = data.get(name)
        if not isinstance(value, kind) or isinstance(value, bool) or value == "":
            raise ApiError("INVALID_REQUEST")


# -- §2 customer authorization ------------------------------------------------
@bp.post("/brandpay/authorizations/access-token")
@endpoint("basic")
def access_token() -> dict[str, Any]:
    """AuthorizationCode or RefreshToken grant (contract §2)."""
    data = body()
    required(data, customerKey=str, grantType=str)
    engine = sandbox().engine
    if data["grantType"] == "AuthorizationCode":
        required(data, code=str)
        return engine.grant_code(g.mid, data["customerKey"], data["code"])
    if data["grantType"] == "RefreshToken":
        required(data, refreshToken=str)
        return engine.grant_refresh(g.mid, data["customerKey"], data["refreshToken"])
    raise ApiError("INVALID_REQUEST")


@bp.get("/brandpay/terms")
@endpoint("basic")
def terms() -> list[dict[str, Any]]:
    """Terms of `scope` (comma-separated, contract §5 [L]) for `customerKey`."""
    customer_key = sandbox().engine.check_customer_key(request.args.get("customerKey"))
    scopes = [s for s in request.args.get("scope", "").split(",") if s]
    return sandbox().engine.terms(g.mid, customer_key, scopes)


@bp.post("/brandpay/terms/agree")
@endpoint("basic")
def agree() -> dict[str, Any]:
    """Agree terms server-side; the answer's code works as an authorization code."""
    data = body()
    engine = sandbox().engine
    customer_key = engine.check_customer_key(data.get("customerKey"))
    scopes, ids = data.get("scope"), data.get("termsId")
    if not isinstance(scopes, list) or not isinstance(ids, list):
        raise ApiError("INVALID_REQUEST")
    if not all(isinstance(i, int) for i in ids):
        raise ApiError("INVALID_REQUEST")
    return {"code": engine.agree_terms(g.mid, customer_key, scopes, ids)}


# -- §3 payment methods --------------------------------------------------------
@bp.get("/brandpay/payments/methods")
@endpoint("bearer")
def my_methods() -> dict[str, Any]:
    """The token holder's methods."""
    return sandbox().engine.methods(g.mid, g.customer_key)


@bp.get("/brandpay/payments/methods/<customer_key>")
@endpoint("basic")
def customer_methods(customer_key: str) -> dict[str, Any]:
    """Methods by customerKey with the secret key."""
    engine = sandbox().engine
    return engine.methods(g.mid, engine.check_customer_key(customer_key))


@bp.post("/brandpay/payments/methods/<any(card, account):kind>/remove")
@endpoint("bearer")
def remove_method(kind: str) -> dict[str, Any]:
    """Disable one of the token holder's cards/accounts by methodKey."""
    engine = sandbox().engine
    return engine.remove_method(
        g.mid, g.customer_key, kind.upper(), body().get("methodKey")
    )


# -- §4 payments ------------------------------------------------------------
@bp.post("/brandpay/payments/confirm")
@endpoint("basic")
def confirm() -> dict[str, Any]:
    """Confirm an authenticated BrandPay payment within 10 minutes."""
    data = body()
    required(data, paymentKey=str, orderId=str, customerKey=str, amount=int)
    guard_consecutive(data["paymentKey"])
    return sandbox().engine.confirm(g.mid, data)


@bp.post("/payments/confirm")
@endpoint("basic")
def confirm_core() -> dict[str, Any]:
    """Confirm a standard/international card window payment (contract §6.1)."""
    data = body()
    required(data, paymentKey=str, orderId=str, amount=int)
    guard_consecutive(data["paymentKey"])
    return sandbox().engine.confirm_core(g.mid, data)


@bp.post("/brandpay/payments")
@endpoint("basic")
def autopay() -> dict[str, Any]:
    """Charge a customer's saved method without them (contract §4 autopay)."""
    data = body()
    order_id = data.get("orderId")
    if isinstance(order_id, str):  # [G] the throttle counts per orderId here
        guard_consecutive(f"autopay:{order_id}")
    return sandbox().engine.autopay(g.mid, data)


@bp.get("/payments/<payment_key>")
@endpoint("basic")
def get_payment(payment_key: str) -> dict[str, Any]:
    """Payment by paymentKey."""
    engine = sandbox().engine
    return engine.payment_json(engine.payment(g.mid, payment_key))


@bp.get("/payments/orders/<order_id>")
@endpoint("basic")
def get_payment_by_order(order_id: str) -> dict[str, Any]:
    """Payment by orderId."""
    engine = sandbox().engine
    return engine.payment_json(engine.payment_by_order(g.mid, order_id))


@bp.post("/payments/<payment_key>/cancel")
@endpoint("basic")
def cancel(payment_key: str) -> dict[str, Any]:
    """Full (no cancelAmount) or partial cancel."""
    data = body()
    guard_consecutive(payment_key)
    return sandbox().engine.cancel(g.mid, payment_key, data)


# -- §5 member management ---------------------------------------------------
@bp.post("/brandpay/customers/remove")
@endpoint("bearer")
def remove_customer() -> dict[str, Any]:
    """Withdraw the token holder: methods and tokens die."""
    return sandbox().engine.withdraw(g.mid, g.customer_key)


@bp.get("/brandpay/promotions/card")
@endpoint("basic")
def card_promotions() -> dict[str, Any]:
    """No promotions run in the sandbox (contract §3 shape)."""
    return {"discountCards": [], "interestFreeCards": [], "pointCards": []}


@bp.get("/brandpay/promotions/bank")
@endpoint("basic")
def bank_promotions() -> dict[str, Any]:
    """No promotions run in the sandbox (contract §3 shape)."""
    return {"discountBanks": []}


def record_call(resp: Response) -> Response:
    """after_request: log the call without any credential (control API)."""
    path = request.path
    if not path.startswith(("/_sandbox", "/_hosted/static")):
        sandbox().record_call(
            {
                "method": request.method,
                "path": path,
                "status": resp.status_code,
                "replay": bool(g.get("replay", False)),
                "dropped": bool(g.get("dropped", False)),
                "idempotencyKey": g.get("idempotency_key"),
                "at": time.time(),
            }
        )
    return resp
