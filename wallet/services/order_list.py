"""The list pages' own read path: only the columns their tables show (issue 16).

History, the wallet home's recent payments, the admin's payments and member pages and
the merchant dashboard show about a dozen columns of an order and its payment.
`orders.page` hydrates whole ORM rows for them (16 + 22 columns into the identity map,
every datetime through `UTCDateTime`): a quarter to a third of those pages' time. It
stays for callers that read any column (the merchant API). Here one Core statement,
with `orders.page`'s filters, keyset and order, reads only the columns the list
templates read, into frozen rows built in one pass.

A template that reads anything else gets `NotListedError`, not an empty string (Jinja
renders an AttributeError as an empty Undefined) and not a query per row: add the
column here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from wallet.extensions import db
from wallet.models._types import utcnow
from wallet.models.member import Member
from wallet.models.merchant import Merchant
from wallet.models.order import Order, shown_status
from wallet.models.payment import Amounts, Payment
from wallet.services import orders


class NotListedError(RuntimeError):
    """A list template read an attribute the list rows do not carry."""


class _Row:
    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        # Reached only for names the row lacks. Not an AttributeError: Jinja would
        # render it as nothing.
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotListedError(
            f"{type(self).__name__}.{name} is not read by the list pages: "
            "add its column in wallet/services/order_list.py"
        )


@dataclass(frozen=True, slots=True)
class ListedMember(_Row):
    id: int
    email: str


@dataclass(frozen=True, slots=True)
class ListedMerchant(_Row):
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class ListedPayment(_Row, Amounts):
    """What the lists show of a payment (as `Payment`'s columns and properties)."""

    status: str
    method: str | None
    card_number: str | None
    total_amount: int
    balance_amount: int
    refund_reserved: int
    approved_at: datetime | None


@dataclass(frozen=True, slots=True)
class ListedOrder(_Row):
    """What the lists show of an order (as `Order`'s columns and properties)."""

    id: int
    order_id: str
    order_name: str
    amount: int
    status: str
    created_at: datetime
    expires_at: datetime
    failure_code: str | None
    pay_way: str | None
    merchant_id: int | None
    member_id: int | None
    payment: ListedPayment | None
    merchant: ListedMerchant | None
    member: ListedMember | None

    @property
    def shown_status(self) -> str:
        """As `Order.shown_status` (DECLINED for an unpaid order Toss declined)."""
        return shown_status(self.status, self.failure_code)

    def is_past_expiry(self, now: datetime | None = None) -> bool:
        """As `Order.is_past_expiry`."""
        return (now or utcnow()) >= self.expires_at


@dataclass(frozen=True)
class ListedPage:
    """One page of listed orders, newest first, and the cursor of the next page."""

    orders: Sequence[ListedOrder]
    next_cursor: str | None


_O = Order.__table__
_P = Payment.__table__
_SHOP = Merchant.__table__
_WHO = Member.__table__
# ListedOrder's fields in order; merchant_id and member_id last (_build reads them
# by position).
_ORDER_COLUMNS = [
    _O.c[name]
    for name in (
        "id",
        "order_id",
        "order_name",
        "amount",
        "status",
        "created_at",
        "expires_at",
        "failure_code",
        "pay_way",
        "merchant_id",
        "member_id",
    )
]
# payments.status is NOT NULL: NULL here means the order has no payment.
_PAYMENT_COLUMNS = [
    _P.c[name]
    for name in (
        "status",
        "method",
        "card_number",
        "total_amount",
        "balance_amount",
        "refund_reserved",
        "approved_at",
    )
]
_N_ORDER = len(_ORDER_COLUMNS)
_N_ROW = _N_ORDER + len(_PAYMENT_COLUMNS)


def _select(join_shop: bool, join_member: bool) -> Select[Any]:
    """The list statement without its filters: the shop's name and the member's
    email are joined unless the list is filtered on that shop or member."""
    joined = _O.outerjoin(_P, _P.c.order_pk == _O.c.id)
    columns: list[Any] = [*_ORDER_COLUMNS, *_PAYMENT_COLUMNS]
    if join_shop:
        joined = joined.outerjoin(_SHOP, _SHOP.c.id == _O.c.merchant_id)
        columns.append(_SHOP.c.name)
    if join_member:
        joined = joined.outerjoin(_WHO, _WHO.c.id == _O.c.member_id)
        columns.append(_WHO.c.email)
    return select(*columns).select_from(joined).order_by(*orders.NEWEST_FIRST)


# Built once (issue 16): (join the shop, join the member) -> statement.
_SELECTS = {
    (shop, who): _select(shop, who) for shop in (True, False) for who in (True, False)
}


def listed(
    *,
    member: Member | None = None,
    merchant: Merchant | None = None,
    cursor: str | None = None,
    limit: int = 20,
    **where: Any,
) -> ListedPage:
    """`orders.page` for the list pages: the same rows, cursors and order, as
    `ListedOrder`s, in one statement. `member` or `merchant` filter the list and are
    every row's `.member` or `.merchant` (not joined); `where` are `orders.filters`'
    other filters (`statuses`, `merchant_id` for the history's shop filter, whose
    name is joined, `direct_only`, `declined_only`, `since`, `before`)."""
    if member is not None:
        where["member_id"] = member.id
    if merchant is not None:
        where["merchant_id"] = merchant.id
    clauses = orders.filters(cursor=cursor, **where)
    base = _SELECTS[merchant is None, member is None]
    query = base.where(*clauses).limit(limit + 1)
    # A Core statement does not autoflush; the ORM `page` would have (no-op if clean).
    db.session.flush()
    rows = db.session.execute(query).all()
    more = len(rows) > limit
    built = _build(
        rows[:limit],
        ListedMember(member.id, member.email) if member is not None else None,
        ListedMerchant(merchant.id, merchant.name) if merchant is not None else None,
    )
    return ListedPage(
        built, orders.encode_cursor(built[-1]) if more and built else None
    )


def _build(
    rows: Sequence[Any],
    member: ListedMember | None,
    merchant: ListedMerchant | None,
) -> list[ListedOrder]:
    """Rows of `listed`'s statement as ListedOrders, in one pass. After the order's
    and the payment's columns come the shop's name (unless `merchant` is given), then
    the member's email (unless `member` is)."""
    built = []
    for row in rows:
        merchant_id, member_id = row[_N_ORDER - 2], row[_N_ORDER - 1]
        shop, who, extra = merchant, member, _N_ROW
        if merchant is None:
            if merchant_id is not None and row[extra] is not None:
                shop = ListedMerchant(merchant_id, row[extra])
            extra += 1
        if member is None and member_id is not None and row[extra] is not None:
            who = ListedMember(member_id, row[extra])
        payment = (
            ListedPayment(*row[_N_ORDER:_N_ROW]) if row[_N_ORDER] is not None else None
        )
        built.append(ListedOrder(*row[:_N_ORDER], payment, shop, who))  # type: ignore[misc]
    return built
