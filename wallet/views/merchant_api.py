"""The merchant JSON API under /api/v1: API-key auth, Idempotency-Key on every POST.

Every answer is JSON; every failure has the one shape
`{"error": {"code": "...", "message": "..."}}` (wallet/errors.py renders it for /api/).
The OpenAPI document (wallet/views/merchant_api_spec.py) describes exactly these routes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from wallet.errors import ConflictError, WalletError
from wallet.extensions import csrf, limiter
from wallet.models._types import iso_z
from wallet.models.order import MAX_AMOUNT, MAX_ORDER_NAME, MIN_AMOUNT, Order
from wallet.models.refund_request import REQUEST_STATUSES
from wallet.security import DB_INT_MAX
from wallet.services import merchants, orders, refund_requests, wallet_links
from wallet.views.merchant_api_spec import SPEC

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # authenticated by API key, never by a browser session

_MAX_BODY = 16 * 1024
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
_PAGE_LIMIT = (1, 100)
View = Callable[..., tuple[dict[str, Any], int]]


class ApiRequestError(WalletError):
    """The request body or parameters are not valid."""

    code = "INVALID_REQUEST"


def _rate_key() -> str:
    """Rate-limit bucket: the API key (hashed; never stored), else the client address."""
    auth = request.headers.get("Authorization", "")
    if auth:
        return "api:" + hashlib.sha256(auth.encode()).hexdigest()[:32]
    return "api-anon:" + get_remote_address()


limiter.limit(lambda: current_app.config["API_RATELIMIT"], key_func=_rate_key)(bp)


@bp.before_request
def _authenticate() -> None:
    """Every route except the OpenAPI document needs `Authorization: Bearer <key>`."""
    if request.endpoint == "api.openapi":
        return
    scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
    key = raw.strip() if scheme.lower() == "bearer" else None
    g.merchant, g.api_key = merchants.authenticate_api_key(key)


@bp.after_request
def _no_store(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


# -- input -------------------------------------------------------------------------


def _body(allowed: dict[str, type]) -> dict[str, Any]:
    """The JSON object body, with only known fields of the right JSON types."""
    if (request.content_length or 0) > _MAX_BODY:
        raise ApiRequestError(_("The request body is too large."))
    raw = request.get_data(cache=True)
    if len(raw) > _MAX_BODY:
        raise ApiRequestError(_("The request body is too large."))
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        raise ApiRequestError(_("The request body must be a JSON object.")) from None
    if not isinstance(data, dict):
        raise ApiRequestError(_("The request body must be a JSON object."))
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ApiRequestError(_("Unknown field: %(name)s.", name=str(unknown[0])[:40]))
    for name, kind in allowed.items():
        value = data.get(name)
        if value is None:
            data.pop(name, None)
            continue
        wrong = isinstance(value, bool) if kind is int else False
        if wrong or not isinstance(value, kind):
            raise ApiRequestError(
                _("%(name)s must be a %(kind)s.", name=name, kind=_type_name(kind))
            )
    return data


def _type_name(kind: type) -> str:
    return {int: _("whole number"), str: _("string")}.get(kind, kind.__name__)


def _int_in(data: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = data.get(name)
    if value is not None and not low <= value <= high:
        raise ApiRequestError(
            _(
                "%(name)s must be between %(low)d and %(high)d.",
                name=name,
                low=low,
                high=high,
            )
        )
    return value


def _text(data: dict[str, Any], name: str, max_len: int, required: bool) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise ApiRequestError(_("%(name)s is required.", name=name))
        return None
    if not value.strip() or len(value) > max_len or not value.isprintable():
        raise ApiRequestError(
            _(
                "%(name)s must be 1 to %(n)d printable characters.",
                name=name,
                n=max_len,
            )
        )
    return value


def idempotent(view: View) -> Callable[..., ResponseReturnValue]:
    """POST: same Idempotency-Key + same request → the stored response, once per merchant."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        key = request.headers.get("Idempotency-Key", "")
        if not _IDEMPOTENCY_KEY.fullmatch(key):
            raise ApiRequestError(
                _(
                    "Send an Idempotency-Key header of 1 to 255 visible ASCII characters."
                )
            )
        if (request.content_length or 0) > _MAX_BODY:
            raise ApiRequestError(_("The request body is too large."))
        try:
            parsed = json.loads(request.get_data(cache=True) or b"{}")
        except (ValueError, RecursionError):
            parsed = request.get_data(cache=True).decode("latin-1")
        print_ = merchants.fingerprint(request.method, request.path, parsed)
        record, replay = merchants.begin_idempotent(g.merchant, key, print_)
        if replay:
            body, status = merchants.stored_response(record)
            return jsonify(body), status, {"Idempotent-Replayed": "true"}
        try:
            body, status = view(*args, **kwargs)
        except WalletError as exc:
            body = {"error": {"code": exc.code, "message": exc.message}}
            status = exc.status
        except Exception:
            merchants.finish_idempotent(record, 500, {})
            raise
        merchants.finish_idempotent(record, status, body)
        return jsonify(body), status

    return wrapper


