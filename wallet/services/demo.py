"""Demo data for `make run` (development only): members, a linked wallet with a short
payment history, and a merchant whose example shop sells through the portal.

Everything here is idempotent: `make run` calls it on every start and instance/ keeps
the data, so a second start finds what the first one made and adds nothing.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from wallet.errors import WalletError
from wallet.files import write_private
from wallet.models import Member
from wallet.models.merchant import Merchant
from wallet.models.order import Order
from wallet.sandbox.testing import SandboxServer, query_of
from wallet.services import (
    brandpay,
    members,
    merchants,
    orders,
    payments,
    toss,
    wallet_links,
)

DEMO_MEMBER = ("demo@example.com", "demo-password-1")
DEMO_ADMIN = ("admin@example.com", "admin-password-1")
DEMO_SHOP_STAFF = ("shop@example.com", "shop-password-1")
ACCOUNTS = (
    (DEMO_MEMBER, "member"),
    (DEMO_ADMIN, "admin"),
    (DEMO_SHOP_STAFF, "member"),
)

# Sandbox test cards (wallet/sandbox/README.md): 현대 신용 and 신한 체크.
DEMO_CARDS = ("4330123412341234", "5310123412341234")
# (order name, amount in won, partly refunded amount)
DEMO_ORDERS = (
    ("Ceramic teapot", 48000, 8000),
    ("Green tea, 100 g", 12300, 0),
    ("Bamboo tea whisk", 9900, 0),
)
DEMO_REFUND_REASON = "Lid arrived chipped"
DEMO_SHOP_ORDER = ("Jasmine tea, 50 g", 8800)  # bought at the example shop
DEMO_MERCHANT_NAME = "Example tea shop"
# contract §10: Toss refuses a second POST on one paymentKey within 1 s.
CONSECUTIVE_GAP = 1.1


def seed() -> list[str]:
    """Create the demo accounts once; say what exists (needs no Toss)."""
    for (email, password), role in ACCOUNTS:
        if members.find_by_email(email) is None:
            members.register(email, password, role=role)
    return describe()


def describe() -> list[str]:
    """The demo logins, for printing."""
    roles = {DEMO_SHOP_STAFF: "shop"}
    return [
        f"  {roles.get((email, password), role):<7} {email} / {password}"
        for (email, password), role in ACCOUNTS
    ]


# -- the demo member's wallet and history ----------------------------------------------


@contextmanager
def _hosted_pages(sandbox_url: str, client_key: str) -> Iterator[SandboxServer]:
    """The sandbox's browser-step driver, aimed at an already running sandbox."""
    driver = SandboxServer()
    driver.base_url = sandbox_url.rstrip("/")
    driver.client_key = client_key
    try:
        yield driver
    finally:
        driver.stop()  # not serving anything: this only closes its HTTP session


def seed_wallet(
    sandbox_url: str,
    portal_url: str,
    client_key: str,
    merchant_id: str | None = None,
) -> str:
    """Link the demo member at the sandbox with two cards and pay a few orders (one of
    them at the merchant `merchant_id`, through a wallet link, when it is given)."""
    member = members.find_by_email(DEMO_MEMBER[0])
    if member is None:
        seed()
        member = members.find_by_email(DEMO_MEMBER[0])
    assert member is not None  # noqa: S101 - seed() just created it
    portal_url = portal_url.rstrip("/")
    with _hosted_pages(sandbox_url, client_key) as hosted:
        link = brandpay.link_of(member)
        if link is None or link.status != "linked":
            _link(member, hosted, f"{portal_url}/brandpay/callback")
        shop = merchants.by_public_id(merchant_id) if merchant_id else None
        made = _pay_history(member, hosted, portal_url, shop)
    overview = brandpay.methods_overview(member)  # also caches the count for home
    return f"demo wallet linked with {overview.count} methods" + (
        f"; {made} payments made" if made else ""
    )


def link_member(
    member: Member, sandbox_url: str, portal_url: str, client_key: str
) -> None:
    """Link a member's wallet with the demo cards, as if they had used the hosted pages."""
    with _hosted_pages(sandbox_url, client_key) as hosted:
        _link(member, hosted, f"{portal_url.rstrip('/')}/brandpay/callback")


