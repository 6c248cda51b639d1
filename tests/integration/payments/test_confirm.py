"""successUrl handling: checks against the stored order, exactly one confirm, lost
answers and crashes settled from Toss's truth (contract §4)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from tests.integration.payments.conftest import Payer, path_of, query_of
from wallet.extensions import db
from wallet.models.payment import Payment

ConfirmCalls = Callable[[str], list[dict[str, Any]]]


def _with_query(location: str, **changes: Any) -> str:
    query = query_of(location) | {k: str(v) for k, v in changes.items()}
    return path_of(location).split("?")[0] + "?" + urlencode(query)


def _reconcile(app: Flask) -> str:
    result = app.test_cli_runner().invoke(
        args=["wallet", "reconcile", "--min-age", "0"]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_confirm_valid_redirect_records_done_payment(
    payer: Callable[..., Payer], confirm_calls: ConfirmCalls, sandbox: Any
) -> None:
    p = payer()
    order_id, resp = p.pay(15000)
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/pay/orders/{order_id}/receipt")
    order = p.order(order_id)
    assert order.status == "DONE"
    assert order.payment is not None
    assert order.payment.total_amount == order.payment.balance_amount == 15000
    assert sandbox.payment(order.payment.payment_key)["status"] == "DONE"
    calls = confirm_calls(order_id)
    assert [c["idempotencyKey"] for c in calls] == [f"confirm-{order_id}-1"]
    page = p.client.get(f"/pay/orders/{order_id}/receipt").get_data(as_text=True)
    assert "₩15,000" in page
    assert order.payment.receipt_url
    assert order.payment.receipt_url in page


def test_confirm_tampered_amount_refused_order_stays_payable(
    payer: Callable[..., Payer], confirm_calls: ConfirmCalls, sandbox: Any
) -> None:
    p = payer()
    order_id = p.new_order(15000)
    location = p.authorize(order_id)
    resp = p.client.get(_with_query(location, amount=100))
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "did not match your order" in page
    assert "data-success-url" in page  # the checkout, payable again
    order = p.order(order_id)
    assert (order.status, order.failure_code) == ("PENDING", None)
    assert order.payment is None
    assert confirm_calls(order_id) == []
    key = query_of(location)["paymentKey"]
    assert sandbox.payment(key)["status"] == "IN_PROGRESS"  # never confirmed
    # Issue 13 L2: the real redirect afterwards still confirms the member's payment.
    again = p.client.get(path_of(location))
    assert again.status_code == 303
    assert p.order(order_id).status == "DONE"
    assert len(confirm_calls(order_id)) == 1


def test_confirm_tampered_order_id_refused_nothing_changes(
    payer: Callable[..., Payer], confirm_calls: ConfirmCalls
) -> None:
    p = payer()
    order_id = p.new_order(15000)
    other_id = p.new_order(15000)
    location = p.authorize(order_id)
    resp = p.client.get(_with_query(location, orderId=other_id))
    assert resp.status_code == 400
    assert "did not match your order" in resp.get_data(as_text=True)
    assert p.order(order_id).status == "PENDING"
    assert p.order(other_id).status == "PENDING"
    assert confirm_calls(order_id) == []
    assert confirm_calls(other_id) == []


def test_confirm_tampered_but_paid_upstream_books_tosss_truth(
    payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id = p.new_order(15000)
    location = p.authorize(order_id)
    key = query_of(location)["paymentKey"]
    # Somebody confirmed it at Toss directly (not through this portal).
    done = requests.post(
        f"{sandbox.base_url}/v1/brandpay/payments/confirm",
        json={
            "paymentKey": key,
            "orderId": order_id,
            "amount": 15000,
            "customerKey": p.customer_key,
        },
        auth=(sandbox.secret_key, ""),
        timeout=5,
    )
    assert done.status_code == 200
    sandbox.advance_clock(2)  # a person editing the URL takes a moment (§10 1 s rule)
    resp = p.client.get(_with_query(location, amount=1000))
    # The redirect is wrong, but Toss's truth about this very order is a payment of
    # its amount: that truth, not the redirect, settles it.
    assert resp.status_code == 303
    order = p.order(order_id)
    assert order.status == "DONE"
    assert order.payment.payment_key == key
    assert sandbox.payment(key)["status"] == "DONE"


def test_confirm_twenty_concurrent_redirects_one_confirm(
    app: Flask,
    payer: Callable[..., Payer],
    confirm_calls: ConfirmCalls,
    sandbox: Any,
) -> None:
    p = payer()
    order_id = p.new_order(23000)
    target = path_of(p.authorize(order_id))
    cookie = p.client.get_cookie("session")
    assert cookie is not None
    # Toss is slow, so every duplicate arrives while the first confirm is in flight.
    sandbox.set_fault("/v1/brandpay/payments/confirm", latency=0.5)
    barrier = threading.Barrier(20)
    results: list[int] = []
    errors: list[BaseException] = []

    def hit() -> None:
        client = app.test_client()
        client.set_cookie("session", cookie.value)
        try:
            barrier.wait(timeout=10)
            results.append(client.get(target).status_code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=hit) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(confirm_calls(order_id)) == 1
    assert sorted(results) == [303] * 20  # every duplicate saw the one outcome
    order = p.order(order_id)
    assert order.status == "DONE"
    with app.app_context():
        count = db.session.scalar(
            select(func.count(Payment.id)).where(Payment.order_pk == order.id)
        )
    assert count == 1


def test_confirm_response_dropped_settles_by_lookup_done(
    payer: Callable[..., Payer], confirm_calls: ConfirmCalls, sandbox: Any
) -> None:
    p = payer()
    order_id = p.new_order(12000)
    location = p.authorize(order_id)
    key = query_of(location)["paymentKey"]
    # Toss applies the confirm, then the answer is lost (a 500 after the effect).
    sandbox.set_fault("/v1/brandpay/payments/confirm", drop="500", times=1)
    resp = p.client.get(path_of(location))
    assert resp.status_code == 303
    assert p.order(order_id).status == "DONE"
    assert [c["dropped"] for c in confirm_calls(order_id)] == [True]
    lookups = [c for c in sandbox.calls(f"/v1/payments/{key}") if c["method"] == "GET"]
    assert lookups, "the portal looked the payment up"


def test_confirm_connection_dropped_after_effect_ends_done(
    payer: Callable[..., Payer], confirm_calls: ConfirmCalls
) -> None:
    p = payer()
    order_id = p.new_order(12000)
    location = p.authorize(order_id)
    p.sandbox.set_fault("/v1/brandpay/payments/confirm", drop="close", times=1)
    resp = p.client.get(path_of(location))
    assert resp.status_code == 303
    assert p.order(order_id).status == "DONE"
    # Resent under the same Idempotency-Key: Toss replayed its answer, acted once.
    calls = confirm_calls(order_id)
    assert {c["idempotencyKey"] for c in calls} == {f"confirm-{order_id}-1"}
    assert [c["dropped"] for c in calls if not c["replay"]] == [True]


def test_confirm_answer_and_lookup_lost_reconcile_settles_once(
    app: Flask,
    payer: Callable[..., Payer],
    confirm_calls: ConfirmCalls,
    sandbox: Any,
) -> None:
    p = payer()
    order_id = p.new_order(12000)
    location = p.authorize(order_id)
    sandbox.set_fault("/v1/brandpay/payments/confirm", drop="500", times=1)
    sandbox.set_fault("/v1/payments/*", method="GET", status=503)
    resp = p.client.get(path_of(location))
    assert resp.status_code == 202
    assert "We are checking your payment" in resp.get_data(as_text=True)
    order = p.order(order_id)
    assert order.status == "UNKNOWN"
    assert order.payment is None
    sandbox.clear_faults()
    out = _reconcile(app)
    assert p.order(order_id).status == "DONE"
    assert len(confirm_calls(order_id)) >= 1
    assert sandbox.payment(query_of(location)["paymentKey"])["status"] == "DONE"
    before = len(sandbox.calls())
    out = _reconcile(app)
    assert "orders checked: 0" in out
    assert len(sandbox.calls()) == before  # nothing left to ask Toss about
    assert p.order(order_id).status == "DONE"


def test_confirm_crash_before_commit_reconcile_records_it(
    app: Flask,
    payer: Callable[..., Payer],
    confirm_calls: ConfirmCalls,
    sandbox: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    p = payer()
    order_id = p.new_order(9000)
    location = p.authorize(order_id)
    real_commit = db.session.commit
    crashed: list[bool] = []

    def crash_once() -> None:
        # The first commit after Toss confirmed: the process "dies" right there.
        if not crashed and confirm_calls(order_id):
            crashed.append(True)
            raise OperationalError("COMMIT", {}, Exception("simulated crash"))
        real_commit()

    monkeypatch.setattr(db.session, "commit", crash_once)
    resp = p.client.get(path_of(location))
    monkeypatch.undo()
    assert crashed == [True]
    assert resp.status_code == 202  # "we are checking", not an error page
    order = p.order(order_id)
    assert order.status == "CONFIRMING"
    assert order.payment is None
    assert sandbox.payment(query_of(location)["paymentKey"])["status"] == "DONE"
    out = _reconcile(app)
    assert "done: 1" in out
    order = p.order(order_id)
    assert order.status == "DONE"
    assert order.payment is not None
    assert order.payment.balance_amount == 9000
    assert len(confirm_calls(order_id)) == 1  # settled by lookup, not a second confirm
    out = _reconcile(app)
    assert "orders checked: 0" in out
    assert p.order(order_id).status == "DONE"


def test_confirm_stuck_confirming_younger_than_min_age_untouched(
    app: Flask, payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id = p.new_order(9000)
    with app.app_context():
        from wallet.services import orders

        order = orders.find(order_id)
        assert order is not None
        order.status = "CONFIRMING"
        order.confirm_payment_key = "tbp_unknown_key_123"
        from wallet.models._types import utcnow

        order.confirm_started_at = utcnow()
        db.session.commit()
    before = len(sandbox.calls())
    result = app.test_cli_runner().invoke(args=["wallet", "reconcile"])
    assert "orders checked: 0" in result.output
    assert len(sandbox.calls()) == before
    assert p.order(order_id).status == "CONFIRMING"


def test_confirm_missing_payment_key_400_order_untouched(
    payer: Callable[..., Payer], confirm_calls: ConfirmCalls
) -> None:
    p = payer()
    order_id = p.new_order(5000)
    resp = p.client.get(
        f"/pay/orders/{order_id}/success?orderId={order_id}&amount=5000"
    )
    assert resp.status_code == 400
    assert "incomplete" in resp.get_data(as_text=True)
    assert p.order(order_id).status == "PENDING"
    assert confirm_calls(order_id) == []


def test_confirm_someone_elses_redirect_404_nothing_confirmed(
    payer: Callable[..., Payer], confirm_calls: ConfirmCalls
) -> None:
    owner, other = payer(), payer()
    order_id = owner.new_order(5000)
    location = owner.authorize(order_id)
    resp = other.client.get(path_of(location))
    assert resp.status_code == 404
    assert owner.order(order_id).status == "PENDING"
    assert confirm_calls(order_id) == []


def test_confirm_cross_site_success_get_with_a_made_up_key_changes_nothing(
    payer: Callable[..., Payer], confirm_calls: ConfirmCalls
) -> None:
    # Attack (issue 13 L2): a page elsewhere navigates the logged-in member to
    # /success?paymentKey=x&orderId=<id>&amount=1; the order used to become FAILED and
    # the member's real payment could no longer be confirmed.
    p = payer()
    order_id = p.new_order(15000)
    resp = p.client.get(
        f"/pay/orders/{order_id}/success?paymentKey=x&orderId={order_id}&amount=1"
    )
    assert resp.status_code == 400
    assert "did not match your order" in resp.get_data(as_text=True)
    assert (p.order(order_id).status, p.order(order_id).failure_code) == (
        "PENDING",
        None,
    )
    location = p.authorize(order_id)  # the member pays for real afterwards
    assert p.client.get(path_of(location)).status_code == 303
    assert p.order(order_id).status == "DONE"
    assert len(confirm_calls(order_id)) == 1
