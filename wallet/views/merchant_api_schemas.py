"""The merchant API declared once: pydantic models for every request and answer.

Spectree validates each request against these models before a view runs (and each
answer before it leaves), and generates /api/v1/openapi.json from the same models,
so the document cannot drift from what the routes accept and return.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import g
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError
from spectree import Response, SecurityScheme, SecuritySchemeData, SpecTree
from spectree.models import SecureType
from spectree.plugins.flask_plugin import FlaskPlugin

from wallet.models.mandate import (
    MANDATE_STATUSES,
    MAX_CHARGES_PER_PERIOD,
    MAX_DESCRIPTION,
    PERIODS,
)
from wallet.models.order import (
    HOOK_STATES,
    MAX_AMOUNT,
    MAX_ORDER_NAME,
    MIN_AMOUNT,
    ORDER_PAY_WAYS,
    RECEIPT_TYPES,
    STATUSES,
)
from wallet.models.payment import CANCEL_STATUSES
from wallet.models.refund_request import REQUEST_STATUSES

MAX_REASON = 200
LINK_TTL = (30, 600)  # seconds; the portal's WALLET_LINK_TTL may lower the top


def _printable(value: str) -> str:
    """Text a person reads: not blank, no control characters."""
    if not value.strip() or not value.isprintable():
        raise PydanticCustomError("printable", "must be printable text")
    return value


def _text(max_length: int) -> Any:
    return Annotated[
        str, Field(min_length=1, max_length=max_length), AfterValidator(_printable)
    ]


# JSON integers only: no "12300", no 12300.0, no true (strict mode).
Amount = Annotated[int, Field(strict=True, ge=MIN_AMOUNT, le=MAX_AMOUNT)]
RefundAmount = Annotated[int, Field(strict=True, ge=1, le=MAX_AMOUNT)]
LinkTtl = Annotated[int, Field(strict=True, ge=LINK_TTL[0], le=LINK_TTL[1])]
Url = Annotated[str, Field(min_length=1, max_length=2000)]


class _Body(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class IdempotencyHeaders(BaseModel):
    """Every POST: same key + same request replays the first answer."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    idempotency_key: str = Field(
        alias="Idempotency-Key",
        pattern=r"^[!-~]{1,255}$",
        description="Same key + same request replays the first response; "
        "same key + another request is refused with 422.",
    )


class NewOrder(_Body):
    amount: Amount
    order_name: _text(MAX_ORDER_NAME)  # type: ignore[valid-type]
    return_url: Url | None = None


class NewPayLink(_Body):
    return_url: Url | None = None
    max_amount: RefundAmount | None = None
    expires_in: LinkTtl | None = None


class NewManageLink(_Body):
    action: Literal["manage"]
    return_url: Url
    expires_in: LinkTtl | None = None


class NewRefund(_Body):
    amount: RefundAmount | None = None
    reason: _text(MAX_REASON)  # type: ignore[valid-type]


class NewDecline(_Body):
    """The shop's late "no" to a payment it pre-approved (issue 15)."""

    reason: _text(MAX_REASON)  # type: ignore[valid-type]


class ApproveRefundRequest(_Body):
    amount: RefundAmount | None = None


class DeclineRefundRequest(_Body):
    reason: _text(MAX_REASON)  # type: ignore[valid-type]


class NewCharge(_Body):
    """A charge under a mandate: your orderId, the amount and what it is for."""

    amount: Amount
    order_id: str = Field(
        pattern=r"^[A-Za-z0-9_-]{6,64}$",
        description="Your unique orderId (6-64 of A-Z a-z 0-9 _ -); Toss sees it.",
    )
    order_name: _text(MAX_ORDER_NAME)  # type: ignore[valid-type]
    installment_months: int | None = Field(
        None,
        strict=True,
        description="A card method only: 0 = lump sum, or 2-12 months (from 50,000 "
        "KRW). Left out: Toss's default, a lump sum.",
    )
    use_card_point: bool | None = Field(
        None, strict=True, description="A card method only: pay with card points."
    )


class RevokeMandate(_Body):
    reason: _text(MAX_REASON) | None = None  # type: ignore[valid-type]


class NewMandateLink(_Body):
    """What the member is asked to agree to, and where they return."""

    description: _text(MAX_DESCRIPTION) = Field(  # type: ignore[valid-type]
        description="What the member reads, e.g. 'Monthly tea box, up to 30,000 KRW'."
    )
    max_amount: Amount = Field(description="The most one charge may take (KRW).")
    max_charges: int = Field(strict=True, ge=1, le=MAX_CHARGES_PER_PERIOD)
    period: Literal[PERIODS] = Field(  # type: ignore[valid-type]
        description="Calendar periods in Korea Standard Time: day, week (from "
        "Monday) or month (from the 1st)."
    )
    valid_days: int = Field(
        strict=True, ge=1, le=3660, description="The mandate expires after this."
    )
    return_url: Url
    reference: _text(100) | None = None  # type: ignore[valid-type]
    expires_in: LinkTtl | None = None


