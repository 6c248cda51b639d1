"""The header's nav, rendered once per language and state (cached_fragment, issue 16):
each member still sees their own links, the current page marked, in their language."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask

from tests.conftest import csrf_token, logged_in_client
from wallet.services import merchants

PASSWORD = "correct-horse-1"


def _nav(html: str) -> list[tuple[str, bool, str]]:
    block = html.split('class="main-nav">', 1)[1].split("</nav>", 1)[0]
    return [
        (href, bool(current), label)
        for href, current, label in re.findall(
            r'<li><a href="([^"]+)" (aria-current="page")?>([^<]+)</a></li>', block
        )
    ]


def _switch(client: Any, lang: str) -> None:
    page = client.get("/wallet").get_data(as_text=True)
    resp = client.post(
        "/auth/language",
        data={"lang": lang, "next": "/wallet", "csrf_token": csrf_token(page)},
    )
    assert resp.status_code in (302, 303)


def test_each_member_sees_their_own_nav(
    app: Flask, make_member: Callable[..., Any]
) -> None:
    make_member("plain@example.com", PASSWORD)
    make_member("shop@example.com", PASSWORD)
    make_member("boss@example.com", PASSWORD, role="admin")
    with app.app_context():
        shop, _secret = merchants.create_merchant(
            "Nav shop", ["https://nav.example"], None, actor="test"
        )
        merchants.add_staff(shop, "shop@example.com", "test")
    plain = logged_in_client(app, "plain@example.com", PASSWORD)
    staff = logged_in_client(app, "shop@example.com", PASSWORD)
    admin = logged_in_client(app, "boss@example.com", PASSWORD)
    anonymous = app.test_client()

    for _ in range(2):  # the second time from the cache: the same for everyone
        first = _nav(plain.get("/wallet").get_data(as_text=True))
        assert [h for h, _c, _l in first] == [
            "/wallet",
            "/wallet/methods",
            "/pay/history",
            "/wallet/mandates",
            "/account",
        ]
        assert [h for h, c, _l in first if c] == ["/wallet"]
        history = _nav(plain.get("/pay/history").get_data(as_text=True))
        assert [h for h, c, _l in history if c] == ["/pay/history"]
        assert "/merchant" in [h for h, _c, _l in _nav(staff.get("/wallet").text)]
        admin_links = [h for h, _c, _l in _nav(admin.get("/wallet").text)]
        assert "/admin/" in admin_links
        assert "/merchant" not in admin_links
        assert _nav(anonymous.get("/auth/login").get_data(as_text=True)) == []

    _switch(plain, "ko")
    korean = _nav(plain.get("/wallet").get_data(as_text=True))
    _switch(plain, "en")
    english = _nav(plain.get("/wallet").get_data(as_text=True))
    assert [h for h, _c, _l in korean] == [h for h, _c, _l in english]
    assert korean[0][2] == "지갑"
    assert english[0][2] == "Wallet"
