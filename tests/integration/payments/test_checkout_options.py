"""Checkout options (issue 15): installments from 50,000 KRW, card points, cash receipts.

The member's choice is stored on the order (POST, CSRF) before the SDK call, handed to
requestPayment, honoured by the sandbox's windows, and re-checked against Toss's
Payment at confirm: a payment made with other options is canceled, not recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import csrf_token
from tests.integration.merchants.conftest import (  # noqa: F401 (fixtures)
    Receiver,
    Shop,
    receiver,
    shop,
    shop_factory,
)
from tests.integration.payments.conftest import Payer, path_of
from wallet.extensions import db
from wallet.models.merchant import Merchant
from wallet.models.outbox import OutboxEvent
from wallet.sandbox.testing import TEST_PIN
from wallet.services import checkout_options, mail

JSON = {"Accept": "application/json"}
MOBILE = "010-1234-5678"
BUSINESS = "1208147521"  # a valid NTS check digit


def choose(p: Payer, order_id: str, **fields: Any) -> Any:
    """POST the checkout's options form as its script does (CSRF in the form)."""
    page = p.client.get(f"/pay/orders/{order_id}").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "installment": "0", **fields}
    return p.client.post(f"/pay/orders/{order_id}/options", data=data, headers=JSON)


def brandpay_window(
    p: Payer,
    order_id: str,
    extra: dict[str, Any],
    fields: dict[str, Any] | None = None,
) -> str:
    """brandpay.requestPayment with `extra` (card/transfer), approved with the PIN."""
    order = p.order(order_id)
    success, fail = p.checkout_urls(order_id)
    request = {
        "amount": {"currency": "KRW", "value": order.amount},
        "orderId": order_id,
        "orderName": order.order_name,
        "successUrl": success,
        "failUrl": fail,
        **extra,
    }
    window = p.sandbox.open_window(
        "brandpay.requestPayment",
        p.customer_key,
        request,
        redirect_url="http://127.0.0.1/brandpay/callback",
    )
    return str(
        p.sandbox.submit_window(
            window, {"pin": TEST_PIN, "action": "pay", **(fields or {})}
        )
    )


def account_order(
    p: Payer, kind: str, number_type: str, number: str
) -> tuple[str, dict[str, Any], Any]:
    """A bank account at the sandbox, an order, and a cash receipt chosen for it:
    (orderId, the account method, the options answer)."""
    p.sandbox.add_account(p.customer_key, "http://127.0.0.1/brandpay/callback")
    account = p.sandbox.methods(p.customer_key)["accounts"][0]
    order_id = p.new_order(30000)
    resp = choose(
        p,
        order_id,
        cash_receipt=kind,
        cash_receipt_number_type=number_type,
        cash_receipt_number=number,
    )
    return order_id, account, resp


def _stored(app: Flask, order_id: str) -> tuple[Any, ...]:
    with app.app_context():
        from wallet.models.order import Order

        o = db.session.scalar(select(Order).where(Order.order_id == order_id))
        assert o is not None
        return (
            o.installment_months,
            o.use_card_point,
            o.cash_receipt_type,
            o.cash_receipt_number_type,
            o.cash_receipt_number_last4,
        )


NOTHING = (None, None, None, None, None)


# -- choosing: the checks, nothing written on a refusal ------------------------------


def test_options_installment_stored_and_handed_to_the_sdk(
    app: Flask, payer: Callable[..., Payer]
) -> None:
    p = payer()
    order_id = p.new_order(60000)
    page = p.client.get(f"/pay/orders/{order_id}").get_data(as_text=True)
    assert 'id="opt-installment"' in page
    resp = choose(p, order_id, installment="3", card_point="y")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    options = resp.get_json()["options"]
    assert options["brandpay"] == {
        "card": {"cardInstallmentPlan": 3, "useCardPoint": True}
    }
    assert options["card"] == {"card": {"cardInstallmentPlan": 3, "useCardPoint": True}}
    assert options["foreign"] == {}
    assert _stored(app, order_id) == (3, True, None, None, None)


def test_options_installment_under_50000_refused_nothing_written(
    app: Flask, payer: Callable[..., Payer]
) -> None:
    p = payer()
    order_id = p.new_order(49999)
    page = p.client.get(f"/pay/orders/{order_id}").get_data(as_text=True)
    assert 'id="opt-installment"' not in page  # not offered: lump sum only
    assert 'id="opt-installment-note"' in page
    resp = choose(p, order_id, installment="3")
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert (error["code"], error["field"]) == (
        "INVALID_CHECKOUT_OPTIONS",
        "installment",
    )
    assert "50,000" in error["message"]
    assert _stored(app, order_id) == NOTHING


