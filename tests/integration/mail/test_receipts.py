"""Receipts by mail, written in the transaction that changes the order or the link:
payment approved, each refund (amounts, Toss's refund timing per method), BrandPay
withdrawal; nothing for an order without a member; each fact mailed once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.integration.mail.conftest import deliver, link_to, post_form
from tests.integration.payments.conftest import Payer
from wallet.extensions import db
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.order import DONE, Order
from wallet.models.outbox import OutboxEvent
from wallet.models.payment import Payment
from wallet.services import mail, members, orders, payments, receipts

# contract §10: Toss refuses a second POST on one paymentKey within a second.
CONSECUTIVE_GAP = 1.1


def _refund(app: Flask, order_id: str, amount: int | None) -> None:
    with app.app_context():
        order = orders.find(order_id)
        assert order is not None
        payments.refund(order, amount, "Lid arrived chipped", "admin@example.com")
        db.session.remove()


def _mail_rows(app: Flask) -> list[OutboxEvent]:
    with app.app_context():
        rows = db.session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.channel == "mail")
            .order_by(OutboxEvent.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def test_receipt_payment_approved_mailed_with_amount_and_link(
    app: Flask, smtp_sink: Any, payer: Callable[..., Payer]
) -> None:
    who = payer()
    order_id, resp = who.pay(12300)
    assert resp.status_code in (302, 303)
    assert who.order(order_id).status == DONE
    assert deliver(app) == 1
    (receipt,) = smtp_sink.wait_for(1)
    assert receipt.to == who.email
    assert receipt.subject == "Payment approved: Test order"
    assert "Amount: ₩12,300" in receipt.text  # as the pages format it
    assert f"Order number: {order_id}" in receipt.text
    assert "Method: Card" in receipt.text
    assert "Approved at (Korea time)" in receipt.text
    assert "₩12,300" in receipt.html
    page = who.client.get(link_to(receipt, "/pay/orders/"))
    assert page.status_code == 200
    assert order_id in page.get_data(as_text=True)
    assert deliver(app) == 0  # sent once


def test_receipt_refunds_partial_then_rest_each_mailed_with_timing(
    app: Flask, smtp_sink: Any, payer: Callable[..., Payer]
) -> None:
    who = payer()
    order_id, _resp = who.pay(48000)
    time.sleep(CONSECUTIVE_GAP)
    _refund(app, order_id, 8000)
    time.sleep(CONSECUTIVE_GAP)
    _refund(app, order_id, None)  # the rest
    assert deliver(app) == 3
    approved, partial, rest = smtp_sink.wait_for(3)
    assert approved.subject == "Payment approved: Test order"
    assert partial.subject == rest.subject == "Refund: Test order"
    assert "₩8,000 of your payment for Test order was refunded." in partial.text
    assert "Refunded in total: ₩8,000 / ₩48,000" in partial.text
    assert "Remaining payment: ₩40,000" in partial.text
    # Toss's policy: a partial card cancel goes through acquisition first.
    assert "3 to 4 business days" in partial.text
    assert "₩40,000 of your payment" in rest.text
    assert "Remaining payment: ₩0" in rest.text
    assert "3 to 4 business days" in rest.text  # still a partial cancel at Toss
    assert deliver(app) == 0


def test_receipt_full_refund_same_day_is_immediate(
    app: Flask, smtp_sink: Any, payer: Callable[..., Payer]
) -> None:
    who = payer()
    order_id, _resp = who.pay(9900)
    time.sleep(CONSECUTIVE_GAP)
    resp = post_form(
        who.client,
        f"/pay/orders/{order_id}/receipt",
        {},
        f"/pay/orders/{order_id}/cancel",
    )
    assert resp.status_code in (302, 303)
    deliver(app)
    refund = smtp_sink.wait_for(2)[1]
    assert "Refund amount: ₩9,900" in refund.text
    assert "takes effect at once" in refund.text


def test_receipt_refund_timing_follows_tosss_policy() -> None:
    timing = receipts.refund_timing
    assert timing("카드", full=True, same_day=True) == "card_full_same_day"
    assert timing("카드", full=True, same_day=False) == "card_full_later"
    assert timing("카드", full=False, same_day=True) == "card_partial"
    assert timing("계좌이체", full=False, same_day=False) == "transfer"
    assert timing("가상계좌", full=True, same_day=True) == "virtual_account"
    assert timing(None, full=True, same_day=True) == "other"


def test_receipt_korean_member_gets_korean_receipt(
    app: Flask, smtp_sink: Any, payer: Callable[..., Payer]
) -> None:
    who = payer()
    with app.app_context():
        members.set_locale(db.session.get(Member, who.member_id), "ko")
    who.pay(15000)
    deliver(app)
    (receipt,) = smtp_sink.wait_for(1)
    assert receipt.subject == "결제 승인: Test order"
    assert receipt.language == "ko"
    assert "결제가 승인되었습니다." in receipt.text
    assert "승인 시각 (한국 시간)" in receipt.text
    assert "Approved at" not in receipt.text
    # Money as the Korean pages write it (issue 14): 15,000원, never ₩ in Korean.
    assert "15,000원" in receipt.text
    assert "15,000원" in receipt.html
    assert "₩" not in receipt.text
    assert "카드" in receipt.text  # the method in Korean


def test_receipt_order_without_member_gets_no_mail(app: Flask, payer: Any) -> None:
    with app.app_context():
        order = orders.create_order(5000, "Guest order")  # nobody's order
        db.session.add(
            Payment(
                order_pk=order.id,
                payment_key="pk_guest_0001",
                status="DONE",
                method="카드",
                total_amount=5000,
                balance_amount=5000,
                refund_reserved=0,
                approved_at=utcnow(),
            )
        )
        assert orders.move(order, DONE)
        db.session.commit()
    assert _mail_rows(app) == []


def test_receipt_rolled_back_state_change_leaves_no_mail(
    app: Flask, make_member: Any
) -> None:
    member_id = make_member("roll@example.com", "correct-horse-1")
    with app.app_context():
        member = db.session.get(Member, member_id)
        order = orders.create_order(5000, "Tea", member=member)
        db.session.add(
            Payment(
                order_pk=order.id,
                payment_key="pk_rollback_01",
                status="DONE",
                method="카드",
                total_amount=5000,
                balance_amount=5000,
                refund_reserved=0,
                approved_at=utcnow(),
            )
        )
        assert orders.move(order, DONE)
        assert len(db.session.scalars(select(OutboxEvent)).all()) == 1  # in the txn
        db.session.rollback()  # the change fails → no receipt either
        assert db.session.get(Order, order.id).status == "PENDING"
    assert _mail_rows(app) == []


def test_receipt_withdrawal_mailed(app: Flask, smtp_sink: Any, linked: Any) -> None:
    resp = linked.post_form("/wallet/withdraw", "/wallet/withdraw")
    assert resp.status_code in (302, 303)
    deliver(app)
    (mail_,) = smtp_sink.wait_for(1)
    assert mail_.to == linked.email
    assert mail_.subject == "You have left BrandPay"
    assert "/wallet/link" in mail_.text


def test_receipt_kinds_registry_rejects_a_second_meaning() -> None:
    assert mail.KINDS["payment_approved"] is receipts.PAYMENT_APPROVED
    same = mail.register_kind("payment_approved", receipts.PAYMENT_APPROVED.subject)
    assert same == receipts.PAYMENT_APPROVED  # re-registering the same is harmless
    try:
        mail.register_kind("payment_approved", "another subject")
    except ValueError:
        pass
    else:  # pragma: no cover - the assertion below explains
        raise AssertionError("a kind must not be redefined silently")
