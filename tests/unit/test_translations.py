"""Korean catalogue: complete, in sync with the sources, and used by every page.

The catalogue checks extract the messages fresh from the sources (as `make i18n-extract`
does), so a string added without a Korean translation fails here, not in front of a
customer. The page checks render the main pages with the demo data in Korean and in
English and look for any catalogue msgid left in the Korean HTML.
"""

from __future__ import annotations

import ast
import html
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import csrf_token, logged_in_client
from wallet.extensions import db
from wallet.models.notice import LINK_REVOKED, RELINK_REQUIRED
from wallet.models.order import Order
from wallet.services import demo, members, merchants, notices, orders

ROOT = Path(__file__).resolve().parents[2]
KO_PO = ROOT / "wallet" / "translations" / "ko" / "LC_MESSAGES" / "messages.po"
# Python-format placeholders, e.g. %(amount)s, %(num)d.
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?([diouxXeEfFgGcrsa])")
GETTEXT_NAMES = {"_", "_l", "gettext", "lazy_gettext", "ngettext", "lazy_ngettext"}
# Distinctive English UI phrases: each must show on the English pages (so this check
# can fail) and on no Korean page.
ENGLISH_PHRASES = (
    "Log in",
    "Payment methods",
    "Your wallet",
    "Your payments",
    "Leave BrandPay",
    "Admin console",
    "Audit log",
    "Webhook deliveries",
)
HOST = "http://localhost"


# -- the catalogue ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The sources' messages, extracted now with the flags of `make i18n-extract`."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--ignore-dirs=.venv sandbox",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        return read_po(f)


@pytest.fixture(scope="module")
def korean() -> Catalog:
    """wallet/translations/ko/LC_MESSAGES/messages.po as committed."""
    with KO_PO.open("rb") as f:
        return read_po(f, locale="ko")


def _ids(catalog: Catalog) -> dict[str, Message]:
    return {_key(m): m for m in catalog if m.id}


def _key(message: Message) -> str:
    return message.id[0] if isinstance(message.id, tuple | list) else message.id


def _forms(message: Message) -> list[str]:
    if isinstance(message.string, tuple | list):
        return list(message.string)
    return [message.string]


def _placeholders(text: str) -> set[tuple[str, str]]:
    return set(PLACEHOLDER.findall(text))


def test_catalogue_every_extracted_msgid_translated_passes(
    extracted: Catalog, korean: Catalog
) -> None:
    ko = _ids(korean)
    plurals = korean.num_plurals
    missing, empty = [], []
    for key, message in _ids(extracted).items():
        entry = ko.get(key)
        if entry is None:
            missing.append(key)
            continue
        forms = _forms(entry)
        wanted = plurals if message.pluralizable else 1
        if len(forms) != wanted or not all(f.strip() for f in forms):
            empty.append(key)
    assert missing == [], "run `make i18n-extract`, then translate these"
    assert empty == [], "translate these in wallet/translations/ko/.../messages.po"
    assert len(ko) >= 400  # the whole portal, not a stub catalogue


def test_catalogue_entries_fuzzy_or_obsolete_none(korean: Catalog) -> None:
    fuzzy = [_key(m) for m in korean if m.id and m.fuzzy]
    assert fuzzy == [], "review these translations and remove the fuzzy flag"
    # An obsolete (#~) entry is a translation whose msgid left the sources; pybabel
    # update may revive it as a fuzzy guess for a new msgid, hiding a missing string.
    assert list(korean.obsolete) == []
    assert not korean.fuzzy  # the header too: a fuzzy catalogue is not compiled


def test_catalogue_entries_not_in_sources_none(
    extracted: Catalog, korean: Catalog
) -> None:
    stale = sorted(set(_ids(korean)) - set(_ids(extracted)))
    assert stale == [], "run `make i18n-extract` to drop strings the code no longer has"


def test_catalogue_placeholders_match_msgid(korean: Catalog) -> None:
    wrong = []
    for message in korean:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else [message.id]
        expected = set().union(*(_placeholders(i) for i in ids))
        for form in _forms(message):
            if _placeholders(form) != expected:
                wrong.append((_key(message), form))
    assert wrong == []


def _gettext_calls(tree: ast.AST) -> Iterator[tuple[str, ast.Call]]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in GETTEXT_NAMES
        ):
            yield node.func.id, node


def _python_sources() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted((ROOT / "wallet").rglob("*.py")):
        if "sandbox" not in path.parts:  # emulates Toss's own pages; not translated
            yield str(path.relative_to(ROOT)), ast.parse(path.read_text("utf-8"))


