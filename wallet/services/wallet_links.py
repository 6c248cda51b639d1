"""Signed wallet links in (merchant → portal) and signed results out (portal → merchant).

Both are compact JWS (HS256) keyed with the merchant's link-signing secret. A link names
its merchant (`iss`) and key (`kid` header); it carries one action, a short expiry, a
`jti`, the return URL, and for `pay` the order and an amount ceiling. Pay links are
single-use: the `jti` goes into a table with a unique constraint when redeemed.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from wallet.errors import WalletError
from wallet.extensions import db
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.merchant import Merchant, MerchantOrder, WalletLinkUse
from wallet.models.order import PAID, Order
from wallet.services import audit, mandates, merchants

LINK_AUDIENCE = "brandpay-wallet"  # a link is addressed to the portal ...
RESULT_ISSUER = "brandpay-wallet"  # ... and a result comes from it (never confusable)
ACTIONS = ("pay", "manage", "mandate")
_ALG = "HS256"
_MAX_TOKEN = 4096
_LEEWAY = 30  # seconds of clock skew tolerated between merchant and portal
_RESULT_TTL = 600


class LinkError(WalletError):
    """A wallet link was refused; the message says why in plain words."""

    code = "LINK_INVALID"
    default_message = _l("This payment link is not valid.")


class LinkExpiredError(LinkError):
    """The link's `exp` has passed."""

    status = 410
    code = "LINK_EXPIRED"


class LinkReplayedError(LinkError):
    """A single-use link was already used."""

    status = 409
    code = "LINK_USED"


class LinkWrongMerchantError(LinkError):
    """The link's merchant does not own the order it names."""

    status = 403
    code = "LINK_WRONG_MERCHANT"


@dataclass(frozen=True)
class VerifiedLink:
    """A link whose signature and claims checked out."""

    merchant: Merchant
    action: str
    jti: str
    return_url: str
    order: Order | None
    max_amount: int | None
    # action "mandate": what the member is asked to agree to (the link's `mandate`
    # claim, checked), with the expiry counted from now.
    terms: Any = None
    reference: str | None = None


# -- making links (the API does it for merchants; merchants may also sign their own) --


def sign_link(
    merchant: Merchant,
    action: str,
    return_url: str,
    *,
    order: Order | None = None,
    max_amount: int | None = None,
    ttl: int | None = None,
    mandate: dict[str, Any] | None = None,
) -> str:
    """A compact JWS wallet link token signed with the merchant's current secret.

    `mandate` (action "mandate"): the claim {description, max_amount, max_charges,
    period, valid_days, reference?} the member is asked to agree to.
    """
    kid, key = merchants.current_key(merchant)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": merchant.public_id,
        "aud": LINK_AUDIENCE,
        "jti": secrets.token_urlsafe(16),
        "iat": now,
        "exp": now + int(ttl or current_app.config["WALLET_LINK_TTL"]),
        "action": action,
        "return_url": return_url,
    }
    if order is not None:
        claims["order_id"] = order.order_id
        claims["max_amount"] = max_amount if max_amount is not None else order.amount
    if mandate is not None:
        claims["mandate"] = mandate
    return jwt.encode({"alg": _ALG, "kid": kid}, claims, OctKey.import_key(key))


def link_url(token: str) -> str:
    """The portal URL a member opens for a link token."""
    base = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    return f"{base}/l/{token}"


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a token this portal just signed (for echoing back to the API)."""
    return _unverified_parts(token)[1]


def expiry_of(claims: dict[str, Any]) -> datetime:
    """A token's `exp` as an aware UTC datetime."""
    return datetime.fromtimestamp(int(claims["exp"]), tz=UTC)


# -- checking links -------------------------------------------------------------------


def _refuse(
    exc: LinkError, actor: str, merchant: Merchant | None = None, **details: Any
) -> LinkError:
    """Audit a refused link, then hand the error back to raise."""
    subject = f"merchant:{merchant.id}" if merchant else ""
    audit.record(actor, "wallet_link.refused", subject, reason=exc.code, **details)
    return exc