@pytest.mark.parametrize("months", ["1", "13", "-3", "abc", "999", "1.5"])
def test_options_bad_months_400_nothing_written(
    app: Flask, payer: Callable[..., Payer], months: str
) -> None:
    p = payer()
    order_id = p.new_order(80000)
    resp = choose(p, order_id, installment=months)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == "installment"
    assert _stored(app, order_id) == NOTHING


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"cash_receipt": "현금", "cash_receipt_number": MOBILE}, "cash_receipt"),
        (  # 소득공제 takes a phone or a receipt card, not a business number
            {
                "cash_receipt": "소득공제",
                "cash_receipt_number_type": "BUSINESS_REGISTRATION",
                "cash_receipt_number": BUSINESS,
            },
            "cash_receipt_number_type",
        ),
        (  # 지출증빙 takes a business number or a receipt card, not a phone
            {
                "cash_receipt": "지출증빙",
                "cash_receipt_number_type": "MOBILE",
                "cash_receipt_number": MOBILE,
            },
            "cash_receipt_number_type",
        ),
        (
            {
                "cash_receipt": "소득공제",
                "cash_receipt_number_type": "MOBILE",
                "cash_receipt_number": "02-123-4567",  # a landline
            },
            "cash_receipt_number",
        ),
        (
            {
                "cash_receipt": "소득공제",
                "cash_receipt_number_type": "MOBILE",
                "cash_receipt_number": "",
            },
            "cash_receipt_number",
        ),
        (
            {
                "cash_receipt": "소득공제",
                "cash_receipt_number_type": "CASH_RECEIPT_CARD",
                "cash_receipt_number": "12345",
            },
            "cash_receipt_number",
        ),
        (
            {
                "cash_receipt": "지출증빙",
                "cash_receipt_number_type": "BUSINESS_REGISTRATION",
                "cash_receipt_number": "1208147522",  # check digit off by one
            },
            "cash_receipt_number",
        ),
    ],
)
def test_options_bad_cash_receipt_400_nothing_written(
    app: Flask, payer: Callable[..., Payer], fields: dict[str, str], field: str
) -> None:
    p = payer()
    order_id = p.new_order(30000)
    resp = choose(p, order_id, **fields)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == field
    assert _stored(app, order_id) == NOTHING


def test_options_without_csrf_400_nothing_written(
    app: Flask, payer: Callable[..., Payer]
) -> None:
    p = payer()
    order_id = p.new_order(60000)
    resp = p.client.post(
        f"/pay/orders/{order_id}/options", data={"installment": "3"}, headers=JSON
    )
    assert resp.status_code == 400
    assert _stored(app, order_id) == NOTHING


def test_options_other_members_order_404(
    app: Flask, payer: Callable[..., Payer]
) -> None:
    owner, other = payer(), payer()
    order_id = owner.new_order(60000)
    page = other.client.get("/pay/new").get_data(as_text=True)
    resp = other.client.post(
        f"/pay/orders/{order_id}/options",
        data={"csrf_token": csrf_token(page), "installment": "3"},
        headers=JSON,
    )
    assert resp.status_code == 404
    assert _stored(app, order_id) == NOTHING


def test_options_without_script_form_post_redirects_back_or_shows_error(
    app: Flask, payer: Callable[..., Payer]
) -> None:
    p = payer()
    order_id = p.new_order(60000)
    page = p.client.get(f"/pay/orders/{order_id}").get_data(as_text=True)
    token = csrf_token(page)
    bad = p.client.post(
        f"/pay/orders/{order_id}/options",
        data={"csrf_token": token, "installment": "1"},
    )
    assert bad.status_code == 400
    assert "2 to 12 months" in bad.get_data(as_text=True)
    good = p.client.post(
        f"/pay/orders/{order_id}/options",
        data={"csrf_token": token, "installment": "6"},
    )
    assert good.status_code == 303
    assert _stored(app, order_id)[0] == 6


def test_options_business_number_check_digit() -> None:
    assert checkout_options.business_number_ok(BUSINESS)
    assert checkout_options.business_number_ok("2208162517")
    assert not checkout_options.business_number_ok("2208162518")
    assert not checkout_options.business_number_ok("120814752")


