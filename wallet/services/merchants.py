"""Merchant accounts: return-URL allow-lists, API keys, link-signing secrets, staff."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError

from wallet import outbound
from wallet.crypto import VaultError
from wallet.errors import ConflictError, NotFoundError, WalletError
from wallet.extensions import db
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.merchant import (
    MAX_MEMBER_CANCEL_DAYS,
    ApiIdempotencyKey,
    Merchant,
    MerchantApiKey,
    MerchantOrder,
    merchant_members,
)
from wallet.models.order import Order
from wallet.services import audit, vault

API_KEY_PREFIX = "bpk_"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret. Standard Webhooks' secret format: whsec_<base64 key bytes>
_SECRET_BYTES = 32
_DEFAULT_PORTS = {"https": 443, "http": 80}
# Plain ASCII DNS names (lower-cased by urlsplit). No IDN, no percent-escapes, no
# trailing dot: an allow-listed origin is matched exactly, so anything a browser could
# read differently from us is refused before the comparison.
_HOST = re.compile(
    r"(?=.{1,253}\Z)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
)
_LOOPBACK = frozenset({"localhost", "127.0.0.1"})
_MAX_URL = 2000
_LAST_USED_EVERY = timedelta(seconds=60)  # don't write a row on every API call


class MerchantError(WalletError):
    """A merchant setting was refused."""

    code = "INVALID_MERCHANT"


class ApiAuthError(WalletError):
    """Missing, unknown or revoked API key."""

    status = 401
    code = "UNAUTHORIZED"


@dataclass(frozen=True)
class IssuedSecret:
    """A freshly made secret, shown once to whoever created it."""

    kid: str
    secret: str


# -- return URLs ---------------------------------------------------------------------


def _origin_of(parts: SplitResult) -> str | None:
    """`scheme://host[:port]` of a parsed URL, or None if any part is suspicious."""
    scheme = parts.scheme
    if scheme not in _DEFAULT_PORTS:
        return None
    netloc = parts.netloc
    if not netloc or "@" in netloc or "%" in netloc:
        return None  # userinfo (`https://shop@evil`) and escapes never pass
    host = parts.hostname or ""
    if not _HOST.fullmatch(host):
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    expected_netloc = host if port is None else f"{host}:{port}"
    if netloc.lower() != expected_netloc:
        return None  # anything beyond host[:port] (`[`, spaces, empty port `:`)
    if scheme == "http" and host not in _LOOPBACK:
        return None  # plain http only for local development shops
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _split(url: object) -> SplitResult | None:
    if not isinstance(url, str) or not url or len(url) > _MAX_URL:
        return None
    # Browsers drop tabs/newlines and treat `\` as `/`; refuse rather than guess.
    if "\\" in url or any(ord(c) <= 32 or ord(c) == 127 for c in url):
        return None
    if not url.isascii():
        return None  # IDN look-alikes: merchants register the punycode form
    try:
        return urlsplit(url)
    except ValueError:
        return None


def normalize_origin(value: str) -> str:
    """An allow-list entry: exactly `scheme://host[:port]`, nothing else."""
    parts = _split(value.strip())
    origin = _origin_of(parts) if parts else None
    if (
        parts is None
        or origin is None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or value.strip().endswith("?")
    ):
        raise MerchantError(
            _(
                "%(value)s is not an origin: use https://host[:port] (http only for localhost).",
                value=value.strip()[:80],
            )
        )
    return origin


def parse_origins(text: str) -> list[str]:
    """Origins from a textarea (one per line or comma-separated), normalized, unique."""
    seen: list[str] = []
    for raw in re.split(r"[\s,]+", text or ""):
        if raw:
            origin = normalize_origin(raw)
            if origin not in seen:
                seen.append(origin)
    return seen


def allowed_return_url(merchant: Merchant, url: object) -> str | None:
    """The URL re-serialized if its origin is on the merchant's allow-list, else None.

    Callers redirect to the returned string, never to the input, so what was checked is
    exactly what the browser gets.
    """
    parts = _split(url)
    if parts is None:
        return None
    origin = _origin_of(parts)
    if origin is None or origin not in merchant.origins:
        return None
    if parts.path and not parts.path.startswith("/"):
        return None
    scheme, netloc = origin.split("://", 1)
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, parts.fragment))


# -- merchants -----------------------------------------------------------------------


def _new_secret() -> IssuedSecret:
    raw = secrets.token_bytes(_SECRET_BYTES)
    return IssuedSecret(
        kid="k" + secrets.token_hex(4),
        secret=SECRET_PREFIX + base64.b64encode(raw).decode("ascii"),
    )


def secret_key_bytes(secret: str) -> bytes:
    """The HMAC key inside a `whsec_` secret (what merchants use to sign and verify)."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def create_merchant(
    name: str,
    origins: list[str],
    webhook_url: str | None,
    *,
    allow_framing: bool = False,
    actor: str = "system",
) -> tuple[Merchant, IssuedSecret]:
    """Create a merchant with a fresh link-signing secret (returned once, stored encrypted)."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise MerchantError(_("Give the merchant a name of at most 120 characters."))
    origins = [normalize_origin(o) for o in origins]
    if not origins:
        raise MerchantError(_("Add at least one allowed return origin."))
    webhook_url = check_webhook_url(webhook_url)
    issued = _new_secret()
    merchant = Merchant(
        name=name,
        return_origins="\n".join(origins),
        webhook_url=webhook_url,
        allow_framing=allow_framing,
        link_kid=issued.kid,
        link_secret="",  # encrypted below, once the id (part of the AAD) exists
    )
    db.session.add(merchant)
    db.session.flush()
    merchant.link_secret = vault().encrypt(issued.secret, aad=merchant.link_aad)
    db.session.commit()
    audit.record(actor, "merchant.created", f"merchant:{merchant.id}", name=name)
    return merchant, issued


def check_webhook_url(url: str | None, *, hook: bool = False) -> str | None:
    """A webhook URL is https (http only on loopback, and never in production) with
    no credentials, and its host's addresses are public (wallet/outbound.py, I2).
    `hook`: the pre-approval hook's URL, held to the same rules (issue 15)."""
    url = (url or "").strip()
    if not url:
        return None
    parts = _split(url)
    if parts is None or _origin_of(parts) is None or len(url) > 500:
        raise MerchantError(
            _("The pre-approval URL must be an https URL without credentials.")
            if hook
            else _("The webhook URL must be an https URL without credentials.")
        )
    try:
        return outbound.check_url(url)
    except outbound.UnsafeURLError as exc:
        raise MerchantError(exc.message) from None