# -- output -------------------------------------------------------------------------


def _order_json(
    order: Order, return_urls: dict[int, str | None] | None = None
) -> dict[str, Any]:
    """`return_urls`: prefetched by merchants.return_urls_of for listings."""
    if return_urls is None:
        return_url = merchants.return_url_of(order)
    else:
        return_url = return_urls.get(order.id)
    return {
        "order_id": order.order_id,
        "order_name": order.order_name,
        "amount": order.amount,
        "currency": order.currency,
        "status": order.status,
        "return_url": return_url,
        "created_at": iso_z(order.created_at),
        "expires_at": iso_z(order.expires_at),
    }


def _payment_json(order: Order) -> dict[str, Any]:
    payment = order.payment
    return {
        "order_id": order.order_id,
        "status": payment.status,
        "method": payment.method,
        "pay_way": order.pay_way,
        "total_amount": payment.total_amount,
        "balance_amount": payment.balance_amount,
        "approved_at": iso_z(payment.approved_at),
        "cancels": [
            {
                "amount": c.amount,
                "reason": c.reason,
                "status": c.status,
                "canceled_at": iso_z(c.canceled_at),
            }
            for c in payment.cancels
        ],
    }


def _link_json(token: str) -> dict[str, Any]:
    claims = wallet_links.unverified_claims(token)
    return {
        "url": wallet_links.link_url(token),
        "token": token,
        "action": claims["action"],
        "expires_at": iso_z(wallet_links.expiry_of(claims)),
    }


# -- routes -------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3.1 document of this API."""
    return jsonify(SPEC)


@bp.post("/orders")
@idempotent
def create_order() -> tuple[dict[str, Any], int]:
    """Create an order the merchant's customer will pay in the wallet."""
    data = _body({"amount": int, "order_name": str, "return_url": str})
    if "amount" not in data:
        raise ApiRequestError(_("amount is required."))
    amount = _int_in(data, "amount", MIN_AMOUNT, MAX_AMOUNT)
    name = _text(data, "order_name", MAX_ORDER_NAME, required=True)
    order = merchants.create_order(
        g.merchant, amount or 0, name or "", data.get("return_url")
    )
    return _order_json(order), 201


@bp.get("/orders")
def list_orders() -> ResponseReturnValue:
    """The merchant's orders, newest first, keyset-paginated."""
    limit = _page_limit()
    cursor = request.args.get("cursor")
    if cursor is not None and orders.decode_cursor(cursor) is None:
        raise ApiRequestError(_("cursor is not valid; use next_cursor as given."))
    page = merchants.orders_page(g.merchant, cursor, limit)
    return_urls = merchants.return_urls_of(page.orders)
    return {
        "data": [_order_json(o, return_urls) for o in page.orders],
        "next_cursor": page.next_cursor,
    }


@bp.get("/orders/<order_id>")
def get_order(order_id: str) -> ResponseReturnValue:
    """One of the merchant's orders."""
    return _order_json(merchants.order_of(g.merchant, order_id))


@bp.post("/orders/<order_id>/wallet-links")
@idempotent
def create_pay_link(order_id: str) -> tuple[dict[str, Any], int]:
    """A signed, single-use link that lets a member pay this order."""
    data = _body({"return_url": str, "max_amount": int, "expires_in": int})
    order = merchants.order_of(g.merchant, order_id)
    ttl = _int_in(data, "expires_in", 30, current_app.config["WALLET_LINK_TTL"])
    ceiling = _int_in(data, "max_amount", order.amount, MAX_AMOUNT)
    if not order.is_payable:
        raise ConflictError(_("This order can no longer be paid."))
    return_url = merchants.checked_return_url(
        g.merchant, data.get("return_url") or merchants.return_url_of(order)
    )
    if return_url is None:
        raise ApiRequestError(_("return_url is required (the order has none)."))
    token = wallet_links.sign_link(
        g.merchant, "pay", return_url, order=order, max_amount=ceiling, ttl=ttl
    )
    return _link_json(token), 201


