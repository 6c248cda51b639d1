"""Admin console: overview counts, member search and detail, revoke and forced re-link.

Nothing here ever reads a token or ciphertext out for display: pages get link status
and expiry only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, bindparam, func, select
from sqlalchemy.orm import joinedload

from wallet.errors import ConflictError, NotFoundError, WalletError
from wallet.extensions import db
from wallet.models import Member
from wallet.models.brandpay_link import LINKED, BrandPayLink
from wallet.models.mandate import Mandate
from wallet.models.member import CUSTOMER_KEY_RE
from wallet.models.merchant import Merchant
from wallet.models.notice import LINK_REVOKED, RELINK_REQUIRED, MemberNotice
from wallet.models.order import Order
from wallet.models.payment import CANCEL_DONE, Payment, PaymentCancel
from wallet.services import audit, brandpay, notices, order_list, sessions, throttle
from wallet.services.members import normalize_email

__all__ = [
    "MemberDetail",
    "MemberSearch",
    "Overview",
    "force_relink",
    "member_detail",
    "overview",
    "revoke_link",
    "search_members",
]

SEARCH_PAGE_SIZE = 50
MAX_QUERY = 254  # the longest email we store
RELINK_REASON = "admin_forced"  # BrandPayLink.relink_reason; who and why are audited


# -- overview -----------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    """The admin home's counts."""

    members: int
    admins: int
    links: dict[str, int]
    payments: int
    refunds: int
    merchants: int
    audit_entries: int


def _count(statement: Select[tuple[int]]) -> int:
    return int(db.session.scalar(statement) or 0)


def overview() -> Overview:
    """How many members, links by status, payments, refunds, merchants, audit entries."""
    links = {
        status: int(n)
        for status, n in db.session.execute(
            select(BrandPayLink.status, func.count(BrandPayLink.id)).group_by(
                BrandPayLink.status
            )
        )
    }
    return Overview(
        members=_count(select(func.count(Member.id))),
        admins=_count(select(func.count(Member.id)).where(Member.role == "admin")),
        links=links,
        payments=_count(select(func.count(Payment.id))),
        refunds=_count(
            select(func.count(PaymentCancel.id)).where(
                PaymentCancel.status == CANCEL_DONE
            )
        ),
        merchants=_count(select(func.count(Merchant.id))),
        audit_entries=audit.count(),
    )


# -- search -------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberSearch:
    """One page of members matching a query, ordered by email, with the next cursor."""

    rows: list[tuple[Member, BrandPayLink | None]]
    next_after: str | None
    mode: str  # "all", "customer_key", "prefix" or "contains"


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _email_matches(query: str, contains: bool) -> ColumnElement[bool]:
    escaped = _like_escape(query)
    if contains:
        return Member.email.like(f"%{escaped}%", escape="\\")
    condition = Member.email.like(f"{escaped}%", escape="\\")
    last = ord(query[-1])
    if db.session.get_bind().dialect.name == "sqlite" and last < 0xD7FF:
        # SQLite's LIKE is case-insensitive and so cannot use the (binary) email index;
        # emails are stored lower-case, so the equivalent binary range can. (Past
        # U+D7FF the next code point may be a surrogate: LIKE alone is still right.)
        upper = query[:-1] + chr(last + 1)
        condition = and_(condition, Member.email >= query, Member.email < upper)
    return condition


def _with_links(
    statement: Select[tuple[Member]],
) -> list[tuple[Member, BrandPayLink | None]]:
    rows = db.session.execute(
        statement.outerjoin(
            BrandPayLink, BrandPayLink.member_id == Member.id
        ).add_columns(BrandPayLink)
    ).all()
    return [(m, link) for m, link in rows]


