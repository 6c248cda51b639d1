"""The member's /wallet/mandates (list, revoke with CSRF, at once), the admin's list
and revoke (re-authenticated, audited), the merchant dashboard's section."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import csrf_token, logged_in_client
from tests.integration.test_language_sweep import stray_english, visible_text
from wallet.extensions import db
from wallet.models import AuditEvent, Merchant
from wallet.services import merchants

from .conftest import SHOP, Browser, Shop, load, new_order_id


def _charge(api: Callable[..., Any], mandate_id: str) -> Any:
    return api(
        "POST",
        f"/mandates/{mandate_id}/charges",
        json={"amount": 7700, "order_id": new_order_id(), "order_name": "Tea box"},
    )


def test_member_sees_the_mandate_and_its_charge_then_revokes_it(
    app: Flask,
    api: Callable[..., Any],
    sandbox: Any,
    linked: Browser,
    make_mandate: Callable[..., str],
) -> None:
    mandate_id = make_mandate()
    paid = _charge(api, mandate_id)
    assert paid.status_code == 201
    page = linked.client.get("/wallet/mandates")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Tea shop" in html
    assert "Monthly tea box" in html
    assert "30,000" in html
    assert "7,700" in html  # the charge, linked to its receipt
    assert f"/pay/orders/{paid.get_json()['order_id']}/receipt" in html
    assert 'href="/wallet/mandates" aria-current="page"' in html  # in the nav
    receipt = linked.client.get(f"/pay/orders/{paid.get_json()['order_id']}/receipt")
    assert receipt.status_code == 200
    assert "Automatic payment" in receipt.get_data(as_text=True)
    history = linked.client.get("/pay/history").get_data(as_text=True)
    assert paid.get_json()["order_id"] in history

    # Without the CSRF token nothing changes.
    action = f"/wallet/mandates/{mandate_id}/revoke"
    assert linked.client.post(action).status_code == 400
    assert load(app, mandate_id).status == "active"

    resp = linked.client.post(action, data={"csrf_token": csrf_token(html)})
    assert resp.status_code == 303
    mandate = load(app, mandate_id)
    assert (mandate.status, mandate.revoked_by) == ("revoked", "member")
    assert "Revoked" in linked.client.get("/wallet/mandates").get_data(as_text=True)
    # At once: the shop's next charge is refused before Toss is asked.
    calls = len(sandbox.calls("/v1/brandpay/payments"))
    refused = _charge(api, mandate_id)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "MANDATE_REVOKED"
    assert len(sandbox.calls("/v1/brandpay/payments")) == calls
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.subject == f"mandate:{mandate_id}"
            )
        ).all()
    assert actions == [
        "mandate.requested",
        "mandate.approved",
        "mandate.charge_started",
        "mandate.revoked",
    ]


def test_another_member_cannot_revoke(
    app: Flask,
    browser: Callable[..., Browser],
    make_mandate: Callable[..., str],
) -> None:
    mandate_id = make_mandate()
    other = browser()
    page = other.client.get("/wallet/mandates").get_data(as_text=True)
    assert mandate_id not in page
    resp = other.client.post(
        f"/wallet/mandates/{mandate_id}/revoke", data={"csrf_token": csrf_token(page)}
    )
    assert resp.status_code == 404
    assert load(app, mandate_id).status == "active"


def test_admin_revokes_after_reauthentication_with_a_reason(
    app: Flask,
    browser: Callable[..., Browser],
    make_mandate: Callable[..., str],
) -> None:
    mandate_id = make_mandate()
    admin = browser("admin")
    page = admin.client.get("/admin/mandates")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert mandate_id in html
    token = csrf_token(html)
    action = f"/admin/mandates/{mandate_id}/revoke"
    # Re-authentication first (logging in counts as recent): make it stale.
    with admin.client.session_transaction() as s:
        s["reauth_at"] = 1_000
    stale = admin.client.post(action, data={"csrf_token": token, "reason": "fraud"})
    assert stale.status_code == 303
    assert "/auth/reauth" in stale.headers["Location"]
    assert load(app, mandate_id).status == "active"
    reauth = admin.client.get(stale.headers["Location"])
    admin.client.post(
        "/auth/reauth",
        data={
            "password": "correct-horse-1",
            "next": "/admin/mandates",
            "csrf_token": csrf_token(reauth.get_data(as_text=True)),
        },
    )
    blank = admin.client.post(action, data={"csrf_token": token, "reason": ""})
    assert blank.status_code == 400
    assert load(app, mandate_id).status == "active"
    done = admin.client.post(action, data={"csrf_token": token, "reason": "fraud"})
    assert done.status_code == 303
    assert (load(app, mandate_id).status, load(app, mandate_id).revoked_by) == (
        "revoked",
        "admin",
    )
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "mandate.revoked",
                AuditEvent.subject == f"mandate:{mandate_id}",
            )
        )
        assert event is not None
        assert event.actor == admin.email
        assert "fraud" in event.details


def test_members_cannot_open_the_admin_list(
    linked: Browser, make_mandate: Callable[..., str]
) -> None:
    make_mandate()
    assert linked.client.get("/admin/mandates").status_code in (403, 404)


def test_merchant_dashboard_lists_its_mandates(
    app: Flask,
    shop: Shop,
    make_member: Callable[..., Any],
    make_mandate: Callable[..., str],
) -> None:
    mandate_id = make_mandate()
    make_member("staff@example.com", "correct-horse-1")
    with app.app_context():
        merchants.add_staff(db.session.get(Merchant, shop.id), "staff@example.com", "t")
    staff = logged_in_client(app, "staff@example.com", "correct-horse-1")
    html = staff.get("/merchant").get_data(as_text=True)
    assert 'id="mandates"' in html
    assert mandate_id in html
    assert "Monthly tea box" in html


def test_admin_member_page_lists_the_members_mandates(
    app: Flask,
    browser: Callable[..., Browser],
    linked: Browser,
    make_mandate: Callable[..., str],
) -> None:
    admin = browser("admin")
    member_page = f"/admin/members/{linked.member_id}"
    before = admin.client.get(member_page).get_data(as_text=True)
    assert "No mandates" in before
    mandate_id = make_mandate()
    page = admin.client.get(member_page)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert mandate_id in html
    assert "Monthly tea box" in html
    assert "No mandates" not in html
    # Another member's page does not show it.
    other = browser()
    assert mandate_id not in admin.client.get(
        f"/admin/members/{other.member_id}"
    ).get_data(as_text=True)


@pytest.mark.parametrize("path", ["/wallet/mandates", "/admin/mandates", "landing"])
def test_mandate_pages_in_korean_have_no_stray_english(
    app: Flask,
    api: Callable[..., Any],
    browser: Callable[..., Browser],
    linked: Browser,
    make_mandate: Callable[..., str],
    path: str,
) -> None:
    mandate_id = make_mandate()
    assert _charge(api, mandate_id).status_code == 201
    who = browser("admin") if path.startswith("/admin") else linked
    if path == "landing":
        ask = {
            "description": "월간 차 상자",
            "max_amount": 30000,
            "max_charges": 2,
            "period": "week",
            "valid_days": 30,
            "return_url": f"{SHOP}/subscribed",
        }
        path = urlsplit(api("POST", "/mandate-links", json=ask).get_json()["url"]).path
    page = who.client.get("/auth/login").get_data(as_text=True)
    who.client.post(
        "/auth/language",
        data={"lang": "ko", "next": "/", "csrf_token": csrf_token(page)},
    )
    resp = who.client.get(path)
    assert resp.status_code == 200
    text = visible_text(resp.get_data(as_text=True))
    for ours in ("Monthly tea box", "Tea shop", "Tea box"):  # names the test gave
        text = text.replace(ours, "")
    assert stray_english(text) == set()
