"""Issue 14: signing up from the login page keeps where the member was going (a
merchant link's order survives registration), and Flask-Login's prompt is translated."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient

from tests.conftest import csrf_token

TARGET = "/pay/history?shop=direct"
_REGISTER_LINK = re.compile(r'href="(/auth/register[^"]*)"')


def test_auth_next_survives_sign_up_then_login(client: FlaskClient) -> None:
    # An anonymous member opens a protected page (a merchant's link does the same).
    resp = client.get(TARGET)
    assert resp.status_code == 302
    login_url = resp.headers["Location"]
    login = client.get(login_url).get_data(as_text=True)
    register_href = unescape(_REGISTER_LINK.search(login).group(1))
    assert parse_qs(urlsplit(register_href).query)["next"] == [TARGET]

    page = client.get(register_href).get_data(as_text=True)
    assert 'name="next"' in page
    assert f'value="{TARGET.replace("&", "&amp;")}"' in page or TARGET in unescape(page)
    resp = client.post(
        "/auth/register",
        data={
            "email": "newcomer@example.com",
            "password": "long-enough-pw",
            "confirm": "long-enough-pw",
            "next": TARGET,
            "csrf_token": csrf_token(page),
        },
    )
    assert resp.status_code == 303
    back = urlsplit(resp.headers["Location"])
    assert back.path == "/auth/login"
    assert parse_qs(back.query)["next"] == [TARGET]

    login = client.get(resp.headers["Location"]).get_data(as_text=True)
    resp = client.post(
        "/auth/login",
        data={
            "email": "newcomer@example.com",
            "password": "long-enough-pw",
            "next": TARGET,
            "csrf_token": csrf_token(login),
        },
    )
    assert resp.status_code == 302
    assert resp.headers["Location"] == TARGET


def test_auth_next_off_site_target_is_not_kept_on_register(client: FlaskClient) -> None:
    page = client.get("/auth/register?next=https://evil.example/").get_data(
        as_text=True
    )
    resp = client.post(
        "/auth/register",
        data={
            "email": "x@example.com",
            "password": "long-enough-pw",
            "confirm": "long-enough-pw",
            "next": "https://evil.example/",
            "csrf_token": csrf_token(page),
        },
    )
    assert resp.status_code == 303
    assert "evil" not in resp.headers["Location"]


def test_auth_next_login_prompt_is_korean_in_korean(client: FlaskClient) -> None:
    resp = client.get("/pay/history", headers={"Accept-Language": "ko"})
    assert resp.status_code == 302
    page = client.get(
        resp.headers["Location"], headers={"Accept-Language": "ko"}
    ).get_data(as_text=True)
    assert "이 페이지를 보려면 로그인해 주세요." in page
    assert "Please log in" not in page
