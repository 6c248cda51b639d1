"""Linking (contract §2): the redirect handler accepts only this member's own attempt."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import func, select, update

from tests.integration.brandpay.conftest import (
    Browser,
    audit_actions,
    link_row,
    sandbox_tokens,
)
from wallet.extensions import db
from wallet.models import BrandPayLink, LinkAttempt
from wallet.models._types import utcnow
from wallet.models.brandpay_link import token_aad
from wallet.services import vault

ACCESS_TOKEN_PATH = "/v1/brandpay/authorizations/access-token"


def _links(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(BrandPayLink.id))) or 0


def _refusals(app: Flask) -> list[str]:
    return [
        e.details_dict["reason"]
        for e in audit_actions(app, "brandpay.callback_refused")
    ]


def test_link_callback_valid_code_stores_encrypted_tokens(
    app: Flask, sandbox: Any, browser: Callable[..., Browser], link: Callable[..., Any]
) -> None:
    who = browser()
    resp = link(who)

    assert resp.headers["Location"] == "/wallet/methods"
    row = link_row(app, who.member_id)
    assert row is not None
    assert row.status == "linked"
    issued = sandbox_tokens(sandbox, who.customer_key)
    assert len(issued) == 1
    with app.app_context():
        v = vault()
        access = v.decrypt(
            row.access_token_enc, aad=token_aad(who.customer_key, "access")
        )
        refresh = v.decrypt(
            row.refresh_token_enc, aad=token_aad(who.customer_key, "refresh")
        )
    assert (access, refresh) == (issued[0]["access"], issued[0]["refresh"])
    assert row.access_expires_at > utcnow() + timedelta(
        days=29
    )  # contract §2 expiresIn
    assert [e.subject for e in audit_actions(app, "brandpay.linked")] == [
        f"member:{who.member_id}"
    ]
    page = who.client.get("/wallet/methods").get_data(as_text=True)
    assert "BrandPay is linked" in page
    assert "****" in page  # the card's masked number, live from Toss


def test_link_started_from_checkout_returns_there_never_off_site(
    sandbox: Any, browser: Callable[..., Browser]
) -> None:
    who = browser()
    for sent, expected in (
        ("/pay/orders/ord_abc123", "/pay/orders/ord_abc123"),
        ("https://evil.example/x", "/wallet/methods"),
    ):
        page = f"/wallet/link?next={sent}"
        assert f'name="next" value="{sent}"' in who.client.get(page).get_data(
            as_text=True
        )
        resp = who.post_form(page, "/wallet/link", {"mode": "link", "next": sent})
        assert resp.status_code == 303
        body = who.client.get(resp.headers["Location"]).get_data(as_text=True)
        match = re.search(r'data-redirect-url="([^"]+)"', body)
        assert match
        location = sandbox.link_customer(who.customer_key, match.group(1))
        back = who.client.get(location)
        assert back.status_code == 302
        assert back.headers["Location"] == expected


def test_link_page_anonymous_redirects_to_login(client: Any) -> None:
    resp = client.get("/wallet/link")
    assert resp.status_code == 302
    assert "/auth/login" in resp.headers["Location"]


def test_link_start_without_csrf_is_refused(
    app: Flask, browser: Callable[..., Browser]
) -> None:
    who = browser()
    resp = who.client.post("/wallet/link", data={"mode": "link"})
    assert resp.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(LinkAttempt.id))) == 0


def test_link_connect_page_loads_sdk_without_inline_script(
    app: Flask, sandbox: Any, browser: Callable[..., Browser]
) -> None:
    who = browser()
    redirect_url = who.start()
    page = who.client.get("/wallet/connect?mode=link")
    html = page.get_data(as_text=True)
    assert redirect_url == "http://localhost/brandpay/callback"
    assert f'src="{sandbox.base_url}/v2/standard"' in html
    assert "/v1/brandpay" not in html
    assert f'data-customer-key="{who.customer_key}"' in html
    assert 'data-client-key="test_ck_' in html
    assert "<script>" not in html
    assert "onclick" not in html
    csp = page.headers["Content-Security-Policy"]
    # The SDK's script, its calls and its overlay window (an iframe); forms post here.
    assert f"script-src 'self' {sandbox.base_url};" in csp
    assert f"connect-src 'self' {sandbox.base_url};" in csp
    assert f"frame-src 'self' {sandbox.base_url};" in csp
    assert "form-action 'self';" in csp


def test_link_callback_public_url_set_uses_it_for_redirect(
    app: Flask, browser: Callable[..., Browser]
) -> None:
    app.config["PUBLIC_URL"] = "https://wallet.example.com/"
    assert browser().start() == "https://wallet.example.com/brandpay/callback"


def test_link_callback_other_members_customer_key_refused_and_audited(
    app: Flask, sandbox: Any, browser: Callable[..., Browser]
) -> None:
    victim, attacker = browser(), browser()
    victim.start()  # the victim has a pending attempt of their own
    # The attacker links their own BrandPay and sends the victim the redirect.
    location = sandbox.link_customer(attacker.customer_key, attacker.start())
    resp = victim.client.get(location)

    assert resp.status_code == 403
    assert "different account" in resp.get_data(as_text=True)
    assert _links(app) == 0
    assert _refusals(app) == ["customer_key_mismatch"]
    with app.app_context():  # the victim's attempt is still unused
        used = db.session.scalars(select(LinkAttempt.used_at)).all()
    assert used == [None, None]


def test_link_callback_no_pending_attempt_refused_and_audited(
    app: Flask, sandbox: Any, browser: Callable[..., Browser]
) -> None:
    who = browser()
    # A real code for this member, obtained without starting from our page.
    location = sandbox.link_customer(
        who.customer_key, "http://localhost/brandpay/callback"
    )
    resp = who.client.get(location)

    assert resp.status_code == 400
    assert "no BrandPay link in progress" in resp.get_data(as_text=True)
    assert _links(app) == 0
    assert _refusals(app) == ["no_pending_attempt"]
    assert sandbox.tokens_issued(who.customer_key) == 0  # Toss never asked


def test_link_callback_expired_attempt_refused_and_audited(
    app: Flask, sandbox: Any, browser: Callable[..., Browser]
) -> None:
    who = browser()
    redirect_url = who.start()
    with app.app_context():
        past = utcnow() - timedelta(minutes=11)
        db.session.execute(
            update(LinkAttempt).values(
                created_at=past, expires_at=past + timedelta(minutes=10)
            )
        )
        db.session.commit()
    resp = who.client.get(sandbox.link_customer(who.customer_key, redirect_url))

    assert resp.status_code == 400
    assert "expired" in resp.get_data(as_text=True)
    assert _links(app) == 0
    assert _refusals(app) == ["attempt_expired"]
    assert sandbox.tokens_issued(who.customer_key) == 0


def test_link_callback_replayed_code_refused_and_changes_nothing(
    app: Flask, sandbox: Any, browser: Callable[..., Browser]
) -> None:
    who = browser()
    location = sandbox.link_customer(who.customer_key, who.start())
    assert who.client.get(location).status_code == 302
    before = link_row(app, who.member_id)
    grants = sandbox.tokens_issued(who.customer_key)

    replay = who.client.get(location)  # the same redirect again
    who.start()  # even with a fresh attempt, the code stays single-use
    replay_fresh = who.client.get(location)

    assert replay.status_code == 409
    assert replay_fresh.status_code == 409
    after = link_row(app, who.member_id)
    assert (after.version, after.access_token_enc) == (
        before.version,
        before.access_token_enc,
    )
    assert sandbox.tokens_issued(who.customer_key) == grants
    assert _refusals(app) == ["code_reused", "code_reused"]
    assert len(audit_actions(app, "brandpay.linked")) == 1


def test_link_callback_not_logged_in_refused_and_audited(
    app: Flask, client: Any, sandbox: Any, browser: Callable[..., Browser]
) -> None:
    who = browser()
    location = sandbox.link_customer(who.customer_key, who.start())
    resp = client.get(location)  # another browser, with no session

    assert resp.status_code == 401
    assert "log in" in resp.get_data(as_text=True).lower()
    assert _links(app) == 0
    refused = audit_actions(app, "brandpay.callback_refused")
    assert [(e.actor, e.details_dict["reason"]) for e in refused] == [
        ("anonymous", "not_logged_in")
    ]


def test_link_callback_missing_code_refused(
    app: Flask, browser: Callable[..., Browser]
) -> None:
    who = browser()
    who.start()
    resp = who.client.get(f"/brandpay/callback?customerKey={who.customer_key}")
    assert resp.status_code == 400
    assert _links(app) == 0
    assert _refusals(app) == ["missing_parameters"]


def test_link_callback_code_toss_rejects_stores_nothing(
    app: Flask, sandbox: Any, browser: Callable[..., Browser]
) -> None:
    who = browser()
    path = urlsplit(who.start()).path
    resp = who.client.get(f"{path}?code=not-a-real-code&customerKey={who.customer_key}")

    assert resp.status_code == 400
    assert "did not accept" in resp.get_data(as_text=True)
    assert _links(app) == 0
    assert [
        e.details_dict["error"] for e in audit_actions(app, "brandpay.link_failed")
    ] == ["INVALID_REQUEST"]
    calls = sandbox.calls(ACCESS_TOKEN_PATH)
    assert calls
    assert calls[-1]["status"] == 400


def test_link_callback_toss_down_stores_nothing(
    app: Flask, sandbox: Any, browser: Callable[..., Browser]
) -> None:
    who = browser()
    location = sandbox.link_customer(who.customer_key, who.start())
    sandbox.set_fault(ACCESS_TOKEN_PATH, status=503)
    resp = who.client.get(location)

    assert resp.status_code == 502
    assert _links(app) == 0
    assert sandbox.tokens_issued(who.customer_key) == 0


def test_link_add_method_renews_same_link(
    app: Flask, sandbox: Any, linked: Browser, link: Callable[..., Any]
) -> None:
    first = link_row(app, linked.member_id)
    link(linked, mode="add", account=True)
    again = link_row(app, linked.member_id)

    assert again.id == first.id
    assert again.status == "linked"
    assert len(sandbox.methods(linked.customer_key)["accounts"]) == 1
    assert len(audit_actions(app, "brandpay.link_renewed")) == 1


SDK_FETCH = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}


def _attempt(who: Browser, mode: str, next_url: str | None = None) -> Any:
    page = who.client.get("/wallet/methods?sync=1").get_data(as_text=True)
    token = re.search(
        r'data-csrf="([^"]+)"|name="csrf_token"[^>]*value="([^"]+)"', page
    )
    assert token
    return who.client.post(
        "/wallet/link/attempt",
        json={"mode": mode, "next": next_url},
        headers={"X-CSRFToken": token.group(1) or token.group(2)},
    )


def test_link_attempt_endpoint_records_attempt_for_sdk_window(
    app: Flask, browser: Callable[..., Browser]
) -> None:
    who = browser()
    resp = _attempt(who, "pay", "/pay/orders/ord_abcdefgh")
    assert resp.status_code == 200
    assert resp.get_json() == {"ok": True}
    with app.app_context():
        assert db.session.scalar(select(func.count(LinkAttempt.id))) == 1


def test_link_attempt_endpoint_without_csrf_or_bad_mode_writes_nothing(
    app: Flask, browser: Callable[..., Browser]
) -> None:
    who = browser()
    assert (
        who.client.post("/wallet/link/attempt", json={"mode": "pay"}).status_code == 400
    )
    assert _attempt(who, "steal").status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(LinkAttempt.id))) == 0


def test_link_callback_fetched_by_sdk_answers_json_and_links(
    app: Flask, sandbox: Any, browser: Callable[..., Browser]
) -> None:
    who = browser()
    assert _attempt(who, "pay", "/pay/orders/ord_abcdefgh").status_code == 200
    location = sandbox.link_customer(
        who.customer_key, "http://localhost/brandpay/callback"
    )
    path = location.removeprefix("http://localhost")
    resp = who.client.get(path, headers=SDK_FETCH)
    assert resp.status_code == 200  # no redirect the SDK's fetch would have to follow
    assert resp.get_json() == {"linked": True}
    with app.app_context():
        link = db.session.scalar(
            select(BrandPayLink).filter_by(member_id=who.member_id)
        )
        assert link is not None
        assert link.status == "linked"
    # The message waits for the next page the member sees.
    page = who.client.get("/pay/history").get_data(as_text=True)
    assert "Your BrandPay wallet is now linked." in page


def test_link_callback_fetched_without_attempt_is_json_refusal(
    app: Flask, sandbox: Any, browser: Callable[..., Browser]
) -> None:
    who = browser()
    location = sandbox.link_customer(
        who.customer_key, "http://localhost/brandpay/callback"
    )
    resp = who.client.get(location.removeprefix("http://localhost"), headers=SDK_FETCH)
    assert resp.status_code == 400
    assert resp.get_json()["code"] == "LINK_REFUSED"
    with app.app_context():
        assert (
            db.session.scalar(select(BrandPayLink).filter_by(member_id=who.member_id))
            is None
        )