def update_settings(
    merchant: Merchant,
    origins: list[str],
    webhook_url: str | None,
    allow_framing: bool,
    active: bool,
    actor: str,
    *,
    member_cancel_days: int | None = None,
) -> Merchant:
    """Change a merchant's allow-list, webhook URL, framing, refund policy, active flag."""
    if not origins:
        raise MerchantError(_("Add at least one allowed return origin."))
    merchant.return_origins = "\n".join(normalize_origin(o) for o in origins)
    merchant.webhook_url = check_webhook_url(webhook_url)
    merchant.allow_framing = allow_framing
    merchant.active = active
    merchant.member_cancel_days = _cancel_days(member_cancel_days)
    db.session.commit()
    audit.record(
        actor,
        "merchant.updated",
        f"merchant:{merchant.id}",
        origins=merchant.origins,
        webhook_url=merchant.webhook_url,
        allow_framing=allow_framing,
        active=active,
        member_cancel_days=merchant.member_cancel_days,
    )
    return merchant


def _cancel_days(days: int | None) -> int | None:
    if days is None:
        return None
    if isinstance(days, bool) or not 1 <= days <= MAX_MEMBER_CANCEL_DAYS:
        raise MerchantError(
            _(
                "Enter 1 to %(days)d days, or leave it empty.",
                days=MAX_MEMBER_CANCEL_DAYS,
            )
        )
    return days


def set_refund_policy(merchant: Merchant, days: int | None, actor: str) -> Merchant:
    """Opt in (N days) or out (None) of members cancelling their own payments."""
    merchant.member_cancel_days = _cancel_days(days)
    db.session.commit()
    audit.record(
        actor,
        "merchant.refund_policy_changed",
        f"merchant:{merchant.id}",
        member_cancel_days=merchant.member_cancel_days,
    )
    return merchant


