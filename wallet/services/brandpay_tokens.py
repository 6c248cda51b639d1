"""BrandPay customer tokens: decrypt, single-flight refresh, Bearer calls, key rotation.

Tokens live only as TokenVault ciphertexts on `BrandPayLink` (AAD binds each to its
customerKey and purpose). `get_access_token` refreshes an expired access token exactly
once however many requests need it at the same time (ARCHITECTURE flow 2):

- PostgreSQL: `SELECT ... FOR UPDATE` on the link row; whoever gets the lock re-reads the
  version and refreshes only if nobody else did meanwhile.
- SQLite (no row locks): a compare-and-set claims the row (`version` unchanged and no live
  `refresh_lock_until`); the winner refreshes, the others poll until the version moves.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute

from wallet.crypto import VaultError
from wallet.errors import UpstreamError, WalletError
from wallet.extensions import db
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.brandpay_link import (
    LINKED,
    NEEDS_RELINK,
    BrandPayLink,
    token_aad,
)
from wallet.services import audit, toss, vault
from wallet.toss import AccessToken, TossApiError, TossAuthError, TossError

log = logging.getLogger(__name__)

T = TypeVar("T")

# Refresh a little early so a token cannot expire between our check and Toss's.
EXPIRY_MARGIN = timedelta(seconds=60)
# SQLite claim lifetime: longer than one refresh call may take (client timeouts), so a
# live winner is never overtaken; a crashed one is, after this long.
CLAIM_SECONDS = 30.0
POLL_SECONDS = 0.05


class NotLinkedError(WalletError):
    """The member has no usable BrandPay link (never linked, withdrawn or revoked)."""

    status = 409
    code = "NOT_LINKED"
    default_message = _l("Link your BrandPay wallet first.")


class RelinkRequiredError(WalletError):
    """The stored tokens stopped working; the member has to link BrandPay again."""

    status = 409
    code = "RELINK_REQUIRED"
    default_message = _l(
        "Your BrandPay link has expired or was cancelled. Please link your wallet again."
    )


@dataclass(frozen=True)
class _Token:
    value: str
    version: int


def get_access_token(member: Member) -> str:
    """A valid access token for the member, refreshed (single-flight) when expired."""
    return _valid_token(member.id, member.customer_key).value


def call_with_token(
    member: Member, call: Callable[[str], T], link: BrandPayLink | None = None
) -> T:
    """Run a Bearer call; on TossAuthError refresh once and retry once (contract §1).

    `link`: the member's link row as this request has just read it (the methods page),
    taken for the first try instead of reading it again (issue 16). Should another
    process refresh in between, Toss refuses the old token and the retry reads the
    row afresh, as it does when the refresh comes after our read.
    """
    member_id, customer_key = member.id, member.customer_key
    token = _valid_token(member_id, customer_key, known=link)
    try:
        return call(token.value)
    except TossAuthError:
        log.info("brandpay: bearer refused for member %s, refreshing", member_id)
    token = _valid_token(member_id, customer_key, stale_version=token.version)
    try:
        return call(token.value)
    except TossAuthError:
        # A freshly refreshed token refused too: nothing we hold works any more.
        give_up(member_id, "bearer_refused")
        raise RelinkRequiredError() from None


def encrypt_tokens(customer_key: str, issued: AccessToken) -> tuple[str, str]:
    """The vault ciphertexts of newly issued access and refresh tokens."""
    v = vault()
    return (
        v.encrypt(issued.access_token, aad=token_aad(customer_key, "access")),
        v.encrypt(issued.refresh_token, aad=token_aad(customer_key, "refresh")),
    )


def give_up(member_id: int, reason: str) -> None:
    """Mark the member's link as needing a re-link (tokens destroyed) and audit it."""
    db.session.rollback()
    link = _load(member_id, lock=_is_postgres())
    if link is None or link.status != LINKED:
        db.session.rollback()
        return
    link.mark_needs_relink(reason)
    db.session.commit()
    log.warning("brandpay: link of member %s needs re-link (%s)", member_id, reason)
    audit.record(
        "system", "brandpay.needs_relink", f"member:{member_id}", reason=reason
    )


# -- reading ----------------------------------------------------------------------


def _is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def _load(member_id: int, *, lock: bool = False) -> BrandPayLink | None:
    """The link row as the database has it now (never a stale identity-map copy)."""
    query = select(BrandPayLink).where(BrandPayLink.member_id == member_id)
    if lock:
        query = query.with_for_update()
    return db.session.scalar(query.execution_options(populate_existing=True))


