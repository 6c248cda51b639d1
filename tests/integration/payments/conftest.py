"""Fixtures for the payment tests: a member whose wallet is registered at the sandbox,
orders created through the portal's form, and payments authorized on the sandbox's
hosted pay page over real HTTP (as the browser would), then redirected back here."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import csrf_token, logged_in_client
from wallet.extensions import db
from wallet.models import Member
from wallet.models.order import Order
from wallet.sandbox.testing import query_of

PASSWORD = "correct-horse-1"
_emails = itertools.count(1)
_ORDER_PATH = re.compile(r"/pay/orders/([A-Za-z0-9_-]+)$")
_SUCCESS_RE = re.compile(r'data-success-url="([^"]+)"')
_FAIL_RE = re.compile(r'data-fail-url="([^"]+)"')


def path_of(location: str) -> str:
    """The path and query of an absolute redirect Location (for the test client)."""
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class Payer:
    """A logged-in member with their own cookie jar and a wallet at the sandbox."""

    app: Flask
    client: FlaskClient
    sandbox: Any
    member_id: int
    email: str
    customer_key: str

    def post_form(self, page: str, action: str, data: dict[str, Any]) -> Any:
        """POST `data` with the CSRF token of `page`, like the browser would."""
        token = csrf_token(self.client.get(page).get_data(as_text=True))
        return self.client.post(action, data={"csrf_token": token, **data})

    def new_order(self, amount: int = 15000, name: str = "Test order") -> str:
        """Create an order through the "New payment" form; returns its orderId."""
        resp = self.post_form(
            "/pay/new", "/pay/new", {"order_name": name, "amount": str(amount)}
        )
        assert resp.status_code == 303, resp.get_data(as_text=True)
        match = _ORDER_PATH.search(resp.headers["Location"])
        assert match
        return match.group(1)

    def checkout_urls(self, order_id: str) -> tuple[str, str]:
        """successUrl and failUrl exactly as the checkout page hands them to the SDK."""
        page = self.client.get(f"/pay/orders/{order_id}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        success, fail = _SUCCESS_RE.search(html), _FAIL_RE.search(html)
        assert success
        assert fail
        return success.group(1), fail.group(1)

    def authorize(self, order_id: str, **kwargs: Any) -> str:
        """Approve the order on the sandbox's hosted page; returns the redirect Location."""
        order = self.order(order_id)
        success, fail = self.checkout_urls(order_id)
        return str(
            self.sandbox.authorize_payment(
                self.customer_key,
                order_id,
                kwargs.pop("amount", order.amount),
                order.order_name,
                success,
                fail,
                **kwargs,
            )
        )

    def card_urls(self, order_id: str, way: str = "card") -> tuple[str, str]:
        """successUrl and failUrl of the checkout's card (or foreign card) button."""
        html = self.client.get(f"/pay/orders/{order_id}").get_data(as_text=True)
        success = re.search(rf'data-pay-way="{way}"\s+data-success-url="([^"]+)"', html)
        fail = _FAIL_RE.search(html)
        assert success
        assert fail
        return success.group(1).replace("&amp;", "&"), fail.group(1)

    def authorize_card(
        self,
        order_id: str,
        way: str = "card",
        card_number: str | None = None,
        **kw: Any,
    ) -> str:
        """Pay in the standard (way="card") or international ("foreign") window as
        this member (payment({customerKey})); returns the redirect Location."""
        order = self.order(order_id)
        success, fail = self.card_urls(order_id, way)
        return str(
            self.sandbox.authorize_card_payment(
                self.customer_key,
                order_id,
                kw.pop("amount", order.amount),
                order.order_name,
                success,
                fail,
                card_number,
                international=way == "foreign",
                **kw,
            )
        )

    def pay(self, amount: int = 15000) -> tuple[str, Any]:
        """Order, authorize, follow the success redirect; (orderId, response)."""
        order_id = self.new_order(amount)
        resp = self.client.get(path_of(self.authorize(order_id)))
        return order_id, resp

    def order(self, order_id: str) -> Order:
        """The stored order (detached, fresh from the database)."""
        with self.app.app_context():
            order = db.session.scalar(select(Order).where(Order.order_id == order_id))
            assert order is not None
            if order.payment is not None:
                list(order.payment.cancels)  # load before leaving the context
            db.session.expunge_all()
            return order


@pytest.fixture
def payer(
    app: Flask, sandbox: Any, make_member: Callable[..., Any]
) -> Callable[..., Payer]:
    """A new member, logged in through the real form, with a card at the sandbox."""

    def _make(role: str = "member", card: str | None = None) -> Payer:
        email = f"p{next(_emails)}@example.com"
        member_id = make_member(email, PASSWORD, role)
        client = logged_in_client(app, email, PASSWORD)
        with app.app_context():
            key = db.session.get(Member, member_id).customer_key
        # The customer consents and registers a test card on the hosted page; the
        # redirect back (code exchange) belongs to the link tests, not needed to pay.
        extra = {"card_number": card} if card else {}
        sandbox.link_customer(key, "http://127.0.0.1/brandpay/callback", **extra)
        return Payer(app, client, sandbox, member_id, email, key)

    return _make


@pytest.fixture
def confirm_calls(sandbox: Any) -> Callable[[str], list[dict[str, Any]]]:
    """The confirm requests the sandbox received for one order (by Idempotency-Key)."""

    def _calls(order_id: str) -> list[dict[str, Any]]:
        return [
            c
            for c in sandbox.calls("/v1/brandpay/payments/confirm")
            if (c.get("idempotencyKey") or "").startswith(f"confirm-{order_id}-")
        ]

    return _calls


@pytest.fixture
def card_confirm_calls(sandbox: Any) -> Callable[[str], list[dict[str, Any]]]:
    """The core confirms (`POST /v1/payments/confirm`) the sandbox got for one order."""

    def _calls(order_id: str) -> list[dict[str, Any]]:
        return [
            c
            for c in sandbox.calls("/v1/payments/confirm")
            if (c.get("idempotencyKey") or "").startswith(f"confirm-{order_id}-")
        ]

    return _calls


@pytest.fixture
def webhook_url(sandbox: Any, live_portal: str) -> Iterator[str]:
    """Point the sandbox's webhooks at the live portal for one test."""
    url = f"{live_portal}/webhooks/toss"
    sandbox.set_webhook_url(url)
    yield url
    sandbox.set_webhook_url(None)


__all__ = ["Payer", "path_of", "query_of"]
