"""The merchant JSON API under /api/v1: API-key auth, Idempotency-Key on every POST.

Every answer is JSON; every failure has the one shape
`{"error": {"code": "...", "message": "..."}}` (wallet/errors.py renders it for /api/).
Requests and answers are declared once, as pydantic models in merchant_api_schemas.py:
spectree validates every request with them before the view runs and generates the
OpenAPI document from them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from pydantic import ValidationError

from wallet.errors import ConflictError, WalletError
from wallet.extensions import csrf, limiter
from wallet.models._types import iso_z
from wallet.models.mandate import next_period_start
from wallet.models.order import Order
from wallet.security import DB_INT_MAX
from wallet.services import (
    checkout_options,
    mandates,
    merchants,
    orders,
    preapproval,
    refund_requests,
    wallet_links,
)
from wallet.views import merchant_api_schemas as schemas
from wallet.views.merchant_api_schemas import api_spec

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # authenticated by API key, never by a browser session

_MAX_BODY = 16 * 1024
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


@bp.before_request
def _json_object_body() -> None:
    """POST bodies: at most 16 KB of JSON, and an object (the models check the rest)."""
    if request.method != "POST":
        return
    if (request.content_length or 0) > _MAX_BODY:
        raise ApiRequestError(_("The request body is too large."))
    raw = request.get_data(cache=True)
    if len(raw) > _MAX_BODY:
        raise ApiRequestError(_("The request body is too large."))
    if not raw:
        return
    if request.mimetype != "application/json":
        raise ApiRequestError(_("Send the request body as application/json."))
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiRequestError(_("The request body must be a JSON object.")) from None
    if not isinstance(data, dict):
        raise ApiRequestError(_("The request body must be a JSON object."))


def _refuse(
    _req: Any, _resp: Any, error: Exception | None, _instance: Any, _adapter: Any
) -> None:
    """Spectree's hook after validation: a refusal in the API's one error shape."""
    if isinstance(error, ValidationError):
        raise ApiRequestError(_explain(error.errors(include_url=False)[0]))


def _explain(error: dict[str, Any]) -> str:
    """One pydantic error as a sentence naming the field (translated)."""
    loc = error.get("loc") or ()
    name = str(loc[-1])[:40] if loc else ""
    kind, ctx = error["type"], error.get("ctx") or {}
    if name == "Idempotency-Key":
        return _("Send an Idempotency-Key header of 1 to 255 visible ASCII characters.")
    if kind == "missing":
        return _("%(name)s is required.", name=name)
    if kind == "extra_forbidden":
        return _("Unknown field: %(name)s.", name=name)
    if kind.startswith(("int_", "bool_", "float_")):
        return _("%(name)s must be a whole number.", name=name)
    if kind in ("greater_than_equal", "greater_than"):
        return _("%(name)s must be at least %(limit)s.", name=name, limit=_limit(ctx))
    if kind in ("less_than_equal", "less_than"):
        return _("%(name)s must be at most %(limit)s.", name=name, limit=_limit(ctx))
    if kind == "string_too_long":
        return _(
            "%(name)s must be at most %(n)d characters.", name=name, n=ctx["max_length"]
        )
    if kind in ("string_too_short", "printable"):
        return _("%(name)s must be printable text, not blank.", name=name)
    if kind == "string_pattern_mismatch":
        return _("%(name)s is not valid; use next_cursor as given.", name=name)
    if kind == "string_type":
        return _("%(name)s must be a string.", name=name)
    if kind == "literal_error":
        return _(
            "%(name)s must be one of %(values)s.", name=name, values=ctx["expected"]
        )
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return _("The request body must be a JSON object.")
    return _("%(name)s is not valid.", name=name)


def _limit(ctx: dict[str, Any]) -> str:
    return next(str(v) for k, v in ctx.items() if k in ("ge", "gt", "le", "lt"))


def idempotent(view: View, *, hold: bool = False) -> Callable[..., ResponseReturnValue]:
    """POST: same Idempotency-Key + same request → the stored response, once per merchant.

    Runs after validation (spectree wraps it): like Stripe, a request refused for its
    shape is not stored under the key, so the merchant may fix it and retry with it.
    `hold`: the key, the view's writes and the answer in one commit, for views that
    only write here (no call to Toss while the transaction is open) and do not commit
    themselves (issue 16: one commit per API order, not four).
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        key = request.context.headers.idempotency_key
        parsed = json.loads(request.get_data(cache=True) or b"{}")
        print_ = merchants.fingerprint(request.method, request.path, parsed)
        record, replay = merchants.begin_idempotent(g.merchant, key, print_, hold=hold)
        if replay:
            g.api_replay = True  # sent as stored (merchant_api_schemas._Plugin)
            body, status = merchants.stored_response(record)
            return jsonify(body), status, {"Idempotent-Replayed": "true"}
        try:
            body, status = view(*args, **kwargs)
        except WalletError as exc:
            body = {"error": {"code": exc.code, "message": exc.message}}
            status = exc.status
        except Exception:
            merchants.finish_idempotent(record, 500, {}, held=hold)
            raise
        merchants.finish_idempotent(record, status, body, held=hold)
        return jsonify(body), status

    return wrapper