def _require_usable(link: BrandPayLink | None) -> BrandPayLink:
    """The link if it holds tokens; else end the transaction (and any lock) and say why."""
    if link is not None and link.status == LINKED and link.has_tokens:
        return link
    db.session.rollback()
    if link is None or link.status not in (LINKED, NEEDS_RELINK):
        raise NotLinkedError()
    raise RelinkRequiredError()


def _open(link: BrandPayLink, customer_key: str, purpose: str) -> str | None:
    """Decrypt one token; None when the ciphertext is not this row's (moved/tampered)."""
    ciphertext = (
        link.access_token_enc if purpose == "access" else link.refresh_token_enc
    )
    try:
        return vault().decrypt(ciphertext or "", aad=token_aad(customer_key, purpose))
    except VaultError:
        log.warning("brandpay: %s token of link %s does not decrypt", purpose, link.id)
        return None


def _current(link: BrandPayLink, member_id: int, customer_key: str) -> _Token:
    version = link.version
    value = _open(link, customer_key, "access")
    db.session.rollback()  # end the read (and release a row lock) before returning
    if value is None:
        give_up(member_id, "token_unreadable")
        raise RelinkRequiredError()
    return _Token(value, version)


def _valid_token(
    member_id: int,
    customer_key: str,
    stale_version: int | None = None,
    known: BrandPayLink | None = None,
) -> _Token:
    """A usable token; `stale_version` = the version whose token Toss just refused;
    `known` = the link row just read by the caller (else it is read here)."""
    started = utcnow()
    if known is None or known.member_id != member_id:
        known = _load(member_id)
    link = _require_usable(known)
    if stale_version is None:
        fresh = not link.access_expired(started, EXPIRY_MARGIN)
    else:
        fresh = link.version != stale_version  # somebody refreshed in the meantime
    if fresh:
        return _current(link, member_id, customer_key)
    if _is_postgres():
        return _refresh_with_row_lock(member_id, customer_key, link.version, started)
    return _refresh_with_claim(member_id, customer_key, link.version, started)


def _failed_since(link: BrandPayLink, started: datetime) -> bool:
    """The refresh we waited for failed: don't hammer Toss with one retry per waiter."""
    return link.refresh_failed_at is not None and link.refresh_failed_at >= started


# -- refreshing (contract §2: grantType RefreshToken) -------------------------------


def _refresh_with_row_lock(
    member_id: int, customer_key: str, seen: int, started: datetime
) -> _Token:
    """PostgreSQL: FOR UPDATE serialises refreshers; later ones see the new version."""
    db.session.rollback()
    link = _require_usable(_load(member_id, lock=True))
    if link.version != seen:
        return _current(link, member_id, customer_key)
    if _failed_since(link, started):
        db.session.rollback()
        raise UpstreamError()
    return _refresh(link, member_id, customer_key)


def _refresh_with_claim(
    member_id: int, customer_key: str, seen: int, started: datetime
) -> _Token:
    """SQLite: compare-and-set claim; losers wait for the winner's new version."""
    deadline = time.monotonic() + 2 * CLAIM_SECONDS
    while True:
        link = _require_usable(_load(member_id))
        if link.version != seen:
            return _current(link, member_id, customer_key)
        if _failed_since(link, started):
            raise UpstreamError()
        now = utcnow()
        if link.refresh_lock_until is None or link.refresh_lock_until <= now:
            # No live claim (none, or its holder died): try to take it.
            claimed = db.session.execute(
                update(BrandPayLink)
                .where(
                    BrandPayLink.id == link.id,
                    BrandPayLink.version == seen,
                    BrandPayLink.status == LINKED,
                    or_(
                        BrandPayLink.refresh_lock_until.is_(None),
                        BrandPayLink.refresh_lock_until <= now,
                    ),
                )
                .values(refresh_lock_until=now + timedelta(seconds=CLAIM_SECONDS))
            )
            db.session.commit()
            if claimed.rowcount == 1:
                return _refresh(
                    _require_usable(_load(member_id)), member_id, customer_key
                )
        db.session.rollback()  # hand the connection back to the pool while waiting
        if time.monotonic() > deadline:
            raise UpstreamError()
        time.sleep(POLL_SECONDS)


