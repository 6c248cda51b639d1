"""Payments as CSV for a date range: streamed row by row, so memory stays constant.

The admin picks Korean dates; the database holds UTC. A day D (Asia/Seoul) is the UTC
interval [D 00:00 KST, D+1 00:00 KST). A payment belongs to the day it was recorded
here (`payments.created_at`, indexed with the id for this scan).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import Row, Select, or_, select

from wallet.errors import WalletError
from wallet.extensions import db
from wallet.models import Member
from wallet.models.merchant import Merchant
from wallet.models.order import Order
from wallet.models.payment import Payment
from wallet.services import audit

__all__ = ["COLUMNS", "DateRange", "ExportRangeError", "date_range", "payments_csv"]

KST = ZoneInfo("Asia/Seoul")
COLUMNS = (
    "order_id",
    "created_at",
    "approved_at",
    "member_email",
    "merchant",
    "amount",
    "balance",
    "status",
    "method",
    "refunded_amount",
)
# OWASP CSV injection: a spreadsheet treats a cell starting with one of these as a
# formula; a leading apostrophe makes it text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CHUNK = 64 * 1024  # characters handed to the WSGI server at a time (≥ that in bytes)
BATCH = 1000  # rows fetched from the database at a time
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)


class ExportRangeError(WalletError):
    """The date range of an export is not usable."""

    code = "INVALID_RANGE"


@dataclass(frozen=True)
class DateRange:
    """Inclusive Korean dates."""

    start: date
    end: date

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[start 00:00 KST, end+1 00:00 KST) in UTC."""
        low = datetime.combine(self.start, time.min, KST)
        high = datetime.combine(self.end + timedelta(days=1), time.min, KST)
        return low.astimezone(UTC), high.astimezone(UTC)

    @property
    def filename(self) -> str:
        """payments_<start>_<end>.csv"""
        return f"payments_{self.start:%Y%m%d}_{self.end:%Y%m%d}.csv"


def date_range(start: date | None, end: date | None) -> DateRange:
    """Check the admin's dates: both given, in order."""
    if start is None or end is None:
        raise ExportRangeError(_("Choose a start and an end date."))
    if end < start:
        raise ExportRangeError(_("The end date must not be before the start date."))
    if start < EARLIEST or end > LATEST:
        # Also keeps the UTC conversion of the bounds inside datetime's range.
        raise ExportRangeError(
            _(
                "Choose dates between %(first)s and %(last)s.",
                first=EARLIEST.isoformat(),
                last=LATEST.isoformat(),
            )
        )
    return DateRange(start, end)


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _kst(value: datetime | None) -> str:
    return value.astimezone(KST).isoformat(timespec="seconds") if value else ""


def _query(low: datetime, high: datetime) -> Select[Any]:
    return (
        select(
            Payment.id,
            Payment.created_at,
            Order.order_id,
            Order.created_at.label("order_created_at"),
            Payment.approved_at,
            Member.email,
            Merchant.name.label("merchant_name"),
            Payment.total_amount,
            Payment.balance_amount,
            Payment.status,
            Payment.method,
        )
        .select_from(Payment)
        .join(Order, Payment.order_pk == Order.id)
        .outerjoin(Member, Order.member_id == Member.id)
        .outerjoin(Merchant, Order.merchant_id == Merchant.id)
        .where(Payment.created_at >= low, Payment.created_at < high)
        .order_by(Payment.created_at, Payment.id)
    )


def _rows(low: datetime, high: datetime, batch: int) -> Iterator[Row[Any]]:
    """The range's rows in order, never more than `batch` of them in memory."""
    query = _query(low, high)
    if db.session.get_bind().dialect.name == "postgresql":
        # One server-side cursor (yield_per streams it): a single consistent snapshot.
        result = db.session.execute(query.execution_options(yield_per=batch))
        try:
            yield from result
        finally:
            result.close()
            db.session.rollback()
        return
    # SQLite: an open read holds the lock every writer needs to commit, so read short
    # keyset batches on the (created_at, id) index and end the read between them.
    while True:
        rows = db.session.execute(query.limit(batch)).all()
        db.session.rollback()
        if not rows:
            return
        yield from rows
        last = rows[-1]
        # The cursor becomes the range's lower bound (SQLite seeks on one bound only),
        # so each batch starts where the last one ended instead of at the range start.
        query = _query(last.created_at, high).where(
            or_(Payment.created_at > last.created_at, Payment.id > last.id)
        )


def _csv(rows: Iterator[Row[Any]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    # A BOM, so spreadsheet programs read the Korean method names as UTF-8.
    buffer.write("\ufeff")
    written = writer.writerow(COLUMNS)  # characters, as StringIO.write counts them
    for row in rows:
        written += writer.writerow(
            [
                safe_cell(row.order_id),
                _kst(row.order_created_at),
                _kst(row.approved_at),
                safe_cell(row.email or ""),
                safe_cell(row.merchant_name or ""),
                row.total_amount,
                row.balance_amount,
                safe_cell(row.status),
                safe_cell(row.method or ""),
                row.total_amount - row.balance_amount,
            ]
        )
        if written >= _CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            written = 0
    yield buffer.getvalue().encode("utf-8")


def payments_csv(
    period: DateRange, actor: str, *, batch: int = BATCH
) -> Iterator[bytes]:
    """Audit the export (who, which range) now; return the CSV as a lazy byte stream."""
    audit.record(
        actor,
        "admin.payments_exported",
        "payments",
        start=period.start.isoformat(),
        end=period.end.isoformat(),
        timezone="Asia/Seoul",
    )
    low, high = period.utc_bounds()
    return _csv(_rows(low, high, batch))