def set_confirm_url(merchant: Merchant, url: str | None, actor: str) -> Merchant:
    """Set (or clear, with None/"") the pre-approval hook's URL (issue 15)."""
    merchant.confirm_url = check_webhook_url(url, hook=True)
    db.session.commit()
    audit.record(
        actor,
        "merchant.confirm_url_changed",
        f"merchant:{merchant.id}",
        confirm_url=merchant.confirm_url,
    )
    return merchant


def get(merchant_id: int) -> Merchant:
    """A merchant by primary key."""
    merchant = db.session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFoundError(_("No such merchant."))
    return merchant


def by_public_id(public_id: str) -> Merchant | None:
    """A merchant by its public id (a link's `iss`)."""
    return db.session.scalar(select(Merchant).where(Merchant.public_id == public_id))


def list_merchants() -> list[Merchant]:
    """Every merchant, newest first."""
    return list(db.session.scalars(select(Merchant).order_by(Merchant.id.desc())))


def rotate_link_secret(merchant: Merchant, actor: str) -> IssuedSecret:
    """Make a new signing secret current; the old one keeps verifying until the next rotation."""
    issued = _new_secret()
    merchant.prev_link_kid = merchant.link_kid
    merchant.prev_link_secret = merchant.link_secret
    merchant.link_kid = issued.kid
    merchant.link_secret = vault().encrypt(issued.secret, aad=merchant.link_aad)
    merchant.secret_rotated_at = utcnow()
    db.session.commit()
    audit.record(
        actor,
        "merchant.secret_rotated",
        f"merchant:{merchant.id}",
        kid=issued.kid,
        previous=merchant.prev_link_kid,
    )
    return issued


def retire_previous_secret(merchant: Merchant, actor: str) -> None:
    """End a rotation: the previous secret stops verifying."""
    old = merchant.prev_link_kid
    merchant.prev_link_kid = merchant.prev_link_secret = None
    db.session.commit()
    audit.record(actor, "merchant.secret_retired", f"merchant:{merchant.id}", kid=old)


def link_keys(merchant: Merchant) -> dict[str, bytes]:
    """Live signing keys by kid, decrypted (current first); never logged or shown."""
    keys = {merchant.link_kid: _decrypt(merchant, merchant.link_secret)}
    if merchant.prev_link_kid and merchant.prev_link_secret:
        keys[merchant.prev_link_kid] = _decrypt(merchant, merchant.prev_link_secret)
    return keys


def current_key(merchant: Merchant) -> tuple[str, bytes]:
    """The kid and key that sign new links, results and webhooks."""
    return merchant.link_kid, _decrypt(merchant, merchant.link_secret)


def _decrypt(merchant: Merchant, token: str) -> bytes:
    return secret_key_bytes(vault().decrypt(token, aad=merchant.link_aad))


# -- API keys ------------------------------------------------------------------------


def _hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue_api_key(
    merchant: Merchant, label: str, actor: str
) -> tuple[MerchantApiKey, str]:
    """A new API key; the full key is returned once and only its hash is kept."""
    label = (label or "").strip()[:80]
    for _attempt in range(3):
        prefix = API_KEY_PREFIX + secrets.token_hex(4)
        raw = f"{prefix}_{secrets.token_urlsafe(32)}"
        key = MerchantApiKey(
            merchant_id=merchant.id, prefix=prefix, key_hash=_hash_key(raw), label=label
        )
        db.session.add(key)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # a prefix collision: draw again
            continue
        audit.record(
            actor,
            "merchant.api_key_issued",
            f"merchant:{merchant.id}",
            prefix=prefix,
            label=label,
        )
        return key, raw
    raise ConflictError(_("Could not issue a key; try again."))  # pragma: no cover


def revoke_api_key(merchant: Merchant, key_id: int, actor: str) -> MerchantApiKey:
    """Revoke one of the merchant's keys (others keep working)."""
    key = db.session.get(MerchantApiKey, key_id)
    if key is None or key.merchant_id != merchant.id:
        raise NotFoundError(_("No such API key."))
    key.revoke()
    db.session.commit()
    audit.record(
        actor, "merchant.api_key_revoked", f"merchant:{merchant.id}", prefix=key.prefix
    )
    return key


