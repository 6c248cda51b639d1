"""Failed-password throttling without lockout (issue 13, L1).

Two counters per attempt, both keyed by the email whether or not an account has it
(unknown emails behave exactly like real ones):

- (email, client address): after LOGIN_THROTTLE_FREE failures, each further failure
  makes this pair wait longer (LOGIN_THROTTLE_BASE_SECONDS, doubling, capped). Only
  the address that made the failures waits: the owner elsewhere logs in as usual.
- the email alone: when it failed LOGIN_THROTTLE_ACCOUNT_CEILING times within the
  window from anywhere (a spread-out guessing attack), every address gets one free
  failure instead of LOGIN_THROTTLE_FREE. It only slows guessing; it never refuses a
  first attempt, so nobody can lock somebody else out.

Keys are HMAC-SHA256 under the app's secret key: the table does not reveal which
emails or addresses were tried. Login and re-authentication share the counters.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from wallet.errors import WalletError
from wallet.extensions import db
from wallet.models._types import utcnow
from wallet.models.security import THROTTLE_ACCOUNT, THROTTLE_PAIR, LoginThrottle


class ThrottledError(WalletError):
    """Too many failed passwords from here for this account; wait and try again."""

    status = 429
    code = "TOO_MANY_ATTEMPTS"

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(int(retry_after), 1)
        super().__init__(
            _(
                "Too many failed attempts. Wait %(seconds)d seconds and try again.",
                seconds=self.retry_after,
            )
        )


def _key(scope: str, email: str, address: str | None = None) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    parts = [scope, email] if address is None else [scope, email, address]
    return hmac.new(secret, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def _keys(email: str, address: str | None) -> tuple[str, str]:
    return _key(THROTTLE_PAIR, email, address or "-"), _key(THROTTLE_ACCOUNT, email)


def retry_after(email: str, address: str | None, now: datetime | None = None) -> int:
    """Seconds this (email, address) must still wait; 0 when it may try now."""
    pair_key, _account = _keys(email, address)
    blocked = db.session.scalar(
        select(LoginThrottle.blocked_until).where(LoginThrottle.key == pair_key)
    )
    now = now or utcnow()
    if blocked is None or blocked <= now:
        return 0
    return math.ceil((blocked - now).total_seconds())


def _count(scope: str, key: str, now: datetime) -> None:
    """failures += 1 for this key, starting afresh after a quiet window; commits."""
    window = timedelta(seconds=current_app.config["LOGIN_THROTTLE_WINDOW"])
    for _attempt in range(2):
        try:
            db.session.execute(
                update(LoginThrottle)
                .where(
                    LoginThrottle.key == key,
                    LoginThrottle.last_failure_at < now - window,
                )
                .values(failures=0, first_failure_at=now, blocked_until=None)
            )
            counted = db.session.execute(
                update(LoginThrottle)
                .where(LoginThrottle.key == key)
                .values(failures=LoginThrottle.failures + 1, last_failure_at=now)
            ).rowcount
            if not counted:
                db.session.execute(
                    insert(LoginThrottle).values(
                        scope=scope,
                        key=key,
                        failures=1,
                        first_failure_at=now,
                        last_failure_at=now,
                    )
                )
            db.session.commit()
            return
        except IntegrityError:  # a parallel failure inserted it first: count again
            db.session.rollback()


def failed(email: str, address: str | None) -> None:
    """Count a wrong password; make the pair wait once it is past its free failures."""
    config = current_app.config
    now = utcnow()
    pair_key, account_key = _keys(email, address)
    _count(THROTTLE_PAIR, pair_key, now)
    _count(THROTTLE_ACCOUNT, account_key, now)
    counts = dict(
        db.session.execute(
            select(LoginThrottle.key, LoginThrottle.failures).where(
                LoginThrottle.key.in_((pair_key, account_key))
            )
        ).all()
    )
    attacked = counts.get(account_key, 0) >= config["LOGIN_THROTTLE_ACCOUNT_CEILING"]
    free = 1 if attacked else int(config["LOGIN_THROTTLE_FREE"])
    over = counts.get(pair_key, 0) - free
    if over >= 0:
        seconds = min(
            float(config["LOGIN_THROTTLE_BASE_SECONDS"]) * 2 ** min(over, 20),
            float(config["LOGIN_THROTTLE_MAX_SECONDS"]),
        )
        db.session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == pair_key)
            .values(blocked_until=now + timedelta(seconds=seconds))
        )
    db.session.commit()


def succeeded(email: str, address: str | None) -> None:
    """The right password from this address: its own counter starts again.

    The account-wide counter stays until its window passes: the owner logging in
    does not end an attack that is still going on elsewhere.
    """
    pair_key, _account = _keys(email, address)
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == pair_key))
    db.session.commit()


def recent_failures(email: str) -> int:
    """Failed passwords for this email within the window, from every address."""
    window = timedelta(seconds=current_app.config["LOGIN_THROTTLE_WINDOW"])
    row = db.session.execute(
        select(LoginThrottle.failures, LoginThrottle.last_failure_at).where(
            LoginThrottle.key == _key(THROTTLE_ACCOUNT, email)
        )
    ).first()
    if row is None or row.last_failure_at < utcnow() - window:
        return 0
    return int(row.failures)
