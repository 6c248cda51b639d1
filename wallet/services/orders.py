"""Orders: create them server-side, find a member's, expire unpaid ones, list history.

Every status change goes through `move` so that `events.order_changed` runs inside the
same transaction as the change (the merchant outbox relies on it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, bindparam, or_, select, update
from sqlalchemy.orm import joinedload

from wallet.errors import NotFoundError, WalletError
from wallet.extensions import db
from wallet.labels import krw
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.order import (
    EXPIRED,
    MAX_AMOUNT,
    MAX_ORDER_NAME,
    MIN_AMOUNT,
    ORDER_ID_RE,
    PENDING,
    STOPPED_BY_MEMBER,
    Order,
)
from wallet.models.order import (
    STATUSES as ORDER_STATUSES,
)
from wallet.models.payment import Payment
from wallet.services import events

M = TypeVar("M")

# The admin's and a merchant's payment lists show orders that reached Toss; untouched
# and expired checkouts are not payments. A member's history shows every order
# (issue 14: unpaid, declined and expired attempts must not vanish).
HISTORY_STATUSES = tuple(s for s in ORDER_STATUSES if s not in (PENDING, EXPIRED))
MEMBER_HISTORY_STATUSES = ORDER_STATUSES
_CURSOR_RE = re.compile(r"^(\d{1,20})-(\d{1,18})$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InvalidOrderError(WalletError):
    """The amount or name of a new order is not acceptable."""

    status = 400
    code = "INVALID_ORDER"


def lock(model: type[M], pk: int) -> M:
    """Load one row and hold it until commit: FOR UPDATE on PostgreSQL; on SQLite a
    no-op UPDATE, which takes the database's write lock for the transaction."""
    table = model.__table__  # type: ignore[attr-defined]
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(update(table).where(table.c.id == pk).values(id=table.c.id))
    row = db.session.scalars(
        select(model)
        .where(table.c.id == pk)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return row


def move(
    order: Order,
    status: str,
    *,
    only_from: Sequence[str] | None = None,
    **fields: Any,
) -> bool:
    """Lock the order, move it to `status` if TRANSITIONS allow; no commit.

    Returns False (changing nothing) when the move is no longer allowed, e.g. because
    another request settled the order first, or the order is not in `only_from`.
    """
    locked = lock(Order, order.id)
    if only_from is not None and locked.status not in only_from:
        return False
    if status == locked.status or not locked.can_move_to(status):
        return False
    locked.move_to(status)
    for name, value in fields.items():
        setattr(locked, name, value)
    events.order_changed(locked)  # same transaction as the change (services/events)
    return True


def create_order(
    amount: int,
    order_name: str,
    *,
    member: Member | None = None,
    merchant_id: int | None = None,
    commit: bool = True,
) -> Order:
    """Create a PENDING order with a fresh orderId; amounts are int KRW ≥ the minimum.

    `commit=False`: flushed (the id and orderId are set), the caller commits.
    """
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidOrderError(_("The amount must be a whole number of won."))
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        # contract §9: below the method minimum Toss answers BELOW_MINIMUM_AMOUNT.
        raise InvalidOrderError(
            _(
                "The amount must be between %(low)s and %(high)s.",
                low=krw(MIN_AMOUNT),
                high=krw(MAX_AMOUNT),
            )
        )
    name = (order_name or "").strip()
    if not name or len(name) > MAX_ORDER_NAME or not name.isprintable():
        raise InvalidOrderError(
            _("Give the order a name of 1 to %(n)d characters.", n=MAX_ORDER_NAME)
        )
    now = utcnow()
    order = Order(
        order_name=name,
        amount=amount,
        currency="KRW",
        member_id=member.id if member is not None else None,
        merchant_id=merchant_id,
        status=PENDING,
        created_at=now,
        expires_at=now + timedelta(seconds=current_app.config["ORDER_TTL"]),
    )
    db.session.add(order)
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return order


_FIND = select(Order).where(Order.order_id == bindparam("order_id"))  # built once


# The receipt's read: the order, its payment and the payment's cancels in one
# statement (issue 16; three otherwise: the payment lazily, its cancels by selectin).
_FIND_PAID = _FIND.options(joinedload(Order.payment).joinedload(Payment.cancels))


def find(order_id: str, *, with_payment: bool = False) -> Order | None:
    """The order with this orderId, if the id is well-formed and exists;
    `with_payment`: its payment and cancels read with it."""
    if not isinstance(order_id, str) or not ORDER_ID_RE.match(order_id):
        return None
    if with_payment:
        found = db.session.execute(_FIND_PAID, {"order_id": order_id}).unique()
        return found.scalar_one_or_none()
    return db.session.scalar(_FIND, {"order_id": order_id})


def get_for_member(
    member: Member, order_id: str, *, with_payment: bool = False
) -> Order:
    """The member's own order, expired lazily.

    A merchant's order with no member yet is NOT handed to whoever opens it: only a
    valid signed wallet link binds it (wallet_links.redeem_pay_link enforces the link's
    single use, amount ceiling and return URL). Someone else's order, or an unbound one,
    is reported as not found, so ids cannot be probed.
    """
    order = find(order_id, with_payment=with_payment)
    if order is None or order.member_id != member.id:
        raise NotFoundError(_("We could not find that order."))
    return expire_if_due(order)


def get_for_guest(order_id: str, allowed: list[str] | tuple[str, ...]) -> Order:
    """A guest's order: one without a member whose pay link this guest redeemed
    (`allowed`, from the guest's session); anything else is not found."""
    order = find(order_id) if order_id in allowed else None
    if order is None or order.member_id is not None or order.merchant_id is None:
        raise NotFoundError(_("We could not find that order."))
    return expire_if_due(order)


def expire_if_due(order: Order) -> Order:
    """An unpaid order past expires_at becomes EXPIRED (checked whenever it is used)."""
    if order.status == PENDING and order.is_past_expiry():
        if move(order, EXPIRED):
            db.session.commit()
        db.session.refresh(order)
    return order


def expire_orders(now: datetime | None = None, batch: int = 200) -> int:
    """Expire every PENDING order past its expiry; returns how many changed."""
    cutoff = now or utcnow()
    changed = 0
    while True:
        due = db.session.scalars(
            select(Order)
            .where(Order.status == PENDING, Order.expires_at <= cutoff)
            .order_by(Order.id)
            .limit(batch)
        ).all()
        if not due:
            return changed
        for order in due:
            changed += int(move(order, EXPIRED))
        db.session.commit()


@dataclass(frozen=True)
class Page:
    """One page of orders, newest first, and the cursor of the next page."""

    orders: Sequence[Order]
    next_cursor: str | None


class Keyed(Protocol):
    """An order or a list row (order_list.ListedOrder): what a cursor is made of."""

    @property
    def id(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...


def encode_cursor(order: Keyed) -> str:
    """Keyset cursor: (created_at in µs since the epoch, id)."""
    micros = (order.created_at - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}-{order.id}"


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """Parse a cursor; a malformed one means 'from the start' rather than an error."""
    match = _CURSOR_RE.match(cursor or "")
    if not match:
        return None
    micros, pk = int(match.group(1)), int(match.group(2))
    try:
        return _EPOCH + timedelta(microseconds=micros), pk
    except OverflowError:
        return None


_ORDERS = Order.__table__.c
# Newest first by keyset (created_at, id): every list, ORM or not (order_list.py).
NEWEST_FIRST = (_ORDERS.created_at.desc(), _ORDERS.id.desc())


def filters(
    *,
    member_id: int | None = None,
    merchant_id: int | None = None,
    statuses: Sequence[str] | None = HISTORY_STATUSES,
    cursor: str | None = None,
    direct_only: bool = False,
    declined_only: bool = False,
    since: datetime | None = None,
    before: datetime | None = None,
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a list of orders (see `page`), on the table's columns so
    that the ORM `page` and the list pages' Core statement (order_list.py) share them."""
    o = _ORDERS
    where: list[ColumnElement[bool]] = []
    if direct_only:
        where.append(o.merchant_id.is_(None))
    if declined_only:
        where += [o.failure_code.is_not(None), o.failure_code.not_in(STOPPED_BY_MEMBER)]
    if since is not None:
        where.append(o.created_at >= since)
    if before is not None:
        where.append(o.created_at < before)
    if statuses is not None:
        excluded = [s for s in ORDER_STATUSES if s not in statuses]
        if len(excluded) < len(statuses):
            # "Most statuses" as NOT IN the few others: a planner then walks the
            # (created_at, id) index newest first instead of sorting every match of a
            # long IN list from the status index (SQLite does; bench/growth.py).
            where.append(o.status.not_in(excluded))
        else:
            where.append(o.status.in_(statuses))
    if member_id is not None:
        where.append(o.member_id == member_id)
    if merchant_id is not None:
        where.append(o.merchant_id == merchant_id)
    position = decode_cursor(cursor)
    if position is not None:
        at, pk = position
        # `created_at <= at` first: a range the (…, created_at, id) indexes can seek
        # to, so a deep page costs what the first one does (bench/growth.py).
        where += [o.created_at <= at, or_(o.created_at < at, o.id < pk)]
    return where


def page(
    *,
    member_id: int | None = None,
    merchant_id: int | None = None,
    statuses: Sequence[str] | None = HISTORY_STATUSES,
    cursor: str | None = None,
    limit: int = 20,
    direct_only: bool = False,
    declined_only: bool = False,
    since: datetime | None = None,
    before: datetime | None = None,
) -> Page:
    """Orders newest first by keyset (created_at, id), each with its payment, shop
    and member, as whole ORM rows: for callers that read any column (the merchant
    API). The list pages read a few columns through `order_list.listed` instead.

    One statement: the payment, merchant and member are joined (each 1:1 or many:1;
    not the member or merchant the list is filtered on),
    and the payment's cancels are not loaded (no list shows them; `Payment.cancels`
    would otherwise be selectin-loaded for every row). A caller that reads them gets
    them lazily.

    Filters: a member's, a merchant's (or `direct_only`: no merchant), `statuses`
    (None = every status), `declined_only` (unpaid with a failure code), and a
    created_at range [since, before).
    """
    query = select(Order).where(
        *filters(
            member_id=member_id,
            merchant_id=merchant_id,
            statuses=statuses,
            cursor=cursor,
            direct_only=direct_only,
            declined_only=declined_only,
            since=since,
            before=before,
        )
    )
    # The member or merchant the list is filtered on is one row the caller has already
    # loaded (the identity map answers `order.member`): joined, it would be hydrated
    # again for every order (issue 16).
    loads = [joinedload(Order.payment).lazyload(Payment.cancels)]
    if merchant_id is None:
        loads.append(joinedload(Order.merchant))
    if member_id is None:
        loads.append(joinedload(Order.member))
    rows = db.session.scalars(
        query.order_by(*NEWEST_FIRST).limit(limit + 1).options(*loads)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1]) if more and rows else None)


def merchants_of_member(member_id: int) -> list[tuple[int, str]]:
    """The shops this member has orders with, by name: the history's merchant filter.

    One index probe per shop (`ix_orders_member_merchant`), not a pass over all of
    the member's orders: shops are few, a member's orders many (issue 16).
    """
    rows = db.session.execute(_SHOPS_OF_MEMBER, {"member_id": member_id}).all()
    return [(row.id, row.name) for row in rows]


def _shops_of_member() -> Any:
    from wallet.models.merchant import Merchant

    ordered_there = (
        select(Order.id)
        .where(
            Order.member_id == bindparam("member_id"), Order.merchant_id == Merchant.id
        )
        .exists()
    )
    return (
        select(Merchant.id, Merchant.name).where(ordered_there).order_by(Merchant.name)
    )


_SHOPS_OF_MEMBER = _shops_of_member()  # built once (issue 16)