def test_catalogue_python_gettext_calls_literal_msgids_passes() -> None:
    """`_(f"...")` or `_("a" + b)` is skipped by the extractor and never translated."""
    wrong = []
    for name, tree in _python_sources():
        for func, call in _gettext_calls(tree):
            literal = call.args[: 2 if "ngettext" in func else 1]
            if not literal or not all(
                isinstance(a, ast.Constant) and isinstance(a.value, str)
                for a in literal
            ):
                wrong.append(f"{name}:{call.lineno}")
    assert wrong == []


def test_catalogue_eager_gettext_at_import_time_none() -> None:
    """`_()` outside a function body runs once, without a request: use lazy_gettext."""
    wrong = []
    for name, tree in _python_sources():
        in_bodies = {
            id(sub)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            for stmt in node.body
            for sub in ast.walk(stmt)
        }
        wrong += [
            f"{name}:{call.lineno}"
            for func, call in _gettext_calls(tree)
            if func in ("_", "gettext", "ngettext") and id(call) not in in_bodies
        ]
    assert wrong == []


# -- rendered pages --------------------------------------------------------------------


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed .po compiled now, so pages test it even before `make translations`."""
    root = tmp_path_factory.mktemp("translations")
    target = root / "ko" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with KO_PO.open("rb") as f:
        catalog = read_po(f, locale="ko")
    with (target / "messages.mo").open("wb") as f:
        write_mo(f, catalog)
    return root


@pytest.fixture
def app_overrides(compiled: Path) -> dict[str, Any]:
    """Every app in this module reads the freshly compiled catalogue."""
    return {"TRANSLATIONS_DIR": compiled}


@pytest.fixture
def seeded(app: Flask, sandbox: Any, tmp_path: Path) -> dict[str, Any]:
    """The `make run` demo data (linked wallet, payments, a merchant) plus notices."""
    with app.test_request_context("/", base_url=HOST):
        demo.seed()
        shop = demo.seed_merchant("http://127.0.0.1:5002", tmp_path / "demo.json")
        demo.seed_wallet(sandbox.base_url, HOST, sandbox.client_key, shop.public_id)
        member = members.find_by_email(demo.DEMO_MEMBER[0])
        assert member is not None
        for kind in (LINK_REVOKED, RELINK_REQUIRED):
            notices.add(member.id, kind)
        db.session.commit()
        order = db.session.scalars(
            select(Order).filter_by(order_name=demo.DEMO_ORDERS[0][0])
        ).one()
        unpaid = orders.create_order(15000, "Matcha, 30 g", member=member)
        merchant = merchants.by_public_id(shop.public_id)
        assert merchant is not None
        return {
            "order": order.order_id,
            "unpaid": unpaid.order_id,
            "member": member.id,
            "merchant": merchant.id,
        }


def _pages(seeded: dict[str, Any]) -> dict[tuple[str, str] | None, list[str]]:
    """Paths to visit, by who visits them (None: nobody logged in)."""
    order = seeded["order"]
    return {
        None: ["/auth/login", "/auth/register", "/auth/forgot"],
        demo.DEMO_MEMBER: [
            "/wallet",
            "/wallet/methods",
            "/wallet/link",
            "/wallet/withdraw",
            "/wallet/connect",
            "/pay/new",
            f"/pay/orders/{seeded['unpaid']}",
            "/pay/history",
            f"/pay/orders/{order}/receipt",
            "/account/email",
            "/account",
            "/no/such/page",
        ],
        demo.DEMO_ADMIN: [
            "/auth/reauth",
            "/admin/",
            "/admin/members",
            f"/admin/members/{seeded['member']}",
            "/admin/payments",
            f"/admin/payments/{order}",
            "/admin/payments/export",
            "/admin/merchants",
            f"/admin/merchants/{seeded['merchant']}",
            "/admin/audit",
        ],
        demo.DEMO_SHOP_STAFF: ["/merchant"],
    }


def _render_all(app: Flask, seeded: dict[str, Any], lang: str) -> dict[str, str]:
    """Each page's HTML as this browser language sees it."""
    pages = {}
    for account, paths in _pages(seeded).items():
        client = logged_in_client(app, *account) if account else app.test_client()
        for path in paths:
            resp = client.get(path, headers={"Accept-Language": lang})
            assert resp.status_code == (404 if "no/such" in path else 200), path
            pages[path] = resp.get_data(as_text=True)
    return pages