def _link(member: Member, hosted: SandboxServer, callback_url: str) -> None:
    """Consent + cards on the hosted pages, then the portal's own link (contract §2)."""
    known = toss().get_methods_by_customer(member.customer_key)
    have = {(card.card_number or "")[:8] for card in known.cards}
    location = ""
    for number in DEMO_CARDS:
        if number[:8] not in have:
            location = hosted.add_card(member.customer_key, callback_url, number)
    if not location:  # every card is still there: an account yields a fresh code
        location = hosted.add_account(member.customer_key, callback_url)
    brandpay.start_link_attempt(member)
    answer = query_of(location)
    brandpay.complete_link(member, answer.get("code"), answer.get("customerKey"))


def _pay_history(
    member: Member, hosted: SandboxServer, portal_url: str, merchant: Merchant | None
) -> int:
    """DONE payments, one of them partly refunded; nothing if any history exists."""
    if orders.page(member_id=member.id, limit=1).orders:
        return 0
    paid = []
    for name, amount, refund in DEMO_ORDERS:
        order = orders.create_order(amount, name, member=member)
        paid.append((_pay(member, hosted, portal_url, order), refund, time.monotonic()))
    if merchant is not None:
        paid.append((_pay_at_shop(member, hosted, portal_url, merchant), 0, 0.0))
    for order, refund, confirmed_at in paid:
        if refund:
            time.sleep(max(0.0, CONSECUTIVE_GAP - (time.monotonic() - confirmed_at)))
            payments.refund(order, refund, DEMO_REFUND_REASON, DEMO_ADMIN[0])
    return len(paid)


def _pay_at_shop(
    member: Member, hosted: SandboxServer, portal_url: str, merchant: Merchant
) -> Order:
    """The shop's order, taken through a signed pay link as the embed button does."""
    name, amount = DEMO_SHOP_ORDER
    return_url = f"{merchant.origins[0]}/return"
    order = merchants.create_order(merchant, amount, name, return_url)
    token = wallet_links.sign_link(merchant, "pay", return_url, order=order)
    wallet_links.redeem_pay_link(token, member)
    return _pay(member, hosted, portal_url, order)


def _pay(member: Member, hosted: SandboxServer, portal_url: str, order: Order) -> Order:
    """Approve with the PIN on the hosted page, then confirm like the successUrl does."""
    base = f"{portal_url}/pay/orders/{order.order_id}"
    location = hosted.authorize_payment(
        member.customer_key,
        order.order_id,
        order.amount,
        order.order_name,
        f"{base}/success",
        f"{base}/fail",
    )
    answer = query_of(location)
    return payments.confirm(
        member,
        order.order_id,
        answer["paymentKey"],
        answer["orderId"],
        int(answer["amount"]),
    )


# -- the demo merchant -----------------------------------------------------------------


@dataclass(frozen=True)
class DemoMerchant:
    """What the example shop needs to talk to the portal."""

    public_id: str
    api_key: str
    signing_secret: str


def seed_merchant(shop_url: str, store: Path) -> DemoMerchant:
    """The demo merchant with a working API key; the raw key lives in `store` (0600)."""
    saved = json.loads(store.read_text("utf-8")) if store.exists() else {}
    merchant = merchants.by_public_id(saved.get("merchant_id", ""))
    if merchant is None:
        merchant, _secret = merchants.create_merchant(
            DEMO_MERCHANT_NAME, [shop_url], f"{shop_url}/webhooks", actor="demo"
        )
        saved = {"merchant_id": merchant.public_id}
    staff = members.find_by_email(DEMO_SHOP_STAFF[0])
    if staff is not None:
        merchants.add_staff(merchant, staff.email, "demo")
    api_key = saved.get("api_key", "")
    try:
        merchants.authenticate_api_key(api_key)
    except WalletError:  # first start, or the key was revoked on the dashboard
        _key, api_key = merchants.issue_api_key(merchant, "demo shop", "demo")
        saved["api_key"] = api_key
        write_private(store, json.dumps(saved))  # 0600 from the start
    # The signing secret is read back from the vault, so a rotation on the dashboard
    # reaches the shop on the next start.
    _kid, key = merchants.current_key(merchant)
    secret = merchants.SECRET_PREFIX + base64.b64encode(key).decode("ascii")
    return DemoMerchant(merchant.public_id, api_key, secret)
