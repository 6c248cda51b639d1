"""The security baseline, checked from the outside: cookie flags and HSTS in the
production config, headers and CSP on every page an admin can GET, session rotation at
login, and 429 + Retry-After on register and the API (login has its own test)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import VAULT_SPEC, csrf_token
from tests.integration.admin.conftest import PASSWORD, Browser
from wallet import create_app
from wallet.config import Config

HTTPS = "https://localhost"
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)
_INLINE_STYLE_OR_HANDLER = re.compile(r"\s(style|on[a-z]+)\s*=\s*[\"']", re.IGNORECASE)


@pytest.fixture
def production_app(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    """The production Config (not TestConfig) on the test database, with its secrets."""
    # No instance/config.py of a developer's checkout may leak into this app.
    monkeypatch.setenv("WALLET_INSTANCE_PATH", str(tmp_path))
    prod = create_app(
        Config,
        {
            "SECRET_KEY": "production-test-secret-key-0123456789",
            "VAULT_KEYS": VAULT_SPEC,
            "TOSS_CLIENT_KEY": "test_ck_D5GePWvyJnrK0W0k6q8gLzN97Eoq",
            "TOSS_SECRET_KEY": "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R",
            "TOSS_API_BASE": app.config["TOSS_API_BASE"],
            "DATABASE_URL": app.config["DATABASE_URL"],
        },
    )
    assert prod.config["ENV_NAME"] == "production"
    assert not prod.testing
    yield prod
    from wallet.extensions import db

    with prod.app_context():
        db.engine.dispose()


def _cookie(resp: Any, name: str) -> str:
    found = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith(f"{name}=")]
    assert found, f"no {name} cookie set"
    return found[-1]


def test_baseline_production_session_cookie_is_secure_httponly_samesite(
    production_app: Flask, make_member: Any
) -> None:
    make_member("ops@example.com", PASSWORD)
    client = production_app.test_client()
    page = client.get("/auth/login", base_url=HTTPS)
    resp = client.post(
        "/auth/login",
        base_url=HTTPS,
        # Over HTTPS Flask-WTF also wants a same-origin Referer (strict SSL check).
        headers={"Referer": f"{HTTPS}/auth/login"},
        data={
            "email": "ops@example.com",
            "password": PASSWORD,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    assert resp.status_code == 302
    cookie = _cookie(resp, "session")
    assert "; Secure" in cookie
    assert "; HttpOnly" in cookie
    assert "; SameSite=Lax" in cookie


def test_baseline_hsts_on_https_in_production_only(
    app: Flask, production_app: Flask
) -> None:
    secure = production_app.test_client().get("/auth/login", base_url=HTTPS)
    hsts = secure.headers.get("Strict-Transport-Security", "")
    assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31536000
    # Over plain HTTP the header means nothing (and must not be sent); nor in dev/test.
    plain = production_app.test_client().get("/auth/login")
    assert "Strict-Transport-Security" not in plain.headers
    dev = app.test_client().get("/auth/login", base_url=HTTPS)
    assert "Strict-Transport-Security" not in dev.headers


def test_baseline_login_rotates_the_session(
    app: Flask, make_member: Any, login: Any, client: Any
) -> None:
    make_member()
    client.get("/auth/login")
    with client.session_transaction() as session:
        session["planted_by_attacker"] = "x"  # e.g. a fixated session
    assert login().status_code == 302
    with client.session_transaction() as session:
        assert "planted_by_attacker" not in session
        assert "_user_id" in session


def _get_routes(app: Flask) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static"
    )


def test_baseline_every_get_page_has_security_headers_and_no_inline_code(
    app: Flask, admin: Browser
) -> None:
    html_pages, problems = 0, []
    for path in _get_routes(app):
        resp = admin.client.get(path)
        headers = resp.headers
        if headers.get("X-Content-Type-Options") != "nosniff":
            problems.append(f"{path}: no nosniff")
        if resp.mimetype != "text/html":
            continue
        html_pages += 1
        csp = headers.get("Content-Security-Policy", "")
        body = resp.get_data(as_text=True)
        if "default-src 'self'" not in csp or "frame-ancestors" not in csp:
            problems.append(f"{path}: CSP missing or weak: {csp!r}")
        if "unsafe-inline" in csp or "unsafe-inline" in body:
            problems.append(f"{path}: unsafe-inline")
        if not headers.get("Referrer-Policy"):
            problems.append(f"{path}: no Referrer-Policy")
        if _INLINE_SCRIPT.search(body) or _INLINE_STYLE_OR_HANDLER.search(body):
            problems.append(f"{path}: inline script, style or handler")
    assert html_pages >= 10, html_pages
    assert problems == []


def test_baseline_register_rate_limit_answers_429_with_retry_after(
    client: Any,
) -> None:
    token = csrf_token(client.get("/auth/register").get_data(as_text=True))
    form = {
        "email": "someone@example.com",
        "password": "long-enough-1",
        "confirm": "does-not-match",
        "csrf_token": token,
    }
    codes = [client.post("/auth/register", data=form).status_code for _ in range(6)]
    assert codes == [400] * 5 + [429]
    resp = client.post("/auth/register", data=form)
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) > 0


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    """A small API limit so the test reaches it quickly."""
    return {"API_RATELIMIT": "3 per minute"}


def test_baseline_api_rate_limit_answers_429_with_retry_after(client: Any) -> None:
    headers = {"Authorization": "Bearer mk_not_a_real_key"}
    codes = [
        client.get("/api/v1/orders", headers=headers).status_code for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    resp = client.get("/api/v1/orders", headers=headers)
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) > 0
    assert resp.is_json
    assert resp.get_json()["error"]["code"]
    # Another key has its own bucket.
    other = client.get("/api/v1/orders", headers={"Authorization": "Bearer mk_other"})
    assert other.status_code == 401