# Read by the dashboard on every view, built once (issue 16).
_KEYS_OF = (
    select(MerchantApiKey)
    .where(MerchantApiKey.merchant_id == bindparam("merchant_id"))
    .order_by(MerchantApiKey.id.desc())
)


def api_keys(merchant: Merchant) -> list[MerchantApiKey]:
    """The merchant's keys, newest first."""
    return list(db.session.scalars(_KEYS_OF, {"merchant_id": merchant.id}))


# The key and its merchant in one statement, built once: every API call asks (issue 16).
_KEY_AND_MERCHANT = (
    select(MerchantApiKey, Merchant)
    .outerjoin(Merchant, Merchant.id == MerchantApiKey.merchant_id)
    .where(MerchantApiKey.key_hash == bindparam("digest"))
)


def authenticate_api_key(raw: str | None) -> tuple[Merchant, MerchantApiKey]:
    """The active merchant behind a bearer key, or ApiAuthError."""
    if not raw or not raw.startswith(API_KEY_PREFIX) or len(raw) > 200:
        raise ApiAuthError(_("Send a valid API key as `Authorization: Bearer <key>`."))
    digest = _hash_key(raw)
    found = db.session.execute(_KEY_AND_MERCHANT, {"digest": digest}).first()
    key, merchant = found if found is not None else (None, None)
    # The lookup is by a hash of the key, so timing reveals nothing about the stored
    # keys; compare_digest guards the final equality anyway.
    if key is None or not hmac.compare_digest(key.key_hash, digest) or not key.active:
        raise ApiAuthError(_("This API key is unknown or revoked."))
    if merchant is None or not merchant.active:
        raise ApiAuthError(_("This merchant account is disabled."))
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_EVERY:
        key.last_used_at = now
        db.session.commit()
    return merchant, key


# -- staff ---------------------------------------------------------------------------


def add_staff(merchant: Merchant, email: str, actor: str) -> Member:
    """Let a member see this merchant's dashboard."""
    from wallet.services.members import find_by_email

    member = find_by_email(email or "")
    if member is None:
        raise NotFoundError(_("No member with that email."))
    if merchant_of(member, merchant.id) is None:
        db.session.execute(
            merchant_members.insert().values(
                member_id=member.id, merchant_id=merchant.id
            )
        )
        db.session.commit()
        member.forget_staff()
        audit.record(
            actor, "merchant.staff_added", f"merchant:{merchant.id}", member=member.id
        )
    return member


_MERCHANTS_OF = (
    select(Merchant)
    .join(merchant_members, merchant_members.c.merchant_id == Merchant.id)
    .where(merchant_members.c.member_id == bindparam("member_id"))
    .order_by(Merchant.name)
)


def merchants_of(member: Member) -> list[Merchant]:
    """Merchants whose dashboard this member may see."""
    return list(db.session.scalars(_MERCHANTS_OF, {"member_id": member.id}))


def merchant_of(member: Member, merchant_id: int) -> Merchant | None:
    """The merchant if the member is its staff, else None."""
    return db.session.scalar(
        select(Merchant)
        .join(merchant_members, merchant_members.c.merchant_id == Merchant.id)
        .where(merchant_members.c.member_id == member.id, Merchant.id == merchant_id)
    )


def count_merchants() -> int:
    """How many merchants exist."""
    return int(db.session.scalar(select(func.count(Merchant.id))) or 0)


# -- API idempotency -------------------------------------------------------------------


class IdempotencyKeyReusedError(WalletError):
    """Same Idempotency-Key, different request."""

    status = 422
    code = "IDEMPOTENCY_KEY_REUSED"


class IdempotencyInProgressError(WalletError):
    """The first request with this key has not finished yet."""

    status = 409
    code = "IDEMPOTENT_REQUEST_PROCESSING"


_IDEMPOTENCY_TAKEOVER = timedelta(
    seconds=60
)  # an in-flight marker older than this died


