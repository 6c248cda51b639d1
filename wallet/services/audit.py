"""The tamper-evident audit log: append, and verify the hash chain."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from wallet.extensions import db
from wallet.models._types import utcnow
from wallet.models.audit import GENESIS_HASH, AuditEvent

log = logging.getLogger(__name__)
_ATTEMPTS = 8


_TAIL = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
_APPEND = insert(AuditEvent)


def _new_event(
    last: tuple[int, str] | None, actor: str, action: str, subject: str, payload: str
) -> AuditEvent:
    """The entry that follows `last` (seq, hash), with its hash."""
    event = AuditEvent(
        seq=(last[0] + 1) if last else 1,
        created_at=utcnow(),
        actor=actor[:120],
        action=action,
        subject=subject[:120],
        details=payload,
        prev_hash=last[1] if last else GENESIS_HASH,
    )
    event.hash = event.compute_hash()
    return event


def _row(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "created_at": event.created_at,
        "actor": event.actor,
        "action": event.action,
        "subject": event.subject,
        "details": event.details,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def record(actor: str, action: str, subject: str = "", **details: Any) -> AuditEvent:
    """Append one event in its own short transaction, after the caller's commit.

    The entry is written on a connection of its own so that a refused request (which
    rolls back its own work) still leaves its audit trail, and so the caller's business
    transaction never fails because of the log. `seq` is unique: two writers racing for
    the same position make one retry, so the chain cannot fork. One transaction of
    statements built once, no ORM session per entry (the admin member page appends
    one on every view, issue 16): Core on SQLite, a psycopg pipeline on PostgreSQL
    (`_record_pg`). The returned entry is not in any session.
    """
    payload = json.dumps(details, sort_keys=True, default=str, ensure_ascii=False)
    if db.engine.dialect.name == "postgresql":
        return _record_pg(actor, action, subject, payload)
    for _ in range(_ATTEMPTS):
        try:
            with db.engine.begin() as conn:
                last = conn.execute(_TAIL).first()
                event = _new_event(
                    (last.seq, last.hash) if last else None,
                    actor,
                    action,
                    subject,
                    payload,
                )
                inserted = conn.execute(_APPEND, _row(event))
                event.id = inserted.inserted_primary_key[0]
                return event
        except IntegrityError:
            continue  # somebody took this seq; read the new tail and retry
    raise RuntimeError("could not append to the audit log")  # pragma: no cover


# PostgreSQL: the same transaction in two network round trips instead of five, after
# the pool's pre-ping (issue 16; libpq traces in bench/README.md, round four).
# psycopg's pipeline sends BEGIN, the advisory lock and the tail read in one flush;
# the server still runs them one after the other, and in READ COMMITTED each statement
# takes its snapshot when it starts, so the tail is read after the lock is held
# (folding the lock into the tail's own statement would read it from a snapshot taken
# before: bench/README.md, round three). Then the insert and COMMIT in a second flush.
# BEGIN is ours (autocommit on for these statements): psycopg's own implicit BEGIN
# would wait for its answer first.
_PG_BEGIN = "BEGIN"
_PG_LOCK_SQL = "SELECT pg_advisory_xact_lock(7300451)"
_PG_TAIL_SQL = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
_PG_APPEND_SQL = (
    "INSERT INTO audit_events"
    " (seq, created_at, actor, action, subject, details, prev_hash, hash)"
    " VALUES (%(seq)s, %(created_at)s, %(actor)s, %(action)s, %(subject)s,"
    " %(details)s, %(prev_hash)s, %(hash)s) RETURNING id"
)


def _record_pg(actor: str, action: str, subject: str, payload: str) -> AuditEvent:
    import psycopg  # only with the PostgreSQL driver

    for _ in range(_ATTEMPTS):
        with db.engine.connect() as conn:  # a pooled, pre-pinged connection
            pg = conn.connection.driver_connection
            pg.autocommit = True
            try:
                with pg.pipeline():
                    pg.execute(_PG_BEGIN)
                    pg.execute(_PG_LOCK_SQL)
                    last = pg.execute(_PG_TAIL_SQL).fetchone()
                    event = _new_event(last, actor, action, subject, payload)
                    inserted = pg.execute(_PG_APPEND_SQL, _row(event))
                    pg.execute("COMMIT")
                # Read after the pipeline's closing Sync, which carried both: fetching
                # inside would flush first and wait once more.
                event.id = inserted.fetchone()[0]
                return event
            except psycopg.IntegrityError:
                continue  # cannot happen under the lock; kept like the other path
            except psycopg.Error:
                if pg.broken or pg.closed:
                    conn.invalidate()  # the pool must not hand it out again
                raise
            finally:
                if not (pg.broken or pg.closed):
                    if pg.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                        pg.execute("ROLLBACK")
                    pg.autocommit = False
    raise RuntimeError("could not append to the audit log")  # pragma: no cover


@dataclass(frozen=True)
class ChainProblem:
    """One place where the chain does not hold."""

    seq: int
    problem: str  # lazy: shown in the reader's language (admin page, CLI pins English)


def verify(batch: int = 1000) -> list[ChainProblem]:
    """Walk the chain in order and name every entry that was edited, removed or moved."""
    problems: list[ChainProblem] = []
    expected_prev, expected_seq = GENESIS_HASH, 1
    for event in _iter_events(batch):
        if event.seq != expected_seq:
            problems.append(
                ChainProblem(
                    event.seq,
                    _l(
                        "entries %(first)s..%(last)s missing",
                        first=expected_seq,
                        last=event.seq - 1,
                    ),
                )
            )
        if event.prev_hash != expected_prev:
            problems.append(
                ChainProblem(
                    event.seq,
                    _l("does not follow the previous entry (deleted or reordered)"),
                )
            )
        if event.compute_hash() != event.hash:
            problems.append(ChainProblem(event.seq, _l("content was edited")))
        expected_prev, expected_seq = event.hash, event.seq + 1
    return problems


def _iter_events(batch: int) -> Iterator[AuditEvent]:
    last_seq = 0
    while True:
        rows = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > last_seq)
            .order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last_seq = rows[-1].seq
        db.session.expunge_all()  # constant memory over a long log


@dataclass(frozen=True)
class AuditPage:
    """One page of the log, newest first, with the cursor for the next page."""

    events: list[AuditEvent]
    next_before: int | None


def page(
    *,
    before: int | None = None,
    action: str | None = None,
    subject: str | None = None,
    size: int = 50,
) -> AuditPage:
    """Keyset pagination on seq: constant cost however long the log grows."""
    if subject and not action:  # the admin member page, on every view
        statement = _BY_SUBJECT if before is None else _BY_SUBJECT_BEFORE
        values = {"subject": subject, "size": size + 1, "before": before}
        return _page_of(list(db.session.scalars(statement, values)), size)
    query = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(size + 1)
    if before is not None:
        query = query.where(AuditEvent.seq < before)
    if action:
        query = query.where(AuditEvent.action == action)
    if subject:
        query = query.where(AuditEvent.subject == subject)
    return _page_of(list(db.session.scalars(query)), size)


def _page_of(rows: list[AuditEvent], size: int) -> AuditPage:
    more = len(rows) > size
    rows = rows[:size]
    return AuditPage(rows, rows[-1].seq if more and rows else None)


# One subject's entries, built once (issue 16: the admin member page lists them on
# every view, and building the select cost about as much as running it).
_BY_SUBJECT = (
    select(AuditEvent)
    .where(AuditEvent.subject == bindparam("subject"))
    .order_by(AuditEvent.seq.desc())
    .limit(bindparam("size"))
)
_BY_SUBJECT_BEFORE = _BY_SUBJECT.where(AuditEvent.seq < bindparam("before"))


def count() -> int:
    """How many entries the log holds."""
    return int(db.session.scalar(select(func.count(AuditEvent.id))) or 0)