def search_members(
    query: str = "",
    *,
    contains: bool = False,
    after: str | None = None,
    limit: int = SEARCH_PAGE_SIZE,
) -> MemberSearch:
    """Exact customerKey first; else email prefix (or substring); keyset pages by email."""
    text = (query or "").strip()[:MAX_QUERY]
    if text and CUSTOMER_KEY_RE.match(text) and after is None:
        exact = _with_links(select(Member).where(Member.customer_key == text))
        if exact:
            return MemberSearch(exact, None, "customer_key")
    needle = normalize_email(text)
    statement = select(Member)
    mode = "all"
    if needle:
        statement = statement.where(_email_matches(needle, contains))
        mode = "contains" if contains else "prefix"
    if after:
        statement = statement.where(Member.email > after[:MAX_QUERY])
    rows = _with_links(statement.order_by(Member.email).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return MemberSearch(rows, rows[-1][0].email if more and rows else None, mode)


# -- one member ---------------------------------------------------------------------


@dataclass(frozen=True)
class MemberDetail:
    """Everything the member page shows; never token values."""

    member: Member
    link: BrandPayLink | None
    payments: order_list.ListedPage
    refunds: list[tuple[PaymentCancel, str]]  # (refund, orderId), newest first
    audit: audit.AuditPage
    open_notices: int = (
        0  # notices the member has not dismissed yet (the page shows how many)
    )
    mandates: list[Mandate] = field(default_factory=list)
    # Wrong passwords for the member's email within the throttle's window, from every
    # address (logins are throttled, never locked: services/throttle.py).
    recent_failures: int = 0


def _member_or_404(member_id: int) -> Member:
    member = db.session.get(Member, member_id)
    if member is None:
        raise NotFoundError(_("No such member."))
    return member


# A member with at least this many orders has their recent refunds found by walking
# the cancels newest first (see recent_refunds).
_MANY_ORDERS = 2000


# Members known to have at least _MANY_ORDERS orders. Orders are never deleted, so
# once true it stays true: the bounded count runs until it first says so, not on
# every view of a big member's page (issue 16). Per process; a set of ints. Only the
# plan depends on it, never the rows (both plans find the same refunds).
_KNOWN_MANY: set[int] = set()


def _has_many_orders(member_id: int) -> bool:
    if member_id in _KNOWN_MANY:
        return True
    few = select(Order.id).where(Order.member_id == member_id).limit(_MANY_ORDERS)
    many = db.session.scalar(select(func.count()).select_from(few.subquery()))
    if many is not None and many >= _MANY_ORDERS:
        _KNOWN_MANY.add(member_id)
        return True
    return False


def _refunds_by(member_col: Any) -> Select[tuple[PaymentCancel, str]]:
    return (
        select(PaymentCancel, Order.order_id)
        .join(Payment, PaymentCancel.payment_id == Payment.id)
        .join(Order, Payment.order_pk == Order.id)
        .where(member_col == bindparam("member_id"))
        .order_by(PaymentCancel.id.desc())
        .limit(bindparam("limit"))
    )


# The member page's statements built once (issue 16: building a select with its
# joins or loader options cost about as much as running it on SQLite).
_REFUNDS = _refunds_by(Order.member_id)
_REFUNDS_FLAT = _refunds_by(Order.member_id + 0)  # see recent_refunds
_MANDATES_OF = (
    select(Mandate)
    .options(joinedload(Mandate.merchant))
    .where(Mandate.member_id == bindparam("member_id"))
    .order_by(Mandate.id.desc())
    .limit(bindparam("limit"))
)


def recent_refunds(member_id: int, limit: int = 20) -> list[tuple[PaymentCancel, str]]:
    """The member's newest refunds with their orderIds, at a cost that stays flat.

    PostgreSQL walks the cancels' primary key backwards by itself. SQLite's planner
    starts from the member's orders and sorts all their cancels (15 → 148 ms from
    10k to 100k payments, bench/README.md), so for a member with many orders the
    member filter is written `member_id + 0`, which no index serves: SQLite then
    walks the cancels newest first and stops at `limit`. Members with fewer orders
    keep the order-driven plan, which is bounded by their orders.
    """
    statement = _REFUNDS
    if db.session.get_bind().dialect.name == "sqlite" and _has_many_orders(member_id):
        statement = _REFUNDS_FLAT
    rows = db.session.execute(statement, {"member_id": member_id, "limit": limit})
    return [(cancel, order_id) for cancel, order_id in rows]


def _mandates_of(member_id: int, limit: int = 20) -> list[Mandate]:
    """The member's mandates with their shops (pending ones too), newest first."""
    return list(
        db.session.scalars(_MANDATES_OF, {"member_id": member_id, "limit": limit})
    )


# The member, their link and how many notices they have not read, in one statement
# (issue 16: was three, a get, the link and every open notice row).
_OPEN_NOTICES = (
    select(func.count(MemberNotice.id))
    .where(MemberNotice.member_id == Member.id, MemberNotice.dismissed_at.is_(None))
    .correlate(Member)
    .scalar_subquery()
)
_MEMBER_PAGE = (
    select(Member, BrandPayLink, _OPEN_NOTICES)
    .outerjoin(BrandPayLink, BrandPayLink.member_id == Member.id)
    .where(Member.id == bindparam("member_id"))
)


def member_detail(
    member_id: int,
    viewer: Member,
    *,
    payments_after: str | None = None,
    audit_before: int | None = None,
) -> MemberDetail:
    """A member's link, payments, refunds, audit entries and open notices (audited)."""
    found = db.session.execute(_MEMBER_PAGE, {"member_id": member_id}).first()
    if found is None:
        raise NotFoundError(_("No such member."))
    member, link, open_notices = found
    subject = f"member:{member.id}"
    refunds = recent_refunds(member.id)
    detail = MemberDetail(
        member=member,
        link=link,
        payments=order_list.listed(member=member, cursor=payments_after, limit=20),
        refunds=refunds,
        audit=audit.page(before=audit_before, subject=subject, size=20),
        open_notices=int(open_notices or 0),
        mandates=_mandates_of(member.id),
        recent_failures=throttle.recent_failures(member.email),
    )
    # Reading a member's personal data is itself worth a trail (who looked, when).
    audit.record(viewer.email, "admin.member_viewed", subject)
    return detail


def _reason(reason: str | None, message: str) -> str:
    text = (reason or "").strip()
    if not text or len(text) > 200:
        raise WalletError(message)
    return text


def revoke_link(member_id: int, admin: Member, reason: str) -> BrandPayLink:
    """Crypto-shred the member's tokens (brandpay.revoke, audited) and notify them."""
    link = brandpay.revoke(member_id, admin, reason)
    # A separate commit after the revoke's own: losing the notice in a crash between
    # the two only loses the banner, the link itself still shows "Revoked".
    notices.add(member_id, LINK_REVOKED)
    db.session.commit()
    # A revoke answers a suspected compromise: every session of the member ends too.
    sessions.end_all(member_id, admin.email, "admin revoked the BrandPay link")
    return link


def force_relink(member_id: int, admin: Member, reason: str) -> BrandPayLink:
    """Destroy the member's tokens and ask them to link again; notify and audit."""
    text = _reason(reason, _("Give a reason (up to 200 characters) for the re-link."))
    _member_or_404(member_id)
    link = db.session.scalar(
        select(BrandPayLink)
        .where(BrandPayLink.member_id == member_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if link is None or link.status != LINKED:
        db.session.rollback()
        raise ConflictError(_("Only a linked member can be asked to link again."))
    link.mark_needs_relink(RELINK_REASON)
    notices.add(member_id, RELINK_REQUIRED)
    db.session.commit()
    audit.record(admin.email, "admin.relink_forced", f"member:{member_id}", reason=text)
    sessions.end_all(member_id, admin.email, "admin forced a re-link")
    return link