def fingerprint(method: str, path: str, body: object) -> str:
    """SHA-256 over method, path and the canonical JSON body."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def begin_idempotent(
    merchant: Merchant, key: str, print_: str, *, hold: bool = False
) -> tuple[ApiIdempotencyKey, bool]:
    """Reserve `key` for this request; (record, True) if a stored response should replay.

    `hold`: the reservation is only flushed, and commits with the request's own work
    and its stored answer in one transaction (`finish_idempotent(held=True)`). A
    parallel request with the same key waits on the unique key until then, and
    replays the answer; nothing is left half-done if the process dies in between.
    Only for requests that call no one else (Toss) while the transaction is open.
    """
    record = ApiIdempotencyKey(merchant_id=merchant.id, key=key, fingerprint=print_)
    db.session.add(record)
    try:
        if hold:
            db.session.flush()
        else:
            db.session.commit()
        return record, False
    except IntegrityError:
        db.session.rollback()
    existing = db.session.scalar(
        select(ApiIdempotencyKey).where(
            ApiIdempotencyKey.merchant_id == merchant.id, ApiIdempotencyKey.key == key
        )
    )
    if existing is None:  # pragma: no cover - deleted between our insert and read
        raise IdempotencyInProgressError(_("Retry the request."))
    if not hmac.compare_digest(existing.fingerprint, print_):
        raise IdempotencyKeyReusedError(
            _("This Idempotency-Key was used for a different request.")
        )
    if existing.finished:
        return existing, True
    stale = utcnow() - _IDEMPOTENCY_TAKEOVER
    if existing.created_at < stale:
        # The first request died without answering; take its reservation over.
        taken = db.session.execute(
            update(ApiIdempotencyKey)
            .where(
                ApiIdempotencyKey.id == existing.id,
                ApiIdempotencyKey.status_code.is_(None),
                ApiIdempotencyKey.created_at < stale,
            )
            .values(created_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if taken.rowcount == 1:
            return existing, False
    raise IdempotencyInProgressError(
        _("A request with this Idempotency-Key is still being processed.")
    )


class IdempotencyUnreadableError(WalletError):
    """The stored answer for this key can no longer be decrypted (vault key dropped)."""

    status = 409
    code = "IDEMPOTENCY_KEY_UNREADABLE"


def _answer_aad(record: ApiIdempotencyKey) -> str:
    return f"merchant:{record.merchant_id}:idempotency:{record.key}"


def _storable(status: int) -> bool:
    """Whether an answer is final (replayed) rather than worth running again."""
    return status < 500 and status not in (202, 409, 429)


def _sealed(record: ApiIdempotencyKey, body: dict[str, Any]) -> str:
    return vault().encrypt(
        json.dumps(body, ensure_ascii=False), aad=_answer_aad(record)
    )


def finish_idempotent(
    record: ApiIdempotencyKey,
    status: int,
    body: dict[str, Any],
    *,
    held: bool = False,
) -> None:
    """Store the response to replay, or free the key when the outcome may change.

    Stored encrypted with the vault (issue 13 L4): an answer can hold a wallet-link
    token, which must not sit in a plaintext column.

    `held` (from `begin_idempotent(hold=True)`): a success commits the request's work
    and the answer together; anything else rolls the request's work back and is then
    recorded as without `hold`.
    """
    if held and _storable(status) and status < 400:
        record.status_code = status
        record.response_body = _sealed(record, body)
        db.session.commit()
        return
    if held:
        merchant_id, key, print_ = record.merchant_id, record.key, record.fingerprint
        db.session.rollback()  # the reservation goes with the request's own work...
        if not sa_inspect(record).persistent:  # ...unless it was a committed takeover
            merchant = db.session.get(Merchant, merchant_id)
            if not _storable(status) or merchant is None:
                return  # nothing reserved any more: a retry with this key runs again
            record, replay = begin_idempotent(merchant, key, print_)
            if replay:  # a parallel request with this key answered meanwhile
                return
    db.session.rollback()  # whatever the request left behind is not ours to commit
    record = db.session.merge(record)
    if _storable(status):
        record.status_code = status
        record.response_body = _sealed(record, body)
    else:
        db.session.delete(record)  # transient: a retry with the same key runs again
    db.session.commit()


def stored_response(record: ApiIdempotencyKey) -> tuple[dict[str, Any], int]:
    """The replayed body and status (answers stored before encryption: as they are)."""
    stored = record.response_body or "{}"
    if not stored.startswith("{"):
        try:
            stored = vault().decrypt(stored, aad=_answer_aad(record))
        except VaultError:
            raise IdempotencyUnreadableError(
                _("The answer stored for this Idempotency-Key can no longer be read.")
            ) from None
    return json.loads(stored), int(record.status_code or 200)


# -- merchant orders ---------------------------------------------------------------------


class ReturnUrlError(WalletError):
    """A return URL outside the merchant's allow-list."""

    status = 422
    code = "RETURN_URL_NOT_ALLOWED"


