"""Link BrandPay (contract §2), payment methods (§3), withdrawal (§5), revoke, webhooks.

Token handling (decrypt, single-flight refresh, rotation) is in `brandpay_tokens`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from wallet.crypto import VaultError
from wallet.errors import ConflictError, NotFoundError, UpstreamError, WalletError
from wallet.extensions import db
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.brandpay_link import (
    LINKED,
    NEEDS_RELINK,
    BrandPayLink,
    LinkAttempt,
    token_aad,
)
from wallet.models.member import CUSTOMER_KEY_RE
from wallet.services import audit, events, toss, vault
from wallet.services.brandpay_tokens import (
    NotLinkedError,
    RelinkRequiredError,
    call_with_token,
    encrypt_tokens,
)
from wallet.toss import (
    BrandPayAccount,
    BrandPayCard,
    BrandPayMethods,
    TossApiError,
    TossAuthError,
    TossError,
    TossNotFoundError,
)

__all__ = [
    "LinkFailedError",
    "LinkRefusedError",
    "MethodsOverview",
    "NotLinkedError",
    "RelinkRequiredError",
    "complete_link",
    "handle_customer_status_changed",
    "handle_method_updated",
    "link_of",
    "methods_overview",
    "remove_method",
    "revoke",
    "start_link_attempt",
    "withdraw",
]

log = logging.getLogger(__name__)

_METHOD_KEY = re.compile(r"[\x21-\x7e]{1,300}")
_CODE = re.compile(r"[\x21-\x7e]{1,1000}")
METHOD_KINDS = ("card", "account")


class LinkRefusedError(WalletError):
    """A redirect that does not belong to a link this member started: refused."""

    code = "LINK_REFUSED"
    default_message = _l(
        "This BrandPay link could not be accepted. Start linking again from your wallet."
    )

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        self.reason = reason
        super().__init__(message, status=status)


class LinkFailedError(WalletError):
    """Toss did not accept the authorization code; nothing was stored."""

    code = "LINK_FAILED"
    default_message = _l(
        "BrandPay did not accept this link request. Nothing was saved; please start again."
    )


# -- link (contract §2) -------------------------------------------------------------


_LINK_OF = select(BrandPayLink).where(BrandPayLink.member_id == bindparam("member_id"))


def link_of(member: Member) -> BrandPayLink | None:
    """The member's link row, if they ever linked (a statement built once: the nav
    and the wallet pages ask on every view)."""
    return db.session.scalar(_LINK_OF, {"member_id": member.id})


def start_link_attempt(member: Member) -> LinkAttempt:
    """Record that this member is about to open the SDK; the redirect must match it."""
    now = utcnow()
    ttl = timedelta(seconds=int(current_app.config["LINK_ATTEMPT_TTL"]))
    attempt = LinkAttempt(member_id=member.id, created_at=now, expires_at=now + ttl)
    db.session.add(attempt)
    db.session.commit()
    audit.record(member.email, "brandpay.link_started", f"member:{member.id}")
    return attempt


def _refuse(
    member: Member | None, reason: str, claimed_key: str | None, status: int = 400
) -> LinkRefusedError:
    """Audit a refused redirect (nothing stored) and build the error to raise."""
    details: dict[str, str] = {"reason": reason}
    if claimed_key and CUSTOMER_KEY_RE.match(claimed_key):
        details["claimed_customer_key"] = claimed_key  # for forensics; not a secret
    audit.record(
        member.email if member else "anonymous",
        "brandpay.callback_refused",
        f"member:{member.id}" if member else "",
        **details,
    )
    messages = {
        "not_logged_in": _("Please log in, then start linking BrandPay again."),
        "missing_parameters": _(
            "This BrandPay redirect is incomplete. Start linking again from your wallet."
        ),
        "customer_key_mismatch": _(
            "This BrandPay link belongs to a different account, so it was not saved."
        ),
        "no_pending_attempt": _(
            "There is no BrandPay link in progress for your account. Start linking "
            "again from your wallet."
        ),
        "attempt_expired": _(
            "Your BrandPay link request expired after 10 minutes. Please start again."
        ),
        "code_reused": _(
            "This BrandPay link was already used. Start linking again if you need to."
        ),
    }
    return LinkRefusedError(reason, messages.get(reason, _("Refused.")), status)


def complete_link(
    member: Member | None, code: str | None, customer_key: str | None
) -> BrandPayLink:
    """Redirect handler (contract §2): check everything, exchange the code, store tokens."""
    if member is None:
        raise _refuse(None, "not_logged_in", customer_key, status=401)
    if not code or not customer_key or not _CODE.fullmatch(code):
        raise _refuse(member, "missing_parameters", customer_key)
    # contract §2: the merchant must check customerKey is the logged-in member's.
    if not hmac.compare_digest(
        customer_key.encode("utf-8"), member.customer_key.encode("utf-8")
    ):
        raise _refuse(member, "customer_key_mismatch", customer_key, status=403)
    attempt_id = _use_attempt(member, hashlib.sha256(code.encode("utf-8")).hexdigest())
    try:
        issued = toss().issue_access_token(
            member.customer_key,
            code,
            idempotency_key=f"link:{member.customer_key}:{attempt_id}",
        )
    except TossError as exc:
        audit.record(
            member.email,
            "brandpay.link_failed",
            f"member:{member.id}",
            error=getattr(exc, "code", type(exc).__name__),
        )
        if isinstance(exc, TossApiError) and not exc.outcome_unknown:
            raise LinkFailedError() from None
        raise UpstreamError() from None
    access_enc, refresh_enc = encrypt_tokens(member.customer_key, issued)
    link, renewed = _store_link(member, access_enc, refresh_enc, issued.expires_in)
    audit.record(
        member.email,
        "brandpay.link_renewed" if renewed else "brandpay.linked",
        f"member:{member.id}",
    )
    return link


def _use_attempt(member: Member, code_hash: str) -> int:
    """Mark this member's newest pending attempt used, exactly once; its id."""
    now = utcnow()
    if db.session.scalar(
        select(LinkAttempt.id).where(LinkAttempt.code_hash == code_hash)
    ):
        raise _refuse(member, "code_reused", None, status=409)
    attempt = db.session.scalar(
        select(LinkAttempt)
        .where(LinkAttempt.member_id == member.id, LinkAttempt.used_at.is_(None))
        .order_by(LinkAttempt.created_at.desc(), LinkAttempt.id.desc())
        .limit(1)
    )
    if attempt is None:
        raise _refuse(member, "no_pending_attempt", None)
    ttl = timedelta(seconds=int(current_app.config["LINK_ATTEMPT_TTL"]))
    if attempt.expires_at <= now or attempt.created_at <= now - ttl:
        raise _refuse(member, "attempt_expired", None)
    attempt_id = attempt.id
    # Compare-and-set: of two redirects racing for one attempt, exactly one wins; the
    # unique code_hash makes a replayed code fail even with a fresh attempt.
    claimed = db.session.execute(
        update(LinkAttempt)
        .where(LinkAttempt.id == attempt_id, LinkAttempt.used_at.is_(None))
        .values(used_at=now, code_hash=code_hash)
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _refuse(member, "code_reused", None, status=409) from None
    if claimed.rowcount != 1:
        raise _refuse(member, "code_reused", None, status=409)
    return attempt_id


def _store_link(
    member: Member, access_enc: str, refresh_enc: str, expires_in: int
) -> tuple[BrandPayLink, bool]:
    """Insert or renew the member's link row; True when it already existed."""
    for _attempt in range(2):
        now = utcnow()
        link = db.session.scalar(
            select(BrandPayLink)
            .where(BrandPayLink.member_id == member.id)
            .execution_options(populate_existing=True)
        )
        existed = link is not None
        if link is None:
            link = BrandPayLink(member_id=member.id, status=LINKED, linked_at=now)
            db.session.add(link)
        link.set_tokens(
            access_enc, refresh_enc, now + timedelta(seconds=expires_in), now
        )
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # a parallel callback inserted it; update that row
            continue
        return link, existed
    raise ConflictError()


# -- methods (contract §3) ----------------------------------------------------------


@dataclass(frozen=True)
class MethodsOverview:
    """What the methods page shows: the link's state and Toss's live list."""

    link_status: str | None  # None: never linked
    cards: tuple[BrandPayCard, ...] = ()
    accounts: tuple[BrandPayAccount, ...] = ()
    selected_method_id: str | None = None
    unavailable: bool = False  # Toss could not be asked right now
    relink_reason: str | None = field(default=None)

    @property
    def count(self) -> int:
        """How many methods are listed."""
        return len(self.cards) + len(self.accounts)


def methods_overview(member: Member) -> MethodsOverview:
    """The member's cards and accounts, live from Toss (Bearer), or why not."""
    return methods_overview_of(member, link_of(member))


def methods_overview_of(member: Member, link: BrandPayLink | None) -> MethodsOverview:
    """`methods_overview` for a caller that has just read the member's link row (the
    methods page: one read of it fewer per view, issue 16)."""
    if link is None or link.status != LINKED:
        return MethodsOverview(
            link.status if link else None,
            relink_reason=link.relink_reason if link else None,
        )
    cached_count = link.method_count  # read now: the token path ends the transaction
    try:
        with _kept_loaded(member, link):
            methods = call_with_token(
                member, lambda token: toss().get_methods(token), link
            )
    except RelinkRequiredError:
        return MethodsOverview(NEEDS_RELINK)
    except NotLinkedError:  # withdrawn or revoked meanwhile
        return _gone(member)
    except (TossError, UpstreamError) as exc:
        log.warning("brandpay: methods unavailable for member %s: %r", member.id, exc)
        return MethodsOverview(LINKED, unavailable=True)
    if cached_count != len(methods.all()):
        # No write on a read when the cached count is already right (issue 16).
        _cache_count(member.id, methods)
    return MethodsOverview(
        LINKED,
        cards=methods.cards,
        accounts=methods.accounts,
        selected_method_id=methods.selected_method_id,
    )


# BrandPayLink columns the token path writes when it refreshes (brandpay_tokens).
_REFRESH_WRITES = frozenset(
    {
        "access_token_enc",
        "refresh_token_enc",
        "access_expires_at",
        "version",
        "refresh_lock_until",
        "refresh_failed_at",
        "relink_reason",
    }
)


@contextmanager
def _kept_loaded(*rows: object) -> Iterator[None]:
    """Keep the rows' loaded columns across the token path's rollback (issue 16).

    The token path ends its read transaction before calling Toss (no snapshot or row
    lock held across the call), and a rollback expires every row of the session: the
    methods page then read its member and link again, two statements, to render what
    it had read a moment before. The columns loaded now are put back as they were;
    anything written since (a commit, `populate_existing`) is not overwritten: only
    attributes still expired afterwards are restored. The columns a token refresh
    writes (ciphertexts, expiry, version, the refresh claim) are never restored: a
    refresh commits and the next rollback expires them again, so an old value put back
    would look current. Reading one of them loads the row afresh.
    """
    kept = []
    for row in rows:
        state = inspect(row)
        columns = set(state.mapper.column_attrs.keys()) - _REFRESH_WRITES
        kept.append((row, {k: state.dict[k] for k in columns if k in state.dict}))
    yield
    for row, values in kept:
        state = inspect(row)
        if state.session is not db.session() or state.deleted or state.detached:
            continue
        for key in values.keys() & state.expired_attributes:
            set_committed_value(row, key, values[key])


def _gone(member: Member) -> MethodsOverview:
    link = db.session.scalar(
        select(BrandPayLink)
        .where(BrandPayLink.member_id == member.id)
        .execution_options(populate_existing=True)
    )
    return MethodsOverview(link.status if link else None)


def _cache_count(member_id: int, methods: BrandPayMethods) -> None:
    """Remember how many methods Toss listed, for the wallet home's summary.

    The methods page calls this only when the count changed, so `methods_synced_at`
    is when the count was last written, not when the page was last viewed.
    """
    db.session.execute(
        update(BrandPayLink)
        .where(BrandPayLink.member_id == member_id, BrandPayLink.status == LINKED)
        .values(method_count=len(methods.all()), methods_synced_at=utcnow())
    )
    db.session.commit()


def remove_method(
    member: Member, kind: str, method_key: str
) -> BrandPayCard | BrandPayAccount:
    """Remove a card or account at Toss; nothing changes here unless Toss agrees."""
    if kind not in METHOD_KINDS or not _METHOD_KEY.fullmatch(method_key or ""):
        raise WalletError(_("Choose a payment method to remove."))
    link = _require_linked(member)
    # One key per link and method: a retried click replays Toss's first answer (§4).
    idempotency_key = f"remove:{link.id}:{method_key}"
    remove = toss().remove_card if kind == "card" else toss().remove_account

    def call(token: str) -> BrandPayCard | BrandPayAccount:
        return remove(token, method_key, idempotency_key=idempotency_key)

    try:
        removed = call_with_token(member, call)
    except TossNotFoundError:
        raise NotFoundError(
            _("That payment method was not found. It may already be removed.")
        ) from None
    except TossApiError as exc:
        if exc.outcome_unknown:
            raise UpstreamError() from None
        raise WalletError(
            exc.message or _("BrandPay refused to remove this method.")
        ) from None
    except TossError:
        raise UpstreamError() from None
    if removed.status != "DISABLED":
        raise UpstreamError(
            _("BrandPay did not confirm the removal. Please try again.")
        )
    db.session.execute(
        update(BrandPayLink)
        .where(BrandPayLink.id == link.id, BrandPayLink.method_count > 0)
        .values(method_count=BrandPayLink.method_count - 1)
    )
    db.session.commit()
    audit.record(
        member.email,
        "brandpay.method_removed",
        f"member:{member.id}",
        kind=kind,
        method_id=removed.id,
    )
    return removed


def _require_linked(member: Member) -> BrandPayLink:
    link = link_of(member)
    if link is None or link.status not in (LINKED, NEEDS_RELINK):
        raise NotLinkedError()
    if link.status == NEEDS_RELINK:
        raise RelinkRequiredError()
    return link


# -- withdrawal (contract §5) -------------------------------------------------------


def withdraw(member: Member) -> None:
    """Leave BrandPay: Toss removes the customer, then we destroy our tokens."""
    link = _require_linked(member)
    idempotency_key = f"withdraw:{member.customer_key}:{link.version}"
    try:
        call_with_token(
            member,
            lambda token: toss().remove_customer(
                token, idempotency_key=idempotency_key
            ),
        )
    except RelinkRequiredError:
        # Our tokens stopped working mid-withdrawal. If Toss's answer to an earlier try
        # was lost, Toss already removed the customer and their tokens with it (§5):
        # ask Toss (Basic auth, §7 style) before telling the member to re-link.
        if _still_customer(member):
            raise
        log.info("brandpay: member %s was already withdrawn at Toss", member.id)
    except TossNotFoundError:
        log.info("brandpay: member %s was already gone at Toss", member.id)
    except TossApiError as exc:
        if exc.outcome_unknown:
            raise UpstreamError(_withdraw_unconfirmed()) from None
        raise WalletError(
            exc.message or _("BrandPay refused the withdrawal.")
        ) from None
    except TossError:
        raise UpstreamError(_withdraw_unconfirmed()) from None
    link = _reload_link(member.id, lock=True)
    if link.status in (LINKED, NEEDS_RELINK):  # an admin may have revoked meanwhile
        link.mark_withdrawn(utcnow())
        events.link_withdrawn(member)  # e.g. the confirmation mail, same transaction
    db.session.commit()
    audit.record(member.email, "brandpay.withdrawn", f"member:{member.id}")


def _still_customer(member: Member) -> bool:
    """Whether Toss still has the customer; UpstreamError when it cannot be asked."""
    try:
        return _customer_active(member, _reload_link(member.id))
    except TossError:
        raise UpstreamError(_withdraw_unconfirmed()) from None


def _withdraw_unconfirmed() -> str:
    return _(
        "BrandPay did not confirm your withdrawal, so nothing was changed here. "
        "Please try again."
    )


def _reload_link(member_id: int, *, lock: bool = False) -> BrandPayLink:
    query = select(BrandPayLink).where(BrandPayLink.member_id == member_id)
    if lock:
        query = query.with_for_update()
    link = db.session.scalar(query.execution_options(populate_existing=True))
    if link is None:
        raise NotLinkedError()
    return link


# -- admin --------------------------------------------------------------------------


def revoke(member_id: int, admin: Member, reason: str) -> BrandPayLink:
    """Admin: crypto-shred a member's tokens and record who did it and why."""
    reason = (reason or "").strip()
    if not reason:
        raise WalletError(_("Give a reason for revoking."))
    if db.session.get(Member, member_id) is None:
        raise NotFoundError(_("No such member."))
    link = db.session.scalar(
        select(BrandPayLink)
        .where(BrandPayLink.member_id == member_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if link is None or link.status not in (LINKED, NEEDS_RELINK):
        db.session.rollback()
        raise ConflictError(_("This member has no active BrandPay link to revoke."))
    link.mark_revoked(admin.email, reason, utcnow())
    db.session.commit()
    audit.record(admin.email, "brandpay.revoked", f"member:{member_id}", reason=reason)
    return link


# -- Toss webhooks (contract §7: unsigned, so re-fetch the truth first) --------------


def _link_by_customer_key(customer_key: str) -> tuple[Member, BrandPayLink] | None:
    if not isinstance(customer_key, str) or not CUSTOMER_KEY_RE.match(customer_key):
        return None
    row = db.session.execute(
        select(Member, BrandPayLink)
        .join(BrandPayLink, BrandPayLink.member_id == Member.id)
        .where(Member.customer_key == customer_key)
    ).first()
    return (row[0], row[1]) if row else None


def handle_method_updated(customer_key: str) -> None:
    """METHOD_UPDATED: re-read the customer's methods from Toss and refresh our summary.

    Raises UpstreamError when Toss cannot be asked (answer non-2xx so Toss retries).
    """
    found = _link_by_customer_key(customer_key)
    if found is None or found[1].status != LINKED:
        return
    member, _link = found
    try:
        methods = toss().get_methods_by_customer(member.customer_key)
    except TossError as exc:
        raise UpstreamError() from exc
    _cache_count(member.id, methods)


def handle_customer_status_changed(customer_key: str) -> None:
    """CUSTOMER_STATUS_CHANGED: if Toss confirms the customer is gone, mark withdrawn.

    The webhook itself proves nothing (§7), so the decision rests on what Toss says now.
    Raises UpstreamError when Toss cannot be asked.
    """
    found = _link_by_customer_key(customer_key)
    if found is None or found[1].status not in (LINKED, NEEDS_RELINK):
        return
    member, link = found
    try:
        if _customer_active(member, link):
            return
    except TossError as exc:
        raise UpstreamError() from exc
    link = _reload_link(member.id, lock=True)
    if link.status not in (LINKED, NEEDS_RELINK):
        db.session.rollback()
        return
    link.mark_withdrawn(utcnow())
    events.link_withdrawn(member)
    db.session.commit()
    audit.record(
        "toss", "brandpay.withdrawn_upstream", f"member:{member.id}", source="webhook"
    )


def _customer_active(member: Member, link: BrandPayLink) -> bool:
    """Ask Toss: agreed terms (Basic) or a working Bearer token mean still a customer."""
    terms = toss().get_terms(member.customer_key, ["REGISTER"])
    if any(t.agreed for t in terms if t.required):
        return True
    if link.status != LINKED or not link.access_token_enc:
        return False
    try:
        token = vault().decrypt(
            link.access_token_enc, aad=token_aad(member.customer_key, "access")
        )
    except VaultError:
        return False
    try:
        toss().get_methods(token)
    except TossAuthError:
        return False
    return True