class _Visible(HTMLParser):
    """Text a person reads or hears: text nodes and the labelling attributes."""

    ATTRS = ("aria-label", "title", "placeholder", "alt", "data-confirm")
    ATTRS += ("data-busy-label", "data-message", "data-idle-label")

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self.chunks += [" ".join(v.split()) for k, v in attrs if k in self.ATTRS and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.chunks.append(" ".join(data.split()))


def _untranslated(page: str, korean: Catalog) -> list[str]:
    """Catalogue msgids (or their literal parts) still in English on a Korean page."""
    parser = _Visible()
    parser.feed(page)
    chunks = parser.chunks
    found = []
    for message in korean:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else [message.id]
        translated = " ".join(_forms(message))
        for msgid in ids:
            for part in PLACEHOLDER.split(msgid)[::3]:
                part = part.strip(" .,:;()“”")
                if not part or part in translated:  # e.g. customerKey stays as is
                    continue
                if " " in part:
                    hit = any(part in chunk for chunk in chunks)
                else:  # one word: only where it is the whole text, like a label
                    hit = part in chunks
                if hit:
                    found.append(part)
    return found


def test_pages_korean_and_english_render_translated(
    app: Flask, seeded: dict[str, Any], korean: Catalog
) -> None:
    english = _render_all(app, seeded, "en")
    hangul = _render_all(app, seeded, "ko")
    login = korean.get("Log in")
    assert login is not None

    for path, page in english.items():
        assert '<html lang="en">' in page, path
    en_text = html.unescape("\n".join(english.values()))
    assert [p for p in ENGLISH_PHRASES if p not in en_text] == []
    assert "Log in" in english["/auth/login"]

    leftovers = {}
    for path, page in hangul.items():
        assert '<html lang="ko">' in page, path
        assert re.search("[가-힣]", page), path
        assert [p for p in ENGLISH_PHRASES if p in html.unescape(page)] == [], path
        if left := _untranslated(page, korean):
            leftovers[path] = left
    assert leftovers == {}
    assert login.string == "로그인"
    assert "로그인" in hangul["/auth/login"]
    assert "내 지갑" in hangul["/wallet"]
    assert "결제수단" in hangul["/wallet/methods"]
    assert "관리자 콘솔" in hangul["/admin/"]
    assert "웹훅 전송" in hangul["/merchant"]
    assert "모든 기기에서 로그아웃" in hangul["/account"]
    assert "페이지를 찾을 수 없습니다." in hangul["/no/such/page"]


# -- language choice and messages from services ----------------------------------------


@pytest.fixture
def member_client(app: Flask, make_member: Any) -> FlaskClient:
    """A logged-in member who has chosen no language yet."""
    make_member("kim@example.com", "correct-horse-1")
    return logged_in_client(app, "kim@example.com", "correct-horse-1")


def test_language_switch_remembered_on_member_beats_accept_language(
    app: Flask, member_client: FlaskClient
) -> None:
    home = member_client.get("/wallet", headers={"Accept-Language": "en"})
    assert '<html lang="en">' in home.get_data(as_text=True)
    switched = member_client.post(
        "/auth/language",
        data={
            "lang": "ko",
            "next": "/wallet",
            "csrf_token": csrf_token(home.get_data(as_text=True)),
        },
        headers={"Accept-Language": "en"},
    )
    assert switched.status_code == 302
    # A new session (another device) with an English browser: the member's setting wins.
    other = logged_in_client(app, "kim@example.com", "correct-horse-1")
    page = other.get("/wallet", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert '<html lang="ko">' in page
    assert "내 지갑" in page
    assert "Your wallet" not in page


def test_service_errors_shown_in_korean_translated(
    app: Flask, member_client: FlaskClient
) -> None:
    ko = {"Accept-Language": "ko"}
    # NotFoundError's lazy default message, raised by the notices service.
    home = member_client.get("/wallet", headers=ko).get_data(as_text=True)
    gone = member_client.post(
        "/wallet/notices/999999/dismiss",
        data={"csrf_token": csrf_token(home)},
        headers=ko,
    )
    assert gone.status_code == 404
    body = gone.get_data(as_text=True)
    assert "찾을 수 없습니다." in body
    assert "We could not find that" not in body
    # A message the service translates when it raises (gettext at raise time).
    receipt = member_client.get("/pay/orders/no-such-order/receipt", headers=ko)
    assert receipt.status_code == 404
    assert "주문을 찾을 수 없습니다." in receipt.get_data(as_text=True)
    # A form validator's lazy message with its values filled in.
    page = member_client.get("/pay/new", headers=ko).get_data(as_text=True)
    small = member_client.post(
        "/pay/new",
        data={"order_name": "Tea", "amount": "50", "csrf_token": csrf_token(page)},
        headers=ko,
    )
    assert small.status_code == 400
    assert "원에서 " in small.get_data(as_text=True)
    # The members service's login refusal, flashed on the form.
    anonymous = app.test_client()
    form = anonymous.get("/auth/login", headers=ko).get_data(as_text=True)
    refused = anonymous.post(
        "/auth/login",
        data={
            "email": "kim@example.com",
            "password": "wrong-password-1",
            "csrf_token": csrf_token(form),
        },
        headers=ko,
        follow_redirects=True,
    )
    text = refused.get_data(as_text=True)
    assert "이메일 또는 비밀번호가 올바르지 않습니다." in text
    assert "Wrong email or password." not in text
