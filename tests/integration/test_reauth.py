"""Sensitive admin actions ask for the password again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token
from wallet.security import admin_required, reauth_required


@pytest.fixture
def admin_on_sensitive_route(
    app: Flask, make_member: Callable[..., Any], login: Callable[..., Any]
) -> None:
    """An admin logged in (not re-authenticated) and a route that needs re-auth."""
    _sensitive_route(app)
    make_member("boss@example.com", "boss-password-1", role="admin")
    login("boss@example.com", "boss-password-1")


def _sensitive_route(app: Flask) -> None:
    @admin_required
    @reauth_required("Do the sensitive thing")
    def sensitive() -> str:
        return "did the sensitive thing"

    app.add_url_rule("/test-sensitive", "test_sensitive", sensitive)


def test_reauth_required_asks_for_password_then_allows(
    client: FlaskClient, admin_on_sensitive_route: None
) -> None:
    resp = client.get("/test-sensitive")
    assert resp.status_code == 302
    assert "/auth/reauth?next=/test-sensitive" in resp.headers["Location"]

    page = client.get(resp.headers["Location"])
    token = csrf_token(page.get_data(as_text=True))
    wrong = client.post(
        "/auth/reauth",
        data={
            "password": "nope-nope-1",
            "next": "/test-sensitive",
            "csrf_token": token,
        },
    )
    assert wrong.status_code == 401
    assert (
        client.get("/test-sensitive").status_code == 302
    )  # still not re-authenticated

    ok = client.post(
        "/auth/reauth",
        data={
            "password": "boss-password-1",
            "next": "/test-sensitive",
            "csrf_token": token,
        },
    )
    assert ok.status_code == 302
    assert ok.headers["Location"] == "/test-sensitive"
    assert (
        client.get("/test-sensitive").get_data(as_text=True)
        == "did the sensitive thing"
    )


def test_reauth_expires_after_max_age(
    client: FlaskClient, admin_on_sensitive_route: None
) -> None:
    with client.session_transaction() as s:
        s["reauth_at"] = 1_000  # long ago
    assert client.get("/test-sensitive").status_code == 302