def _post(
    body: type[schemas.BaseModel],
    ok: dict[int, tuple[type[schemas.BaseModel], str]],
    *errors: int,
    hold: bool = False,
    resp: schemas.Response | None = None,
) -> Callable[[View], Callable[..., ResponseReturnValue]]:
    """A POST route: body and Idempotency-Key validated and documented, then idempotent.

    `resp`: the documented answers, when they need more than `answers(ok, *errors)`.
    """

    def decorate(view: View) -> Callable[..., ResponseReturnValue]:
        return api_spec.validate(
            json=body,
            headers=schemas.IdempotencyHeaders,
            resp=resp or schemas.answers(ok, *errors),
            before=_refuse,
            operation_id=schemas.operation_id(view.__name__),
        )(idempotent(view, hold=hold))

    return decorate


def _get(
    ok: tuple[type[schemas.BaseModel], str],
    *errors: int,
    query: type[schemas.BaseModel] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A GET route: query validated, answers documented and checked."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        return api_spec.validate(
            query=query,
            resp=schemas.answers({200: ok}, *errors),
            before=_refuse,
            operation_id=schemas.operation_id(view.__name__),
        )(view)

    return decorate


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
        "options": checkout_options.api_json(order),
        "pre_approval": {"state": order.preapproval, "reason": order.preapproval_reason}
        if order.preapproval
        else None,
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
        **checkout_options.payment_api_json(payment),
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
@api_spec.validate(
    resp=schemas.Response("HTTP_200"), security=[], operation_id="getOpenApi"
)
def openapi() -> ResponseReturnValue:
    """This document (OpenAPI 3.1, generated from wallet/views/merchant_api_schemas.py)."""
    return jsonify(api_spec.spec)


@bp.post("/orders")
@_post(
    schemas.NewOrder,
    {201: (schemas.Order, "The new order.")},
    *schemas.WRITE,
    hold=True,
)
def create_order() -> tuple[dict[str, Any], int]:
    """Create an order for a member to pay in the wallet."""
    data = request.context.json
    order = merchants.create_order(
        g.merchant, data.amount, data.order_name, data.return_url, commit=False
    )
    return _order_json(order), 201


@bp.get("/orders")
@_get((schemas.OrderList, "A page of orders."), 400, 401, 429, query=schemas.Page)
def list_orders() -> ResponseReturnValue:
    """The merchant's orders, newest first (keyset pagination)."""
    query = request.context.query
    if query.cursor is not None and orders.decode_cursor(query.cursor) is None:
        raise ApiRequestError(_("cursor is not valid; use next_cursor as given."))
    page = merchants.orders_page(g.merchant, query.cursor, query.limit)
    return_urls = merchants.return_urls_of(page.orders)
    return {
        "data": [_order_json(o, return_urls) for o in page.orders],
        "next_cursor": page.next_cursor,
    }


