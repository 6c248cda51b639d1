"""Browser steps shared by the journeys: the portal's forms and the sandbox's hosted pages.

Each step acts like a person would (labels and button names, never CSS selectors) and
waits for the page it should land on, so a journey reads as a list of steps.
"""

from __future__ import annotations

import re
import time
from typing import Any

from flask import Flask
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select

from wallet.extensions import db
from wallet.models import Member
from wallet.models.brandpay_link import BrandPayLink
from wallet.models.order import Order

PIN = "123456"  # the sandbox's payment PIN for every customer (sandbox README)
GOOD_CARD = "4330123412341234"
SECOND_CARD = "5310123412341234"
DECLINED_CARD = "4000000000000002"
ORDER_URL = re.compile(r".*/pay/orders/ord_[^/]+$")


def masked(card_number: str) -> str:
    """The first eight digits, which the sandbox keeps visible in its masked numbers."""
    return card_number[:8]


def register(page: Any, portal: str, email: str, password: str) -> None:
    """Create an account through the real form, then log in; lands on the wallet home.

    Registration never logs in by itself (its answer must not tell a new email from a
    taken one, issue 13): it sends the new member to the login page.
    """
    page.goto(f"{portal}/auth/register")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Repeat password").fill(password)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{portal}/auth/login")
    log_in(page, portal, email, password)
    page.wait_for_url(f"{portal}/wallet")


def log_in(page: Any, portal: str, email: str, password: str) -> None:
    """Log in through the real form (stays wherever `next` sends the member)."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


TOSS_FRAME = "iframe[title='토스페이먼츠 결제창']"  # the SDK v2 overlay window


def toss_window(page: Any, timeout: float = 30.0) -> Any:
    """The Toss window the SDK opened: an iframe over the portal's page on wide
    screens, the whole page on phones (the sandbox's transport, like the real SDK's)."""
    deadline = time.monotonic() + timeout
    while True:
        if "/_hosted/" in page.url:
            page.wait_for_load_state()
            return page
        try:
            if page.locator(TOSS_FRAME).count():
                return page.frame_locator(TOSS_FRAME)
        except PlaywrightError:
            pass  # the page is navigating
        assert time.monotonic() < deadline, f"no Toss window opened on {page.url}"
        page.wait_for_timeout(100)


def window_closed(page: Any) -> None:
    """Wait until the SDK's overlay left the portal's page."""
    page.wait_for_selector(TOSS_FRAME, state="detached")


def hosted_register(page: Any, card_number: str) -> None:
    """In the Toss window's registration step: tick the terms shown, a test card."""
    frame = toss_window(page)
    frame.get_by_role("heading", name="브랜드페이 결제수단 등록").wait_for()
    for box in frame.get_by_role("checkbox").all():
        box.check()
    frame.get_by_label("카드번호").fill(card_number)
    frame.get_by_role("button", name="등록하기").click()


def register_inside_payment(page: Any, card_number: str = GOOD_CARD) -> None:
    """In the BrandPay payment window of a customer without methods: register one."""
    frame = toss_window(page)
    frame.get_by_role("heading", name="브랜드페이 결제").wait_for()
    frame.get_by_role("link", name="결제수단 등록").click()
    hosted_register(page, card_number)


def hosted_pay(page: Any, card_number: str | None = None, pin: str = PIN) -> None:
    """In the BrandPay payment window: pick a saved card (default: the selected one),
    then the PIN."""
    frame = toss_window(page)
    frame.get_by_role("heading", name="브랜드페이 결제").wait_for()
    if card_number:
        frame.get_by_label(re.compile(re.escape(masked(card_number)))).check()
    frame.get_by_label(re.compile("결제 비밀번호")).fill(pin)
    frame.get_by_role("button", name="결제하기").click()


def hosted_cancel(page: Any) -> None:
    """The window's own cancel button (failUrl?code=PAY_PROCESS_CANCELED)."""
    frame = toss_window(page)
    frame.get_by_role("button", name="결제 취소").click()


def close_window(page: Any) -> None:
    """The overlay's × (the SDK rejects with USER_CANCEL; the page stays)."""
    page.get_by_role("dialog").get_by_role("button", name="닫기").click()
    window_closed(page)