def _refresh(link: BrandPayLink, member_id: int, customer_key: str) -> _Token:
    """Holding the lock or claim: one upstream refresh, then a guarded write."""
    seen = link.version
    refresh_token = _open(link, customer_key, "refresh")
    if refresh_token is None:
        _release(link.id, seen, failed=False)
        give_up(member_id, "token_unreadable")
        raise RelinkRequiredError()
    try:
        # The key derives from the customer and version: if our answer is lost and the
        # refresh is tried again, Toss replays it instead of rotating twice (§4).
        issued = toss().refresh_access_token(
            customer_key,
            refresh_token,
            idempotency_key=f"refresh:{customer_key}:{seen}",
        )
    except TossError as exc:
        refused = isinstance(exc, TossApiError) and not exc.outcome_unknown
        _release(link.id, seen, failed=not refused)
        audit.record(
            "system",
            "brandpay.refresh_failed",
            f"member:{member_id}",
            outcome="refused" if refused else "unavailable",
            error=getattr(exc, "code", type(exc).__name__),
        )
        if refused:
            # Toss no longer knows this refresh token: only a new link helps.
            log.warning("brandpay: refresh refused for member %s: %r", member_id, exc)
            give_up(member_id, "refresh_refused")
            raise RelinkRequiredError() from None
        raise UpstreamError() from None
    now = utcnow()
    access_enc, refresh_enc = encrypt_tokens(customer_key, issued)
    written = db.session.execute(
        update(BrandPayLink)
        .where(
            BrandPayLink.id == link.id,
            BrandPayLink.version == seen,
            BrandPayLink.status == LINKED,
        )
        .values(
            access_token_enc=access_enc,
            refresh_token_enc=refresh_enc,
            access_expires_at=issued.expires_at(now),
            refresh_lock_until=None,
            version=seen + 1,
        )
    )
    db.session.commit()
    if written.rowcount != 1:
        # The row changed under us (revoked, withdrawn, or an overtaking refresher):
        # what is stored now wins, and our pair is dropped.
        return _current(_require_usable(_load(member_id)), member_id, customer_key)
    log.info("brandpay: refreshed access token of member %s", member_id)
    return _Token(issued.access_token, seen + 1)


def _release(link_id: int, seen: int, *, failed: bool) -> None:
    """Give up the lock/claim without new tokens; `failed` tells the waiters."""
    db.session.rollback()  # PostgreSQL: releases the row lock
    values: dict[str, datetime | None] = {"refresh_lock_until": None}
    if failed:
        values["refresh_failed_at"] = utcnow()
    db.session.execute(
        update(BrandPayLink)
        .where(BrandPayLink.id == link_id, BrandPayLink.version == seen)
        .values(**values)
    )
    db.session.commit()


# -- key rotation -----------------------------------------------------------------


@dataclass(frozen=True)
class RotationResult:
    """What `rotate_all` did."""

    changed: int
    unreadable: int


def _same(
    column: InstrumentedAttribute[str | None], value: str | None
) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def rotate_all(batch_size: int = 200) -> RotationResult:
    """Re-encrypt every link's tokens under the primary vault key; safe to re-run."""
    v = vault()
    changed = unreadable = 0
    last_id = 0
    while True:
        rows = db.session.execute(
            select(
                BrandPayLink.id,
                Member.customer_key,
                BrandPayLink.access_token_enc,
                BrandPayLink.refresh_token_enc,
            )
            .join(Member, Member.id == BrandPayLink.member_id)
            .where(
                BrandPayLink.id > last_id,
                or_(
                    BrandPayLink.access_token_enc.is_not(None),
                    BrandPayLink.refresh_token_enc.is_not(None),
                ),
            )
            .order_by(BrandPayLink.id)
            .limit(batch_size)
        ).all()
        if not rows:
            break
        for link_id, customer_key, access, refresh in rows:
            last_id = link_id
            try:
                new_access, new_refresh = (
                    None
                    if text is None
                    else v.reencrypt(text, aad=token_aad(customer_key, purpose))
                    for text, purpose in ((access, "access"), (refresh, "refresh"))
                )
            except VaultError:
                unreadable += 1
                log.warning("rotate-keys: link %s does not decrypt, skipped", link_id)
                continue
            if (new_access, new_refresh) == (access, refresh):
                continue
            # Guarded by the old values: a refresh that raced us keeps its new tokens.
            result = db.session.execute(
                update(BrandPayLink)
                .where(
                    BrandPayLink.id == link_id,
                    _same(BrandPayLink.access_token_enc, access),
                    _same(BrandPayLink.refresh_token_enc, refresh),
                )
                .values(access_token_enc=new_access, refresh_token_enc=new_refresh)
            )
            changed += result.rowcount
        db.session.commit()
    audit.record(
        "cli", "vault.keys_rotated", "vault", changed=changed, unreadable=unreadable
    )
    return RotationResult(changed, unreadable)
