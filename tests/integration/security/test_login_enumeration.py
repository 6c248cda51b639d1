"""Issue 13 L1: login answers the same (status, message, time) for known and unknown
emails; failures slow down the address that makes them, never lock the owner out;
registration does not reveal who has an account; re-auth shares the throttle."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token, log_in
from tests.integration.security.conftest import PASSWORD, Browser


def _attempt(app: Flask, email: str, password: str, address: str) -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return log_in(client, email, password)


def _message(resp: Any) -> str:
    html = resp.get_data(as_text=True)
    return html.split('class="flash flash-error">', 1)[1].split("<", 1)[0]


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    """Flask-Limiter's per-address minute limit is not what these tests look at."""
    return {"RATELIMIT_LOGIN": "1000 per minute"}


def test_login_known_and_unknown_email_answer_alike(
    app: Flask, make_member: Callable[..., Any]
) -> None:
    make_member("known@example.com", PASSWORD)
    known = _attempt(app, "known@example.com", "wrong-password-1", "198.51.100.1")
    unknown = _attempt(app, "nobody@example.com", "wrong-password-1", "198.51.100.1")
    assert known.status_code == unknown.status_code == 401
    assert _message(known) == _message(unknown) == "Wrong email or password."


def test_login_failures_throttle_known_and_unknown_emails_alike(
    app: Flask, make_member: Callable[..., Any]
) -> None:
    # Attack (L1): after six wrong tries only real accounts answered 429.
    make_member("known@example.com", PASSWORD)
    runs = {}
    for email in ("known@example.com", "nobody@example.com"):
        answers = [
            _attempt(app, email, "wrong-password-1", "198.51.100.2")
            for _ in range(app.config["LOGIN_THROTTLE_FREE"] + 1)
        ]
        runs[email] = [(a.status_code, _message(a)[:30]) for a in answers]
    assert runs["known@example.com"] == runs["nobody@example.com"]
    assert runs["known@example.com"][-1][0] == 429


def test_login_timing_does_not_tell_known_from_unknown(
    app: Flask, make_member: Callable[..., Any]
) -> None:
    # Attack (L1): a wrong password took 153–200 ms for a real account, 15–21 ms for
    # an unknown email. Interleaved samples, medians, a generous ratio: robust on a
    # loaded two-core machine, yet far from the 10x difference it catches.
    app.config["LOGIN_THROTTLE_FREE"] = 1000
    make_member("known@example.com", PASSWORD)
    client = app.test_client()
    token = csrf_token(client.get("/auth/login").get_data(as_text=True))

    def measure(email: str) -> float:
        form = {"email": email, "password": "wrong-password-1", "csrf_token": token}
        started = time.perf_counter()
        assert client.post("/auth/login", data=form).status_code == 401
        return time.perf_counter() - started

    measure("known@example.com")  # warm-up: the first dummy hash is made lazily
    measure("warm-up@example.com")
    known, unknown = [], []
    for i in range(9):
        known.append(measure("known@example.com"))
        unknown.append(measure(f"nobody{i}@example.com"))
    ratio = statistics.median(known) / statistics.median(unknown)
    assert 0.5 < ratio < 2.0, (known, unknown)


@pytest.mark.parametrize("role", ["member", "admin"])
def test_login_strangers_failures_never_lock_the_owner_out(
    app: Flask, make_member: Callable[..., Any], role: str
) -> None:
    # Attack (L1): anyone could lock anyone out, admins included, with 6 wrong tries.
    make_member("owner@example.com", PASSWORD, role=role)
    app.config["LOGIN_THROTTLE_ACCOUNT_CEILING"] = ceiling = 12  # a quicker attack

    per_address = app.config["LOGIN_THROTTLE_FREE"]
    failures = 0
    for n in range(ceiling // per_address + 1):  # a spread-out attack from many places
        for _ in range(per_address + 1):
            _attempt(app, "owner@example.com", "guess-guess-1", f"203.0.113.{n}")
            failures += 1
    assert failures > ceiling
    owner = _attempt(app, "owner@example.com", PASSWORD, "198.51.100.77")
    assert owner.status_code == 302  # the owner, elsewhere, logs in as always
    # What the attack did achieve: a new address now gets one free failure only.
    assert (
        _attempt(app, "owner@example.com", "x-guess-1", "192.0.2.9").status_code == 401
    )
    assert _attempt(app, "owner@example.com", PASSWORD, "192.0.2.9").status_code == 429


def test_login_throttle_wait_ends_and_then_the_right_password_works(
    app: Flask, make_member: Callable[..., Any]
) -> None:
    app.config["LOGIN_THROTTLE_BASE_SECONDS"] = 1
    make_member("slow@example.com", PASSWORD)
    for _ in range(app.config["LOGIN_THROTTLE_FREE"]):
        _attempt(app, "slow@example.com", "wrong-password-1", "198.51.100.3")
    blocked = _attempt(app, "slow@example.com", PASSWORD, "198.51.100.3")
    assert blocked.status_code == 429
    assert "Wait 1 seconds" in _message(blocked)
    # (Retry-After is at least that: Flask-Limiter keeps the later of its own reset
    # and ours.)
    assert int(blocked.headers["Retry-After"]) >= 1
    deadline = time.monotonic() + 5
    while (
        resp := _attempt(app, "slow@example.com", PASSWORD, "198.51.100.3")
    ).status_code == 429:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert resp.status_code == 302


def test_reauth_failures_share_the_login_throttle(
    app: Flask, browser: Callable[..., Browser]
) -> None:
    who = browser(role="admin")
    for _ in range(app.config["LOGIN_THROTTLE_FREE"]):
        resp = who.post_form("/auth/reauth", "/auth/reauth", {"password": "wrong-1"})
        assert resp.status_code == 401
    throttled = who.post_form("/auth/reauth", "/auth/reauth", {"password": PASSWORD})
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    # The same address cannot go round by logging in instead.
    assert log_in(app.test_client(), who.email, PASSWORD).status_code == 429


def _register(client: FlaskClient, email: str) -> Any:
    token = csrf_token(client.get("/auth/register").get_data(as_text=True))
    return client.post(
        "/auth/register",
        data={
            "email": email,
            "password": "a-new-password-1",
            "confirm": "a-new-password-1",
            "csrf_token": token,
        },
    )


def test_register_does_not_reveal_a_taken_email(
    app: Flask, make_member: Callable[..., Any]
) -> None:
    # Attack (L1): registration answered 409 "already exists".
    make_member("taken@example.com", PASSWORD)
    taken = _register(app.test_client(), "taken@example.com")
    fresh = _register(app.test_client(), "fresh@example.com")
    assert taken.status_code == fresh.status_code == 303
    assert taken.headers["Location"] == fresh.headers["Location"]
    assert taken.get_data() == fresh.get_data()
    # The owner's password was not changed by the attempt.
    assert log_in(app.test_client(), "taken@example.com", PASSWORD).status_code == 302


def test_register_rate_limit_is_strict(app: Flask) -> None:
    client = app.test_client()
    limit = int(app.config["RATELIMIT_REGISTER"].split()[0])
    codes = [
        _register(client, f"r{i}@example.com").status_code for i in range(limit + 1)
    ]
    assert codes == [303] * limit + [429]
