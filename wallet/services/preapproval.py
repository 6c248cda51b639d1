"""The merchant pre-approval hook (issue 15), like PortOne's `confirm_url`.

After Toss authenticated a payment (the successUrl came back and the order was
claimed) and BEFORE the portal confirms it, the portal POSTs a signed JSON to the
merchant's `confirm_url` and waits at most PREAPPROVAL_TIMEOUT. Only an explicit yes,
a 2xx answer with the body `{"approve": true}`, lets the confirm go out. A no
(`{"approve": false, "reason": "..."}`) ends the order FAILED (MERCHANT_DECLINED); any
other answer, or none in time, sends nothing to Toss and leaves the order payable
again (MERCHANT_NO_ANSWER). Either way nothing is charged: an authenticated payment
that is never confirmed expires at Toss after 10 minutes (contract §4).

The hook's state is kept per confirm attempt on the order (`Order.preapproval`):
ASKED → APPROVED → CONFIRM_SENT, or DECLINED / NO_ANSWER. Reconcile re-sends a
confirm only after CONFIRM_SENT; an order left ASKED (a crash while waiting) is asked
again, with the same `webhook-id`, so the merchant can de-duplicate.

A late "no" (`withdraw`, `POST /api/v1/orders/{id}/decline`): the merchant said yes,
then cannot deliver after all. Under the order's row lock: before the confirm went
out (APPROVED) it stops it; while the confirm is in flight or its outcome unknown
(CONFIRM_SENT) it is noted, and the payment is cancelled as soon as it is recorded;
once paid it is cancelled at once. Those cancels are 망취소 (a network cancel, as Toss
advises when the shop cannot complete an approved payment): the core cancel API with
its own Idempotency-Key, audited, and the merchant's webhook follows (order.canceled).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import requests
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, update

from wallet import outbound
from wallet.errors import ConflictError
from wallet.extensions import db
from wallet.models._types import utcnow
from wallet.models.merchant import Merchant
from wallet.models.order import (
    CONFIRMING,
    DONE,
    HOOK_APPROVED,
    HOOK_ASKED,
    HOOK_CONFIRM_SENT,
    HOOK_DECLINED,
    HOOK_NO_ANSWER,
    HOOK_WITHDRAWN,
    PARTIAL_CANCELED,
    UNKNOWN,
    Order,
)
from wallet.services import audit, checkout_options, orders, outbox

log = logging.getLogger(__name__)

DECLINED_CODE = "MERCHANT_DECLINED"
NO_ANSWER_CODE = "MERCHANT_NO_ANSWER"
EVENT_TYPE = "payment.pre_approval"
_MAX_ANSWER = 4096  # bytes: a yes or no is a few dozen
NET_CANCEL_REASON = "망취소: 가맹점 승인 거절 (the shop declined after approval)"


@dataclass(frozen=True)
class Decision:
    """What the merchant answered: HOOK_APPROVED, HOOK_DECLINED or HOOK_NO_ANSWER."""

    state: str
    reason: str | None = None
    detail: str = ""  # for the audit log: an HTTP status, a timeout, a bad body


def merchant_hook(order: Order) -> Merchant | None:
    """The order's merchant when it has a pre-approval hook."""
    if order.merchant_id is None:
        return None
    merchant = db.session.get(Merchant, order.merchant_id)
    return merchant if merchant is not None and merchant.confirm_url else None


def message_id(order: Order) -> str:
    """One id per confirm attempt (the `webhook-id` header): asking again after a
    crash repeats it, so the merchant can answer the same attempt the same way."""
    return f"preapproval_{order.order_id}_{order.confirm_attempts}"


