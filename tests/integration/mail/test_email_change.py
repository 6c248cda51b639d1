"""Email change over real SMTP: the current password first, a link to the new address,
a notice to the old one, the change only on confirmation (uniqueness checked again
then); an address that belongs to someone else is not revealed."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.conftest import log_in, logged_in_client
from tests.integration.mail.conftest import (
    PASSWORD,
    counts,
    deliver,
    link_to,
    post_form,
)
from wallet.extensions import db
from wallet.models import Member
from wallet.models.member_token import EMAIL_CHANGE, MemberToken
from wallet.services import members

NEW = "kim.new@example.com"


def _request(client: Any, email: str = NEW, password: str = PASSWORD) -> Any:
    return post_form(client, "/account/email", {"email": email, "password": password})


def _by_recipient(mails: list[Any]) -> dict[str, Any]:
    found = {m.to: m for m in mails}
    assert len(found) == len(mails), [m.to for m in mails]
    return found


def test_email_change_confirmed_from_new_address_end_to_end(
    app: Flask, smtp_sink: Any, member: dict[str, Any]
) -> None:
    browser = logged_in_client(app, member["email"], PASSWORD)
    asked = _request(browser)
    assert asked.status_code == 303
    flashed = browser.get(asked.headers["Location"]).get_data(as_text=True)
    assert f"We sent a confirmation link to {NEW}" in flashed
    assert deliver(app) == 2
    mails = _by_recipient(smtp_sink.wait_for(2))
    confirm = mails[NEW]
    assert confirm.subject == "Confirm your new email address"
    notice = mails[member["email"]]
    assert notice.subject == "Someone asked to change your account's email"
    assert "k***@example.com" in notice.text
    assert NEW not in notice.text  # the old address sees the new one only masked
    with app.app_context():
        assert db.session.get(Member, member["id"]).email == member["email"]

    # Opened later, in another browser that is not logged in.
    other = app.test_client()
    opened = other.get(link_to(confirm, "/account/email/confirm/"))
    assert opened.status_code == 303
    assert opened.headers["Location"] == "/account/email/confirm"
    page = other.get("/account/email/confirm")
    assert page.status_code == 200
    assert NEW in page.get_data(as_text=True)
    with app.app_context():  # a GET never spends the link (mail scanners open links)
        assert db.session.get(Member, member["id"]).email == member["email"]
    done = post_form(other, "/account/email/confirm", {})
    assert done.status_code == 303
    assert done.headers["Location"] == "/auth/login"

    with app.app_context():
        assert db.session.get(Member, member["id"]).email == NEW
    assert log_in(app.test_client(), NEW, PASSWORD).status_code == 302
    assert log_in(app.test_client(), member["email"], PASSWORD).status_code == 401
    assert deliver(app) == 1
    changed = smtp_sink.wait_for(3)[2]
    assert changed.to == member["email"]
    assert changed.subject == "Your BrandPay Wallet email was changed"
    # Spent: the same link cannot be used again.
    assert app.test_client().get(link_to(confirm, "/account/email/")).status_code == 400


def test_email_change_wrong_password_refused_writes_nothing(
    app: Flask, smtp_sink: Any, member: dict[str, Any]
) -> None:
    browser = logged_in_client(app, member["email"], PASSWORD)
    before = counts(app)
    refused = _request(browser, password="not-my-password")
    assert refused.status_code == 401
    assert "That is not your current password." in refused.get_data(as_text=True)
    after = counts(app)
    # Only the failed re-authentication is audited (it counts toward the lockout).
    assert {k: after[k] - before[k] for k in after} == {
        "tokens": 0,
        "outbox": 0,
        "audit": 1,
        "spent": 0,
    }
    assert deliver(app) == 0


def test_email_change_own_address_or_invalid_refused_400(
    app: Flask, member: dict[str, Any]
) -> None:
    browser = logged_in_client(app, member["email"], PASSWORD)
    before = counts(app)
    same = _request(browser, email=member["email"].upper())
    assert same.status_code == 400
    assert "That is already your email address." in same.get_data(as_text=True)
    assert _request(browser, email="not-an-address").status_code == 400
    assert counts(app) == before


def test_email_change_requires_login(app: Flask) -> None:
    resp = app.test_client().get("/account/email")
    assert resp.status_code == 302
    assert "/auth/login" in resp.headers["Location"]


def test_email_change_to_taken_address_answers_the_same_owner_told(
    app: Flask,
    smtp_sink: Any,
    member: dict[str, Any],
    make_member: Any,
) -> None:
    make_member("lee@example.com", "lees-password-1")
    browser = logged_in_client(app, member["email"], PASSWORD)
    taken = _request(browser, email="lee@example.com")
    free = _request(browser, email=NEW)
    assert taken.status_code == free.status_code == 303
    assert taken.headers["Location"] == free.headers["Location"]
    assert deliver(app) == 4
    mails = smtp_sink.wait_for(4)
    subjects = sorted((m.to, m.subject) for m in mails)
    assert subjects == sorted(
        [
            (member["email"], "Someone asked to change your account's email"),
            (member["email"], "Someone asked to change your account's email"),
            (NEW, "Confirm your new email address"),
            (
                "lee@example.com",
                "Someone tried to use your email address at BrandPay Wallet",
            ),
        ]
    )
    owner = next(m for m in mails if m.to == "lee@example.com")
    assert "move another BrandPay Wallet account to this email address" in owner.text
    with app.app_context():
        tokens = db.session.scalars(
            select(MemberToken).where(MemberToken.purpose == EMAIL_CHANGE)
        ).all()
        assert [t.new_email for t in tokens] == [NEW]  # no link for the taken one


def test_email_change_address_taken_before_confirm_refused_writes_nothing(
    app: Flask, smtp_sink: Any, member: dict[str, Any]
) -> None:
    browser = logged_in_client(app, member["email"], PASSWORD)
    _request(browser)
    deliver(app)
    confirm = _by_recipient(smtp_sink.wait_for(2))[NEW]
    with app.app_context():  # someone else signs up with that address meanwhile
        members.register(NEW, "someone-elses-pw-1")
    other = app.test_client()
    other.get(link_to(confirm, "/account/email/confirm/"))
    page = other.get("/account/email/confirm")
    before = counts(app)
    refused = post_form(other, "/account/email/confirm", {})
    assert refused.status_code == 409
    assert "belongs to another account" in refused.get_data(as_text=True)
    assert counts(app) == before
    with app.app_context():
        assert db.session.get(Member, member["id"]).email == member["email"]
    assert page.status_code == 200


def test_email_change_newer_request_voids_older_link(
    app: Flask, smtp_sink: Any, member: dict[str, Any]
) -> None:
    browser = logged_in_client(app, member["email"], PASSWORD)
    _request(browser, email="first@example.com")
    _request(browser, email="second@example.com")
    deliver(app)
    mails = _by_recipient([m for m in smtp_sink.wait_for(4) if m.to != member["email"]])
    old_link = link_to(mails["first@example.com"], "/account/email/confirm/")
    assert app.test_client().get(old_link).status_code == 400
    other = app.test_client()
    other.get(link_to(mails["second@example.com"], "/account/email/confirm/"))
    assert post_form(other, "/account/email/confirm", {}).status_code == 303
    with app.app_context():
        assert db.session.get(Member, member["id"]).email == "second@example.com"


def test_email_change_confirm_ends_reset_links_sent_to_old_address(
    app: Flask, smtp_sink: Any, member: dict[str, Any]
) -> None:
    post_form(app.test_client(), "/auth/forgot", {"email": member["email"]})
    browser = logged_in_client(app, member["email"], PASSWORD)
    _request(browser)
    deliver(app)
    mails = smtp_sink.wait_for(3)
    reset = next(m for m in mails if "/auth/reset/" in m.text)
    confirm = next(m for m in mails if m.to == NEW)
    other = app.test_client()
    other.get(link_to(confirm, "/account/email/confirm/"))
    post_form(other, "/account/email/confirm", {})
    assert app.test_client().get(link_to(reset, "/auth/reset/")).status_code == 400


def test_email_change_links_capped_per_hour_429(
    app: Flask, smtp_sink: Any, member: dict[str, Any]
) -> None:
    app.config["ACCOUNT_MAILS_PER_HOUR"] = 2
    browser = logged_in_client(app, member["email"], PASSWORD)
    assert _request(browser, email="a1@example.com").status_code == 303
    assert _request(browser, email="a2@example.com").status_code == 303
    before = counts(app)
    third = _request(browser, email="a3@example.com")
    assert third.status_code == 429
    assert "Try again later." in third.get_data(as_text=True)
    after = counts(app)
    assert (after["tokens"], after["outbox"]) == (before["tokens"], before["outbox"])
    # A stranger's sign-up attempts cannot use up the member's reset links.
    post_form(app.test_client(), "/auth/forgot", {"email": member["email"]})
    assert after["outbox"] + 1 == counts(app)["outbox"]
