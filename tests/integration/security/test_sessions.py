"""Issue 13 M2: sessions live on the server, so logging out ends them; a password change,
"log out of all devices" and an admin's revoke end the account's other sessions; and
X-Forwarded-* is believed only from a configured number of proxies."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy import select, update

from tests.conftest import csrf_token, log_in, make_app
from tests.integration.security.conftest import PASSWORD, Browser, post_form
from wallet.extensions import db
from wallet.models.security import MemberSession, WebSession

REDIS_URL = "redis://127.0.0.1:6379/0"


def _steal_cookie(victim: FlaskClient, thief: FlaskClient) -> str:
    cookie = victim.get_cookie("session")
    assert cookie is not None
    thief.set_cookie("session", cookie.value)
    return cookie.value


@pytest.mark.parametrize(
    ("role", "page"), [("member", "/wallet"), ("admin", "/admin/")]
)
def test_session_logout_makes_a_copied_cookie_useless(
    app: Flask, browser: Callable[..., Browser], role: str, page: str
) -> None:
    # Attack (M2): copy the cookie before the victim logs out, use it afterwards.
    victim = browser(role=role)
    thief = app.test_client()
    _steal_cookie(victim.client, thief)
    assert thief.get(page).status_code == 200  # the copy is the session, for now
    resp = victim.post_form(page, "/auth/logout")
    assert resp.status_code == 302
    assert thief.get(page).status_code == 302  # to the login page
    assert victim.client.get(page).status_code == 302


def test_session_store_holds_no_usable_session_id(
    app: Flask, browser: Callable[..., Browser]
) -> None:
    who = browser()
    sid = who.client.get_cookie("session").value
    with app.app_context():
        stored = db.session.scalars(select(WebSession.session_id)).all()
    assert stored
    assert all(sid not in key for key in stored)
    # A copy of the table is no way in: present a stored key as a cookie.
    thief = app.test_client()
    for key in stored:
        thief.set_cookie("session", key.removeprefix(app.config["SESSION_KEY_PREFIX"]))
        assert thief.get("/wallet").status_code == 302


def test_session_strong_protection_ignores_a_forged_forwarded_for(
    app: Flask, make_member: Callable[..., Any]
) -> None:
    # Attack (M2): a stolen cookie replayed from elsewhere with the victim's address
    # claimed in X-Forwarded-For used to pass Flask-Login's "strong" protection.
    make_member("victim@example.com", PASSWORD)
    victim = app.test_client()
    victim.environ_base["REMOTE_ADDR"] = "203.0.113.5"
    assert log_in(victim, "victim@example.com", PASSWORD).status_code == 302
    thief = app.test_client()
    thief.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    _steal_cookie(victim, thief)
    resp = thief.get("/wallet", headers={"X-Forwarded-For": "203.0.113.5"})
    assert resp.status_code == 302


def test_session_password_change_ends_every_other_device(
    app: Flask, make_member: Callable[..., Any]
) -> None:
    make_member("two@example.com", PASSWORD)
    laptop, phone = app.test_client(), app.test_client()
    for client in (laptop, phone):
        assert log_in(client, "two@example.com", PASSWORD).status_code == 302
    wrong = post_form(
        laptop,
        "/account",
        "/account/password",
        {
            "current": "not-it-at-all",
            "password": "new-pass-12345",
            "confirm": "new-pass-12345",
        },
    )
    assert wrong.status_code == 401
    assert phone.get("/wallet").status_code == 200  # nothing changed yet
    resp = post_form(
        laptop,
        "/account",
        "/account/password",
        {
            "current": PASSWORD,
            "password": "new-pass-12345",
            "confirm": "new-pass-12345",
        },
    )
    assert resp.status_code == 303
    assert phone.get("/wallet").status_code == 302  # signed out
    assert laptop.get("/wallet").status_code == 200  # this device stays
    assert log_in(app.test_client(), "two@example.com", PASSWORD).status_code == 401
    assert (
        log_in(app.test_client(), "two@example.com", "new-pass-12345").status_code
        == 302
    )


def test_session_log_out_of_all_devices(
    app: Flask, make_member: Callable[..., Any]
) -> None:
    make_member("many@example.com", PASSWORD)
    laptop, phone = app.test_client(), app.test_client()
    laptop.environ_base["HTTP_USER_AGENT"] = "Laptop browser"
    phone.environ_base["HTTP_USER_AGENT"] = "Phone browser"
    for client in (laptop, phone):
        assert log_in(client, "many@example.com", PASSWORD).status_code == 302
    page = laptop.get("/account").get_data(as_text=True)
    assert "Laptop browser" in page
    assert "Phone browser" in page
    assert "This device" in page
    resp = laptop.post("/account/sessions/end", data={"csrf_token": csrf_token(page)})
    assert resp.status_code == 303
    assert laptop.get("/wallet").status_code == 302
    assert phone.get("/wallet").status_code == 302
    with app.app_context():
        assert db.session.scalars(select(MemberSession)).all() == []


def test_session_admin_revoke_ends_the_members_sessions(
    app: Flask, browser: Callable[..., Browser], linked: Browser
) -> None:
    from tests.integration.security.conftest import reauth

    admin = browser(role="admin")
    reauth(admin)
    page = f"/admin/members/{linked.member_id}"
    assert linked.client.get("/wallet").status_code == 200
    resp = admin.post_form(page, f"{page}/revoke", {"reason": "phone stolen"})
    assert resp.status_code == 303
    assert linked.client.get("/wallet").status_code == 302
    assert admin.client.get("/admin/").status_code == 200  # only the member's


# -- the Redis backend ---------------------------------------------------------------


@pytest.fixture
def redis_app(database_url: str, sandbox_server: Any) -> Iterator[Flask]:
    """The portal with its sessions in Redis under a prefix of this test only."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"wallet-test-{uuid.uuid4().hex}:"
    application = make_app(
        database_url,
        TOSS_API_BASE=sandbox_server.base_url,
        SESSION_REDIS_URL=REDIS_URL,
        SESSION_KEY_PREFIX=prefix,
    )
    application.config["TEST_REDIS_PREFIX"] = prefix
    yield application
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()
    with application.app_context():
        db.engine.dispose()


