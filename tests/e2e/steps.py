"""Browser steps shared by the journeys: the portal's forms and the sandbox's hosted pages.

Each step acts like a person would (labels and button names, never CSS selectors) and
waits for the page it should land on, so a journey reads as a list of steps.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
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


def hosted_register(page: Any, card_number: str) -> None:
    """On the sandbox's registration page: tick the terms shown, enter a test card."""
    page.wait_for_url(re.compile(r".*/_hosted/register\?.*"))
    for box in page.get_by_role("checkbox").all():
        box.check()
    page.get_by_label("카드번호").fill(card_number)
    page.get_by_role("button", name="등록하기").click()


def hosted_pay(page: Any, card_number: str | None = None, pin: str = PIN) -> None:
    """On the sandbox's pay page: pick a saved card (default: the selected one), PIN."""
    page.wait_for_url(re.compile(r".*/_hosted/pay\?.*"))
    if card_number:
        page.get_by_label(re.compile(re.escape(masked(card_number)))).check()
    page.get_by_label(re.compile("결제 비밀번호")).fill(pin)
    page.get_by_role("button", name="결제하기").click()


def hosted_cancel(page: Any) -> None:
    """Close the sandbox's pay window without paying (PAY_PROCESS_CANCELED)."""
    page.wait_for_url(re.compile(r".*/_hosted/pay\?.*"))
    page.get_by_role("button", name="결제 취소").click()


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
