"""Admin console: home counts, member search, member page, revoke and forced re-link
(re-authenticated, reasoned, audited, and the member is told)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask

from tests.conftest import csrf_token
from tests.integration.admin.conftest import (
    Browser,
    audit_actions,
    link_row,
    reauth,
)
from wallet.extensions import db
from wallet.models import Member
from wallet.services import admin as admin_service


def test_admin_home_shows_counts_and_areas(
    app: Flask, admin: Browser, linked: Browser
) -> None:
    html = admin.client.get("/admin/").get_data(as_text=True)
    assert "Find a member" in html
    # Two members (the admin and the linked member), one of them linked.
    assert "<dt>Members</dt><dd>2 " in html
    assert "<dt>BrandPay linked</dt><dd>1</dd>" in html
    for href in ("/admin/members", "/admin/payments", "/admin/payments/export"):
        assert f'href="{href}"' in html


def test_admin_search_exact_customer_key_finds_only_that_member(
    admin: Browser, linked: Browser, browser: Callable[..., Browser]
) -> None:
    other = browser()
    html = admin.client.get(f"/admin/members?q={linked.customer_key}").get_data(
        as_text=True
    )
    assert linked.email in html
    assert other.email not in html
    # A customerKey only matches exactly: a prefix of it finds nobody.
    partial = admin.client.get(f"/admin/members?q={linked.customer_key[:-3]}")
    assert linked.email not in partial.get_data(as_text=True)
    assert "No member found" in partial.get_data(as_text=True)


def test_admin_search_email_prefix_and_contains(
    app: Flask, admin: Browser, make_member: Callable[..., Any]
) -> None:
    for email in ("alice@shop.example", "alfred@bank.example", "bob@shop.example"):
        make_member(email, "correct-horse-1")
    prefix = admin.client.get("/admin/members?q=AL").get_data(as_text=True)
    assert "alice@shop.example" in prefix
    assert "alfred@bank.example" in prefix
    assert "bob@shop.example" not in prefix
    contains = admin.client.get("/admin/members?q=shop.ex&match=contains").get_data(
        as_text=True
    )
    assert "alice@shop.example" in contains
    assert "bob@shop.example" in contains
    assert "alfred@bank.example" not in contains
    # Not a prefix of anything, so prefix mode finds nobody.
    assert "No member found" in admin.client.get("/admin/members?q=shop").get_data(
        as_text=True
    )


def test_admin_search_like_wildcards_are_literal(
    app: Flask, make_member: Callable[..., Any]
) -> None:
    make_member("a_b@example.com", "correct-horse-1")
    make_member("axb@example.com", "correct-horse-1")
    with app.app_context():
        found = admin_service.search_members("a_", contains=False)
        assert [m.email for m, _link in found.rows] == ["a_b@example.com"]
        assert admin_service.search_members("%", contains=True).rows == []
        # The last code points before the surrogates and of Unicode: no range bound.
        for odd in ("a\ud7ff", "a\U0010ffff"):
            assert admin_service.search_members(odd).rows == []


def test_admin_search_keyset_pages_cover_everyone_once(
    app: Flask, admin: Browser, make_member: Callable[..., Any]
) -> None:
    emails = [f"page{i}@example.com" for i in range(5)]
    for email in emails:
        make_member(email, "correct-horse-1")
    seen: list[str] = []
    after = None
    with app.app_context():
        while True:
            page = admin_service.search_members("page", after=after, limit=2)
            seen += [m.email for m, _link in page.rows]
            if page.next_after is None:
                break
            after = page.next_after
    assert seen == sorted(emails)
    # The page's "More members" link carries the cursor.
    html = admin.client.get("/admin/members").get_data(as_text=True)
    assert "More members" not in html  # 6 members fit on one page of 50


def test_admin_member_page_shows_link_expiry_and_payments_never_tokens(
    app: Flask, admin: Browser, linked: Browser
) -> None:
    resp = admin.client.get(f"/admin/members/{linked.member_id}")
    html = resp.get_data(as_text=True)
    row = link_row(app, linked.member_id)
    assert resp.status_code == 200
    assert linked.customer_key in html
    assert "Access token expires" in html
    assert "yes (encrypted)" in html
    assert row.access_token_enc not in html
    assert row.refresh_token_enc not in html
    # The member's own audit entries are listed (the link), and the viewing is audited.
    assert "brandpay.linked" in html
    [viewed] = audit_actions(app, "admin.member_viewed")
    assert (viewed.actor, viewed.subject) == (admin.email, f"member:{linked.member_id}")


def test_admin_member_page_lists_payments_and_refunds(
    app: Flask, admin: Browser, payer: Callable[..., Any]
) -> None:
    who = payer()
    order_id, resp = who.pay(12000)
    assert resp.status_code in (302, 303)
    reauth(admin)
    refund = admin.post_form(
        f"/admin/payments/{order_id}",
        f"/admin/payments/{order_id}/refund",
        {"amount": "2000", "reason": "damaged box"},
    )
    assert refund.status_code == 303
    html = admin.client.get(f"/admin/members/{who.member_id}").get_data(as_text=True)
    assert order_id in html
    assert "₩12,000" in html
    assert "damaged box" in html
    assert "₩2,000" in html


def test_admin_member_page_counts_wrong_passwords_from_every_address(
    app: Flask, admin: Browser, linked: Browser
) -> None:
    # Logins are throttled, not locked: the page shows the account-wide count of the
    # throttle (it once showed a lockout counter the schema no longer had: empty).
    label = "Wrong passwords, last 60 minutes"
    page = admin.client.get(f"/admin/members/{linked.member_id}").get_data(as_text=True)
    assert f"<dt>{label}</dt><dd>0</dd>" in page
    for address in ("198.51.100.7", "203.0.113.9", "198.51.100.7"):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        token = csrf_token(client.get("/auth/login").get_data(as_text=True))
        form = {
            "email": linked.email.upper(),
            "password": "wrong-9",
            "csrf_token": token,
        }
        assert client.post("/auth/login", data=form).status_code == 401
    page = admin.client.get(f"/admin/members/{linked.member_id}").get_data(as_text=True)
    assert f"<dt>{label}</dt><dd>3</dd>" in page


def test_admin_member_page_unknown_member_is_404(admin: Browser) -> None:
    assert admin.client.get("/admin/members/999999").status_code == 404


def test_admin_revoke_needs_reauth_then_shreds_and_notifies(
    app: Flask, admin: Browser, linked: Browser
) -> None:
    page = f"/admin/members/{linked.member_id}"
    action = f"{page}/revoke"
    first = admin.post_form(page, action, {"reason": "card reported stolen"})
    assert first.status_code == 303
    assert "/auth/reauth" in first.headers["Location"]
    assert link_row(app, linked.member_id).status == "linked"

    reauth(admin)
    resp = admin.post_form(page, action, {"reason": "card reported stolen"})

    assert resp.status_code == 303
    row = link_row(app, linked.member_id)
    assert row.status == "revoked"
    assert (row.access_token_enc, row.refresh_token_enc) == (None, None)
    assert (row.revoked_by, row.revoked_reason) == (admin.email, "card reported stolen")
    [event] = audit_actions(app, "brandpay.revoked")
    assert event.actor == admin.email
    assert event.details_dict == {"reason": "card reported stolen"}
    # The revoke also ended the member's sessions (issue 13 M2): log in again.
    assert linked.client.get("/wallet").status_code == 302
    linked.log_in_again()
    home = linked.client.get("/wallet").get_data(as_text=True)
    assert "Your BrandPay link was revoked" in home
    assert "card reported stolen" not in home  # the reason stays with the admins


def test_admin_force_relink_needs_reauth_then_resets_and_notifies(
    app: Flask, admin: Browser, linked: Browser
) -> None:
    page = f"/admin/members/{linked.member_id}"
    action = f"{page}/relink"
    assert admin.post_form(page, action, {"reason": "x"}).status_code == 303
    assert link_row(app, linked.member_id).status == "linked"

    reauth(admin)
    resp = admin.post_form(page, action, {"reason": "suspicious refreshes"})

    assert resp.status_code == 303
    row = link_row(app, linked.member_id)
    assert row.status == "needs_relink"
    assert row.relink_reason == "admin_forced"
    assert (row.access_token_enc, row.refresh_token_enc) == (None, None)
    [event] = audit_actions(app, "admin.relink_forced")
    assert (event.actor, event.subject) == (admin.email, f"member:{linked.member_id}")
    assert event.details_dict == {"reason": "suspicious refreshes"}
    assert linked.client.get("/wallet").status_code == 302  # sessions ended
    linked.log_in_again()
    home = linked.client.get("/wallet").get_data(as_text=True)
    assert "Please link BrandPay again" in home
    # Only a linked member can be sent to re-link; again is a conflict, nothing new.
    again = admin.post_form(page, action, {"reason": "again"})
    assert again.status_code == 409
    assert len(audit_actions(app, "admin.relink_forced")) == 1


def test_admin_force_relink_without_reason_changes_nothing(
    app: Flask, admin: Browser, linked: Browser
) -> None:
    reauth(admin)
    page = f"/admin/members/{linked.member_id}"
    resp = admin.post_form(page, f"{page}/relink", {"reason": "   "})
    assert resp.status_code == 400
    assert "Give a reason" in resp.get_data(as_text=True)
    assert link_row(app, linked.member_id).status == "linked"
    assert audit_actions(app, "admin.relink_forced") == []


def test_admin_relink_by_member_is_forbidden(
    app: Flask, browser: Callable[..., Browser], linked: Browser
) -> None:
    other = browser()
    resp = other.post_form(
        "/wallet", f"/admin/members/{linked.member_id}/relink", {"reason": "x"}
    )
    assert resp.status_code == 403
    assert link_row(app, linked.member_id).status == "linked"


def test_notice_dismissed_by_its_member_only(
    app: Flask, admin: Browser, linked: Browser, browser: Callable[..., Browser]
) -> None:
    reauth(admin)
    page = f"/admin/members/{linked.member_id}"
    admin.post_form(page, f"{page}/revoke", {"reason": "closing account"})
    linked.log_in_again()  # the revoke ended the member's sessions
    with app.app_context():
        member = db.session.get(Member, linked.member_id)
        [notice] = admin_service.notices.pending(member)
        notice_id = notice.id
    dismiss = f"/wallet/notices/{notice_id}/dismiss"

    stranger = browser()
    assert stranger.post_form("/wallet", dismiss).status_code == 404
    assert linked.client.post(dismiss).status_code == 400  # no CSRF token
    assert "Your BrandPay link was revoked" in linked.client.get("/wallet").get_data(
        as_text=True
    )

    resp = linked.post_form("/wallet", dismiss)

    assert resp.status_code == 303
    home = linked.client.get("/wallet").get_data(as_text=True)
    assert "Your BrandPay link was revoked" not in home


def test_admin_search_control_characters_are_refused_or_find_nobody(
    admin: Browser, linked: Browser
) -> None:
    queries = (
        "q=a%00b",
        "q=%00",
        "after=%00",
        "q=m&after=m%00",
        "q=%01&match=contains",
    )
    for query in queries:
        resp = admin.client.get(f"/admin/members?{query}")
        assert resp.status_code in (200, 400), query
        assert linked.email not in resp.get_data(as_text=True), query


def test_admin_member_page_revoked_after_earlier_withdrawal_shows_one_state(
    app: Flask, admin: Browser, linked: Browser
) -> None:
    """Issue 14: a revoked link shows no withdrawal of an earlier life, no "linked"
    row and no token expiry; only who revoked it, when and why."""
    from wallet.models._types import utcnow
    from wallet.models.brandpay_link import BrandPayLink

    with app.app_context():
        row = db.session.get(BrandPayLink, link_row(app, linked.member_id).id)
        row.withdrawn_at = utcnow()  # an earlier withdrawal, then linked again
        db.session.commit()
    page = f"/admin/members/{linked.member_id}"
    before = admin.client.get(page).get_data(as_text=True)
    assert "Linked at" in before
    assert "Withdrew" not in before  # linked now: the old withdrawal is not its state
    reauth(admin)
    admin.post_form(page, f"{page}/revoke", {"reason": "fraud check"})
    html = admin.client.get(page).get_data(as_text=True)
    assert "fraud check" in html
    assert "Revoked" in html
    assert "no (destroyed)" in html
    for stale in ("Withdrew", "Linked at", "Access token expires", "yes (encrypted)"):
        assert stale not in html, stale


def test_admin_member_page_pages_through_the_members_audit_entries(
    app: Flask, admin: Browser, make_member: Callable[..., Any]
) -> None:
    """20 entries about the member per page, newest first; "Older entries" goes on
    from the last one shown, with no entry twice and none of other subjects."""
    member_id = make_member("audited@example.com", "correct-horse-1")
    with app.app_context():
        for i in range(30):
            admin_service.audit.record("t", "test.event", f"member:{member_id}", n=i)
            admin_service.audit.record("t", "test.other", f"member:{member_id + 1}")
    first = admin.client.get(f"/admin/members/{member_id}").get_data(as_text=True)
    assert "test.other" not in first
    older = first.split('rel="next" href="')[-1].split('"')[0].replace("&amp;", "&")
    assert "before=" in older
    second = admin.client.get(older).get_data(as_text=True)
    seen = [
        int(n)
        for page in (first, second)
        for n in re.findall(r"<li>n: (\d+)</li>", page)
    ]
    assert seen == list(range(29, -1, -1))  # newest first, each once
