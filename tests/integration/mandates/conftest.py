"""Fixtures for mandates: a merchant (its API), a member linked at the sandbox with a
test card and BrandPay's billing agreement, and mandates asked for and approved
through the service, the way the approval page does it."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from tests.integration.brandpay.conftest import Browser, browser, link  # noqa: F401
from tests.integration.merchants.conftest import (  # noqa: F401
    SHOP,
    Shop,
    api,
    receiver,
    shop,
    shop_factory,
)
from wallet.extensions import db
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.mandate import Mandate
from wallet.models.merchant import Merchant
from wallet.models.order import Order
from wallet.services import mandates, toss

AUTOPAY = "/v1/brandpay/payments"
BILLING_TERM = 7  # the sandbox catalogue's BILLING term (contract §5)
_orders = itertools.count(1)


def agree_billing(app: Flask, customer_key: str) -> None:
    """BrandPay's billing agreement for the customer, recorded at the sandbox."""
    with app.app_context():
        toss().agree_terms(
            customer_key,
            ["BILLING"],
            [BILLING_TERM],
            idempotency_key=f"agree-{uuid.uuid4().hex}",
        )


def new_order_id() -> str:
    """A fresh merchant orderId."""
    return f"sub-{uuid.uuid4().hex[:12]}-{next(_orders)}"


def autopay_calls(sandbox: Any, *order_ids: str) -> list[dict[str, Any]]:
    """The autopay POSTs the sandbox recorded for these orders (replays left out)."""
    keys = {f"autopay-{o}" for o in order_ids}
    return [
        c
        for c in sandbox.calls(AUTOPAY)
        if c["method"] == "POST" and c["idempotencyKey"] in keys and not c["replay"]
    ]


def counts(app: Flask) -> dict[str, int]:
    """How many orders exist, and the period counters of every mandate."""
    with app.app_context():
        orders = db.session.scalar(select(func.count(Order.id))) or 0
        counters = db.session.scalars(select(Mandate.period_count)).all()
        return {"orders": int(orders), "counted": int(sum(counters))}


def set_fields(app: Flask, public_id: str, **values: Any) -> None:
    """Change a stored mandate behind the service's back (time passing, etc.)."""
    with app.app_context():
        db.session.execute(
            update(Mandate).where(Mandate.public_id == public_id).values(**values)
        )
        db.session.commit()


def as_member(app: Flask, who: Browser, act: Callable[[Member], Any]) -> Any:
    """Run a service call for the member, as their own page would."""
    with app.app_context():
        return act(db.session.get(Member, who.member_id))


def load(app: Flask, public_id: str) -> Mandate:
    """The stored mandate, detached."""
    with app.app_context():
        row = db.session.scalar(select(Mandate).where(Mandate.public_id == public_id))
        assert row is not None
        db.session.expunge(row)
        return row


@pytest.fixture
def linked(browser: Callable[..., Browser], link: Callable[..., Any]) -> Browser:  # noqa: F811
    """A member whose BrandPay is linked with one test card (their selected method)."""
    who = browser()
    link(who)
    return who


@pytest.fixture
def make_mandate(app: Flask, shop: Shop, linked: Browser) -> Callable[..., str]:  # noqa: F811
    """Ask for and approve a mandate of `shop` from `linked`; returns its public id.

    approve=False leaves it pending; agree=False skips the billing agreement.
    """

    def _make(
        who: Browser | None = None,
        *,
        approve: bool = True,
        agree: bool = True,
        method_key: str | None = None,
        max_amount: int = 30000,
        max_charges: int = 3,
        period: str = "month",
        days: int = 30,
        merchant_id: int | None = None,
    ) -> str:
        who = who or linked
        if agree:
            agree_billing(app, who.customer_key)
        with app.app_context():
            merchant = db.session.get(Merchant, merchant_id or shop.id)
            member = db.session.get(Member, who.member_id)
            terms = mandates.Terms(
                "Monthly tea box",
                max_amount,
                max_charges,
                period,
                utcnow() + timedelta(days=days),
            )
            mandate = mandates.request_mandate(
                merchant, member, terms, return_url=f"{SHOP}/subscribed"
            )
            if approve:
                mandates.approve(member, mandate.public_id, method_key)
            return mandate.public_id

    return _make