def checked_return_url(merchant: Merchant, url: str | None) -> str | None:
    """None stays None; anything else must be on the allow-list (ReturnUrlError)."""
    if url is None:
        return None
    allowed = allowed_return_url(merchant, url)
    if allowed is None:
        raise ReturnUrlError(
            _("return_url must start with one of this merchant's registered origins.")
        )
    return allowed


def create_order(
    merchant: Merchant,
    amount: int,
    order_name: str,
    return_url: str | None,
    *,
    commit: bool = True,
) -> Order:
    """An order owned by the merchant, with its (allow-listed) return URL.

    `commit=False`: flushed only; the caller commits (the API commits the order and
    its stored idempotent answer together).
    """
    from wallet.services import orders

    return_url = checked_return_url(merchant, return_url)
    order = orders.create_order(
        amount, order_name, merchant_id=merchant.id, commit=False
    )
    extra = MerchantOrder(order_pk=order.id, return_url=return_url)
    db.session.add(extra)
    # The identity map holds rows weakly: kept (the newest only) for this database
    # session, the row answers `return_url_of` for the API's answer without reading
    # it back (issue 16).
    db.session.info["wallet_new_merchant_order"] = extra
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return order


def order_of(merchant: Merchant, order_id: str) -> Order:
    """The merchant's own order; anyone else's is 'not found'."""
    from wallet.services import orders

    order = orders.find(order_id)
    if order is None or order.merchant_id != merchant.id:
        raise NotFoundError(_("No such order."))
    return order


def return_url_of(order: Order) -> str | None:
    """The return URL stored for a merchant order."""
    extra = db.session.get(MerchantOrder, order.id)
    return extra.return_url if extra is not None else None


def return_urls_of(orders: Sequence[Order]) -> dict[int, str | None]:
    """Return URLs of many orders by order pk, in one query (listings: no N+1)."""
    rows = db.session.execute(
        select(MerchantOrder.order_pk, MerchantOrder.return_url).where(
            MerchantOrder.order_pk.in_([o.id for o in orders])
        )
    ).all()
    return {pk: url for pk, url in rows}


def orders_page(merchant: Merchant, cursor: str | None, limit: int) -> Any:
    """The merchant's orders in every status, newest first, keyset-paginated."""
    from wallet.services import orders

    return orders.page(
        merchant_id=merchant.id, statuses=None, cursor=cursor, limit=limit
    )


def recent_orders(merchant: Merchant, limit: int) -> Sequence[Any]:
    """The dashboard's newest orders in every status, as list rows (order_list.py)."""
    from wallet.services import order_list

    return order_list.listed(merchant=merchant, statuses=None, limit=limit).orders


def refund(
    merchant: Merchant,
    order: Order,
    amount: int | None,
    reason: str,
    *,
    actor: str | None = None,
) -> tuple[Order, bool]:
    """Refund a merchant's paid order through the payments service (contract §4).

    `actor` names who did it (a staff member on the dashboard); the API is the
    merchant itself.
    """
    from wallet.services import payments

    if order.payment is None:
        raise ConflictError(_("This order has not been paid."))
    pending = False
    try:
        payments.refund(
            order, amount, reason, actor or f"merchant:{merchant.public_id}"
        )
    except payments.RefundPendingError:
        pending = True  # Toss's answer was lost; reconcile finishes it
    db.session.expire_all()
    db.session.refresh(order)
    return order, pending
