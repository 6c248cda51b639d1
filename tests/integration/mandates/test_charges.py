"""POST /api/v1/mandates/{id}/charges: every rule before Toss, each with its code;
charges are ordinary orders (history, refunds, webhooks, mail, reconcile)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from wallet.extensions import db
from wallet.models._types import utcnow
from wallet.models.brandpay_link import BrandPayLink
from wallet.models.mandate import Mandate
from wallet.models.order import Order
from wallet.models.outbox import OutboxEvent
from wallet.services import brandpay, payments

from .conftest import (
    Browser,
    Shop,
    as_member,
    autopay_calls,
    counts,
    load,
    new_order_id,
    set_fields,
)


def charge(
    api: Callable[..., Any], mandate_id: str, amount: int = 9900, **over: Any
) -> tuple[Any, str]:
    body = {"amount": amount, "order_id": new_order_id(), "order_name": "Tea box"}
    body |= over
    resp = api("POST", f"/mandates/{mandate_id}/charges", json=body)
    return resp, body["order_id"]


def refused(resp: Any, status: int, code: str) -> None:
    assert resp.status_code == status, resp.get_json()
    assert resp.get_json()["error"]["code"] == code, resp.get_json()
    assert resp.get_json()["error"]["message"]


def test_charge_is_a_done_order_paid_through_autopay(
    app: Flask, api: Callable[..., Any], sandbox: Any, make_mandate: Callable[..., str]
) -> None:
    mandate_id = make_mandate()
    resp, order_id = charge(api, mandate_id)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["mandate_id"], body["order_id"], body["amount"]) == (
        mandate_id,
        order_id,
        9900,
    )
    assert body["status"] == "DONE"
    assert body["approved_at"]
    assert len(autopay_calls(sandbox, order_id)) == 1
    paid = sandbox.payment_by_order(order_id)
    assert (paid["status"], paid["type"], paid["totalAmount"]) == (
        "DONE",
        "BRANDPAY",
        9900,
    )
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.order_id == order_id))
        assert (order.status, order.pay_way) == ("DONE", "AUTOPAY")
        assert order.payment.payment_key == paid["paymentKey"]
        assert order.mandate_id == db.session.scalar(
            select(Mandate.id).where(Mandate.public_id == mandate_id)
        )
        # The member is mailed a receipt, like every other payment.
        kinds = db.session.scalars(select(OutboxEvent.event_type)).all()
        assert "payment_approved" in kinds
    assert load(app, mandate_id).period_count == 1
    # The API's payment and mandate views agree.
    payment = api("GET", f"/payments/{order_id}").get_json()
    assert (payment["pay_way"], payment["total_amount"]) == ("AUTOPAY", 9900)
    shown = api("GET", f"/mandates/{mandate_id}").get_json()
    assert (shown["status"], shown["charges_in_period"]) == ("active", 1)


def test_charge_refunds_like_any_payment(
    app: Flask, api: Callable[..., Any], sandbox: Any, make_mandate: Callable[..., str]
) -> None:
    resp, order_id = charge(api, make_mandate(), 12000)
    assert resp.status_code == 201
    sandbox.advance_clock(1.1)
    refund = api(
        "POST", f"/orders/{order_id}/refunds", json={"amount": 2000, "reason": "late"}
    )
    assert refund.status_code == 201, refund.get_json()
    assert refund.get_json()["balance_amount"] == 10000
    assert sandbox.payment_by_order(order_id)["balanceAmount"] == 10000


def test_charge_webhook_reaches_the_merchant(
    app: Flask,
    shop_factory: Callable[..., Shop],
    sandbox: Any,
    make_mandate: Callable[..., str],
    receiver: Any,
    client: Any,
) -> None:
    hooked = shop_factory(name="Hooked", webhook_url=receiver.url)
    mandate_id = make_mandate(merchant_id=hooked.id)
    order_id = new_order_id()
    resp = client.post(
        f"/api/v1/mandates/{mandate_id}/charges",
        json={"amount": 5000, "order_id": order_id, "order_name": "Tea"},
        headers=hooked.headers("hook-1"),
    )
    assert resp.status_code == 201, resp.get_json()
    with app.app_context():
        rows = db.session.scalars(
            select(OutboxEvent).where(OutboxEvent.merchant_id == hooked.id)
        ).all()
        assert [r.event_type for r in rows] == ["order.done"]
        data = json.loads(rows[0].payload)["data"]
        assert (data["order_id"], data["mandate_id"], data["amount"]) == (
            order_id,
            mandate_id,
            5000,
        )


def test_same_idempotency_key_replays_and_charges_once(
    api: Callable[..., Any], sandbox: Any, make_mandate: Callable[..., str]
) -> None:
    mandate_id = make_mandate()
    body = {"amount": 3000, "order_id": new_order_id(), "order_name": "Tea"}
    first = api("POST", f"/mandates/{mandate_id}/charges", json=body, idem="same")
    again = api("POST", f"/mandates/{mandate_id}/charges", json=body, idem="same")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert len(autopay_calls(sandbox, body["order_id"])) == 1


# -- every rule, before Toss: its code, nothing written, no call -------------------------


def _refuses_without_writing(
    app: Flask,
    api: Callable[..., Any],
    sandbox: Any,
    mandate_id: str,
    status: int,
    code: str,
    amount: int = 9900,
    **over: Any,
) -> None:
    before = counts(app)
    resp, order_id = charge(api, mandate_id, amount, **over)
    refused(resp, status, code)
    assert counts(app) == before
    assert autopay_calls(sandbox, order_id) == []
    assert sandbox.payment_by_order(order_id) is None


def test_amount_over_the_limit(
    app: Flask, api: Callable[..., Any], sandbox: Any, make_mandate: Callable[..., str]
) -> None:
    mandate_id = make_mandate(max_amount=10000)
    _refuses_without_writing(
        app, api, sandbox, mandate_id, 422, "MANDATE_AMOUNT_OVER_LIMIT", 10001
    )
    resp, _order = charge(api, mandate_id, 10000)  # the limit itself is allowed
    assert resp.status_code == 201


def test_period_limit_reached(
    app: Flask, api: Callable[..., Any], sandbox: Any, make_mandate: Callable[..., str]
) -> None:
    mandate_id = make_mandate(max_charges=2, period="day")
    for _ in range(2):
        assert charge(api, mandate_id)[0].status_code == 201
    _refuses_without_writing(
        app, api, sandbox, mandate_id, 409, "MANDATE_PERIOD_LIMIT_REACHED"
    )
    assert load(app, mandate_id).period_count == 2


def test_a_new_period_counts_from_one(
    app: Flask, api: Callable[..., Any], make_mandate: Callable[..., str]
) -> None:
    mandate_id = make_mandate(max_charges=1, period="day")
    assert charge(api, mandate_id)[0].status_code == 201
    earlier = load(app, mandate_id).period_start - timedelta(days=1)
    set_fields(
        app, mandate_id, period_start=earlier
    )  # the last charge was counted in an earlier period
    assert charge(api, mandate_id)[0].status_code == 201
    assert load(app, mandate_id).period_count == 1


def test_expired(
    app: Flask, api: Callable[..., Any], sandbox: Any, make_mandate: Callable[..., str]
) -> None:
    mandate_id = make_mandate()
    set_fields(app, mandate_id, expires_at=utcnow() - timedelta(seconds=1))
    _refuses_without_writing(app, api, sandbox, mandate_id, 409, "MANDATE_EXPIRED")
    assert api("GET", f"/mandates/{mandate_id}").get_json()["status"] == "expired"


def test_revoked_by_the_merchant(
    app: Flask, api: Callable[..., Any], sandbox: Any, make_mandate: Callable[..., str]
) -> None:
    mandate_id = make_mandate()
    resp = api("POST", f"/mandates/{mandate_id}/revoke", json={"reason": "cancelled"})
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["status"], resp.get_json()["revoked_by"]) == (
        "revoked",
        "merchant",
    )
    _refuses_without_writing(app, api, sandbox, mandate_id, 409, "MANDATE_REVOKED")


def test_pending_is_not_active(
    app: Flask, api: Callable[..., Any], sandbox: Any, make_mandate: Callable[..., str]
) -> None:
    mandate_id = make_mandate(approve=False)
    _refuses_without_writing(app, api, sandbox, mandate_id, 409, "MANDATE_NOT_ACTIVE")


def test_method_removed(
    app: Flask, api: Callable[..., Any], sandbox: Any, make_mandate: Callable[..., str]
) -> None:
    mandate_id = make_mandate()
    set_fields(
        app, mandate_id, method_key="gone_method_key"
    )  # the method the member chose is no longer theirs
    _refuses_without_writing(
        app, api, sandbox, mandate_id, 409, "MANDATE_METHOD_REMOVED"
    )


def test_selected_method_removed_in_the_wallet(
    app: Flask,
    api: Callable[..., Any],
    sandbox: Any,
    linked: Browser,
    make_mandate: Callable[..., str],
) -> None:
    mandate_id = make_mandate()
    card = sandbox.methods(linked.customer_key)["cards"][0]
    as_member(
        app, linked, lambda m: brandpay.remove_method(m, "card", card["methodKey"])
    )
    _refuses_without_writing(
        app, api, sandbox, mandate_id, 409, "MANDATE_METHOD_REMOVED"
    )


def test_member_withdrawn(
    app: Flask,
    api: Callable[..., Any],
    sandbox: Any,
    linked: Browser,
    make_mandate: Callable[..., str],
) -> None:
    mandate_id = make_mandate()
    as_member(app, linked, brandpay.withdraw)
    with app.app_context():
        link = db.session.scalar(
            select(BrandPayLink).where(BrandPayLink.member_id == linked.member_id)
        )
        assert link.status == "withdrawn"
    _refuses_without_writing(
        app, api, sandbox, mandate_id, 409, "MANDATE_MEMBER_WITHDRAWN"
    )


def test_another_merchants_mandate_is_not_found(
    app: Flask,
    api: Callable[..., Any],
    sandbox: Any,
    shop_factory: Callable[..., Shop],
    make_mandate: Callable[..., str],
) -> None:
    other = shop_factory(name="Other")
    mandate_id = make_mandate(merchant_id=other.id)
    _refuses_without_writing(app, api, sandbox, mandate_id, 404, "MANDATE_NOT_FOUND")
    assert api("GET", f"/mandates/{mandate_id}").status_code == 404
    refused(
        api("POST", f"/mandates/{mandate_id}/revoke", json={}),
        404,
        "MANDATE_NOT_FOUND",
    )
    assert load(app, mandate_id).status == "active"


def test_the_same_order_again_is_its_outcome_never_a_second_charge(
    app: Flask, api: Callable[..., Any], sandbox: Any, make_mandate: Callable[..., str]
) -> None:
    mandate_id = make_mandate()
    resp, order_id = charge(api, mandate_id)
    assert resp.status_code == 201
    before = counts(app)
    # A retry under another Idempotency-Key (say, after a crash): the first outcome.
    again, _ = charge(api, mandate_id, order_id=order_id)
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["status"] == "DONE"
    assert counts(app) == before
    assert len(autopay_calls(sandbox, order_id)) == 1
    # The orderId with another amount, or under another mandate: a conflict.
    other, _ = charge(api, mandate_id, 5000, order_id=order_id)
    refused(other, 409, "DUPLICATED_ORDER_ID")
    elsewhere, _ = charge(api, make_mandate(), order_id=order_id)
    refused(elsewhere, 409, "DUPLICATED_ORDER_ID")
    assert counts(app) == before
    assert len(autopay_calls(sandbox, order_id)) == 1


def test_a_declined_order_asked_again_is_declined_again_without_toss(
    app: Flask,
    api: Callable[..., Any],
    sandbox: Any,
    linked: Browser,
    make_mandate: Callable[..., str],
) -> None:
    mandate_id = make_mandate()
    _withdraw_billing_agreement(sandbox, linked)
    resp, order_id = charge(api, mandate_id)
    refused(resp, 409, "MANDATE_BILLING_AGREEMENT_MISSING")
    again, _ = charge(api, mandate_id, order_id=order_id)
    refused(again, 409, "MANDATE_BILLING_AGREEMENT_MISSING")
    assert len(autopay_calls(sandbox, order_id)) == 1


def test_an_unknown_order_asked_again_is_settled_from_toss(
    app: Flask, api: Callable[..., Any], sandbox: Any, make_mandate: Callable[..., str]
) -> None:
    mandate_id = make_mandate()
    sandbox.set_fault("/v1/brandpay/payments", drop="500", times=1)
    sandbox.set_fault("/v1/payments/orders/*", status=500)  # the lookup fails too
    resp, order_id = charge(api, mandate_id)
    assert resp.status_code == 202, resp.get_json()
    assert resp.get_json()["status"] == "UNKNOWN"  # charged, but not known yet
    sandbox.clear_faults()
    again, _ = charge(api, mandate_id, order_id=order_id)
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["status"] == "DONE"
    assert len(autopay_calls(sandbox, order_id)) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "9900", "order_id": "sub-abcdef", "order_name": "Tea"},
        {"amount": 99, "order_id": "sub-abcdef", "order_name": "Tea"},
        {"amount": 9900, "order_id": "bad id!", "order_name": "Tea"},
        {"amount": 9900, "order_name": "Tea"},
        {"amount": 9900, "order_id": "sub-abcdef", "order_name": " "},
        {"amount": 9900, "order_id": "sub-abcdef", "order_name": "Tea", "x": 1},
    ],
)
def test_bad_body_is_400_and_writes_nothing(
    app: Flask,
    api: Callable[..., Any],
    sandbox: Any,
    make_mandate: Callable[..., str],
    body: dict[str, Any],
) -> None:
    mandate_id = make_mandate()
    before = counts(app)
    resp = api("POST", f"/mandates/{mandate_id}/charges", json=body)
    refused(resp, 400, "INVALID_REQUEST")
    assert counts(app) == before
    assert autopay_calls(sandbox, "sub-abcdef") == []


# -- Toss's answers ----------------------------------------------------------------


def test_answer_lost_after_the_charge_is_found_by_order_id(
    app: Flask, api: Callable[..., Any], sandbox: Any, make_mandate: Callable[..., str]
) -> None:
    mandate_id = make_mandate()
    sandbox.set_fault("/v1/brandpay/payments", drop="close", times=1)
    resp, order_id = charge(api, mandate_id)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["status"] == "DONE"
    assert len(autopay_calls(sandbox, order_id)) == 1
    assert load(app, mandate_id).period_count == 1


def test_5xx_leaves_unknown_then_reconcile_fails_it_and_gives_the_charge_back(
    app: Flask, api: Callable[..., Any], sandbox: Any, make_mandate: Callable[..., str]
) -> None:
    mandate_id = make_mandate(max_charges=1)
    sandbox.set_fault("/v1/brandpay/payments", status=500, times=1)
    resp, order_id = charge(api, mandate_id)
    assert resp.status_code == 202, resp.get_json()
    assert resp.get_json()["status"] == "UNKNOWN"
    assert load(app, mandate_id).period_count == 1  # held until it is settled
    with app.app_context():
        summary = payments.reconcile(min_age=0)
        assert summary.checked == 1
        order = db.session.scalar(select(Order).where(Order.order_id == order_id))
        assert order.status == "FAILED"
        assert order.payment is None
    assert sandbox.payment_by_order(order_id) is None
    assert load(app, mandate_id).period_count == 0
    assert charge(api, mandate_id)[0].status_code == 201  # the period's one charge


def test_toss_refusal_maps_to_its_mandate_code_and_fails_the_order(
    app: Flask,
    api: Callable[..., Any],
    sandbox: Any,
    linked: Browser,
    make_mandate: Callable[..., str],
) -> None:
    # The billing agreement withdrawn at Toss after approval: Toss refuses the charge.
    mandate_id = make_mandate()
    _withdraw_billing_agreement(sandbox, linked)
    resp, order_id = charge(api, mandate_id)
    refused(resp, 409, "MANDATE_BILLING_AGREEMENT_MISSING")
    assert len(autopay_calls(sandbox, order_id)) == 1
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.order_id == order_id))
        assert (order.status, order.failure_code) == (
            "FAILED",
            "NEED_AGREEMENT_WITH_TERMS",
        )
    assert load(app, mandate_id).period_count == 0


def _account_mandate(
    sandbox: Any,
    browser: Callable[..., Browser],
    link: Callable[..., Any],
    make_mandate: Callable[..., str],
    **terms: Any,
) -> str:
    """A new member with a bank account only, and their approved mandate on it."""
    who = browser()
    link(who, account=True)
    account = sandbox.methods(who.customer_key)["accounts"][0]["methodKey"]
    return make_mandate(who, method_key=account, **terms)


def test_below_the_accounts_minimum(
    app: Flask,
    api: Callable[..., Any],
    sandbox: Any,
    browser: Callable[..., Browser],
    link: Callable[..., Any],
    make_mandate: Callable[..., str],
) -> None:
    # contract §9: an account charge needs 200 won; a card charge 100.
    mandate_id = _account_mandate(sandbox, browser, link, make_mandate)
    _refuses_without_writing(
        app, api, sandbox, mandate_id, 422, "MANDATE_AMOUNT_BELOW_MINIMUM", 150
    )
    resp, order_id = charge(api, mandate_id, 200)
    assert resp.status_code == 201, resp.get_json()
    assert sandbox.payment_by_order(order_id)["method"] == "계좌이체"


def _withdraw_billing_agreement(sandbox: Any, who: Browser) -> None:
    """The member's BrandPay billing agreement is gone at Toss (after approval)."""
    engine = sandbox.sandbox.engine
    with engine.store.transaction():
        for customer in engine.store.find("customer", customerKey=who.customer_key):
            customer["agreedTerms"] = [t for t in customer["agreedTerms"] if t != 7]
            key = f"{customer['mId']}:{customer['customerKey']}"
            engine.store.put("customer", key, customer)