# -- paying with them: honoured, recorded, shown ---------------------------------------


def test_options_brandpay_card_three_months_confirmed_and_on_receipt(
    app: Flask, payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id = p.new_order(60000)
    options = choose(p, order_id, installment="3", card_point="y").get_json()
    location = brandpay_window(
        p,
        order_id,
        options["options"]["brandpay"],
        {"pointShown": "1", "useCardPoint": "on"},
    )
    resp = p.client.get(path_of(location))
    assert resp.status_code == 303, resp.get_data(as_text=True)[:300]
    order = p.order(order_id)
    assert order.status == "DONE"
    assert order.payment is not None
    assert (order.payment.installment_months, order.payment.use_card_point) == (3, True)
    truth = sandbox.payment_by_order(order_id)
    assert truth["card"]["installmentPlanMonths"] == 3
    receipt = p.client.get(f"/pay/orders/{order_id}/receipt").get_data(as_text=True)
    assert '<dd id="receipt-installment">3 months</dd>' in receipt
    assert '<dd id="receipt-card-point">Used</dd>' in receipt
    with app.app_context():  # the approval mail (the member's receipt) says so too
        (event,) = db.session.scalars(
            select(OutboxEvent).where(
                OutboxEvent.channel == "mail",
                OutboxEvent.dedupe_key == f"payment_approved:{order.id}",
            )
        ).all()
        app.config["PUBLIC_URL"] = "http://127.0.0.1"
        sent = mail.render(event)
    assert "Installments: 3 months" in sent.text
    assert "3 months" in sent.html


def test_options_card_window_six_months_confirmed(
    app: Flask, payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id = p.new_order(72000)
    options = choose(p, order_id, installment="6").get_json()["options"]
    location = p.authorize_card(order_id, "card", card=options["card"]["card"])
    assert p.client.get(path_of(location)).status_code == 303
    order = p.order(order_id)
    assert (order.status, order.pay_way) == ("DONE", "CARD")
    assert order.payment is not None
    assert order.payment.installment_months == 6
    assert sandbox.payment_by_order(order_id)["card"]["installmentPlanMonths"] == 6


def test_options_brandpay_account_cash_receipt_issued_and_on_receipt(
    app: Flask, payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id, account, resp = account_order(p, "소득공제", "MOBILE", MOBILE)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    extra = resp.get_json()["options"]["brandpay"]
    assert extra["transfer"] == {
        "cashReceipt": {
            "type": "소득공제",
            "registrationNumber": "01012345678",
            "registrationNumberType": "MOBILE",
        }
    }
    # The number itself is not kept: its kind and last four digits are.
    assert _stored(app, order_id) == (0, False, "소득공제", "MOBILE", "5678")
    location = brandpay_window(p, order_id, extra, {"methodId": account["id"]})
    assert p.client.get(path_of(location)).status_code == 303
    order = p.order(order_id)
    assert order.status == "DONE"
    assert order.payment is not None
    assert order.payment.cash_receipt_type == "소득공제"
    assert order.payment.cash_receipt_url
    assert sandbox.payment_by_order(order_id)["cashReceipt"]["type"] == "소득공제"
    receipt = p.client.get(f"/pay/orders/{order_id}/receipt").get_data(as_text=True)
    assert "Income deduction" in receipt
    assert "View the cash receipt" in receipt
    with app.app_context():
        (event,) = db.session.scalars(
            select(OutboxEvent).where(
                OutboxEvent.dedupe_key == f"payment_approved:{order.id}"
            )
        ).all()
        app.config["PUBLIC_URL"] = "http://127.0.0.1"
        assert "Cash receipt: Income deduction" in mail.render(event).text


# -- re-checked at confirm: other options than chosen → canceled, not recorded ----------


def test_options_toss_reports_other_installment_canceled_not_recorded(
    app: Flask, payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id = p.new_order(60000)
    assert choose(p, order_id, installment="3").status_code == 200
    # A tampered page asks Toss for a lump sum instead of the stored 3 months.
    location = brandpay_window(p, order_id, {"card": {"cardInstallmentPlan": 0}})
    resp = p.client.get(path_of(location))
    assert resp.status_code == 303
    order = p.order(order_id)
    assert (order.status, order.failure_code) == ("FAILED", "OPTIONS_MISMATCH")
    assert order.payment is None
    truth = sandbox.payment_by_order(order_id)
    assert truth["status"] == "CANCELED"
    assert "options did not match" in truth["cancels"][0]["cancelReason"]
    receipt = p.client.get(f"/pay/orders/{order_id}/receipt").get_data(as_text=True)
    assert "other options" in receipt


def test_options_cash_receipt_asked_but_not_issued_canceled(
    app: Flask, payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id, account, resp = account_order(
        p, "지출증빙", "BUSINESS_REGISTRATION", BUSINESS
    )
    assert resp.status_code == 200
    location = brandpay_window(p, order_id, {}, {"methodId": account["id"]})
    p.client.get(path_of(location))
    order = p.order(order_id)
    assert (order.status, order.failure_code) == ("FAILED", "OPTIONS_MISMATCH")
    assert sandbox.payment_by_order(order_id)["status"] == "CANCELED"


def test_options_not_chosen_toss_window_choice_stands(
    app: Flask, payer: Callable[..., Payer], sandbox: Any
) -> None:
    """No options stored (a guest's checkout, an order from before): the months the
    buyer picked in Toss's own window are recorded, not refused."""
    p = payer()
    order_id = p.new_order(60000)
    location = p.authorize_card(order_id, "card", installment=4)
    assert p.client.get(path_of(location)).status_code == 303
    order = p.order(order_id)
    assert order.status == "DONE"
    assert order.payment is not None
    assert order.payment.installment_months == 4


def test_options_foreign_window_is_lump_sum_even_with_stored_plan(
    app: Flask, payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id = p.new_order(60000)
    assert choose(p, order_id, installment="3").status_code == 200
    location = p.authorize_card(order_id, "foreign", "4242424242424242")
    assert p.client.get(path_of(location)).status_code == 303
    order = p.order(order_id)
    assert (order.status, order.pay_way) == ("DONE", "FOREIGN_CARD")
    assert order.payment is not None
    assert order.payment.installment_months == 0


def test_options_refused_once_order_is_paid(
    app: Flask, payer: Callable[..., Payer]
) -> None:
    p = payer()
    order_id, resp = p.pay(60000)
    assert p.order(order_id).status == "DONE"
    page = p.client.get("/pay/new").get_data(as_text=True)
    late = p.client.post(
        f"/pay/orders/{order_id}/options",
        data={"csrf_token": csrf_token(page), "installment": "3"},
        headers=JSON,
    )
    assert late.status_code == 409
    assert _stored(app, order_id) == NOTHING


# -- the merchant sees them: API and webhook ---------------------------------------------


def test_options_carried_to_merchant_api_and_webhook(
    app: Flask,
    payer: Callable[..., Payer],
    shop: Shop,  # noqa: F811
    receiver: Receiver,  # noqa: F811
) -> None:
    with app.app_context():
        merchant = db.session.get(Merchant, shop.id)
        merchant.webhook_url = receiver.url
        db.session.commit()
    p = payer()
    api = app.test_client()
    created = api.post(
        "/api/v1/orders",
        json={"amount": 60000, "order_name": "Teapot"},
        headers=shop.headers("opt-1"),
    )
    assert created.status_code == 201
    order_id = created.get_json()["order_id"]
    assert created.get_json()["options"] == {
        "installment_months": None,
        "use_card_point": None,
        "cash_receipt_type": None,
    }
    token = shop.sign(shop.pay_claims(order_id, 60000))
    page = p.client.get(f"/l/{token}").get_data(as_text=True)
    p.client.post(f"/l/{token}", data={"csrf_token": csrf_token(page)})
    extra = choose(p, order_id, installment="2").get_json()["options"]["brandpay"]
    location = brandpay_window(p, order_id, extra)
    assert p.client.get(path_of(location)).status_code == 303
    assert p.order(order_id).status == "DONE"
    order = api.get(f"/api/v1/orders/{order_id}", headers=shop.headers()).get_json()
    assert order["options"]["installment_months"] == 2
    paid = api.get(f"/api/v1/payments/{order_id}", headers=shop.headers())
    assert paid.status_code == 200
    body = paid.get_json()
    assert (body["installment_months"], body["use_card_point"]) == (2, False)
    assert body["cash_receipt"] is None
    with app.app_context():
        rows = db.session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == "order.done")
        ).all()
        (event,) = rows
        data = json.loads(event.payload)["data"]
    assert data["payment"] == {
        "installment_months": 2,
        "use_card_point": False,
        "cash_receipt": None,
    }
