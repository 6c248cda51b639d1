"""Wallet links: signed by the merchant, short-lived, one action, amount ceiling,
allow-listed return URL, single-use for pay; refusals are clear 4xx pages and audited.
Then the way back: the member returns with a result the merchant can verify."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from examples.merchant_shop import ResultError, verify_result
from tests.conftest import csrf_token
from tests.integration.merchants.conftest import SHOP, Shop, load_order
from wallet.extensions import db
from wallet.models.audit import AuditEvent
from wallet.models.merchant import WalletLinkUse
from wallet.models.order import EXPIRED
from wallet.services import merchants, orders

MemberClient = Callable[..., tuple[FlaskClient, int]]


def _refusals(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "wallet_link.refused")
        ).all()
        return [r.details_dict for r in rows]


def _uses(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count(WalletLinkUse.id))) or 0)


def _redeem(client: FlaskClient, token: str) -> Any:
    page = client.get(f"/l/{token}")
    assert page.status_code == 200, page.get_data(as_text=True)
    return client.post(
        f"/l/{token}", data={"csrf_token": csrf_token(page.get_data(as_text=True))}
    )


def _tamper(token: str, **changes: Any) -> str:
    header, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    raw = json.dumps(claims, separators=(",", ":")).encode()
    return ".".join([header, base64.urlsafe_b64encode(raw).rstrip(b"=").decode(), sig])


def test_link_pay_binds_order_once_and_goes_to_checkout(
    app: Flask, shop: Shop, new_order: Callable[..., str], member_client: MemberClient
) -> None:
    order_id = new_order(12300)
    token = shop.sign(shop.pay_claims(order_id, 12300))
    client, member_id = member_client()
    page = client.get(f"/l/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Tea shop" in html
    assert "₩12,300" in html
    assert load_order(app, order_id).member_id is None  # GET changes nothing
    resp = client.post(f"/l/{token}", data={"csrf_token": csrf_token(html)})
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/pay/orders/{order_id}")
    assert load_order(app, order_id).member_id == member_id
    assert _uses(app) == 1
    assert client.get(f"/pay/orders/{order_id}").status_code == 200


def test_link_pay_replayed_refused_409(
    app: Flask, shop: Shop, new_order: Callable[..., str], member_client: MemberClient
) -> None:
    order_id = new_order()
    token = shop.sign(shop.pay_claims(order_id, 12300))
    client, _ = member_client()
    assert _redeem(client, token).status_code == 303
    again = client.get(f"/l/{token}")
    assert again.status_code == 409
    assert "already used" in again.get_data(as_text=True)
    other, _ = member_client()
    assert other.get(f"/l/{token}").status_code == 409
    assert _uses(app) == 1
    assert [r["reason"] for r in _refusals(app)] == ["LINK_USED", "LINK_USED"]


def test_link_pay_second_link_for_taken_order_refused(
    app: Flask, shop: Shop, new_order: Callable[..., str], member_client: MemberClient
) -> None:
    order_id = new_order()
    first, first_id = member_client()
    assert (
        _redeem(first, shop.sign(shop.pay_claims(order_id, 12300))).status_code == 303
    )
    second, _ = member_client()
    resp = _redeem(second, shop.sign(shop.pay_claims(order_id, 12300)))
    assert resp.status_code == 409
    assert load_order(app, order_id).member_id == first_id


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        ({"max_amount": 10**8}, 400, "LINK_INVALID"),  # claims edited, signature kept
        ({"order_id": "ord_someone_elses_1"}, 400, "LINK_INVALID"),
        ({"return_url": "https://evil.example/"}, 400, "LINK_INVALID"),
        ({"exp": int(time.time()) + 10**6}, 400, "LINK_INVALID"),
    ],
)
def test_link_tampered_refused_and_audited(
    app: Flask,
    shop: Shop,
    new_order: Callable[..., str],
    member_client: MemberClient,
    change: dict[str, Any],
    status: int,
    reason: str,
) -> None:
    order_id = new_order()
    token = _tamper(shop.sign(shop.pay_claims(order_id, 12300)), **change)
    client, _ = member_client()
    resp = client.get(f"/l/{token}")
    assert resp.status_code == status
    assert "changed after the shop signed it" in resp.get_data(as_text=True)
    assert client.post(f"/l/{token}", data={}).status_code == 400  # no CSRF either
    assert load_order(app, order_id).member_id is None
    assert [r["reason"] for r in _refusals(app)] == [reason]


@pytest.mark.parametrize(
    ("claims", "status", "text"),
    [
        (
            {"exp": int(time.time()) - 120, "iat": int(time.time()) - 400},
            410,
            "expired",
        ),
        ({"exp": int(time.time()) + 3600}, 400, "lifetime"),
        ({"max_amount": 12299}, 400, "above what the link allows"),
        ({"return_url": "https://shop.example@evil.example/"}, 400, "not registered"),
        ({"return_url": "//evil.example/"}, 400, "not registered"),
        ({"action": "refund"}, 400, "does not say what to do"),
        ({"aud": "someone-else"}, 400, "does not say what to do"),
        ({"jti": None}, 400, "does not say what to do"),
        ({"exp": None}, 400, "no expiry"),
        ({"iss": "mch_unknown"}, 400, "unknown shop"),
    ],
)
def test_link_bad_claims_refused_with_clear_page(
    app: Flask,
    shop: Shop,
    new_order: Callable[..., str],
    member_client: MemberClient,
    claims: dict[str, Any],
    status: int,
    text: str,
) -> None:
    order_id = new_order(12300)
    body = {
        k: v
        for k, v in (shop.pay_claims(order_id, 12300) | claims).items()
        if v is not None
    }
    client, _ = member_client()
    resp = client.get(f"/l/{shop.sign(body)}")
    assert resp.status_code == status
    assert text in resp.get_data(as_text=True)
    assert len(_refusals(app)) == 1
    assert load_order(app, order_id).member_id is None


def test_link_for_order_no_longer_payable_409(
    app: Flask, shop: Shop, new_order: Callable[..., str], member_client: MemberClient
) -> None:
    order_id = new_order()
    with app.app_context():
        assert orders.move(orders.find(order_id), EXPIRED)
        db.session.commit()
    client, _ = member_client()
    resp = client.get(f"/l/{shop.sign(shop.pay_claims(order_id, 12300))}")
    assert resp.status_code == 409
    assert "can no longer be paid" in resp.get_data(as_text=True)
    assert _uses(app) == 0


def test_link_wrong_merchant_refused_403(
    app: Flask,
    shop: Shop,
    shop_factory: Callable[..., Shop],
    new_order: Callable[..., str],
    member_client: MemberClient,
) -> None:
    order_id = new_order()
    other = shop_factory(name="Other shop")
    client, _ = member_client()
    # The other merchant signs correctly with its own key, for an order it does not own.
    own_key = other.sign(other.pay_claims(order_id, 12300, return_url=f"{SHOP}/r"))
    resp = client.get(f"/l/{own_key}")
    assert resp.status_code == 403
    assert "not from the shop that owns the order" in resp.get_data(as_text=True)
    # Claiming to be the owner but signed with another merchant's key.
    forged = shop.sign(shop.pay_claims(order_id, 12300), key=other.key)
    assert client.get(f"/l/{forged}").status_code == 400
    # Unknown key id, and the "none" algorithm.
    unknown_kid = shop.sign(shop.pay_claims(order_id, 12300), kid="k00000000")
    assert client.get(f"/l/{unknown_kid}").status_code == 400
    header = base64.urlsafe_b64encode(b'{"alg":"none","kid":"%s"}' % shop.kid.encode())
    payload = base64.urlsafe_b64encode(
        json.dumps(shop.pay_claims(order_id, 12300)).encode()
    )
    none_alg = f"{header.decode().rstrip('=')}.{payload.decode().rstrip('=')}."
    assert client.get(f"/l/{none_alg}").status_code == 400
    assert [r["reason"] for r in _refusals(app)] == [
        "LINK_WRONG_MERCHANT",
        "LINK_INVALID",
        "LINK_INVALID",
        "LINK_INVALID",
    ]
    assert load_order(app, order_id).member_id is None


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 5000, "e30.e30.e30"])
def test_link_malformed_token_400(member_client: MemberClient, token: str) -> None:
    client, _ = member_client()
    assert client.get(f"/l/{token}").status_code == 400


def test_link_anonymous_goes_through_login_and_back(
    app: Flask,
    shop: Shop,
    new_order: Callable[..., str],
    make_member: Callable[..., Any],
) -> None:
    order_id = new_order()
    token = shop.sign(shop.pay_claims(order_id, 12300))
    client = app.test_client()
    resp = client.get(f"/l/{token}")
    # Not logged in: log in (or sign up) for BrandPay, or pay by card as a guest.
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Pay by card as a guest" in html
    match = re.search(r'href="(/auth/login\?next=[^"]+)"', html)
    assert match
    login_url = match.group(1).replace("&amp;", "&")
    nxt = parse_qs(urlsplit(login_url).query)["next"][0]
    assert nxt == f"/l/{token}"
    make_member("buyer@example.com", "correct-horse-1")
    page = client.get(login_url).get_data(as_text=True)
    resp = client.post(
        "/auth/login",
        data={
            "email": "buyer@example.com",
            "password": "correct-horse-1",
            "next": nxt,
            "csrf_token": csrf_token(page),
        },
    )
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"/l/{token}"
    assert client.get(resp.headers["Location"]).status_code == 200


def test_link_signed_with_rotated_out_secret_refused_after_retire(
    app: Flask, shop: Shop, new_order: Callable[..., str], member_client: MemberClient
) -> None:
    order_id = new_order()
    with app.app_context():
        merchants.rotate_link_secret(merchants.get(shop.id), "test")
    client, _ = member_client()
    old = shop.sign(shop.pay_claims(order_id, 12300))
    assert client.get(f"/l/{old}").status_code == 200  # both live during rotation
    with app.app_context():
        merchants.retire_previous_secret(merchants.get(shop.id), "test")
    assert client.get(f"/l/{old}").status_code == 400


def test_link_disabled_merchant_refused(
    app: Flask, shop: Shop, new_order: Callable[..., str], member_client: MemberClient
) -> None:
    order_id = new_order()
    with app.app_context():
        merchant = merchants.get(shop.id)
        merchants.update_settings(merchant, merchant.origins, None, False, False, "t")
    client, _ = member_client()
    assert (
        client.get(f"/l/{shop.sign(shop.pay_claims(order_id, 12300))}").status_code
        == 400
    )


def test_link_manage_shows_wallet_and_way_back(
    api: Callable[..., Any], member_client: MemberClient
) -> None:
    link = api(
        "POST",
        "/wallet-links",
        json={"action": "manage", "return_url": f"{SHOP}/account"},
    )
    client, _ = member_client()
    page = client.get(urlsplit(link.get_json()["url"]).path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'href="{SHOP}/account"' in html
    assert "/wallet" in html
    assert (
        client.get(urlsplit(link.get_json()["url"]).path).status_code == 200
    )  # reusable


def test_link_api_made_pay_link_redeems(
    app: Flask,
    api: Callable[..., Any],
    new_order: Callable[..., str],
    member_client: MemberClient,
) -> None:
    order_id = new_order()
    link = api("POST", f"/orders/{order_id}/wallet-links", json={}).get_json()
    client, member_id = member_client()
    assert _redeem(client, link["token"]).status_code == 303
    assert load_order(app, order_id).member_id == member_id


# -- framing -------------------------------------------------------------------------


def test_link_framing_only_for_allowing_merchant_on_link_flow(
    app: Flask, shop_factory: Callable[..., Shop], member_client: MemberClient
) -> None:
    framed = shop_factory(name="Framed", allow_framing=True)
    client, _ = member_client()
    with app.test_client() as c:
        resp = c.post(
            "/api/v1/orders",
            json={"amount": 5000, "order_name": "x", "return_url": f"{SHOP}/r"},
            headers=framed.headers("f1"),
        )
    order_id = resp.get_json()["order_id"]
    token = framed.sign(framed.pay_claims(order_id, 5000))
    landing = client.get(f"/l/{token}")
    assert f"frame-ancestors {SHOP};" in landing.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in landing.headers
    assert _redeem(client, token).status_code == 303
    checkout = client.get(f"/pay/orders/{order_id}")
    assert f"frame-ancestors {SHOP};" in checkout.headers["Content-Security-Policy"]
    home = client.get("/wallet")
    assert "frame-ancestors 'none'" in home.headers["Content-Security-Policy"]
    assert home.headers["X-Frame-Options"] == "DENY"


def test_link_framing_refused_when_merchant_does_not_allow(
    shop: Shop, new_order: Callable[..., str], member_client: MemberClient
) -> None:
    order_id = new_order()
    client, _ = member_client()
    landing = client.get(f"/l/{shop.sign(shop.pay_claims(order_id, 12300))}")
    assert "frame-ancestors 'none'" in landing.headers["Content-Security-Policy"]
    assert landing.headers["X-Frame-Options"] == "DENY"


# -- back to the merchant -------------------------------------------------------------


def test_return_to_signed_result_verifies_at_merchant(
    app: Flask, shop: Shop, new_order: Callable[..., str], member_client: MemberClient
) -> None:
    order_id = new_order(12300)
    client, _ = member_client()
    assert (
        _redeem(client, shop.sign(shop.pay_claims(order_id, 12300))).status_code == 303
    )
    resp = client.get(f"/merchant/return/{order_id}")
    assert resp.status_code == 303
    location = resp.headers["Location"]
    assert location.startswith(f"{SHOP}/return?cart=7&wallet_result=")
    result = parse_qs(urlsplit(location).query)["wallet_result"][0]
    claims = verify_result(shop.secret, shop.public_id, result)
    assert claims["order_id"] == order_id
    assert claims["status"] == "PENDING"
    assert claims["amount"] == 12300
    with pytest.raises(ResultError):
        verify_result(shop.secret, shop.public_id, _tamper(result, status="DONE"))


def test_return_to_other_member_or_changed_allow_list_404(
    app: Flask, shop: Shop, new_order: Callable[..., str], member_client: MemberClient
) -> None:
    order_id = new_order()
    owner, _ = member_client()
    assert (
        _redeem(owner, shop.sign(shop.pay_claims(order_id, 12300))).status_code == 303
    )
    stranger, _ = member_client()
    assert stranger.get(f"/merchant/return/{order_id}").status_code == 404
    assert stranger.get("/merchant/return/ord_does_not_exist").status_code == 404
    with app.app_context():
        merchant = merchants.get(shop.id)
        merchants.update_settings(
            merchant, ["https://new.example"], None, False, True, "t"
        )
    assert owner.get(f"/merchant/return/{order_id}").status_code == 404
