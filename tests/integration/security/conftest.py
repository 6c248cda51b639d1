"""Fixtures for the security review's attacks (issue 13): the member, admin, merchant
and payment fixtures of the other areas, reused, plus a merchant order paid through a
signed wallet link the way a shop's customer pays it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token
from tests.integration.admin.conftest import reauth
from tests.integration.brandpay.conftest import (  # noqa: F401 (fixtures)
    PASSWORD,
    Browser,
    browser,
    link,
    linked,
)
from tests.integration.merchants.conftest import (  # noqa: F401 (fixtures)
    Shop,
    api,
    member_client,
    new_order,
    receiver,
    shop,
    shop_factory,
)
from tests.integration.payments.conftest import (  # noqa: F401 (fixtures)
    Payer,
    path_of,
    payer,
)
from wallet.extensions import db
from wallet.models.merchant import Merchant
from wallet.services import merchants

__all__ = ["PASSWORD", "Browser", "Payer", "Shop", "reauth"]


def post_form(client: FlaskClient, page: str, action: str, data: dict[str, Any]) -> Any:
    """POST `data` with the CSRF token of `page`, like the browser would."""
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **data})


def make_staff(app: Flask, merchant_shop: Shop, email: str) -> None:
    """Let a member see (and act for) the merchant's dashboard."""
    with app.app_context():
        merchants.add_staff(db.session.get(Merchant, merchant_shop.id), email, "test")


@pytest.fixture
def pay_merchant_order(
    app: Flask,
    payer: Callable[..., Payer],  # noqa: F811
) -> Callable[..., tuple[Payer, str]]:
    """A member pays one of a shop's orders through a signed wallet link:
    pay_merchant_order(shop, amount=12300, who=None) → (payer, order_id)."""
    counter = iter(range(1, 10_000))

    def _pay(
        shop: Shop,  # noqa: F811
        amount: int = 12300,
        who: Payer | None = None,
    ) -> tuple[Payer, str]:
        p = who or payer()
        created = app.test_client().post(
            "/api/v1/orders",
            json={"amount": amount, "order_name": "Green tea"},
            headers=shop.headers(f"pay-merchant-{next(counter)}"),
        )
        assert created.status_code == 201, created.get_json()
        order_id = created.get_json()["order_id"]
        token = shop.sign(shop.pay_claims(order_id, amount))
        redeemed = post_form(p.client, f"/l/{token}", f"/l/{token}", {})
        assert redeemed.status_code == 303, redeemed.status_code
        paid = p.client.get(path_of(p.authorize(order_id)))
        assert paid.status_code == 303, paid.get_data(as_text=True)[:300]
        assert p.order(order_id).status == "DONE"
        return p, order_id

    return _pay
