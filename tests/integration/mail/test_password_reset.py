"""Password reset over real SMTP: ask → read the mail → follow the link → set the
password → log in with it. The old password stops working, a spent or expired link
is refused with a clear page and writes nothing, and nobody learns which addresses
have an account."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select, text, update

from tests.conftest import csrf_token, log_in
from tests.integration.mail.conftest import (
    PASSWORD,
    counts,
    deliver,
    link_to,
    post_form,
)
from wallet.extensions import db
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.member_token import MemberToken
from wallet.models.outbox import OutboxEvent
from wallet.services import members

NEW_PASSWORD = "brand-new-password-7"


def _ask(client: Any, email: str) -> Any:
    return post_form(client, "/auth/forgot", {"email": email})


def _reset_link(app: Flask, smtp_sink: Any, email: str) -> str:
    """Ask for a link through the form, deliver, and return the mailed link's path."""
    assert _ask(app.test_client(), email).status_code == 200
    assert deliver(app) == 1
    (mail,) = smtp_sink.wait_for(1)
    return link_to(mail, "/auth/reset/")


def test_password_reset_link_by_mail_sets_password_end_to_end(
    app: Flask, smtp_sink: Any, member: dict[str, Any]
) -> None:
    browser = app.test_client()
    asked = _ask(browser, member["email"])
    assert asked.status_code == 200
    assert "we have sent it a link" in asked.get_data(as_text=True)
    assert deliver(app) == 1
    (mail,) = smtp_sink.wait_for(1)
    assert mail.to == member["email"]
    assert mail.subject == "Reset your BrandPay Wallet password"
    assert mail.language == "en"
    assert "no-reply@localhost" in mail.sender
    assert '<a href="http://localhost/auth/reset/' in mail.html
    path = link_to(mail, "/auth/reset/")

    opened = browser.get(path)
    assert opened.status_code == 303
    assert opened.headers["Location"] == "/auth/reset"  # the token stays behind
    form = browser.get("/auth/reset")
    assert form.status_code == 200
    assert "Choose a new password" in form.get_data(as_text=True)
    done = post_form(
        browser,
        "/auth/reset",
        {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert done.status_code == 303
    assert done.headers["Location"] == "/auth/login"

    assert log_in(app.test_client(), member["email"], NEW_PASSWORD).status_code == 302
    assert log_in(app.test_client(), member["email"], PASSWORD).status_code == 401
    # The member is told by mail that the password changed.
    assert deliver(app) == 1
    notice = smtp_sink.wait_for(2)[1]
    assert notice.to == member["email"]
    assert notice.subject == "Your BrandPay Wallet password was changed"
    assert "/auth/forgot" in notice.text
    with app.app_context():
        (token,) = db.session.scalars(select(MemberToken)).all()
        assert token.used_at is not None
        assert token.member_id == member["id"]


def test_password_reset_link_reused_refused_writes_nothing(
    app: Flask, smtp_sink: Any, member: dict[str, Any]
) -> None:
    path = _reset_link(app, smtp_sink, member["email"])
    first = app.test_client()
    first.get(path)
    post_form(first, "/auth/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    with app.app_context():
        hashed = db.session.get(Member, member["id"]).password_hash
    before = counts(app)

    again = app.test_client()
    refused = again.get(path)
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "This link cannot be used" in body
    assert "expired or was already used" in body
    assert again.get("/auth/reset").status_code == 400  # nothing kept in the session
    # The first browser's session still names the spent link: refused as well.
    late = post_form(
        first,
        "/auth/reset",
        {"password": "another-password-9", "confirm": "another-password-9"},
        action="/auth/reset",
    )
    assert late.status_code == 400
    assert counts(app) == before
    with app.app_context():
        assert db.session.get(Member, member["id"]).password_hash == hashed


def test_password_reset_expired_link_refused_writes_nothing(
    app: Flask, smtp_sink: Any, member: dict[str, Any]
) -> None:
    path = _reset_link(app, smtp_sink, member["email"])
    browser = app.test_client()
    assert browser.get(path).status_code == 303  # opened in time...
    page = browser.get("/auth/reset").get_data(as_text=True)
    with app.app_context():  # ...but the 30 minutes run out before the form is sent
        db.session.execute(
            update(MemberToken).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        hashed = db.session.get(Member, member["id"]).password_hash
    before = counts(app)
    late = browser.post(
        "/auth/reset",
        data={
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": csrf_token(page),
        },
    )
    assert late.status_code == 400
    assert "expired or was already used" in late.get_data(as_text=True)
    assert app.test_client().get(path).status_code == 400
    assert counts(app) == before
    with app.app_context():
        assert db.session.get(Member, member["id"]).password_hash == hashed
    assert log_in(app.test_client(), member["email"], PASSWORD).status_code == 302


def test_password_reset_unknown_email_same_answer_no_mail(
    app: Flask, smtp_sink: Any, member: dict[str, Any]
) -> None:
    known = _ask(app.test_client(), member["email"])
    unknown = _ask(app.test_client(), "nobody@example.com")
    assert known.status_code == unknown.status_code == 200

    def page(resp: Any, email: str) -> str:
        html = resp.get_data(as_text=True).replace(email, "EMAIL")
        main = html[html.index("<main") : html.index("</main>")]
        assert "If EMAIL belongs to an account" in main
        return main

    assert page(known, member["email"]) == page(unknown, "nobody@example.com")
    assert deliver(app) == 1
    assert [m.to for m in smtp_sink.wait_for(1)] == [member["email"]]
    with app.app_context():
        assert len(db.session.scalars(select(OutboxEvent)).all()) == 1


def test_password_reset_mail_in_members_language_korean(
    app: Flask, smtp_sink: Any, member: dict[str, Any]
) -> None:
    with app.app_context():
        members.set_locale(db.session.get(Member, member["id"]), "ko")
    # Asked from an English browser: the member's own setting decides.
    post_form(app.test_client(), "/auth/forgot", {"email": member["email"]})
    deliver(app)
    (mail,) = smtp_sink.wait_for(1)
    assert mail.subject == "브랜드페이 지갑 비밀번호 재설정"
    assert mail.language == "ko"
    assert '<html lang="ko">' in mail.html
    assert "30분 동안 한 번만" in mail.text
    assert "Reset your" not in mail.text


def test_password_reset_mails_capped_per_hour_answer_unchanged(
    app: Flask, smtp_sink: Any, member: dict[str, Any]
) -> None:
    app.config["ACCOUNT_MAILS_PER_HOUR"] = 2
    answers = {_ask(app.test_client(), member["email"]).status_code for _ in range(4)}
    assert answers == {200}
    assert deliver(app) == 2
    assert len(smtp_sink.wait_for(2)) == 2
    with app.app_context():
        assert len(db.session.scalars(select(MemberToken)).all()) == 2


def test_password_reset_form_rate_limited_429(
    app: Flask, member: dict[str, Any]
) -> None:
    browser = app.test_client()
    statuses = [_ask(browser, f"x{i}@example.com").status_code for i in range(6)]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429


def test_password_reset_token_never_stored_in_plaintext(
    app: Flask, smtp_sink: Any, member: dict[str, Any]
) -> None:
    path = _reset_link(app, smtp_sink, member["email"])
    token = path.rsplit("/", 1)[1]
    assert len(token) >= 43
    with app.app_context():
        found = []
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(text(f"SELECT * FROM {table.name}")):  # noqa: S608
                if any(token in str(value) for value in row):
                    found.append(table.name)
        outbox_row = db.session.scalars(select(OutboxEvent)).one()
    assert found == []
    assert member["email"] not in outbox_row.payload  # the recipient is sealed too
    assert outbox_row.payload.startswith("v1.")


def test_password_reset_short_password_refused_link_still_usable(
    app: Flask, smtp_sink: Any, member: dict[str, Any]
) -> None:
    path = _reset_link(app, smtp_sink, member["email"])
    browser = app.test_client()
    browser.get(path)
    before = counts(app)
    short = post_form(browser, "/auth/reset", {"password": "short", "confirm": "short"})
    assert short.status_code == 400
    assert "Use 10 to 256 characters." in short.get_data(as_text=True)
    assert counts(app) == before
    ok = post_form(
        browser, "/auth/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert ok.status_code == 303


def test_password_reset_malformed_or_unknown_link_refused(app: Flask) -> None:
    browser = app.test_client()
    for token in ("x", "A" * 43, "../../etc", "%00" * 20):
        resp = browser.get(f"/auth/reset/{token}")
        assert resp.status_code in (400, 404), token
    assert browser.get("/auth/reset").status_code == 400


def test_password_reset_ends_sessions_and_other_reset_links(
    app: Flask, smtp_sink: Any, member: dict[str, Any]
) -> None:
    # A session opened with the old password (a copied cookie, say) must not survive.
    elsewhere = app.test_client()
    assert log_in(elsewhere, member["email"], PASSWORD).status_code == 302
    assert elsewhere.get("/account").status_code == 200
    first = _reset_link(app, smtp_sink, member["email"])
    post_form(app.test_client(), "/auth/forgot", {"email": member["email"]})
    deliver(app)
    second = smtp_sink.wait_for(2)[1]
    browser = app.test_client()
    browser.get(link_to(second, "/auth/reset/"))
    post_form(
        browser, "/auth/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert log_in(app.test_client(), member["email"], NEW_PASSWORD).status_code == 302
    gone = elsewhere.get("/account")
    assert gone.status_code == 302
    assert "/auth/login" in gone.headers["Location"]
    # The new password ended the other link that was still open.
    assert app.test_client().get(first).status_code == 400