def test_card_options_reach_toss_and_come_back_in_the_api(
    app: Flask, api: Callable[..., Any], sandbox: Any, make_mandate: Callable[..., str]
) -> None:
    mandate_id = make_mandate(max_amount=100000)
    resp, order_id = charge(
        api, mandate_id, 60000, installment_months=3, use_card_point=True
    )
    assert resp.status_code == 201, resp.get_json()
    card = sandbox.payment_by_order(order_id)["card"]
    assert (card["installmentPlanMonths"], card["useCardPoint"]) == (3, True)
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.order_id == order_id))
        assert (order.installment_months, order.use_card_point) == (3, True)
        assert order.payment.installment_months == 3
    payment = api("GET", f"/payments/{order_id}").get_json()
    assert (payment["installment_months"], payment["use_card_point"]) == (3, True)
    # Left out, Toss charges a lump sum and nothing is stored as chosen.
    resp, plain = charge(api, mandate_id, 60000)
    assert resp.status_code == 201
    assert sandbox.payment_by_order(plain)["card"]["installmentPlanMonths"] == 0
    assert (
        api("GET", f"/orders/{plain}").get_json()["options"]["installment_months"]
        is None
    )


@pytest.mark.parametrize(
    ("amount", "over"),
    [
        (60000, {"installment_months": 1}),  # 0 or 2-12
        (60000, {"installment_months": 13}),
        (49999, {"installment_months": 2}),  # installments from 50,000 won
    ],
)
def test_bad_installments_refused_before_toss(
    app: Flask,
    api: Callable[..., Any],
    sandbox: Any,
    make_mandate: Callable[..., str],
    amount: int,
    over: dict[str, Any],
) -> None:
    mandate_id = make_mandate(max_amount=100000)
    _refuses_without_writing(
        app, api, sandbox, mandate_id, 400, "INVALID_CHECKOUT_OPTIONS", amount, **over
    )
    assert load(app, mandate_id).period_count == 0


def test_card_options_on_an_account_refused_before_toss(
    app: Flask,
    api: Callable[..., Any],
    sandbox: Any,
    browser: Callable[..., Browser],
    link: Callable[..., Any],
    make_mandate: Callable[..., str],
) -> None:
    mandate_id = _account_mandate(
        sandbox, browser, link, make_mandate, max_amount=100000
    )
    for over in ({"installment_months": 3}, {"use_card_point": True}):
        _refuses_without_writing(
            app,
            api,
            sandbox,
            mandate_id,
            400,
            "INVALID_CHECKOUT_OPTIONS",
            60000,
            **over,
        )
    resp, _order = charge(api, mandate_id, 60000, installment_months=0)
    assert resp.status_code == 201, resp.get_json()  # a lump sum is no option at all