@bp.get("/orders/<order_id>")
@_get((schemas.Order, "The order."), *schemas.READ)
def get_order(order_id: str) -> ResponseReturnValue:
    """One order."""
    return _order_json(merchants.order_of(g.merchant, order_id))


@bp.post("/orders/<order_id>/wallet-links")
@_post(schemas.NewPayLink, {201: (schemas.WalletLink, "The link.")}, *schemas.WRITE)
def create_pay_link(order_id: str) -> tuple[dict[str, Any], int]:
    """A signed single-use wallet link to pay this order."""
    data = request.context.json
    order = merchants.order_of(g.merchant, order_id)
    ttl = _ttl(data.expires_in)
    if data.max_amount is not None and data.max_amount < order.amount:
        raise ApiRequestError(
            _("max_amount must be at least %(limit)s.", limit=order.amount)
        )
    if not order.is_payable:
        raise ConflictError(_("This order can no longer be paid."))
    return_url = merchants.checked_return_url(
        g.merchant, data.return_url or merchants.return_url_of(order)
    )
    if return_url is None:
        raise ApiRequestError(_("return_url is required (the order has none)."))
    token = wallet_links.sign_link(
        g.merchant, "pay", return_url, order=order, max_amount=data.max_amount, ttl=ttl
    )
    return _link_json(token), 201


@bp.post("/wallet-links")
@_post(
    schemas.NewManageLink,
    {201: (schemas.WalletLink, "The link.")},
    400,
    401,
    409,
    422,
    429,
)
def create_manage_link() -> tuple[dict[str, Any], int]:
    """A signed wallet link to manage payment methods (pay links are made per order)."""
    data = request.context.json
    return_url = merchants.checked_return_url(g.merchant, data.return_url)
    if return_url is None:
        raise ApiRequestError(_("return_url is required."))
    token = wallet_links.sign_link(
        g.merchant, "manage", return_url, ttl=_ttl(data.expires_in)
    )
    return _link_json(token), 201


@bp.post("/mandate-links")
@_post(
    schemas.NewMandateLink,
    {201: (schemas.WalletLink, "The link: send the member to its url.")},
    400,
    401,
    409,
    422,
    429,
)
def create_mandate_link() -> tuple[dict[str, Any], int]:
    """A signed wallet link asking a member for a mandate (action `mandate`).

    The member reviews it, picks a method and agrees to BrandPay's billing terms;
    they come back to return_url with a signed `wallet_result` naming the mandate.
    """
    data = request.context.json
    return_url = merchants.checked_return_url(g.merchant, data.return_url)
    asked: dict[str, Any] = {
        "description": data.description,
        "max_amount": data.max_amount,
        "max_charges": data.max_charges,
        "period": data.period,
        "valid_days": data.valid_days,
    }
    if data.reference is not None:
        asked["reference"] = data.reference
    token = wallet_links.sign_link(
        g.merchant,
        "mandate",
        return_url or "",
        ttl=_ttl(data.expires_in),
        mandate=asked,
    )
    return _link_json(token), 201


def _ttl(expires_in: int | None) -> int | None:
    """The link's lifetime: the schema's range, capped by this portal's WALLET_LINK_TTL."""
    top = current_app.config["WALLET_LINK_TTL"]
    if expires_in is not None and expires_in > top:
        raise ApiRequestError(_("expires_in must be at most %(limit)s.", limit=top))
    return expires_in


@bp.get("/payments/<order_id>")
@_get((schemas.Payment, "The payment."), *schemas.READ)
def get_payment(order_id: str) -> ResponseReturnValue:
    """The payment of an order (404 until it is paid)."""
    order = merchants.order_of(g.merchant, order_id)
    if order.payment is None:
        raise merchants.NotFoundError(_("This order has no payment yet."))
    return _payment_json(order)


