"""Issue 13 M3: every privileged admin action and every key, secret or refund action of
merchant staff needs the password within the last few minutes; issue 14: after the
password the interrupted action is ready to finish in one click, exactly as typed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.integration.security.conftest import (
    PASSWORD,
    Browser,
    Payer,
    Shop,
    make_staff,
    path_of,
    reauth,
)
from wallet.extensions import db
from wallet.models.audit import AuditEvent
from wallet.models.merchant import Merchant, MerchantApiKey, merchant_members
from wallet.services import merchants


def _staff_of(app: Flask, shop: Shop) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(merchant_members.c.member_id).where(
                    merchant_members.c.merchant_id == shop.id
                )
            )
        )


def _keys(app: Flask, shop: Shop) -> int:
    with app.app_context():
        return len(merchants.api_keys(db.session.get(Merchant, shop.id)))


def _refused(resp: Any) -> None:
    assert resp.status_code == 303, resp.status_code
    assert "/auth/reauth" in resp.headers["Location"]


def test_reauth_fresh_admin_login_cannot_make_itself_staff_and_mint_a_key(
    app: Flask, browser: Callable[..., Browser], shop: Shop
) -> None:
    # Attack (M3, as reported): a fresh admin login adds itself as staff, then mints
    # an API key on the merchant dashboard, all without entering the password again.
    admin = browser(role="admin")
    page = f"/admin/merchants/{shop.id}"
    _refused(admin.post_form(page, f"{page}/staff", {"email": admin.email}))
    assert admin.member_id not in _staff_of(app, shop)
    make_staff(app, shop, admin.email)  # even as staff (added by someone else) ...
    resp = admin.post_form("/merchant", f"/merchant/{shop.id}/keys", {"label": "mine"})
    _refused(resp)  # ... no key without the password
    assert _keys(app, shop) == 1


def test_reauth_fresh_admin_login_cannot_change_a_merchant_or_export(
    app: Flask, browser: Callable[..., Browser], shop: Shop
) -> None:
    admin = browser(role="admin")
    page = f"/admin/merchants/{shop.id}"
    evil = {
        "name": "Tea shop",
        "origins": "https://evil.example",
        "webhook_url": "https://evil.example/hook",
        "allow_framing": "y",
        "active": "y",
    }
    _refused(admin.post_form(page, page, evil))
    _refused(admin.post_form(page, f"{page}/retire-secret"))
    with app.app_context():
        key_id = merchants.api_keys(db.session.get(Merchant, shop.id))[0].id
    _refused(admin.post_form(page, f"{page}/keys/{key_id}/revoke"))
    export = admin.post_form(
        "/admin/payments/export",
        "/admin/payments/export",
        {"start": "2026-01-01", "end": "2026-12-31"},
    )
    _refused(export)
    assert export.mimetype != "text/csv"
    with app.app_context():
        merchant = db.session.get(Merchant, shop.id)
        assert merchant.origins == ["https://shop.example"]
        assert (merchant.webhook_url, merchant.allow_framing) == (None, False)
        assert db.session.get(MerchantApiKey, key_id).active
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "admin.payments_exported" not in actions
    assert "merchant.updated" not in actions


def test_reauth_revoke_resumes_with_the_typed_reason(
    app: Flask, browser: Callable[..., Browser], linked: Browser
) -> None:
    # Issue 14: after the password the admin is not dropped on /admin/ with the
    # revoke undone and the reason gone.
    admin = browser(role="admin")
    page = f"/admin/members/{linked.member_id}"
    reason = {"reason": "card reported stolen 2026-12-01"}
    _refused(admin.post_form(page, f"{page}/revoke", reason))
    password_page = admin.client.get("/auth/reauth").get_data(as_text=True)
    assert "Revoke a member&#39;s BrandPay tokens" in password_page
    resp = admin.post_form("/auth/reauth", "/auth/reauth", {"password": PASSWORD})
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith("/auth/resume")
    resume = admin.client.get("/auth/resume")
    html = resume.get_data(as_text=True)
    assert "card reported stolen 2026-12-01" in html  # shown, and kept in the form
    assert f'action="{page}/revoke"' in html
    done = admin.post_form("/auth/resume", f"{page}/revoke", reason)
    assert done.status_code == 303
    with app.app_context():
        from wallet.models import BrandPayLink

        row = db.session.scalar(
            select(BrandPayLink).where(BrandPayLink.member_id == linked.member_id)
        )
        assert (row.status, row.revoked_reason) == (
            "revoked",
            "card reported stolen 2026-12-01",
        )
    # Done: nothing is waiting any more.
    assert admin.client.get("/auth/resume").status_code == 302


def test_reauth_refund_resumes_with_the_typed_amount(
    payer: Callable[..., Payer],
) -> None:
    p = payer()
    order_id, _ = p.pay(9000)
    admin = payer(role="admin")
    page = f"/admin/payments/{order_id}"
    form = {"amount": "1234", "reason": "late delivery"}
    _refused(admin.post_form(page, f"{page}/refund", form))
    assert p.order(order_id).payment.cancels == []
    admin.post_form("/auth/reauth", "/auth/reauth", {"password": PASSWORD})
    html = admin.client.get("/auth/resume").get_data(as_text=True)
    assert "1234" in html
    assert "late delivery" in html
    assert 'name="password"' not in html  # passwords are never kept
    resp = admin.post_form("/auth/resume", f"{page}/refund", form)
    assert resp.status_code == 303
    [cancel] = p.order(order_id).payment.cancels
    assert (cancel.amount, cancel.reason) == (1234, "late delivery")


def test_reauth_wrong_password_message_does_not_mention_the_email(
    browser: Callable[..., Browser],
) -> None:
    admin = browser(role="admin")
    resp = admin.post_form("/auth/reauth", "/auth/reauth", {"password": "nope-nope-1"})
    assert resp.status_code == 401
    html = resp.get_data(as_text=True)
    assert "That password is not right" in html
    assert "email" not in html.split("<main", 1)[1].split("</form>", 1)[0].lower()


def test_reauth_expires_and_a_stale_pending_action_is_not_offered(
    app: Flask, browser: Callable[..., Browser], shop: Shop
) -> None:
    admin = browser(role="admin")
    page = f"/admin/merchants/{shop.id}"
    _refused(admin.post_form(page, f"{page}/staff", {"email": admin.email}))
    with admin.client.session_transaction() as session:
        session["reauth_pending"]["at"] -= app.config["REAUTH_PENDING_TTL"] + 1
        session.modified = True
    resp = admin.post_form("/auth/reauth", "/auth/reauth", {"password": PASSWORD})
    assert resp.status_code == 302  # back, nothing to resume
    assert admin.member_id not in _staff_of(app, shop)


@pytest.mark.parametrize("who", ["admin", "staff"])
def test_reauth_key_shown_once_and_a_reload_mints_nothing(
    app: Flask, browser: Callable[..., Browser], shop: Shop, who: str
) -> None:
    # Issue 14: reloading the result page minted another live key.
    person = browser(role="admin" if who == "admin" else "member")
    if who == "staff":
        make_staff(app, shop, person.email)
        page, action = "/merchant", f"/merchant/{shop.id}/keys"
    else:
        page = f"/admin/merchants/{shop.id}"
        action = f"{page}/keys"
    reauth(person)
    empty = person.post_form(page, action, {"label": "  "})
    assert empty.status_code == 400
    assert "Give the key a label" in empty.get_data(as_text=True)
    assert _keys(app, shop) == 1
    resp = person.post_form(page, action, {"label": "production server"})
    assert resp.status_code == 303
    shown = person.client.get(path_of(resp.headers["Location"]))
    html = shown.get_data(as_text=True)
    assert 'data-copy-target="key-shown-value"' in html
    [raw] = [w for w in html.split('"') if w.startswith("bpk_") and w.count("_") >= 2]
    assert person.client.get("/api/v1/orders").status_code == 401
    assert (
        app.test_client()
        .get("/api/v1/orders", headers={"Authorization": f"Bearer {raw}"})
        .status_code
        == 200
    )
    reloaded = person.client.get(path_of(resp.headers["Location"]))
    assert raw not in reloaded.get_data(as_text=True)  # never shown again
    assert _keys(app, shop) == 2  # and a reload made no other
