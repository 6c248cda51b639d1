"""Guests: a merchant's signed pay link paid by card without an account (issue 12).

The guest redeems the link once, pays in the standard or international window as
`TossPayments.ANONYMOUS`, the portal confirms with the core confirm exactly as for a
member, and the guest goes back to the shop with a result the shop can verify."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from examples.merchant_shop import verify_result
from tests.conftest import csrf_token
from tests.integration.merchants.conftest import SHOP, Shop, load_order
from wallet.extensions import db
from wallet.models.merchant import WalletLinkUse
from wallet.sandbox.testing import ANONYMOUS

_SUCCESS = r'data-pay-way="{way}"\s+data-success-url="([^"]+)"'
_FAIL = re.compile(r'data-fail-url="([^"]+)"')


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _as_guest(client: FlaskClient, token: str) -> Any:
    page = client.get(f"/l/{token}")
    assert page.status_code == 200
    return client.post(
        f"/l/{token}/guest",
        data={"csrf_token": csrf_token(page.get_data(as_text=True))},
    )


def _pay(
    client: FlaskClient, sandbox: Any, order_id: str, way: str, card: str | None = None
) -> str:
    html = client.get(f"/pay/guest/{order_id}").get_data(as_text=True)
    success = re.search(_SUCCESS.format(way=way), html)
    fail = _FAIL.search(html)
    assert success
    assert fail
    return str(
        sandbox.authorize_card_payment(
            ANONYMOUS,
            order_id,
            12300,
            "Green tea",
            success.group(1).replace("&amp;", "&"),
            fail.group(1),
            card,
            international=way == "foreign",
        )
    )


def test_guest_pays_merchant_link_by_card_and_returns_with_signed_result(
    app: Flask,
    shop: Shop,
    new_order: Callable[..., str],
    sandbox: Any,
    api: Callable[..., Any],
) -> None:
    order_id = new_order(12300)
    token = shop.sign(shop.pay_claims(order_id, 12300))
    guest = app.test_client()
    resp = _as_guest(guest, token)
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/pay/guest/{order_id}")
    html = guest.get(f"/pay/guest/{order_id}").get_data(as_text=True)
    assert 'data-pay-way="card"' in html
    assert 'data-pay-way="foreign"' in html
    assert 'data-pay-way="brandpay"' not in html  # BrandPay needs an account
    assert 'data-customer-key=""' in html  # the page uses TossPayments.ANONYMOUS

    done = guest.get(_path(_pay(guest, sandbox, order_id, "card")))
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"/pay/guest/{order_id}/receipt")
    order = load_order(app, order_id)
    assert (order.status, order.pay_way, order.member_id) == ("DONE", "CARD", None)
    assert sandbox.payment_by_order(order_id)["type"] == "NORMAL"
    with app.app_context():
        use = db.session.scalars(select(WalletLinkUse)).one()
        assert use.member_id is None
    payment = api("GET", f"/payments/{order_id}").get_json()
    assert (payment["pay_way"], payment["status"]) == ("CARD", "DONE")
    receipt = guest.get(f"/pay/guest/{order_id}/receipt").get_data(as_text=True)
    assert "Card (payment window)" in receipt
    back = re.search(r'href="([^"]+wallet_result=[^"]+)"', receipt)
    assert back
    result = parse_qs(urlsplit(back.group(1).replace("&amp;", "&")).query)
    claims = verify_result(shop.secret, shop.public_id, result["wallet_result"][0])
    assert (claims["order_id"], claims["status"]) == (order_id, "DONE")


def test_guest_foreign_card_window_pays(
    app: Flask, shop: Shop, new_order: Callable[..., str], sandbox: Any
) -> None:
    order_id = new_order(12300)
    guest = app.test_client()
    _as_guest(guest, shop.sign(shop.pay_claims(order_id, 12300)))
    done = guest.get(_path(_pay(guest, sandbox, order_id, "foreign")))
    assert done.status_code == 303
    order = load_order(app, order_id)
    assert (order.status, order.pay_way) == ("DONE", "FOREIGN_CARD")


def test_guest_order_invisible_to_other_browsers_and_link_single_use(
    app: Flask, shop: Shop, new_order: Callable[..., str], sandbox: Any
) -> None:
    order_id = new_order(12300)
    token = shop.sign(shop.pay_claims(order_id, 12300))
    guest = app.test_client()
    assert _as_guest(guest, token).status_code == 303
    other = app.test_client()
    assert other.get(f"/pay/guest/{order_id}").status_code == 404
    assert other.get(f"/pay/guest/{order_id}/receipt").status_code == 404
    page = other.get(f"/l/{token}")
    assert page.status_code == 409  # the link was used
    with app.app_context():
        assert db.session.scalar(select(func.count(WalletLinkUse.id))) == 1


def test_guest_tampered_amount_refused_order_payable(
    app: Flask, shop: Shop, new_order: Callable[..., str], sandbox: Any
) -> None:
    order_id = new_order(12300)
    guest = app.test_client()
    _as_guest(guest, shop.sign(shop.pay_claims(order_id, 12300)))
    location = _pay(guest, sandbox, order_id, "card").replace(
        "amount=12300", "amount=100"
    )
    resp = guest.get(_path(location))
    assert resp.status_code == 400
    assert load_order(app, order_id).status == "PENDING"


def test_guest_brandpay_way_refused(
    app: Flask, shop: Shop, new_order: Callable[..., str], sandbox: Any
) -> None:
    order_id = new_order(12300)
    guest = app.test_client()
    _as_guest(guest, shop.sign(shop.pay_claims(order_id, 12300)))
    location = _pay(guest, sandbox, order_id, "card").replace(
        "way=card", "way=brandpay"
    )
    assert guest.get(_path(location)).status_code == 400
    assert load_order(app, order_id).status == "PENDING"


def test_guest_redeem_without_csrf_refused(
    app: Flask, shop: Shop, new_order: Callable[..., str]
) -> None:
    order_id = new_order(12300)
    token = shop.sign(shop.pay_claims(order_id, 12300))
    assert app.test_client().post(f"/l/{token}/guest").status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(WalletLinkUse.id))) == 0


def test_guest_manage_link_needs_login(app: Flask, api: Callable[..., Any]) -> None:
    link = api(
        "POST",
        "/wallet-links",
        json={"action": "manage", "return_url": f"{SHOP}/account"},
    ).get_json()
    resp = app.test_client().get(urlsplit(link["url"]).path)
    assert resp.status_code == 302
    assert "/auth/login" in resp.headers["Location"]
