"""Server-side, revocable sessions (issue 13, M2) with Flask-Session.

The cookie carries only a random session id; the data lives on the server, so logging
out deletes it and a copied cookie stops working. Storage is this portal's database
(the `web_sessions` table, built by the migrations) unless WALLET_SESSION_REDIS_URL
names a Redis, which several processes or hosts then share.

Two choices on top of the library, both small:
- Sessions are stored under a SHA-256 of their id, so a copy of the table (or of Redis)
  holds no usable session.
- The database storage is ours, not Flask-Session's SqlAlchemySessionInterface: that
  one creates its table outside the migrations and defines a new model class for each
  app it is given (tests build many apps). Ours uses its own short database session,
  so a session write never commits a request's unfinished work.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from flask import Flask, g
from flask_session.base import ServerSideSession, ServerSideSessionInterface
from flask_session.redis import RedisSessionInterface
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wallet.extensions import db
from wallet.models._types import utcnow
from wallet.models.member import Member, is_staff_of_any
from wallet.models.security import WebSession

SID_BYTES = 32  # secrets.token_urlsafe(32): 256 random bits per session id


class _HashedStoreIds:
    """Store a session under a hash of its id, never under the id the cookie holds."""

    key_prefix: str

    def _get_store_id(self, sid: str) -> str:
        digest = hashlib.sha256(sid.encode("utf-8")).hexdigest()
        return self.key_prefix + digest


# The session row and, joined on the id saved beside it, its member with "is merchant
# staff": the user loader's statement folded into this one (issue 16).
_READ_SESSION = (
    select(WebSession.data, WebSession.expiry, Member, is_staff_of_any(Member.id))
    .outerjoin(Member, Member.id == WebSession.member_id)
    .where(WebSession.session_id == bindparam("sid"))
)
SESSION_MEMBER_KEY = "_wallet_session_member"  # on `g`: (Member, is staff), or absent


def _member_id_of(session: ServerSideSession) -> int | None:
    """The member id of Flask-Login's "id:epoch" in the data, if it holds one."""
    member_id, _sep, _epoch = str(session.get("_user_id") or "").partition(":")
    return int(member_id) if member_id.isdigit() and len(member_id) < 10 else None


def session_member(member_id: int) -> tuple[Member, bool] | None:
    """The member row read with this request's session, if it is `member_id`'s.

    Taken once (the user loader runs once per request). The loader still checks the
    session epoch; any other member, or none, and it reads the member itself.
    """
    found = g.pop(SESSION_MEMBER_KEY, None)
    if found is None or found[0].id != member_id:
        return None
    return found  # type: ignore[no-any-return]


class DatabaseSessionInterface(_HashedStoreIds, ServerSideSessionInterface):
    """Flask-Session storage in the `web_sessions` table (SQLite or PostgreSQL)."""

    ttl = (
        False  # expired rows are skipped on read and purged by `flask session_cleanup`
    )

    def _retrieve_session_data(self, store_id: str) -> dict[str, Any] | None:
        # Every request reads this: one Core statement built once (issue 16), on the
        # connection the request's own database session will use anyway (one pool
        # checkout per request, and on PostgreSQL no BEGIN and ROLLBACK of a second
        # connection). Only a read: writes keep their own session (_upsert_session).
        # With the member row joined (one statement instead of two per request).
        row = db.session.execute(_READ_SESSION, {"sid": store_id}).first()
        if row is None or row.expiry <= utcnow():
            return None
        if row.Member is not None:
            g.setdefault(SESSION_MEMBER_KEY, (row.Member, bool(row[3])))
        return self.serializer.decode(row.data)  # type: ignore[union-attr]

    def _delete_session(self, store_id: str) -> None:
        with Session(db.engine) as store, store.begin():
            store.execute(delete(WebSession).where(WebSession.session_id == store_id))

    def _upsert_session(
        self, session_lifetime: timedelta, session: ServerSideSession, store_id: str
    ) -> None:
        data = self.serializer.encode(session)  # type: ignore[union-attr]
        expiry = utcnow() + session_lifetime
        member_id = _member_id_of(session)
        # Whatever the request left uncommitted is discarded at teardown anyway; ending
        # it now also releases SQLite's write lock, which our own write below needs.
        db.session.rollback()
        for _attempt in range(2):
            with Session(db.engine) as store:
                changed = store.execute(
                    update(WebSession)
                    .where(WebSession.session_id == store_id)
                    .values(data=data, expiry=expiry, member_id=member_id)
                ).rowcount
                if not changed:
                    store.add(
                        WebSession(
                            session_id=store_id,
                            data=data,
                            expiry=expiry,
                            member_id=member_id,
                        )
                    )
                try:
                    store.commit()
                    return
                except IntegrityError:
                    store.rollback()  # a parallel request created it first: update it

    def _delete_expired_sessions(self) -> None:
        with Session(db.engine) as store, store.begin():
            store.execute(delete(WebSession).where(WebSession.expiry <= utcnow()))


class HashedRedisSessionInterface(_HashedStoreIds, RedisSessionInterface):
    """Flask-Session's Redis storage (keys expire by Redis TTL), with hashed keys."""


def init_app(app: Flask) -> None:
    """Install the session storage the configuration asks for.

    Sessions are not "permanent": the cookie lasts until the browser closes, and the
    server forgets a session PERMANENT_SESSION_LIFETIME after its last save (use
    saves it at least every SESSION_TOUCH_SECONDS). Flask-Login's "strong" protection
    only logs a session out when it is not permanent.
    """
    prefix = str(app.config["SESSION_KEY_PREFIX"])
    redis_url = app.config.get("SESSION_REDIS_URL")
    interface: ServerSideSessionInterface
    if redis_url:
        from redis import Redis

        interface = HashedRedisSessionInterface(
            app,
            client=Redis.from_url(
                str(redis_url), socket_timeout=5, socket_connect_timeout=5
            ),
            key_prefix=prefix,
            permanent=False,
            sid_length=SID_BYTES,
        )
    else:
        interface = DatabaseSessionInterface(
            app, key_prefix=prefix, permanent=False, sid_length=SID_BYTES
        )
    app.session_interface = interface