class Page(BaseModel):
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)


class MandateQuery(BaseModel):
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, pattern=r"^[0-9]{1,10}$")


class RefundRequestQuery(BaseModel):
    status: Literal[(*REQUEST_STATUSES, "ALL")] = "OPEN"  # type: ignore[valid-type]
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, pattern=r"^[0-9]{1,10}$")


# -- answers ---------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str
    message: str


class Error(BaseModel):
    """Every failure: `{"error": {"code": "...", "message": "..."}}`."""

    error: ErrorDetail


class CheckoutOptions(BaseModel):
    """What the member chose on the checkout (null: not chosen)."""

    installment_months: int | None = Field(
        description="0 = lump sum, or 2-12 months (only from 50,000 KRW)."
    )
    use_card_point: bool | None
    cash_receipt_type: Literal[RECEIPT_TYPES] | None = Field(  # type: ignore[valid-type]
        description="소득공제 (income deduction) or 지출증빙 (expense proof)."
    )


class PreApproval(BaseModel):
    state: Literal[HOOK_STATES] = Field(  # type: ignore[valid-type]
        description="ASKED, APPROVED, CONFIRM_SENT (confirmed after a yes), DECLINED, "
        "NO_ANSWER, or WITHDRAWN (a no after the yes: see POST .../decline)."
    )
    reason: str | None


class CashReceipt(BaseModel):
    type: str = Field(description="Toss's cashReceipt.type: 소득공제 or 지출증빙.")
    url: str | None


class Order(BaseModel):
    order_id: str
    order_name: str
    amount: int = Field(ge=MIN_AMOUNT)
    currency: Literal["KRW"]
    status: Literal[STATUSES]  # type: ignore[valid-type]
    return_url: str | None
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    expires_at: str = Field(json_schema_extra={"format": "date-time"})
    options: CheckoutOptions
    pre_approval: PreApproval | None = Field(
        description="The pre-approval hook's answer for the current attempt; null "
        "when the shop has no hook or was not asked yet."
    )


class OrderList(BaseModel):
    data: list[Order]
    next_cursor: str | None


class WalletLink(BaseModel):
    url: str
    token: str
    action: Literal["pay", "manage", "mandate"]
    expires_at: str = Field(json_schema_extra={"format": "date-time"})


class Cancel(BaseModel):
    amount: int
    reason: str
    status: Literal[CANCEL_STATUSES]  # type: ignore[valid-type]
    canceled_at: str | None


class Payment(BaseModel):
    order_id: str
    status: str
    method: str | None
    pay_way: Literal[ORDER_PAY_WAYS] | None = Field(  # type: ignore[valid-type]
        description="Which window paid: BrandPay, Toss's card window or the "
        "international card window; AUTOPAY: a charge under a mandate."
    )
    total_amount: int
    balance_amount: int
    approved_at: str | None
    installment_months: int | None = Field(
        description="Toss's card.installmentPlanMonths (0 = lump sum); null for "
        "account payments."
    )
    use_card_point: bool | None = Field(description="Toss's card.useCardPoint.")
    cash_receipt: CashReceipt | None = Field(
        description="The cash receipt Toss issued for an account payment."
    )
    cancels: list[Cancel]


class Mandate(BaseModel):
    mandate_id: str
    status: Literal[MANDATE_STATUSES]  # type: ignore[valid-type]
    description: str
    reference: str | None
    max_amount: int
    max_charges: int
    period: Literal[PERIODS]  # type: ignore[valid-type]
    method: Literal["selected", "chosen"] = Field(
        description="selected: the member's selected method at each charge; "
        "chosen: the method the member picked when approving."
    )
    charges_in_period: int
    period_resets_at: str = Field(json_schema_extra={"format": "date-time"})
    expires_at: str = Field(json_schema_extra={"format": "date-time"})
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    approved_at: str | None = Field(json_schema_extra={"format": "date-time"})
    revoked_at: str | None = Field(json_schema_extra={"format": "date-time"})
    revoked_by: Literal["member", "merchant", "admin"] | None


class MandateList(BaseModel):
    data: list[Mandate]
    next_cursor: str | None


class Charge(BaseModel):
    mandate_id: str
    order_id: str
    order_name: str
    amount: int
    status: Literal[STATUSES]  # type: ignore[valid-type]
    method: str | None
    approved_at: str | None = Field(json_schema_extra={"format": "date-time"})
    created_at: str = Field(json_schema_extra={"format": "date-time"})