def test_session_redis_logout_and_end_all_work_too(redis_app: Flask) -> None:
    import redis

    from wallet.services import members

    with redis_app.app_context():
        members.register("redis@example.com", PASSWORD)
    laptop, phone, thief = (redis_app.test_client() for _ in range(3))
    for client in (laptop, phone):
        assert log_in(client, "redis@example.com", PASSWORD).status_code == 302
    sid = _steal_cookie(laptop, thief)
    assert thief.get("/wallet").status_code == 200
    store = redis.Redis.from_url(REDIS_URL)
    keys = [
        k.decode()
        for k in store.scan_iter(match=redis_app.config["TEST_REDIS_PREFIX"] + "*")
    ]
    assert keys
    assert all(sid not in key for key in keys)  # stored under a hash of the id
    store.close()
    page = laptop.get("/wallet").get_data(as_text=True)
    assert (
        laptop.post("/auth/logout", data={"csrf_token": csrf_token(page)}).status_code
        == 302
    )
    assert thief.get("/wallet").status_code == 302
    assert phone.get("/wallet").status_code == 200
    page = phone.get("/account").get_data(as_text=True)
    phone.post("/account/sessions/end", data={"csrf_token": csrf_token(page)})
    assert phone.get("/wallet").status_code == 302


# -- proxies ---------------------------------------------------------------------------


def _echo_route(app: Flask) -> None:
    def echo() -> str:
        forwarded = "HTTP_X_FORWARDED_FOR" in request.environ
        return f"{request.remote_addr} {request.scheme} {request.host} {forwarded}"

    app.add_url_rule("/test-echo", "test_echo", echo)


FORGED = {
    "X-Forwarded-For": "6.6.6.6, 198.51.100.20",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "wallet.example",
}


def test_proxy_headers_ignored_without_a_trusted_proxy(app: Flask) -> None:
    _echo_route(app)
    body = app.test_client().get("/test-echo", headers=FORGED).get_data(as_text=True)
    assert body == "127.0.0.1 http localhost False"


def test_proxy_headers_ignored_also_by_the_rate_limit(app: Flask) -> None:
    app.config["RATELIMIT_LOGIN"] = "2 per minute"
    client = app.test_client()
    token = csrf_token(client.get("/auth/login").get_data(as_text=True))
    form = {"email": "a@example.com", "password": "guess-guess", "csrf_token": token}
    codes = [
        client.post(
            "/auth/login", data=form, headers={"X-Forwarded-For": f"10.9.9.{n}"}
        ).status_code
        for n in range(3)
    ]
    assert codes == [401, 401, 429]  # one bucket: the real address


def test_proxy_one_trusted_proxy_gives_the_client_it_saw(
    database_url: str, sandbox_server: Any
) -> None:
    app = make_app(
        database_url, TOSS_API_BASE=sandbox_server.base_url, TRUSTED_PROXY_COUNT=1
    )
    _echo_route(app)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.0.2"  # the proxy
    body = client.get("/test-echo", headers=FORGED).get_data(as_text=True)
    # The rightmost entry is what our one proxy saw; "6.6.6.6" was the client's claim.
    assert body == "198.51.100.20 https wallet.example False"
    with app.app_context():
        db.engine.dispose()


def test_session_use_is_noted_at_most_every_touch_interval(
    app: Flask, make_member: Callable[..., Any]
) -> None:
    from sqlalchemy import event

    make_member("busy@example.com", PASSWORD)
    client = app.test_client()
    assert log_in(client, "busy@example.com", PASSWORD).status_code == 302
    client.get("/wallet")  # the first page after login makes the new CSRF token
    writes: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
            writes.append(statement.split("\n")[0])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for _ in range(3):  # within SESSION_TOUCH_SECONDS: reads only
            assert client.get("/wallet").status_code == 200
        assert writes == []
        app.config["SESSION_TOUCH_SECONDS"] = 0
        with app.app_context():
            before = db.session.scalar(select(MemberSession.last_seen_at))
        assert client.get("/wallet").status_code == 200
        assert any("member_sessions" in w for w in writes)
        with app.app_context():
            assert db.session.scalar(select(MemberSession.last_seen_at)) > before
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_session_member_hint_naming_someone_else_is_not_believed(
    app: Flask, browser: Callable[..., Browser]
) -> None:
    # Issue 16: the session read joins the member whose id is stored beside the data.
    # That id is only a hint: a row pointing at another member (a bug, a hand edit)
    # must not make the request that member's, nor end the session's own login.
    alice, bob = browser(), browser()
    with app.app_context():
        changed = db.session.execute(
            update(WebSession).values(member_id=bob.member_id)
        ).rowcount
        db.session.commit()
    assert changed >= 2
    html = alice.client.get("/account").get_data(as_text=True)
    assert alice.email in html
    assert bob.email not in html