@bp.post("/orders/<order_id>/decline")
@_post(
    schemas.NewDecline,
    {200: (schemas.Order, "Declined; the order as it is now.")},
    *schemas.WRITE,
)
def decline(order_id: str) -> tuple[dict[str, Any], int]:
    """Say no to a payment after all (issue 15): before its confirm it is not taken,
    after it it is cancelled (망취소)."""
    data = request.context.json
    order = merchants.order_of(g.merchant, order_id)
    actor = f"merchant:{g.merchant.public_id} (api)"
    preapproval.withdraw(g.merchant, order, data.reason, actor)
    return _order_json(merchants.order_of(g.merchant, order_id)), 200


@bp.post("/orders/<order_id>/refunds")
@_post(
    schemas.NewRefund,
    {
        201: (schemas.Payment, "Refunded; the payment as it is now."),
        202: (
            schemas.Payment,
            "Sent, but Toss's answer was lost; it is finished shortly.",
        ),
    },
    *schemas.WRITE,
    502,
)
def refund(order_id: str) -> tuple[dict[str, Any], int]:
    """Refund all (no amount) or part of a paid order."""
    data = request.context.json
    order = merchants.order_of(g.merchant, order_id)
    order, pending = merchants.refund(g.merchant, order, data.amount, data.reason)
    return _payment_json(order), 202 if pending else 201


# -- refund requests (issue 13, M1) -------------------------------------------------------


@bp.get("/refund-requests")
@_get(
    (schemas.RefundRequestList, "A page of requests."),
    400,
    401,
    429,
    query=schemas.RefundRequestQuery,
)
def list_refund_requests() -> ResponseReturnValue:
    """Members' refund requests for your orders, newest first (OPEN unless `status`)."""
    query = request.context.query
    rows, more = refund_requests.list_for_merchant(
        g.merchant,
        status=None if query.status == "ALL" else query.status,
        before=_before(query.cursor),
        limit=query.limit,
    )
    return _listing([refund_requests.as_json(r) for r in rows], more)


def _before(cursor: str | None) -> int | None:
    """An id cursor (digits, checked by the query model) as a bound for the query."""
    return min(int(cursor), DB_INT_MAX) if cursor else None


def _listing(data: list[dict[str, Any]], more: int | None) -> dict[str, Any]:
    """One page of an id-cursor listing."""
    return {"data": data, "next_cursor": str(more) if more is not None else None}


@bp.get("/refund-requests/<request_id>")
@_get((schemas.RefundRequest, "The request."), *schemas.READ)
def get_refund_request(request_id: str) -> ResponseReturnValue:
    """One refund request."""
    return refund_requests.as_json(
        refund_requests.get_for_merchant(g.merchant, request_id)
    )


@bp.post("/refund-requests/<request_id>/approve")
@_post(
    schemas.ApproveRefundRequest,
    {
        201: (schemas.RefundRequest, "Approved and refunded."),
        202: (
            schemas.RefundRequest,
            "Approved; Toss's answer to the refund was lost, it is finished shortly.",
        ),
    },
    *schemas.WRITE,
    502,
)
def approve_refund_request(request_id: str) -> tuple[dict[str, Any], int]:
    """Approve: refund all (no amount) or part of the order."""
    refund_request, pending = refund_requests.approve(
        g.merchant,
        request_id,
        request.context.json.amount,
        f"merchant:{g.merchant.public_id}",
    )
    return refund_requests.as_json(refund_request), 202 if pending else 201


@bp.post("/refund-requests/<request_id>/decline")
@_post(
    schemas.DeclineRefundRequest,
    {200: (schemas.RefundRequest, "Declined.")},
    *schemas.WRITE,
)
def decline_refund_request(request_id: str) -> tuple[dict[str, Any], int]:
    """Decline, with a reason the member reads."""
    refund_request = refund_requests.decline(
        g.merchant,
        request_id,
        request.context.json.reason,
        f"merchant:{g.merchant.public_id}",
    )
    return refund_requests.as_json(refund_request), 200