class RefundRequest(BaseModel):
    request_id: str
    order_id: str
    status: Literal[REQUEST_STATUSES]  # type: ignore[valid-type]
    reason: str
    amount: int
    refundable_amount: int
    decision_reason: str | None
    refunded_amount: int | None
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    decided_at: str | None = Field(json_schema_extra={"format": "date-time"})


class RefundRequestList(BaseModel):
    data: list[RefundRequest]
    next_cursor: str | None


_ERRORS = {
    400: "The request is not valid (body, parameters or Idempotency-Key).",
    401: "Missing, unknown or revoked API key.",
    404: "No such order or request (or not this merchant's).",
    409: "Conflicts with the order's state, or the same Idempotency-Key is in flight.",
    422: "Idempotency-Key reused with another request, or return_url not allowed.",
    402: "Toss declined the charge (CHARGE_DECLINED); the order is kept as FAILED.",
    429: "Rate limit per API key reached.",
    502: "Toss could not be reached; nothing was refunded. Retry with the same key.",
}
MANDATE_REFUSALS = {
    400: "The body is not valid (INVALID_REQUEST), or its card options are not "
    "(INVALID_CHECKOUT_OPTIONS: installments other than 0 or 2-12, under 50,000 KRW, "
    "or installments or card points on an account); nothing was charged.",
    409: "The mandate does not allow a charge now: MANDATE_NOT_ACTIVE, "
    "MANDATE_REVOKED, MANDATE_EXPIRED, MANDATE_PERIOD_LIMIT_REACHED, "
    "MANDATE_METHOD_REMOVED, MANDATE_MEMBER_WITHDRAWN, "
    "MANDATE_BILLING_AGREEMENT_MISSING or DUPLICATED_ORDER_ID; nothing was charged.",
    422: "MANDATE_AMOUNT_OVER_LIMIT or MANDATE_AMOUNT_BELOW_MINIMUM (nothing was "
    "charged), or the Idempotency-Key was reused with another request.",
    502: "Toss could not be reached before anything was charged. Retry with the "
    "same Idempotency-Key.",
}
READ = (400, 401, 404, 429)
WRITE = (400, 401, 404, 409, 422, 429)


def operation_id(name: str) -> str:
    """`create_pay_link` → `createPayLink`: the document's operationId of a view."""
    first, *rest = name.split("_")
    return first + "".join(word.title() for word in rest)


def answers(ok: dict[int, tuple[type[BaseModel], str]], *errors: int) -> Response:
    """The documented answers of one route: its successes and its error statuses."""
    models: dict[str, Any] = {f"HTTP_{s}": pair for s, pair in ok.items()}
    models |= {f"HTTP_{s}": (Error, _ERRORS[s]) for s in errors}
    return Response(**models)


def charge_answers(ok: dict[int, tuple[type[BaseModel], str]]) -> Response:
    """A charge's answers: the mandate's refusals have their own descriptions."""
    models: dict[str, Any] = {f"HTTP_{s}": pair for s, pair in ok.items()}
    for status in (400, 401, 402, 404, 409, 422, 429, 502):
        text = MANDATE_REFUSALS.get(status, _ERRORS[status])
        models[f"HTTP_{status}"] = (Error, text)
    return Response(**models)


class _Plugin(FlaskPlugin):
    """Spectree's Flask plugin; a replayed answer goes out exactly as it was stored.

    An Idempotency-Key replay returns the first answer byte for byte, even one stored
    by an older version of this API, so it is not checked against today's models.
    """

    def validate_response(
        self, resp: Any, resp_model: Any, skip_validation: bool, force: bool
    ) -> Any:
        replay = g.get("api_replay", False)
        return super().validate_response(
            resp, resp_model, skip_validation or replay, force
        )


api_spec = SpecTree(
    "flask",
    backend=_Plugin,
    mode="strict",  # only the routes decorated with api_spec.validate
    title="BrandPay wallet merchant API",
    version="1.0.0",
    description="Orders, wallet links, payments and refunds for merchants. "
    "Money is integer KRW. Every POST needs an Idempotency-Key.",
    openapi_version="3.1.0",
    security_schemes=[
        SecurityScheme(
            name="apiKey",
            data=SecuritySchemeData(
                type=SecureType.HTTP, scheme="bearer", description="bpk_… key"
            ),
        )
    ],
    security={"apiKey": []},
    # Plain model names in components/schemas (spectree adds a hash by default).
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
    validation_error_status=400,
    validation_error_model=Error,
    annotations=False,
)
