"""Admin revoke (crypto-shred + audit) and vault key rotation of stored tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.conftest import make_app
from tests.integration.brandpay.conftest import (
    PASSWORD,
    Browser,
    audit_actions,
    link_row,
    sandbox_tokens,
)
from wallet.crypto import TokenVault
from wallet.extensions import db
from wallet.models import Member
from wallet.services import brandpay_tokens

OLD_KEY = TokenVault.generate_spec("old")
NEW_KEY = TokenVault.generate_spec("new")


def _revoke(admin: Browser, member_id: int, reason: str) -> Any:
    # Revoking asks for the admin's password again (issue 7: reauth_required).
    reauth = admin.post_form("/auth/reauth", "/auth/reauth", {"password": PASSWORD})
    assert reauth.status_code == 302
    return admin.post_form(
        "/admin/members", f"/admin/members/{member_id}/revoke", {"reason": reason}
    )


def test_admin_members_lists_links_without_tokens(
    app: Flask, browser: Callable[..., Browser], linked: Browser
) -> None:
    admin = browser(role="admin")
    html = admin.client.get("/admin/members").get_data(as_text=True)
    row = link_row(app, linked.member_id)
    assert linked.email in html
    assert linked.customer_key in html
    assert "Linked" in html
    assert row.access_token_enc not in html
    assert row.refresh_token_enc not in html


def test_admin_revoke_destroys_ciphertexts_and_audits(
    app: Flask, sandbox: Any, browser: Callable[..., Browser], linked: Browser
) -> None:
    admin = browser(role="admin")

    resp = _revoke(admin, linked.member_id, "lost phone reported by member")

    assert resp.status_code == 303
    row = link_row(app, linked.member_id)
    assert row.status == "revoked"
    assert (row.access_token_enc, row.refresh_token_enc) == (None, None)
    assert row.revoked_by == admin.email
    assert row.revoked_reason == "lost phone reported by member"
    [event] = audit_actions(app, "brandpay.revoked")
    assert (event.actor, event.subject) == (admin.email, f"member:{linked.member_id}")
    assert event.details_dict == {"reason": "lost phone reported by member"}
    linked.log_in_again()  # the revoke ended the member's sessions (issue 13 M2)
    page = linked.client.get("/wallet/methods").get_data(as_text=True)
    assert "BrandPay is not linked" in page
    # Tokens still alive at Toss are useless to us: we no longer hold them anywhere.
    dump = "\n".join(str(v) for v in row.__dict__.values())
    for token in sandbox_tokens(sandbox, linked.customer_key):
        assert token["access"] not in dump


def test_admin_revoke_by_member_is_forbidden(
    app: Flask, browser: Callable[..., Browser], linked: Browser
) -> None:
    other = browser()
    resp = other.post_form(
        "/wallet", f"/admin/members/{linked.member_id}/revoke", {"reason": "x"}
    )
    assert resp.status_code == 403
    assert link_row(app, linked.member_id).status == "linked"
    assert linked.client.get("/admin/members").status_code == 403


def test_admin_revoke_without_csrf_is_refused(
    app: Flask, browser: Callable[..., Browser], linked: Browser
) -> None:
    admin = browser(role="admin")
    resp = admin.client.post(
        f"/admin/members/{linked.member_id}/revoke", data={"reason": "x"}
    )
    assert resp.status_code == 400
    assert link_row(app, linked.member_id).access_token_enc is not None


def test_admin_revoke_without_reason_is_refused(
    app: Flask, browser: Callable[..., Browser], linked: Browser
) -> None:
    admin = browser(role="admin")
    resp = _revoke(admin, linked.member_id, "")
    assert resp.status_code == 400
    assert "Give a reason" in resp.get_data(as_text=True)
    assert link_row(app, linked.member_id).status == "linked"
    assert audit_actions(app, "brandpay.revoked") == []


def test_admin_revoke_unlinked_member_is_conflict(
    app: Flask, browser: Callable[..., Browser]
) -> None:
    admin, who = browser(role="admin"), browser()
    assert _revoke(admin, who.member_id, "no link").status_code == 409
    assert _revoke(admin, 999999, "no member").status_code == 404


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    """This module's app starts with only the old key (overridden per test below)."""
    return {"VAULT_KEYS": OLD_KEY}


def _app_with(app: Flask, keys: str) -> Flask:
    return make_app(
        app.config["DATABASE_URL"],
        TOSS_API_BASE=app.config["TOSS_API_BASE"],
        VAULT_KEYS=keys,
    )


def test_rotate_keys_reencrypts_and_old_key_can_go(
    app: Flask, sandbox: Any, browser: Callable[..., Browser], link: Callable[..., Any]
) -> None:
    members = [browser(), browser(), browser()]
    for who in members:
        link(who)
    assert {
        TokenVault.from_config(OLD_KEY).key_id_of(
            link_row(app, m.member_id).access_token_enc
        )
        for m in members
    } == {"old"}

    rotated = _app_with(app, f"{NEW_KEY},{OLD_KEY}")
    first = rotated.test_cli_runner().invoke(
        args=["wallet", "rotate-keys", "--batch-size", "2"]
    )
    again = rotated.test_cli_runner().invoke(args=["wallet", "rotate-keys"])

    assert first.exit_code == 0, first.output
    assert "re-encrypted 3 link rows" in first.output
    assert "re-encrypted 0 link rows" in again.output
    new_only = _app_with(app, NEW_KEY)
    for who in members:
        row = link_row(new_only, who.member_id)
        assert row.access_token_enc.startswith("v1.new.")
        assert row.refresh_token_enc.startswith("v1.new.")
        with new_only.test_request_context():
            token = brandpay_tokens.get_access_token(
                db.session.get(Member, who.member_id)
            )
        issued = sandbox_tokens(sandbox, who.customer_key)
        assert token == issued[-1]["access"]
    for extra in (rotated, new_only):
        with extra.app_context():
            db.engine.dispose()


def test_rotate_keys_unreadable_row_is_reported_not_destroyed(
    app: Flask, browser: Callable[..., Browser], link: Callable[..., Any]
) -> None:
    who = browser()
    link(who)
    before = link_row(app, who.member_id)
    wrong = _app_with(app, NEW_KEY)  # the old key is missing: nothing decrypts

    result = wrong.test_cli_runner().invoke(args=["wallet", "rotate-keys"])

    assert result.exit_code == 1
    assert "1 link rows do not decrypt" in result.output
    assert link_row(app, who.member_id).access_token_enc == before.access_token_enc
    with wrong.app_context():
        db.engine.dispose()
