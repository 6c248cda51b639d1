"""Register / login / logout through the real forms, CSRF on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.conftest import csrf_token
from wallet.extensions import db
from wallet.models import AuditEvent, Member


def _register(
    client: FlaskClient,
    email: str,
    password: str = "long-enough-pw",
    confirm: str | None = None,
) -> Any:
    token = csrf_token(client.get("/auth/register").get_data(as_text=True))
    return client.post(
        "/auth/register",
        data={
            "email": email,
            "password": password,
            "confirm": confirm or password,
            "csrf_token": token,
        },
    )


def _members(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Member.id))) or 0


def test_register_login_logout_round_trip_succeeds(
    app: Flask, client: FlaskClient
) -> None:
    resp = _register(client, "New@Example.com")
    # Registration never logs in (a taken email must get the same answer): it sends
    # the new member to log in with the password just chosen.
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith("/auth/login")
    assert client.get("/wallet").status_code == 302

    page = client.get("/auth/login")
    resp = client.post(
        "/auth/login",
        data={
            "email": "new@example.com",
            "password": "long-enough-pw",
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    assert resp.status_code == 302
    assert client.get("/wallet").status_code == 200

    token = csrf_token(client.get("/wallet").get_data(as_text=True))
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/wallet").status_code == 302  # back to login
    with app.app_context():
        member = db.session.scalar(select(Member))
        assert member is not None
        assert member.email == "new@example.com"
        assert member.password_hash.startswith(
            "scrypt:"
        )  # a modern KDF, never plaintext
        actions = db.session.scalars(
            select(AuditEvent.action).order_by(AuditEvent.seq)
        ).all()
    assert actions == ["member.registered", "login.succeeded"]


def test_login_wrong_password_is_refused_with_401(
    make_member: Callable[..., Any], login: Callable[..., Any], client: FlaskClient
) -> None:
    make_member()
    resp = login(password="wrong-password")
    assert resp.status_code == 401
    assert "Wrong email or password" in resp.get_data(
        as_text=True
    ) or "이메일" in resp.get_data(as_text=True)
    assert client.get("/wallet").status_code == 302


def test_login_unknown_email_is_refused_with_401(
    app: Flask, login: Callable[..., Any]
) -> None:
    assert login(email="nobody@example.com").status_code == 401


def test_register_taken_email_answers_like_a_new_one_and_writes_nothing(
    app: Flask, client: FlaskClient
) -> None:
    # Attack (issue 13 L1): registration used to answer 409 "already exists".
    first = _register(client, "dup@example.com")
    other = app.test_client()
    again = _register(other, "DUP@example.com")
    assert again.status_code == first.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert again.get_data() == first.get_data()
    assert _members(app) == 1
    # Neither client is logged in; both see the same message on the login page.
    pages = [c.get("/auth/login").get_data(as_text=True) for c in (client, other)]
    assert "If this email is new here" in pages[0]
    assert "If this email is new here" in pages[1]


def test_register_mismatched_password_is_400_and_writes_nothing(
    app: Flask, client: FlaskClient
) -> None:
    resp = _register(client, "x@example.com", "long-enough-pw", "different-pw-1")
    assert resp.status_code == 400
    assert _members(app) == 0


def test_register_without_csrf_token_is_400_and_writes_nothing(
    app: Flask, client: FlaskClient
) -> None:
    resp = client.post(
        "/auth/register",
        data={
            "email": "a@example.com",
            "password": "long-enough-pw",
            "confirm": "long-enough-pw",
        },
    )
    assert resp.status_code == 400
    assert "Reload the page" in resp.get_data(
        as_text=True
    ) or "새로고침" in resp.get_data(as_text=True)
    assert _members(app) == 0


def test_login_without_csrf_token_is_400(
    make_member: Callable[..., Any], client: FlaskClient
) -> None:
    make_member()
    resp = client.post(
        "/auth/login",
        data={"email": "member@example.com", "password": "correct-horse-1"},
    )
    assert resp.status_code == 400
    assert client.get("/wallet").status_code == 302


def test_login_repeated_failures_throttle_that_address(
    app: Flask, make_member: Callable[..., Any], login: Callable[..., Any]
) -> None:
    make_member()
    for _ in range(app.config["LOGIN_THROTTLE_FREE"]):
        assert login(password="nope-nope-nope").status_code == 401
    # This address now waits, even with the right password (another address would
    # not: tests/integration/security/test_login_enumeration.py).
    resp = login()
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) > 0


def test_login_next_parameter_never_redirects_off_site(
    make_member: Callable[..., Any], client: FlaskClient
) -> None:
    make_member()
    page = client.get("/auth/login?next=https://evil.example/steal")
    resp = client.post(
        "/auth/login",
        data={
            "email": "member@example.com",
            "password": "correct-horse-1",
            "next": "https://evil.example/steal",
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/wallet"


def test_login_rotates_the_session(
    make_member: Callable[..., Any], client: FlaskClient, login: Callable[..., Any]
) -> None:
    make_member()
    client.get("/auth/login")
    with client.session_transaction() as s:
        s["planted"] = "by-attacker"
    login()
    with client.session_transaction() as s:
        assert "planted" not in s
        assert "_user_id" in s


def test_pages_send_security_headers(client: FlaskClient) -> None:
    resp = client.get("/auth/login")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    csp = resp.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp


def test_unknown_page_is_a_friendly_404(client: FlaskClient) -> None:
    resp = client.get("/no/such/page")
    assert resp.status_code == 404
    assert "Traceback" not in resp.get_data(as_text=True)
    assert '<html lang="' in resp.get_data(as_text=True)


def test_language_switch_renders_english_and_korean(client: FlaskClient) -> None:
    page = client.get("/auth/login", headers={"Accept-Language": "en"})
    assert "Log in" in page.get_data(as_text=True)
    token = csrf_token(page.get_data(as_text=True))
    client.post(
        "/auth/language",
        data={"lang": "ko", "csrf_token": token, "next": "/auth/login"},
    )
    assert '<html lang="ko">' in client.get(
        "/auth/login", headers={"Accept-Language": "en"}
    ).get_data(as_text=True)
