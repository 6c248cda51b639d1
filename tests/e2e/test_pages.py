"""Every main page, with the demo's data: no serious accessibility violation (axe), and
nothing wider than a phone's screen at 390 px (WCAG 1.4.10 reflow)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.e2e import steps
from wallet.extensions import db
from wallet.models.order import Order
from wallet.services import demo, merchants, orders

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1100, "height": 900}
WIDE = {"width": 1280, "height": 800}
_OVERFLOW = (
    "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
)
# Issue 14: no table, list or card scrolls sideways either (a table scrolling inside
# its region still cuts the amount and status off a phone's screen).
_WIDE_ELEMENTS = """() => Array.from(document.querySelectorAll(
    'table, .table-scroll, dl, .card, form, ul, .filters, .actions'))
  .filter(el => el.scrollWidth > el.clientWidth + 1)
  .map(el => `${el.tagName.toLowerCase()}.${el.className || '-'} +${el.scrollWidth - el.clientWidth}px`)"""


@pytest.fixture
def seeded(app: Flask, live_portal: str, sandbox: Any, tmp_path: Any) -> dict[str, Any]:
    """The `make run` demo data in this test's database; ids the pages need."""
    with app.test_request_context("/", base_url=live_portal):
        demo.seed()
        shop = demo.seed_merchant("http://127.0.0.1:5002", tmp_path / "demo.json")
        demo.seed_wallet(
            sandbox.base_url, live_portal, sandbox.client_key, shop.public_id
        )
        partial = db.session.scalars(
            select(Order).filter_by(order_name="Ceramic teapot")
        ).one()
        shop_order = db.session.scalars(
            select(Order).filter_by(order_name=demo.DEMO_SHOP_ORDER[0])
        ).one()
        # An unpaid order too: history lists it with "Pay now" (issue 14).
        orders.create_order(15000, "Matcha, 30 g", member=partial.member)
        return {
            "order_id": partial.order_id,
            "shop_order": shop_order.order_id,
            "member_id": partial.member_id,
            "merchant": shop.public_id,
            "merchant_pk": merchants.by_public_id(shop.public_id).id,
        }


def _check_pages(
    page: Any,
    portal: str,
    paths: list[tuple[str, str]],
    shot: Callable[..., Any],
    assert_accessible: Callable[..., None],
) -> None:
    """Visit each page: screenshot + axe on a desktop, then the reflow check on a phone."""
    wide = []
    for name, path in paths:
        page.set_viewport_size(DESKTOP)
        response = page.goto(portal + path)
        assert response.status < 500, f"{path}: {response.status}"
        shot(name)
        assert_accessible(name)
        page.set_viewport_size(WIDE)
        if sideways := page.evaluate(_WIDE_ELEMENTS):
            wide.append((path, 1280, sideways))
        page.set_viewport_size(PHONE)
        overflow = page.evaluate(_OVERFLOW)
        sideways = page.evaluate(_WIDE_ELEMENTS)
        if overflow > 0 or sideways:
            shot(f"{name}-phone")
            wide.append((path, overflow, sideways))
    assert wide == [], f"wider than the screen (path, page px, elements): {wide}"


def _log_in_as(page: Any, portal: str, account: tuple[str, str]) -> None:
    page.context.clear_cookies()
    page.goto(f"{portal}/auth/login")
    steps.log_in(page, portal, *account)
    page.wait_for_url(f"{portal}/wallet")