@bp.post("/wallet-links")
@idempotent
def create_manage_link() -> tuple[dict[str, Any], int]:
    """A signed link that opens the member's wallet settings."""
    data = _body({"action": str, "return_url": str, "expires_in": int})
    if data.get("action") != "manage":
        raise ApiRequestError(
            _('action must be "manage" (pay links are made per order).')
        )
    ttl = _int_in(data, "expires_in", 30, current_app.config["WALLET_LINK_TTL"])
    return_url = merchants.checked_return_url(g.merchant, data.get("return_url"))
    if return_url is None:
        raise ApiRequestError(_("return_url is required."))
    token = wallet_links.sign_link(g.merchant, "manage", return_url, ttl=ttl)
    return _link_json(token), 201


@bp.get("/payments/<order_id>")
def get_payment(order_id: str) -> ResponseReturnValue:
    """The payment of one of the merchant's orders (404 until it is paid)."""
    order = merchants.order_of(g.merchant, order_id)
    if order.payment is None:
        raise merchants.NotFoundError(_("This order has no payment yet."))
    return _payment_json(order)


@bp.post("/orders/<order_id>/refunds")
@idempotent
def refund(order_id: str) -> tuple[dict[str, Any], int]:
    """Refund all or part of a paid order."""
    data = _body({"amount": int, "reason": str})
    order = merchants.order_of(g.merchant, order_id)
    amount = _int_in(data, "amount", 1, MAX_AMOUNT)
    reason = _text(data, "reason", 200, required=True)
    order, pending = merchants.refund(g.merchant, order, amount, reason or "")
    return _payment_json(order), 202 if pending else 201


# -- refund requests (issue 13, M1) -------------------------------------------------------


def _page_limit() -> int:
    try:
        limit = int(request.args.get("limit", "20"))
    except ValueError:
        raise ApiRequestError(_("limit must be a whole number.")) from None
    if not _PAGE_LIMIT[0] <= limit <= _PAGE_LIMIT[1]:
        raise ApiRequestError(_("limit must be between 1 and 100."))
    return limit


@bp.get("/refund-requests")
def list_refund_requests() -> ResponseReturnValue:
    """The merchant's refund requests, newest first (OPEN unless `status` says)."""
    status = request.args.get("status", "OPEN")
    if status not in (*REQUEST_STATUSES, "ALL"):
        raise ApiRequestError(
            _("status must be one of OPEN, APPROVED, DECLINED or ALL.")
        )
    cursor = request.args.get("cursor")
    if cursor is not None and not (cursor.isascii() and cursor.isdigit()):
        raise ApiRequestError(_("cursor is not valid; use next_cursor as given."))
    rows, more = refund_requests.list_for_merchant(
        g.merchant,
        status=None if status == "ALL" else status,
        before=min(int(cursor[:10]), DB_INT_MAX) if cursor else None,
        limit=_page_limit(),
    )
    return {
        "data": [refund_requests.as_json(r) for r in rows],
        "next_cursor": str(more) if more is not None else None,
    }


@bp.get("/refund-requests/<request_id>")
def get_refund_request(request_id: str) -> ResponseReturnValue:
    """One refund request."""
    return refund_requests.as_json(
        refund_requests.get_for_merchant(g.merchant, request_id)
    )


@bp.post("/refund-requests/<request_id>/approve")
@idempotent
def approve_refund_request(request_id: str) -> tuple[dict[str, Any], int]:
    """Approve: refund `amount` (absent = all that remains) of the order."""
    data = _body({"amount": int})
    amount = _int_in(data, "amount", 1, MAX_AMOUNT)
    refund_request, pending = refund_requests.approve(
        g.merchant, request_id, amount, f"merchant:{g.merchant.public_id}"
    )
    return refund_requests.as_json(refund_request), 202 if pending else 201


@bp.post("/refund-requests/<request_id>/decline")
@idempotent
def decline_refund_request(request_id: str) -> tuple[dict[str, Any], int]:
    """Decline with a reason the member reads on their receipt."""
    data = _body({"reason": str})
    reason = _text(data, "reason", 200, required=True)
    refund_request = refund_requests.decline(
        g.merchant, request_id, reason or "", f"merchant:{g.merchant.public_id}"
    )
    return refund_requests.as_json(refund_request), 200
