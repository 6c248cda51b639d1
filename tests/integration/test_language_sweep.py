"""Every main page, rendered from the `make run` demo data: Korean pages carry no stray
English words, English pages no Hangul, and money reads `12,300원` / `₩12,300`."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from pprint import pformat
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import csrf_token, logged_in_client
from wallet.extensions import db
from wallet.models import Member
from wallet.models.merchant import Merchant
from wallet.models.order import Order
from wallet.services import demo

# What may stay Latin on a Korean page: brand names, units and codes shown as codes.
ALLOWED_LATIN = {
    "BrandPay",
    "Toss",
    "Payments",  # "Toss Payments", the company's name
    "KST",
    "API",
    "CSV",
    "URL",
    "PIN",
    "ID",
    "SHA",
    "HMAC",
    "Webhook",
    "JSON",
    "customerKey",  # Toss's name for the member's key, shown as the code it is
    "POST",
    "http",
    "localhost",
}
# The demo's own data (order names, the shop, the refund reason) is data, not UI.
DEMO_DATA = [
    *(name for name, _amount, _refund in demo.DEMO_ORDERS),
    demo.DEMO_SHOP_ORDER[0],
    demo.DEMO_MERCHANT_NAME,
    demo.DEMO_REFUND_REASON,
    "demo shop",
]
_SKIP_TAGS = {"script", "style", "code", "kbd", "samp", "pre", "title", "textarea"}
_VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr", "col", "area"}
_TEXT_ATTRS = ("aria-label", "title", "placeholder", "alt", "data-confirm")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_EMAIL = re.compile(r"\S+@\S+")
_URLISH = re.compile(
    r"__[A-Z]+__|\S+://\S+|(?<!\w)/[\w/{}.-]+|\b[a-z]+_[A-Za-z0-9_…-]+|\b[0-9a-f]{8,}\b"
)


class _Text(HTMLParser):
    """The words a person reads: text and labelling attributes, minus code and
    anything marked as being in another language."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []  # per open element: skipped?
        self.parts: list[str] = []

    def _skipping(self) -> bool:
        return any(self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        skip = (
            tag in _SKIP_TAGS
            or ("lang" in values and tag != "html")
            or values.get("translate") == "no"
            or values.get("aria-hidden") == "true"  # the ₩ logo mark
            or (tag == "input" and values.get("type") == "hidden")
        )
        if not skip and not self._skipping():
            self.parts.extend(v for k, v in attrs if k in _TEXT_ATTRS and v)
            if tag == "input" and values.get("type") in ("submit", "button"):
                self.parts.append(values.get("value") or "")
        if tag not in _VOID:
            self.stack.append(skip)

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not self._skipping():
            self.parts.append(data)


def visible_text(html: str) -> str:
    """The page's readable words."""
    parser = _Text()
    parser.feed(html)
    text = " ".join(" ".join(parser.parts).split())
    for value in DEMO_DATA:
        text = text.replace(value, " ")
    return _URLISH.sub(" ", _EMAIL.sub(" ", text))


def stray_english(text: str) -> set[str]:
    """Latin words outside the allow-list."""
    return {w for w in _LATIN_WORD.findall(text) if w not in ALLOWED_LATIN}


@pytest.fixture
def seeded(
    app: Flask, live_portal: str, sandbox: Any, tmp_path: Path
) -> dict[str, str]:
    """The demo data; the paths of every main page for each kind of account."""
    with app.test_request_context("/", base_url=live_portal):
        demo.seed()
        shop = demo.seed_merchant("http://127.0.0.1:5002", tmp_path / "demo.json")
        demo.seed_wallet(
            sandbox.base_url, live_portal, sandbox.client_key, shop.public_id
        )
        order_ids = {
            o.order_name: o.order_id for o in db.session.scalars(select(Order)).all()
        }
        member = db.session.scalars(
            select(Member).filter_by(email=demo.DEMO_MEMBER[0])
        ).one()
        merchant = db.session.scalars(select(Merchant)).one()
        return {
            "partial": order_ids["Ceramic teapot"],
            "shop_order": order_ids[demo.DEMO_SHOP_ORDER[0]],
            "member_id": str(member.id),
            "merchant": str(merchant.id),
        }


def _pages(seeded: dict[str, str]) -> dict[tuple[str, str], list[str]]:
    partial, shop_order = seeded["partial"], seeded["shop_order"]
    return {
        ("", ""): ["/auth/login", "/auth/register", "/auth/forgot", "/no/such/page"],
        demo.DEMO_MEMBER: [
            "/wallet",
            "/wallet/methods",
            "/wallet/link",
            "/wallet/withdraw",
            "/wallet/mandates",
            "/pay/history",
            f"/pay/orders/{partial}/receipt",
            f"/pay/orders/{shop_order}/receipt",
            "/pay/new",
            "/account",
            "/account/email",
        ],
        demo.DEMO_ADMIN: [
            "/admin/",
            "/admin/members",
            f"/admin/members/{seeded['member_id']}",
            "/admin/payments",
            f"/admin/payments/{partial}",
            "/admin/merchants",
            f"/admin/merchants/{seeded['merchant']}",
            "/admin/audit",
            "/admin/payments/export",
            "/admin/mandates",
        ],
        demo.DEMO_SHOP_STAFF: [
            "/merchant",
            f"/merchant/{seeded['merchant']}/orders/{shop_order}",
        ],
    }


def _client(app: Flask, account: tuple[str, str], lang: str) -> FlaskClient:
    client = app.test_client() if not account[0] else logged_in_client(app, *account)
    page = client.get("/auth/login")
    client.post(
        "/auth/language",
        data={
            "lang": lang,
            "next": "/",
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    return client


def _render_all(app: Flask, seeded: dict[str, str], lang: str) -> dict[str, str]:
    texts = {}
    for account, paths in _pages(seeded).items():
        client = _client(app, account, lang)
        for path in paths:
            resp = client.get(path)
            assert resp.status_code in (200, 404), f"{path}: {resp.status_code}"
            texts[path] = visible_text(resp.get_data(as_text=True))
    return texts


def test_language_sweep_korean_pages_have_no_stray_english(
    app: Flask, seeded: dict[str, str]
) -> None:
    texts = _render_all(app, seeded, "ko")
    stray = {path: sorted(stray_english(t)) for path, t in texts.items()}
    bad = {p: w for p, w in stray.items() if w}
    assert not bad, pformat(bad)
    # Money in Korean reads 48,000원; never ₩ on a Korean page.
    receipt = texts[f"/pay/orders/{seeded['partial']}/receipt"]
    assert "48,000원" in receipt
    assert not [p for p, t in texts.items() if "₩" in t]


def test_language_sweep_english_pages_have_no_hangul(
    app: Flask, seeded: dict[str, str]
) -> None:
    texts = _render_all(app, seeded, "en")
    hangul = {p: _HANGUL.findall(t) for p, t in texts.items()}
    bad = {p: "".join(h) for p, h in hangul.items() if h}
    assert not bad, pformat(bad)
    receipt = texts[f"/pay/orders/{seeded['partial']}/receipt"]
    assert "₩48,000" in receipt
    assert not [p for p, t in texts.items() if re.search(r"\d원", t)]


def test_language_sweep_detects_english_and_hangul() -> None:
    """The sweep's own parser: it must see what a person reads, and only that."""
    html = (
        '<p>결제 <b>Paid</b> <code>ORDER_ID</code> <span lang="en">English</span>'
        '<button aria-label="Close">x</button><input type="hidden" value="Secret">'
        '<span translate="no">Mozilla</span></p>'
    )
    assert stray_english(visible_text(html)) == {"Paid", "Close"}
    assert _HANGUL.search(visible_text("<p>결제</p>"))