def _unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims before the signature is checked (only to find the key)."""
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN:
        raise ValueError("size")
    compact = jws.extract_compact(token.encode("ascii"))
    claims = json.loads(compact.payload)
    if not isinstance(claims, dict):
        raise ValueError("claims")
    return dict(compact.protected), claims


def merchant_of_token(token: str) -> Merchant | None:
    """The merchant whose live key really signed `token` (expiry aside), else None."""
    try:
        header, unverified = _unverified_parts(token)
        merchant = merchants.by_public_id(str(unverified.get("iss")))
        if merchant is None or header.get("alg") != _ALG:
            return None
        key = merchants.link_keys(merchant).get(str(header.get("kid")))
        if key is None:
            return None
        jwt.decode(token, OctKey.import_key(key), algorithms=[_ALG])
    except (ValueError, UnicodeError, JoseError):
        return None
    return merchant


def verify_link(token: str, actor: str) -> VerifiedLink:
    """Check signature, expiry, action, order ownership, amount ceiling and return URL."""
    try:
        header, unverified = _unverified_parts(token)
    except (ValueError, UnicodeError, JoseError):
        raise _refuse(
            LinkError(_("This link is damaged. Ask the shop for a new one.")), actor
        ) from None
    merchant = (
        merchants.by_public_id(unverified["iss"])
        if isinstance(unverified.get("iss"), str)
        else None
    )
    if merchant is None or not merchant.active:
        raise _refuse(
            LinkError(_("This link comes from an unknown shop.")), actor
        ) from None
    keys = merchants.link_keys(merchant)
    kid = header.get("kid")
    if header.get("alg") != _ALG or not isinstance(kid, str) or kid not in keys:
        raise _refuse(
            LinkError(_("This link was not signed by the shop.")), actor, merchant
        )
    try:
        verified = jwt.decode(token, OctKey.import_key(keys[kid]), algorithms=[_ALG])
    except JoseError:
        raise _refuse(
            LinkError(_("This link was changed after the shop signed it.")),
            actor,
            merchant,
            kid=kid,
        ) from None
    claims = verified.claims
    _check_times(claims, actor, merchant)
    action = claims.get("action")
    jti = claims.get("jti")
    if (
        claims.get("aud") != LINK_AUDIENCE
        or action not in ACTIONS
        or not isinstance(jti, str)
        or not 8 <= len(jti) <= 64
    ):
        raise _refuse(
            LinkError(_("This link does not say what to do.")), actor, merchant
        )
    return_url = merchants.allowed_return_url(merchant, claims.get("return_url"))
    if return_url is None:
        raise _refuse(
            LinkError(
                _("This link would send you to an address the shop has not registered.")
            ),
            actor,
            merchant,
        )
    order, ceiling = None, None
    if action == "pay":
        order, ceiling = _check_order(claims, merchant, actor)
        if db.session.scalar(select(WalletLinkUse.id).where(WalletLinkUse.jti == jti)):
            raise _refuse(
                LinkReplayedError(
                    _("This link was already used. Ask the shop for a new one.")
                ),
                actor,
                merchant,
                order=order.order_id,
            )
        if not order.is_payable:
            raise _refuse(
                LinkError(_("This order can no longer be paid."), status=409),
                actor,
                merchant,
                order=order.order_id,
            )
    if action == "mandate":
        terms, reference = _check_mandate(claims, merchant, actor)
        return VerifiedLink(
            merchant, action, jti, return_url, None, None, terms, reference
        )
    return VerifiedLink(merchant, action, jti, return_url, order, ceiling)


def _check_mandate(
    claims: dict[str, Any], merchant: Merchant, actor: str
) -> tuple[Any, str | None]:
    """The `mandate` claim as checked Terms (services/mandates.py), or refused."""
    asked = claims.get("mandate")
    asked = asked if isinstance(asked, dict) else {}
    days, reference = asked.get("valid_days"), asked.get("reference")
    try:
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise mandates.InvalidMandateError()
        if reference is not None and (
            not isinstance(reference, str) or not 1 <= len(reference) <= 100
        ):
            raise mandates.InvalidMandateError()
        terms = mandates.Terms(
            asked.get("description"),  # type: ignore[arg-type]
            asked.get("max_amount"),  # type: ignore[arg-type]
            asked.get("max_charges"),  # type: ignore[arg-type]
            asked.get("period"),  # type: ignore[arg-type]
            utcnow() + timedelta(days=min(days, mandates.MAX_VALID_DAYS)),
        ).check()
    except (mandates.InvalidMandateError, TypeError, AttributeError):
        raise _refuse(
            LinkError(_("This link does not say what the shop may charge.")),
            actor,
            merchant,
        ) from None
    return terms, reference


def sign_mandate_result(merchant: Merchant, mandate: Any) -> str:
    """A JWS for the merchant about a mandate the member answered: id and status."""
    return _sign_result(
        merchant,
        mandate_id=mandate.public_id,
        status=mandate.status,
        reference=mandate.reference,
    )


def with_result(url: str, token: str) -> str:
    """`url` with `wallet_result=<token>` added to its query."""
    parts = urlsplit(url)
    query = urlencode({"wallet_result": token})
    query = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _check_times(claims: dict[str, Any], actor: str, merchant: Merchant) -> None:
    exp, iat = claims.get("exp"), claims.get("iat")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (exp, iat)):
        raise _refuse(LinkError(_("This link has no expiry.")), actor, merchant)
    now = int(time.time())
    if exp - iat > int(current_app.config["WALLET_LINK_TTL"]) or iat > now + _LEEWAY:
        raise _refuse(
            LinkError(_("This link's lifetime is longer than allowed.")),
            actor,
            merchant,
        )
    if now > exp + _LEEWAY:
        raise _refuse(
            LinkExpiredError(
                _("This link has expired. Go back to the shop and try again.")
            ),
            actor,
            merchant,
        )


def _check_order(
    claims: dict[str, Any], merchant: Merchant, actor: str
) -> tuple[Order, int]:
    order_id, ceiling = claims.get("order_id"), claims.get("max_amount")
    if (
        not isinstance(order_id, str)
        or not isinstance(ceiling, int)
        or isinstance(ceiling, bool)
    ):
        raise _refuse(
            LinkError(_("This payment link names no order.")), actor, merchant
        )
    order = db.session.scalar(select(Order).where(Order.order_id == order_id))
    if order is None:
        raise _refuse(
            LinkError(_("The order in this link does not exist."), status=404),
            actor,
            merchant,
        )
    if order.merchant_id != merchant.id:
        raise _refuse(
            LinkWrongMerchantError(
                _("This link is not from the shop that owns the order.")
            ),
            actor,
            merchant,
            order=order_id,
        )
    if order.amount > ceiling:  # re-checked here: the link caps what may be charged
        raise _refuse(
            LinkError(_("The order's amount is above what the link allows.")),
            actor,
            merchant,
            order=order_id,
        )
    return order, ceiling


def redeem_pay_link(token: str, member: Member) -> Order:
    """Use a pay link once: bind its order to the member and remember the return URL."""
    link = verify_link(token, member.email)
    if link.action != "pay" or link.order is None:
        raise LinkError(_("This link is not a payment link."))
    order = link.order
    # Guarded bind: an order already taken by somebody else stays theirs, even if two
    # members race with two different links for it.
    bound = db.session.execute(
        update(Order)
        .where(
            Order.id == order.id,
            (Order.member_id.is_(None)) | (Order.member_id == member.id),
        )
        .values(member_id=member.id)
        .execution_options(synchronize_session=False)
    )
    if bound.rowcount != 1:
        db.session.rollback()
        raise _refuse(
            LinkError(_("This order belongs to another member."), status=409),
            member.email,
            link.merchant,
            order=order.order_id,
        )
    _spend(link, order, member.id, member.email)
    db.session.refresh(order)
    audit.record(
        member.email,
        "wallet_link.redeemed",
        f"order:{order.order_id}",
        merchant=link.merchant.public_id,
    )
    return order


def redeem_guest_link(token: str) -> Order:
    """A guest (no account) uses a pay link once, to pay its order by card (issue 12).

    The order stays without a member; the caller keeps the guest's right to it in the
    (server-side) session.
    """
    link = verify_link(token, "guest")
    if link.action != "pay" or link.order is None:
        raise LinkError(_("This link is not a payment link."))
    order = link.order
    if order.member_id is not None:
        raise _refuse(
            LinkError(
                _("This order belongs to a member. Log in to pay it."), status=409
            ),
            "guest",
            link.merchant,
            order=order.order_id,
        )
    _spend(link, order, None, "guest")
    db.session.refresh(order)
    audit.record(
        "guest",
        "wallet_link.redeemed_by_guest",
        f"order:{order.order_id}",
        merchant=link.merchant.public_id,
    )
    return order


def _spend(link: VerifiedLink, order: Order, member_id: int | None, actor: str) -> None:
    """Record the link's single use and the order's return URL; commit. The unique
    jti makes a concurrent second use of the same link fail here: a replay."""
    db.session.add(
        WalletLinkUse(
            jti=link.jti,
            merchant_id=link.merchant.id,
            order_id=order.order_id,
            member_id=member_id,
        )
    )
    extra = db.session.get(MerchantOrder, order.id)
    if extra is None:
        db.session.add(MerchantOrder(order_pk=order.id, return_url=link.return_url))
    else:
        extra.return_url = link.return_url
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _refuse(
            LinkReplayedError(
                _("This link was already used. Ask the shop for a new one.")
            ),
            actor,
            link.merchant,
            order=order.order_id,
        ) from None


# -- results back to the merchant ---------------------------------------------------


def sign_result(merchant: Merchant, order: Order) -> str:
    """A JWS the merchant verifies with its secret: order id, status, amount, time."""
    return _sign_result(
        merchant, order_id=order.order_id, status=order.status, amount=order.amount
    )


def _sign_result(merchant: Merchant, **facts: Any) -> str:
    """A short-lived result JWS from this portal to the merchant, with `facts`."""
    kid, key = merchants.current_key(merchant)
    now = int(time.time())
    claims = {
        "iss": RESULT_ISSUER,
        "aud": merchant.public_id,
        "jti": secrets.token_urlsafe(16),
        "iat": now,
        "exp": now + _RESULT_TTL,
        **facts,
    }
    return jwt.encode({"alg": _ALG, "kid": kid}, claims, OctKey.import_key(key))


def return_url_for(order: Order, member: Member | None) -> str:
    """Where to send the payer back: the allow-listed return URL plus a signed result.

    `member` None: a guest's order (the caller checked the guest's session)."""
    owner = member.id if member is not None else None
    if order.member_id != owner or order.merchant_id is None:
        raise LinkError(_("We could not find that order."), status=404)
    merchant = db.session.get(Merchant, order.merchant_id)
    target = (
        merchants.allowed_return_url(merchant, merchants.return_url_of(order))
        if merchant is not None
        else None
    )
    if merchant is None or target is None:
        # The allow-list may have changed since the order was made: never redirect to
        # an address the merchant no longer vouches for.
        raise LinkError(_("This order has no address to return to."), status=404)
    return with_result(target, sign_result(merchant, order))


@dataclass(frozen=True)
class ShopReturn:
    """Where a paid shop order goes back to: the signed return URL and its origin."""

    url: str
    origin: str


def shop_return_for(order: Order, member: Member) -> ShopReturn | None:
    """The shop's signed return for a settled order of this member; None when the order
    is not a shop's, is not settled, or has no allow-listed return URL (any more)."""
    if order.merchant_id is None or order.status not in PAID:
        return None
    try:
        url = return_url_for(order, member)
    except LinkError:
        return None
    parts = urlsplit(url)
    return ShopReturn(url, f"{parts.scheme}://{parts.netloc}")


def merchant_for_order(order: Order) -> Merchant | None:
    """The merchant that owns an order, if any."""
    if order.merchant_id is None:
        return None
    return db.session.get(Merchant, order.merchant_id)