# -- mandates and their charges (issue 15) --------------------------------------------
# A mandate starts with the member's approval (POST /mandate-links asks for one); the
# API lists, shows and revokes them, and charges under them (services/mandates.py).


def _mandate_json(mandate: Any) -> dict[str, Any]:
    return {
        "mandate_id": mandate.public_id,
        "status": mandate.shown_status,
        "description": mandate.description,
        "reference": mandate.reference,
        "max_amount": mandate.max_amount,
        "max_charges": mandate.max_charges,
        "period": mandate.period,
        "method": "selected" if mandate.method_key is None else "chosen",
        "charges_in_period": mandate.charges_in_period(),
        "period_resets_at": iso_z(next_period_start(mandate.period)),
        "expires_at": iso_z(mandate.expires_at),
        "created_at": iso_z(mandate.created_at),
        "approved_at": iso_z(mandate.approved_at),
        "revoked_at": iso_z(mandate.revoked_at),
        "revoked_by": mandate.revoked_by,
    }


def _charge_json(mandate_id: str, order: Order) -> dict[str, Any]:
    payment = order.payment
    return {
        "mandate_id": mandate_id,
        "order_id": order.order_id,
        "order_name": order.order_name,
        "amount": order.amount,
        "status": order.status,
        "method": payment.method if payment is not None else None,
        "approved_at": iso_z(payment.approved_at) if payment is not None else None,
        "created_at": iso_z(order.created_at),
    }


@bp.get("/mandates")
@_get(
    (schemas.MandateList, "A page of mandates."),
    400,
    401,
    429,
    query=schemas.MandateQuery,
)
def list_mandates() -> ResponseReturnValue:
    """Your mandates, newest first (pending ones too: asked, not yet approved)."""
    query = request.context.query
    rows, more = mandates.list_for_merchant(
        g.merchant, before=_before(query.cursor), limit=query.limit
    )
    return _listing([_mandate_json(m) for m in rows], more)


@bp.get("/mandates/<mandate_id>")
@_get((schemas.Mandate, "The mandate."), *schemas.READ)
def get_mandate(mandate_id: str) -> ResponseReturnValue:
    """One mandate, with how many charges its current period has used."""
    return _mandate_json(mandates.of_merchant(g.merchant, mandate_id))


@bp.post("/mandates/<mandate_id>/revoke")
@_post(
    schemas.RevokeMandate,
    {200: (schemas.Mandate, "Revoked (or already ended); it allows no more charges.")},
    *schemas.WRITE,
)
def revoke_mandate(mandate_id: str) -> tuple[dict[str, Any], int]:
    """End the mandate at once."""
    mandate = mandates.of_merchant(g.merchant, mandate_id)
    mandates.revoke(
        mandate,
        f"merchant:{g.merchant.public_id}",
        "merchant",
        request.context.json.reason,
    )
    return _mandate_json(mandate), 200


@bp.post("/mandates/<mandate_id>/charges")
@_post(
    schemas.NewCharge,
    {},
    resp=schemas.charge_answers(
        {
            201: (schemas.Charge, "Charged: the order is DONE."),
            202: (
                schemas.Charge,
                "Sent, but Toss's answer was lost: the order is UNKNOWN until it is "
                "settled (GET /orders/{order_id}; a webhook follows). Never charged "
                "twice.",
            ),
        }
    ),
)
def charge_mandate(mandate_id: str) -> tuple[dict[str, Any], int]:
    """Charge the member's saved method under the mandate (autopay)."""
    data = request.context.json
    order = mandates.charge(
        g.merchant,
        mandate_id,
        data.amount,
        data.order_id,
        data.order_name,
        installment_months=data.installment_months,
        use_card_point=data.use_card_point,
    )
    return _charge_json(mandate_id, order), 201 if order.status == "DONE" else 202