def request_body(order: Order) -> str:
    """The signed JSON: the order, the amount, the pay way and the options."""
    body = {
        "type": EVENT_TYPE,
        "timestamp": utcnow().isoformat().replace("+00:00", "Z"),
        "data": {
            "order_id": order.order_id,
            "order_name": order.order_name,
            "amount": order.amount,
            "currency": order.currency,
            "pay_way": order.pay_way,
            "attempt": order.confirm_attempts,
            "options": checkout_options.api_json(order),
        },
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def ask(order: Order, merchant: Merchant) -> Decision:
    """POST the signed request to the merchant's hook; its answer (never raises)."""
    from wallet.services import (
        merchants,  # merchants imports payments, which imports us
    )

    body = request_body(order)
    keys = list(merchants.link_keys(merchant).values())
    # Signed exactly like the merchant's webhooks (services/outbox.signed_headers).
    headers = outbox.signed_headers(keys, message_id(order), int(time.time()), body)
    timeout = tuple(current_app.config["PREAPPROVAL_TIMEOUT"])
    try:
        response = outbound.post(
            str(merchant.confirm_url),
            data=body.encode("utf-8"),
            headers=headers,
            timeout=timeout,  # type: ignore[arg-type]
        )
    except outbound.UnsafeURLError as exc:
        return Decision(HOOK_NO_ANSWER, detail=f"refused: {exc.message}")
    except requests.RequestException as exc:
        return Decision(HOOK_NO_ANSWER, detail=type(exc).__name__)
    with response:
        return _decision(response)


def _decision(response: requests.Response) -> Decision:
    status = response.status_code
    if not 200 <= status < 300:
        return Decision(HOOK_NO_ANSWER, detail=f"HTTP {status}")
    content = response.content
    try:
        data: Any = json.loads(content) if len(content) <= _MAX_ANSWER else None
    except ValueError:
        data = None
    approve = data.get("approve") if isinstance(data, dict) else None
    if approve is True:
        return Decision(HOOK_APPROVED, detail=f"HTTP {status}")
    if approve is False:
        reason = data.get("reason")
        text = reason.strip()[:200] if isinstance(reason, str) else ""
        return Decision(HOOK_DECLINED, text or None, f"HTTP {status}")
    return Decision(HOOK_NO_ANSWER, detail=f"HTTP {status}, not a yes or no")


def _move(
    order: Order, state: str, before: tuple[str | None, ...], **fields: Any
) -> bool:
    """Guarded: set the hook state only from `before` while the confirm is unsettled."""
    allowed = [s for s in before if s is not None]
    where = [Order.id == order.id, Order.status.in_((CONFIRMING, UNKNOWN))]
    state_ok = Order.preapproval.in_(allowed)
    if None in before:
        state_ok = or_(Order.preapproval.is_(None), state_ok)
    moved = db.session.execute(
        update(Order)
        .where(*where, state_ok)
        .values(preapproval=state, **fields)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(order)
    return moved.rowcount == 1


def gate(order: Order) -> str | None:
    """Right before a confirm is sent: None to send it, else the failure code.

    Without a hook: None. With one: ask (unless this attempt already has a yes) and
    let the confirm out only if the yes is still standing (a late "no" may have come).
    """
    merchant = merchant_hook(order)
    if merchant is None or order.preapproval == HOOK_CONFIRM_SENT:
        return None  # no hook, or a re-send under the same Idempotency-Key
    if order.preapproval != HOOK_APPROVED:
        if not _move(order, HOOK_ASKED, (None, HOOK_ASKED, HOOK_NO_ANSWER)):
            return DECLINED_CODE  # withdrawn before we asked
        decision = ask(order, merchant)
        audit.record(
            f"merchant:{merchant.public_id}",
            "payment.pre_approval",
            f"order:{order.order_id}",
            answer=decision.state,
            detail=decision.detail,
            attempt=order.confirm_attempts,
        )
        reason = {"preapproval_reason": decision.reason}
        if not _move(order, decision.state, (HOOK_ASKED,), **reason):
            return DECLINED_CODE  # a late "no" came while we waited
        if decision.state == HOOK_DECLINED:
            return DECLINED_CODE
        if decision.state == HOOK_NO_ANSWER:
            return NO_ANSWER_CODE
    if not _move(order, HOOK_CONFIRM_SENT, (HOOK_APPROVED,)):
        return DECLINED_CODE
    return None


def withdraw(merchant: Merchant, order: Order, reason: str, actor: str) -> str:
    """The merchant's late "no" to a payment being confirmed or made; returns what
    happened: "declined" (it will not be confirmed), "cancel_pending" (cancelled once
    the confirm in flight is recorded) or "canceled" (망취소 done, or finished by
    reconcile). An unpaid order with no attempt has nothing to decline (409): each
    attempt asks the hook, which can say no then."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise ConflictError(_("Give a reason of 1 to 200 characters."))
    locked = orders.lock(Order, order.id)
    state, status = locked.preapproval, locked.status
    outcome = None
    if status in (CONFIRMING, UNKNOWN) and state != HOOK_DECLINED:
        # Before the confirm (no state yet, ASKED, APPROVED, NO_ANSWER): gate() sees
        # it and sends nothing. After it (CONFIRM_SENT): booked, then cancelled.
        outcome = "cancel_pending" if state == HOOK_CONFIRM_SENT else "declined"
        locked.preapproval = HOOK_WITHDRAWN
    if outcome is not None:
        locked.preapproval_reason = reason
        db.session.commit()
        audit.record(
            actor,
            "payment.pre_approval_withdrawn",
            f"order:{order.order_id}",
            reason=reason,
            outcome=outcome,
        )
        return outcome
    if status in (DONE, PARTIAL_CANCELED):
        locked.preapproval = HOOK_WITHDRAWN
        locked.preapproval_reason = reason
        db.session.commit()
        net_cancel(locked, actor)
        return "canceled"
    db.session.rollback()
    raise ConflictError(_("This order can no longer be declined."))


def net_cancel(order: Order, actor: str) -> None:
    """망취소: give back a payment the merchant declined after it was approved."""
    from wallet.services import payments  # payments imports us

    reason = f"{NET_CANCEL_REASON}: {order.preapproval_reason or ''}".strip(": ")
    audit.record(actor, "payment.net_cancel", f"order:{order.order_id}", reason=reason)
    try:
        payments.refund(order, None, reason[:200], actor)
    except payments.RefundPendingError:
        log.warning("망취소 of %s pending: reconcile finishes it", order.order_id)
    except payments.RefundRefusedError as exc:
        log.error("망취소 of %s refused: %s", order.order_id, exc.message)


def after_recorded(order: Order) -> None:
    """Called once a confirmed payment is recorded: a late "no" that arrived while
    the confirm was in flight is carried out now (망취소)."""
    payment = order.payment
    untouched = payment is not None and payment.refundable == payment.total_amount
    if order.preapproval == HOOK_WITHDRAWN and order.status == DONE and untouched:
        net_cancel(order, "portal (pre-approval withdrawn)")