def methods_loaded(page: Any) -> None:
    """The methods page shows at once and loads Toss's list after: wait for it."""
    page.wait_for_selector("#methods-list:not([aria-busy=true])")


def card_window_pay(page: Any, card_number: str) -> None:
    """In the standard card window (카드 결제): a test card, then pay."""
    frame = toss_window(page)
    frame.get_by_role("heading", name="카드 결제").wait_for()
    frame.get_by_label("카드번호").fill(card_number)
    frame.get_by_role("button", name=re.compile("결제하기$")).click()


def intl_window_pay(page: Any, card_number: str) -> None:
    """In the international window (English by default): an overseas test card."""
    frame = toss_window(page)
    frame.get_by_role("heading", name="Pay by card").wait_for()
    frame.get_by_label("Card number").fill(card_number)
    frame.get_by_label("Security code (CVC)").fill("123")
    frame.get_by_label("Name on card").fill("Jane Doe")
    frame.get_by_role("button", name="Pay", exact=True).click()


def new_order(page: Any, portal: str, name: str, amount: int) -> str:
    """Create an order on the portal's "new payment" page; returns its checkout URL."""
    page.goto(f"{portal}/pay/new")
    page.get_by_label("What is it for?").fill(name)
    page.get_by_label("Amount (won)").fill(str(amount))
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(ORDER_URL)
    return str(page.url)


def pay_button(page: Any) -> Any:
    """The checkout's BrandPay button."""
    return page.get_by_role("button", name=re.compile(r"^Pay ₩[\d,]+ with BrandPay$"))


def card_button(page: Any) -> Any:
    """The checkout's standard card window button."""
    return page.get_by_role("button", name="Pay with a card")


def foreign_card_button(page: Any) -> Any:
    """The checkout's international card window button."""
    return page.get_by_role("button", name=re.compile(r"^Foreign card"))


def member(app: Flask, email: str) -> Member:
    """The member row (detached; read its columns only)."""
    with app.app_context():
        found = db.session.scalars(select(Member).filter_by(email=email)).one()
        db.session.expunge(found)
        return found


def link_status(app: Flask, member_id: int) -> str | None:
    """The member's BrandPay link status in the portal's database."""
    with app.app_context():
        link = db.session.scalars(
            select(BrandPayLink).filter_by(member_id=member_id)
        ).one_or_none()
        return link.status if link else None


def order_state(app: Flask, order_id: str) -> dict[str, Any]:
    """An order's status and its payment's amounts, as the portal stored them."""
    with app.app_context():
        order = db.session.scalars(select(Order).filter_by(order_id=order_id)).one()
        payment = order.payment
        return {
            "status": order.status,
            "failure_code": order.failure_code,
            "paid": payment.total_amount if payment else None,
            "balance": payment.balance_amount if payment else None,
            "payment_key": payment.payment_key if payment else None,
        }


def order_id_of(url: str) -> str:
    """The orderId in a /pay/orders/<id>[/...] URL."""
    found = re.search(r"/pay/orders/(ord_[^/?]+)", url)
    assert found, url
    return found.group(1)


_FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(),
    name: el.getAttribute("name") || "",
    text: (el.innerText || el.value || "").trim(),
    outline: style.outlineStyle,
    outline_width: parseFloat(style.outlineWidth) || 0,
    in_view: box.width > 0 && box.left >= 0 && box.top >= 0 && box.right <= innerWidth,
  };
}"""


def focused(page: Any) -> dict[str, Any]:
    """What has keyboard focus: tag, name, text, its outline and whether it is on screen."""
    return dict(page.evaluate(_FOCUSED))


def tab_to(
    page: Any, tag: str, text: str | None = None, name: str | None = None
) -> dict[str, Any]:
    """Press Tab until the element with this tag and text (or name) has focus."""
    seen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        now = focused(page)
        seen.append((now["tag"], now["name"] or now["text"][:30]))
        if now["tag"] == tag and (
            (text is not None and now["text"] == text)
            or (name is not None and now["name"] == name)
        ):
            return now
    raise AssertionError(f"Tab never reached {tag} {text or name}; focus went {seen}")
