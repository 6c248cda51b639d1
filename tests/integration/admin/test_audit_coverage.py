"""Every security-relevant event of issue 7 lands in the audit log, through the real
routes, and the hash chain still verifies afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.conftest import csrf_token
from tests.integration.admin.conftest import Browser, actions, reauth
from tests.integration.brandpay.test_tokens import (
    ACCESS_TOKEN_PATH,
    _expire_access_token,
)
from wallet.extensions import db
from wallet.models import Merchant, MerchantApiKey

EXPECTED = {
    "login.failed",
    "login.succeeded",
    "brandpay.linked",
    "brandpay.callback_refused",
    "brandpay.refresh_failed",
    "brandpay.revoked",
    "brandpay.withdrawn",
    "payment.refunded",
    "vault.keys_rotated",
    "merchant.created",
    "merchant.api_key_issued",
    "merchant.api_key_revoked",
    "merchant.secret_rotated",
    "reauth.succeeded",
    "admin.relink_forced",
    "admin.member_viewed",
    "admin.payments_exported",
}


def _member_actions(
    app: Flask,
    sandbox: Any,
    browser: Callable[..., Browser],
    link: Callable[..., Any],
) -> None:
    """Login failure, link, refused callback, refresh failure, withdrawal."""
    member = browser()
    bad = member.post_form(
        "/auth/login",
        "/auth/login",
        {"email": member.email, "password": "wrong-password-1"},
    )
    assert bad.status_code == 401
    link(member)
    refused = member.client.get("/brandpay/callback?code=abc&customerKey=cus_other_one")
    assert refused.status_code == 403
    _expire_access_token(app, member.member_id)
    sandbox.set_fault(ACCESS_TOKEN_PATH, status=500)
    assert member.client.get("/wallet/methods").status_code == 503
    sandbox.clear_faults()
    withdrawn = member.post_form("/wallet/withdraw", "/wallet/withdraw")
    assert withdrawn.status_code == 303


def _merchant_key_changes(admin: Browser, app: Flask) -> None:
    """Create a merchant, issue and revoke an API key, rotate its signing secret."""
    created = admin.post_form(
        "/admin/merchants",
        "/admin/merchants",
        {"name": "Audit shop", "origins": "https://audit.example"},
    )
    assert created.status_code == 303  # the secret is on the next page, once
    with app.app_context():
        merchant_id = db.session.scalar(
            select(Merchant.id).where(Merchant.name == "Audit shop")
        )
    page = f"/admin/merchants/{merchant_id}"
    assert admin.post_form(page, f"{page}/keys", {"label": "pos"}).status_code == 303
    with app.app_context():
        key_id = db.session.scalars(
            select(MerchantApiKey.id).order_by(MerchantApiKey.id.desc())
        ).first()
    revoked = admin.post_form(page, f"{page}/keys/{key_id}/revoke")
    assert revoked.status_code == 303
    assert admin.post_form(page, f"{page}/rotate-secret").status_code == 303


def test_audit_every_security_event_is_recorded_and_chain_verifies(
    app: Flask,
    sandbox: Any,
    admin: Browser,
    browser: Callable[..., Browser],
    link: Callable[..., Any],
    payer: Callable[..., Any],
) -> None:
    _member_actions(app, sandbox, browser, link)

    # Admin actions, each after entering the password again.
    reauth(admin)
    revoked, relinked = browser(), browser()
    link(revoked)
    link(relinked)
    for who, action in ((revoked, "revoke"), (relinked, "relink")):
        page = f"/admin/members/{who.member_id}"
        resp = admin.post_form(page, f"{page}/{action}", {"reason": "audit test"})
        assert resp.status_code == 303
    who = payer()
    order_id, _resp = who.pay(5000)
    refund = admin.post_form(
        f"/admin/payments/{order_id}",
        f"/admin/payments/{order_id}/refund",
        {"amount": "5000", "reason": "audit test"},
    )
    assert refund.status_code == 303
    _merchant_key_changes(admin, app)
    export = admin.post_form(
        "/admin/payments/export",
        "/admin/payments/export",
        {"start": "2026-01-01", "end": "2026-12-31"},
    )
    assert export.status_code == 200
    export.get_data()
    rotated = app.test_cli_runner().invoke(args=["wallet", "rotate-keys"])
    assert rotated.exit_code == 0, rotated.output

    recorded = set(actions(app))
    assert EXPECTED - recorded == set()
    verify = app.test_cli_runner().invoke(args=["wallet", "audit", "verify"])
    assert verify.exit_code == 0, verify.output
    assert "audit log intact" in verify.output
    # Admins can read it all, and the viewer verifies the same chain.
    listing = admin.client.get("/admin/audit?action=brandpay.refresh_failed")
    assert "brandpay.refresh_failed" in listing.get_data(as_text=True)
    verified = admin.client.post(
        "/admin/audit/verify",
        data={"csrf_token": csrf_token(listing.get_data(as_text=True))},
    )
    assert "intact" in verified.get_data(as_text=True)