def test_pages_anonymous_and_member_accessible_and_fit_phone(
    page: Any,
    live_portal: str,
    seeded: dict[str, Any],
    shot: Callable[..., Any],
    assert_accessible: Callable[..., None],
) -> None:
    anonymous = [("login", "/auth/login"), ("register", "/auth/register")]
    _check_pages(page, live_portal, anonymous, shot, assert_accessible)

    _log_in_as(page, live_portal, demo.DEMO_MEMBER)
    order = seeded["order_id"]
    member_pages = [
        ("wallet", "/wallet"),
        ("methods", "/wallet/methods"),
        ("link", "/wallet/link"),
        ("withdraw", "/wallet/withdraw"),
        ("history", "/pay/history"),
        ("receipt-partial", f"/pay/orders/{order}/receipt"),
        ("receipt-shop", f"/pay/orders/{seeded['shop_order']}/receipt"),
        ("history-filtered", "/pay/history?status=paid&shop=direct"),
        ("new-payment", "/pay/new"),
        ("mandates", "/wallet/mandates"),
        ("account", "/account"),
        ("not-found", "/no/such/page"),
    ]
    _check_pages(page, live_portal, member_pages, shot, assert_accessible)

    # A form with errors: messages tied to their fields, still accessible.
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_portal}/pay/new")
    page.get_by_label("Amount (won)").fill("50")
    page.get_by_role("button", name="Continue to payment").click()
    amount = page.get_by_label("Amount (won)")
    assert amount.get_attribute("aria-invalid") == "true"
    assert (
        "Enter between"
        in page.locator(
            "#" + amount.get_attribute("aria-describedby").split()[-1]
        ).inner_text()
    )
    shot("new-payment-errors")
    assert_accessible("new payment with errors")


def test_pages_admin_and_merchant_accessible_and_fit_phone(
    page: Any,
    live_portal: str,
    seeded: dict[str, Any],
    shot: Callable[..., Any],
    assert_accessible: Callable[..., None],
) -> None:
    _log_in_as(page, live_portal, demo.DEMO_ADMIN)
    admin_pages = [
        ("admin", "/admin/"),
        ("admin-members", "/admin/members"),
        ("admin-member", f"/admin/members/{seeded['member_id']}"),
        ("admin-payments", "/admin/payments"),
        ("admin-payment", f"/admin/payments/{seeded['order_id']}"),
        ("admin-merchants", "/admin/merchants"),
        ("admin-audit", "/admin/audit"),
        ("admin-mandates", "/admin/mandates"),
        ("admin-merchant-detail", f"/admin/merchants/{seeded['merchant_pk']}"),
        ("admin-export", "/admin/payments/export"),
    ]
    _check_pages(page, live_portal, admin_pages, shot, assert_accessible)
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_portal}/admin/merchants")
    page.get_by_role("link", name=demo.DEMO_MERCHANT_NAME).first.click()
    shot("admin-merchant")
    assert_accessible("admin merchant detail")

    _log_in_as(page, live_portal, demo.DEMO_SHOP_STAFF)
    _check_pages(
        page,
        live_portal,
        [
            ("merchant", "/merchant"),
            (
                "merchant-order",
                f"/merchant/{seeded['merchant_pk']}/orders/{seeded['shop_order']}",
            ),
        ],
        shot,
        assert_accessible,
    )


def test_pages_korean_fit_phone_and_wide_screen(
    page: Any, live_portal: str, seeded: dict[str, Any]
) -> None:
    """Korean words are longer on a line than English ones: the same reflow checks,
    in Korean, for the lists a phone shows (member, admin, merchant)."""
    accounts = {
        demo.DEMO_MEMBER: [
            "/pay/history",
            f"/pay/orders/{seeded['order_id']}/receipt",
            f"/pay/orders/{seeded['shop_order']}/receipt",
            "/wallet/mandates",
            "/account",
        ],
        demo.DEMO_ADMIN: [
            "/admin/payments",
            f"/admin/payments/{seeded['order_id']}",
            f"/admin/members/{seeded['member_id']}",
            "/admin/mandates",
            "/admin/audit",
        ],
        demo.DEMO_SHOP_STAFF: [
            "/merchant",
            f"/merchant/{seeded['merchant_pk']}/orders/{seeded['shop_order']}",
        ],
    }
    wide = []
    for account, paths in accounts.items():
        _log_in_as(page, live_portal, account)
        page.get_by_role("button", name="한국어").click()
        page.wait_for_selector('html[lang="ko"]')
        for path in paths:
            page.set_viewport_size(WIDE)
            page.goto(live_portal + path)
            assert page.locator("html").get_attribute("lang") == "ko", path
            if sideways := page.evaluate(_WIDE_ELEMENTS):
                wide.append((path, 1280, sideways))
            page.set_viewport_size(PHONE)
            overflow, sideways = page.evaluate(_OVERFLOW), page.evaluate(_WIDE_ELEMENTS)
            if overflow > 0 or sideways:
                wide.append((path, overflow, sideways))
        page.get_by_role("button", name="English").click()  # the member's setting
    assert wide == [], f"wider than the screen in Korean: {wide}"
