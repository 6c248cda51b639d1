"""Refunds: partial sums, over-refund refused, concurrency, lost answers, member cancel."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from tests.integration.payments.conftest import PASSWORD, Payer
from wallet.extensions import db
from wallet.models import AuditEvent
from wallet.models.payment import Payment
from wallet.services import events, orders, payments


@pytest.fixture
def admin(payer: Callable[..., Payer]) -> Payer:
    """An admin who has just re-entered their password (refunds need it)."""
    a = payer(role="admin")
    resp = a.post_form("/auth/reauth", "/auth/reauth", {"password": PASSWORD})
    assert resp.status_code == 302
    return a


def _refund(admin: Payer, order_id: str, amount: int | None, reason: str) -> Any:
    data = {"amount": "" if amount is None else str(amount), "reason": reason}
    return admin.post_form(
        f"/admin/payments/{order_id}", f"/admin/payments/{order_id}/refund", data
    )


def _cancel_calls(sandbox: Any, key: str) -> list[dict[str, Any]]:
    return [c for c in sandbox.calls(f"/v1/payments/{key}/cancel") if not c["replay"]]


def test_refunds_partial_sum_then_full_remainder(
    app: Flask,
    payer: Callable[..., Payer],
    admin: Payer,
    sandbox: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every refund is an order event, even a 2nd partial one that keeps the status:
    # merchants' webhooks must hear about each change of the refunded amount.
    seen: list[tuple[str, int]] = []
    listener = events.on_order_changed(
        lambda o: seen.append((o.status, o.payment.balance_amount if o.payment else -1))
    )
    monkeypatch.setattr(events, "_order_listeners", [listener])
    p = payer()
    order_id, _ = p.pay(10000)
    key = p.order(order_id).payment.payment_key
    for amount in (3000, 2000):
        sandbox.advance_clock(2)  # Toss refuses a 2nd request within 1 s (§10)
        resp = _refund(admin, order_id, amount, "Damaged item")
        assert resp.status_code == 303
    order = p.order(order_id)
    assert order.status == "PARTIAL_CANCELED"
    assert [c.amount for c in order.payment.cancels] == [3000, 2000]
    assert {c.status for c in order.payment.cancels} == {"DONE"}
    assert order.payment.balance_amount == 5000
    assert sandbox.payment(key)["balanceAmount"] == 5000
    page = p.client.get(f"/pay/orders/{order_id}/receipt").get_data(as_text=True)
    assert "₩3,000" in page
    assert "₩2,000" in page
    # Over-refund: refused here, never sent to Toss.
    sent = len(_cancel_calls(sandbox, key))
    resp = _refund(admin, order_id, 6000, "Too much")
    assert resp.status_code == 409
    assert "At most ₩5,000 can be refunded now." in resp.get_data(as_text=True)
    assert len(_cancel_calls(sandbox, key)) == sent
    # Empty amount (issue 14): refused with a message, never "refund everything".
    resp = _refund(admin, order_id, None, "Order canceled")
    assert resp.status_code == 400
    assert "Enter the amount to refund." in resp.get_data(as_text=True)
    assert len(_cancel_calls(sandbox, key)) == sent
    assert p.order(order_id).payment.balance_amount == 5000
    # The page offers what remains, and its confirmation names the typed amount.
    detail = admin.client.get(f"/admin/payments/{order_id}").get_data(as_text=True)
    assert 'value="5000"' in detail
    assert "Refund __AMOUNT__ of this payment to" in detail
    sandbox.advance_clock(2)
    assert _refund(admin, order_id, 5000, "Order canceled").status_code == 303
    order = p.order(order_id)
    assert order.status == "CANCELED"
    assert order.payment.balance_amount == 0
    assert sum(c.amount for c in order.payment.cancels) == 10000
    assert sandbox.payment(key)["status"] == "CANCELED"
    refunds_seen = [e for e in seen if e[0] in ("PARTIAL_CANCELED", "CANCELED")]
    assert refunds_seen == [
        ("PARTIAL_CANCELED", 7000),
        ("PARTIAL_CANCELED", 5000),
        ("CANCELED", 0),
    ]
    with app.app_context():
        audited = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "payment.refunded")
        ).all()
    assert len(audited) == 3
    assert {e.actor for e in audited} == {admin.email}


def test_refunds_concurrent_threads_cannot_over_refund(
    app: Flask, payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id, _ = p.pay(10000)
    key = p.order(order_id).payment.payment_key
    sandbox.advance_clock(2)
    # Slow refunds at Toss: all five requests overlap while the first is in flight.
    sandbox.set_fault("/v1/payments/*/cancel", latency=0.3)
    barrier = threading.Barrier(5)
    outcomes: list[tuple[str, Any]] = []
    errors: list[BaseException] = []

    def attempt() -> None:
        with app.test_request_context():  # its own app context, session and locale
            try:
                order = orders.find(order_id)
                assert order is not None
                barrier.wait(timeout=10)
                cancel = payments.refund(order, 3000, "concurrent", "test")
                outcomes.append(("done", cancel.amount))
            except payments.RefundRefusedError as exc:
                outcomes.append(("refused", exc.message))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    refunded = sum(a for kind, a in outcomes if kind == "done")
    over = [m for kind, m in outcomes if kind == "refused" and "At most" in m]
    assert len(over) >= 2  # 5 x 3,000 > 10,000: at least two never left the portal
    assert 0 < refunded <= 10000
    truth = sandbox.payment(key)
    assert truth["balanceAmount"] == 10000 - refunded
    order = p.order(order_id)
    assert order.payment.balance_amount == truth["balanceAmount"]
    assert order.payment.refund_reserved == 0
    done = [c.amount for c in order.payment.cancels if c.status == "DONE"]
    assert sum(done) == refunded
    assert sum(c["cancelAmount"] for c in truth["cancels"]) == refunded


def test_refunds_answer_lost_reconcile_books_it_once(
    app: Flask, payer: Callable[..., Payer], admin: Payer, sandbox: Any
) -> None:
    p = payer()
    order_id, _ = p.pay(8000)
    key = p.order(order_id).payment.payment_key
    sandbox.advance_clock(2)
    sandbox.set_fault("/v1/payments/*/cancel", drop="500", times=1)
    resp = _refund(admin, order_id, 3000, "Late delivery")
    assert resp.status_code == 303
    order = p.order(order_id)
    assert [c.status for c in order.payment.cancels] == ["PENDING"]
    assert order.payment.refund_reserved == 3000
    assert order.payment.balance_amount == 8000
    assert sandbox.payment(key)["balanceAmount"] == 5000  # it did happen at Toss
    # While it is in flight, nothing more than what remains can be reserved.
    with app.test_request_context(), pytest.raises(payments.RefundRefusedError):
        payments.refund(orders.find(order_id), 5001, "too much", "test")
    result = app.test_cli_runner().invoke(
        args=["wallet", "reconcile", "--min-age", "0"]
    )
    assert "settled: 1" in result.output
    order = p.order(order_id)
    assert [(c.status, c.amount) for c in order.payment.cancels] == [("DONE", 3000)]
    assert order.payment.balance_amount == 5000
    assert order.payment.refund_reserved == 0
    assert len(sandbox.payment(key)["cancels"]) == 1  # resent under the same key
    again = app.test_cli_runner().invoke(args=["wallet", "reconcile", "--min-age", "0"])
    assert "refunds checked: 0" in again.output


def test_refunds_toss_refusal_releases_reservation(
    payer: Callable[..., Payer], admin: Payer, sandbox: Any
) -> None:
    p = payer()
    order_id, _ = p.pay(8000)
    key = p.order(order_id).payment.payment_key
    sandbox.advance_clock(2)
    # Canceled at Toss behind our back (no webhook configured): Toss will refuse.
    direct = requests.post(
        f"{sandbox.base_url}/v1/payments/{key}/cancel",
        json={"cancelReason": "console"},
        auth=(sandbox.secret_key, ""),
        timeout=5,
    )
    assert direct.status_code == 200
    sandbox.advance_clock(2)
    resp = _refund(admin, order_id, 1000, "Customer asked")
    assert resp.status_code == 409
    assert "ALREADY_CANCELED_PAYMENT" in resp.get_data(as_text=True)
    order = p.order(order_id)
    assert [(c.status, c.failure_code) for c in order.payment.cancels] == [
        ("FAILED", "ALREADY_CANCELED_PAYMENT")
    ]
    assert order.payment.refund_reserved == 0
    assert order.payment.balance_amount == 8000


def test_refunds_member_cancels_own_payment_in_full(
    payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id, _ = p.pay(7000)
    key = p.order(order_id).payment.payment_key
    page = p.client.get(f"/pay/orders/{order_id}/receipt").get_data(as_text=True)
    assert "Cancel payment" in page
    sandbox.advance_clock(2)
    resp = p.post_form(
        f"/pay/orders/{order_id}/receipt", f"/pay/orders/{order_id}/cancel", {}
    )
    assert resp.status_code == 303
    order = p.order(order_id)
    assert order.status == "CANCELED"
    assert [(c.amount, c.actor) for c in order.payment.cancels] == [(7000, p.email)]
    assert sandbox.payment(key)["status"] == "CANCELED"


def test_refunds_member_cancel_after_policy_window_forbidden(
    app: Flask, payer: Callable[..., Payer], sandbox: Any
) -> None:
    p = payer()
    order_id, _ = p.pay(7000)
    key = p.order(order_id).payment.payment_key
    token_page = f"/pay/orders/{order_id}/receipt"
    with app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.payment_key == key))
        payment.approved_at = payment.approved_at - timedelta(days=8)
        payment.created_at = payment.created_at - timedelta(days=8)
        db.session.commit()
    assert "Cancel payment" not in p.client.get(token_page).get_data(as_text=True)
    resp = p.post_form(token_page, f"/pay/orders/{order_id}/cancel", {})
    assert resp.status_code == 403
    assert p.order(order_id).status == "DONE"
    assert _cancel_calls(sandbox, key) == []


def test_refunds_other_member_cannot_cancel(payer: Callable[..., Payer]) -> None:
    owner, other = payer(), payer()
    order_id, _ = owner.pay(7000)
    resp = other.post_form("/pay/history", f"/pay/orders/{order_id}/cancel", {})
    assert resp.status_code == 404
    assert owner.order(order_id).status == "DONE"


def test_refunds_admin_pages_list_and_refuse_members(
    payer: Callable[..., Payer], admin: Payer
) -> None:
    p = payer()
    order_id, _ = p.pay(4321)
    listing = admin.client.get("/admin/payments")
    assert listing.status_code == 200
    assert order_id in listing.get_data(as_text=True)
    detail = admin.client.get(f"/admin/payments/{order_id}").get_data(as_text=True)
    assert "₩4,321" in detail
    assert 'name="reason"' in detail
    assert p.client.get("/admin/payments").status_code == 403
    resp = p.post_form(
        "/pay/history", f"/admin/payments/{order_id}/refund", {"reason": "x"}
    )
    assert resp.status_code == 403
    assert p.order(order_id).status == "DONE"


def test_refunds_without_recent_reauth_sent_to_password_page(
    payer: Callable[..., Payer],
) -> None:
    p = payer()
    order_id, _ = p.pay(4000)
    a = payer(role="admin")  # logged in, but no password re-entry
    resp = _refund(a, order_id, 1000, "No reauth")
    assert resp.status_code == 303
    assert "/auth/reauth" in resp.headers["Location"]
    assert p.order(order_id).payment.cancels == []
