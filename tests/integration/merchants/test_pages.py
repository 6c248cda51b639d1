"""Merchant dashboard (staff only) and the admin merchant pages: keys shown once,
secrets never stored or shown again in plaintext."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import csrf_token
from tests.integration.merchants.conftest import PASSWORD, Shop
from tests.integration.payments.conftest import path_of
from wallet.extensions import db
from wallet.models.audit import AuditEvent
from wallet.models.merchant import Merchant, MerchantApiKey
from wallet.services import members, merchants

KEY_RE = re.compile(r'value="(bpk_[A-Za-z0-9_-]+)"')
SECRET_RE = re.compile(r'value="(whsec_[A-Za-z0-9+/=]+)"')
ADMIN = ("root@example.com", "admin-password-1")


def _staff(app: Flask, shop: Shop, email: str) -> None:
    with app.app_context():
        merchants.add_staff(merchants.get(shop.id), email, "test")


def test_dashboard_non_staff_403_nav_hidden(
    member_client: Callable[..., Any], shop: Shop
) -> None:
    client, _ = member_client()
    assert client.get("/merchant").status_code == 403
    assert b'href="/merchant"' not in client.get("/wallet").data


def test_dashboard_staff_sees_orders_keys_and_snippet(
    app: Flask,
    member_client: Callable[..., Any],
    shop: Shop,
    new_order: Callable[..., str],
) -> None:
    order_id = new_order(4500)
    client, _ = member_client("staff@example.com")
    _staff(app, shop, "staff@example.com")
    page = client.get("/merchant")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert order_id in html
    assert "₩4,500" in html
    assert shop.api_key[:12] in html
    assert shop.api_key not in html
    assert "static/js/embed.js" in html
    assert "data-brandpay-wallet" in html
    assert b'href="/merchant"' in client.get("/wallet").data  # nav item appears


def test_dashboard_other_merchant_404(
    app: Flask,
    member_client: Callable[..., Any],
    shop: Shop,
    shop_factory: Callable[..., Shop],
) -> None:
    other = shop_factory(name="Other")
    client, _ = member_client("staff@example.com")
    _staff(app, shop, "staff@example.com")
    assert client.get(f"/merchant?m={other.id}").status_code == 404
    form = client.get("/merchant").get_data(as_text=True)
    resp = client.post(
        f"/merchant/{other.id}/keys",
        data={"csrf_token": csrf_token(form), "label": "x"},
    )
    assert resp.status_code == 404


def test_dashboard_create_key_shown_once_works_then_revoked_401(
    app: Flask, member_client: Callable[..., Any], shop: Shop
) -> None:
    client, _ = member_client("staff@example.com")
    _staff(app, shop, "staff@example.com")
    _reauth(client, PASSWORD)  # key actions are privileged (issue 13 M3)
    page = client.get("/merchant").get_data(as_text=True)
    resp = client.post(
        f"/merchant/{shop.id}/keys",
        data={"csrf_token": csrf_token(page), "label": "prod"},
    )
    assert resp.status_code == 303  # POST-redirect-GET (issue 14)
    shown = client.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    match = KEY_RE.search(shown)
    assert match
    raw = match.group(1)
    assert raw not in client.get("/merchant").get_data(as_text=True)  # once only
    auth = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/orders", headers=auth).status_code == 200
    with app.app_context():
        key = db.session.scalar(
            select(MerchantApiKey).where(MerchantApiKey.label == "prod")
        )
        key_id = key.id
    page = client.get("/merchant").get_data(as_text=True)
    resp = client.post(
        f"/merchant/{shop.id}/keys/{key_id}/revoke",
        data={"csrf_token": csrf_token(page)},
    )
    assert resp.status_code == 303
    assert client.get("/api/v1/orders", headers=auth).status_code == 401


def _reauth(client: FlaskClient, password: str) -> None:
    page = client.get("/auth/reauth").get_data(as_text=True)
    resp = client.post(
        "/auth/reauth",
        data={"csrf_token": csrf_token(page), "password": password, "next": "/"},
    )
    assert resp.status_code == 302


def _admin(
    client: FlaskClient, make_member: Callable[..., Any], login: Callable[..., Any]
) -> None:
    make_member(*ADMIN, role="admin")
    login(*ADMIN)
    page = client.get("/auth/reauth").get_data(as_text=True)
    resp = client.post(
        "/auth/reauth",
        data={"csrf_token": csrf_token(page), "password": ADMIN[1], "next": "/admin/"},
    )
    assert resp.status_code == 302


def test_admin_merchants_members_403(
    client: FlaskClient, make_member: Callable[..., Any], login: Callable[..., Any]
) -> None:
    make_member()
    login()
    assert client.get("/admin/merchants").status_code == 403


def test_admin_create_merchant_secret_shown_once_stored_encrypted(
    app: Flask,
    client: FlaskClient,
    make_member: Callable[..., Any],
    login: Callable[..., Any],
) -> None:
    _admin(client, make_member, login)
    page = client.get("/admin/merchants").get_data(as_text=True)
    resp = client.post(
        "/admin/merchants",
        data={
            "csrf_token": csrf_token(page),
            "name": "Tea shop",
            "origins": "https://shop.example\nhttps://SHOP.example:443",
            "webhook_url": "https://shop.example/hooks",
        },
    )
    assert resp.status_code == 303  # the secret is shown on the next page, once
    shown = client.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    secret = SECRET_RE.search(shown)
    assert secret
    with app.app_context():
        merchant = db.session.scalar(select(Merchant))
        assert merchant.origins == ["https://shop.example"]
        assert secret.group(1) not in merchant.link_secret  # a vault ciphertext
        assert merchants.current_key(merchant)[1] == merchants.secret_key_bytes(
            secret.group(1)
        )
        merchant_id = merchant.id
        assert db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "merchant.created")
        )
    detail = client.get(f"/admin/merchants/{merchant_id}").get_data(as_text=True)
    assert secret.group(1) not in detail


def test_admin_create_merchant_wildcard_origin_400(
    app: Flask,
    client: FlaskClient,
    make_member: Callable[..., Any],
    login: Callable[..., Any],
) -> None:
    _admin(client, make_member, login)
    page = client.get("/admin/merchants").get_data(as_text=True)
    resp = client.post(
        "/admin/merchants",
        data={
            "csrf_token": csrf_token(page),
            "name": "Bad",
            "origins": "https://*.shop.example",
        },
    )
    assert resp.status_code == 400
    assert "is not an origin" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Merchant)) is None


def test_admin_rotate_secret_both_live_then_retire(
    app: Flask,
    client: FlaskClient,
    make_member: Callable[..., Any],
    login: Callable[..., Any],
    shop: Shop,
) -> None:
    _admin(client, make_member, login)
    page = client.get(f"/admin/merchants/{shop.id}").get_data(as_text=True)
    resp = client.post(
        f"/admin/merchants/{shop.id}/rotate-secret",
        data={"csrf_token": csrf_token(page)},
    )
    assert resp.status_code == 303
    new = SECRET_RE.search(
        client.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    )
    assert new
    assert new.group(1) != shop.secret
    with app.app_context():
        keys = merchants.link_keys(merchants.get(shop.id))
        assert set(keys.values()) == {
            shop.key,
            merchants.secret_key_bytes(new.group(1)),
        }
    page = client.get(f"/admin/merchants/{shop.id}").get_data(as_text=True)
    resp = client.post(
        f"/admin/merchants/{shop.id}/retire-secret",
        data={"csrf_token": csrf_token(page)},
    )
    assert resp.status_code == 303
    with app.app_context():
        keys = merchants.link_keys(merchants.get(shop.id))
        assert list(keys.values()) == [merchants.secret_key_bytes(new.group(1))]


def test_admin_issue_key_needs_recent_password(
    app: Flask,
    client: FlaskClient,
    make_member: Callable[..., Any],
    login: Callable[..., Any],
    shop: Shop,
) -> None:
    make_member(*ADMIN, role="admin")
    login(*ADMIN)
    page = client.get(f"/admin/merchants/{shop.id}").get_data(as_text=True)
    resp = client.post(
        f"/admin/merchants/{shop.id}/keys",
        data={"csrf_token": csrf_token(page), "label": "x"},
    )
    assert resp.status_code == 303
    assert "/auth/reauth" in resp.headers["Location"]
    with app.app_context():
        assert len(merchants.api_keys(merchants.get(shop.id))) == 1


def test_admin_add_staff_and_update_settings(
    app: Flask,
    client: FlaskClient,
    make_member: Callable[..., Any],
    login: Callable[..., Any],
    shop: Shop,
) -> None:
    _admin(client, make_member, login)
    make_member("staff@example.com", "correct-horse-1")
    page = client.get(f"/admin/merchants/{shop.id}").get_data(as_text=True)
    resp = client.post(
        f"/admin/merchants/{shop.id}/staff",
        data={"csrf_token": csrf_token(page), "email": "staff@example.com"},
    )
    assert resp.status_code == 303
    resp = client.post(
        f"/admin/merchants/{shop.id}",
        data={
            "csrf_token": csrf_token(page),
            "name": "Tea shop",
            "origins": "https://tea.example",
            "webhook_url": "",
            "allow_framing": "y",
            "active": "y",
        },
    )
    assert resp.status_code == 303
    with app.app_context():
        merchant = merchants.get(shop.id)
        assert merchant.origins == ["https://tea.example"]
        assert merchant.allow_framing
        staff = members.find_by_email("staff@example.com")
        assert [m.id for m in merchants.merchants_of(staff)] == [shop.id]
