"""CSV export of payments: Korean-date range boundaries, KST times, injection-safe
cells, streamed download, audited; refused input gets a 400 page."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from tests.integration.admin.conftest import Browser, audit_actions, reauth
from wallet.extensions import db
from wallet.models import Member
from wallet.models.order import Order
from wallet.models.payment import Payment
from wallet.services import exports, merchants

KST = ZoneInfo("Asia/Seoul")
_ids = itertools.count(1)


def _kst(*args: int) -> datetime:
    return datetime(*args, tzinfo=KST)


def _payment(
    app: Flask,
    recorded_kst: datetime,
    *,
    member_id: int | None = None,
    merchant_id: int | None = None,
    amount: int = 10000,
    balance: int | None = None,
    method: str | None = "카드",
    status: str = "DONE",
) -> str:
    """Store an order and its payment as confirm would, recorded at `recorded_kst`."""
    n = next(_ids)
    order_id = f"ord_export_{n:04d}"
    at = recorded_kst.astimezone(UTC)
    with app.app_context():
        order = Order(
            order_id=order_id,
            order_name="Export test",
            amount=amount,
            member_id=member_id,
            merchant_id=merchant_id,
            status=status,
            created_at=at,
            expires_at=at,
        )
        db.session.add(order)
        db.session.flush()
        db.session.add(
            Payment(
                order_pk=order.id,
                payment_key=f"pk_export_{n}",
                status=status,
                method=method,
                total_amount=amount,
                balance_amount=amount if balance is None else balance,
                approved_at=at,
                created_at=at,
            )
        )
        db.session.commit()
    return order_id


def _member(app: Flask, email: str) -> int:
    with app.app_context():
        member = Member(email=email, password_hash="x")
        db.session.add(member)
        db.session.commit()
        return member.id


def _export(admin: Browser, start: str, end: str) -> Any:
    reauth(admin)  # an export of every payment is privileged (issue 13 M3)
    return admin.post_form(
        "/admin/payments/export", "/admin/payments/export", {"start": start, "end": end}
    )


def _parse(body: bytes) -> list[dict[str, str]]:
    text = body.decode("utf-8-sig")  # the file starts with a BOM for spreadsheets
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def march(app: Flask) -> dict[str, str]:
    """Payments around March 2026 (KST): just outside and just inside both ends."""
    email_id = _member(app, "+82-10@example.com")
    with app.app_context():
        shop, _secret = merchants.create_merchant(
            '=HYPERLINK("http://evil.example","x")', ["https://shop.example"], None
        )
        shop_id = shop.id
    return {
        "before": _payment(app, _kst(2026, 2, 28, 23, 59, 59)),
        "first": _payment(
            app,
            _kst(2026, 3, 1, 0, 0, 0),
            member_id=email_id,
            merchant_id=shop_id,
            amount=10000,
            balance=7000,
            status="PARTIAL_CANCELED",
        ),
        "last": _payment(
            app, _kst(2026, 3, 31, 23, 59, 59), method="@SUM(1+1)", amount=500
        ),
        "after": _payment(app, _kst(2026, 4, 1, 0, 0, 0)),
    }


def test_export_csv_has_the_range_in_kst_with_safe_cells(
    app: Flask, admin: Browser, march: dict[str, str]
) -> None:
    resp = _export(admin, "2026-03-01", "2026-03-31")

    assert resp.status_code == 200
    assert resp.is_streamed
    assert resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"] == (
        'attachment; filename="payments_20260301_20260331.csv"'
    )
    rows = _parse(resp.get_data())
    assert list(rows[0]) == list(exports.COLUMNS)
    assert [r["order_id"] for r in rows] == [march["first"], march["last"]]
    first, last = rows
    assert first["created_at"] == "2026-03-01T00:00:00+09:00"
    assert first["approved_at"] == "2026-03-01T00:00:00+09:00"
    assert last["approved_at"] == "2026-03-31T23:59:59+09:00"
    # Formula-looking text is neutralised; numbers stay numbers.
    assert first["member_email"] == "'+82-10@example.com"
    assert first["merchant"] == '\'=HYPERLINK("http://evil.example","x")'
    assert last["method"] == "'@SUM(1+1)"
    assert (first["amount"], first["balance"], first["refunded_amount"]) == (
        "10000",
        "7000",
        "3000",
    )
    assert (first["status"], first["method"]) == ("PARTIAL_CANCELED", "카드")
    assert (last["member_email"], last["merchant"]) == ("", "")


def test_export_single_day_is_that_kst_day_only(
    app: Flask, admin: Browser, march: dict[str, str]
) -> None:
    rows = _parse(_export(admin, "2026-02-28", "2026-02-28").get_data())
    assert [r["order_id"] for r in rows] == [march["before"]]
    rows = _parse(_export(admin, "2026-04-01", "2026-04-01").get_data())
    assert [r["order_id"] for r in rows] == [march["after"]]
    assert _parse(_export(admin, "2026-03-15", "2026-03-15").get_data()) == []


def test_export_is_audited_with_actor_and_range(
    app: Flask, admin: Browser, march: dict[str, str]
) -> None:
    _export(admin, "2026-03-01", "2026-03-31").get_data()
    [event] = audit_actions(app, "admin.payments_exported")
    assert event.actor == admin.email
    assert event.details_dict == {
        "start": "2026-03-01",
        "end": "2026-03-31",
        "timezone": "Asia/Seoul",
    }


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-03-31", "2026-03-01", "must not be before the start date"),
        ("", "2026-03-01", "Enter a date like"),
        ("2026-02-30", "2026-03-01", "Enter a date like"),
        ("yesterday", "2026-03-01", "Enter a date like"),
        ("0001-01-01", "2026-03-01", "Choose dates between 2000-01-01 and"),
        ("2026-03-01", "9999-12-31", "Choose dates between 2000-01-01 and"),
    ],
)
def test_export_bad_range_is_400_page_and_not_audited(
    app: Flask, admin: Browser, start: str, end: str, message: str
) -> None:
    resp = _export(admin, start, end)
    assert resp.status_code == 400
    assert resp.mimetype == "text/html"
    assert message in resp.get_data(as_text=True)
    assert audit_actions(app, "admin.payments_exported") == []


def test_export_reads_in_batches_every_row_once_in_order(app: Flask) -> None:
    made = [_payment(app, _kst(2026, 5, 2, 12, 0, i // 4)) for i in range(10)]
    with app.test_request_context():
        stream = exports.payments_csv(
            exports.DateRange(date(2026, 5, 2), date(2026, 5, 2)), "tester", batch=3
        )
        rows = _parse(b"".join(stream))
    # Equal timestamps in fours, batches of three: batches end inside a group of equal
    # times, so the cursor's id tie-break decides; every row once, in (time, id) order.
    assert [r["order_id"] for r in rows] == made


def test_export_form_page_has_labelled_date_fields(admin: Browser) -> None:
    html = admin.client.get("/admin/payments/export").get_data(as_text=True)
    assert 'type="date"' in html
    assert '<label for="start">' in html
    assert '<label for="end">' in html
    assert 'role="status"' in html


def test_export_by_member_is_forbidden(
    app: Flask, browser: Callable[..., Browser], march: dict[str, str]
) -> None:
    member = browser()
    resp = _export(member, "2026-03-01", "2026-03-31")
    assert resp.status_code == 403
    assert march["first"] not in resp.get_data(as_text=True)
    assert audit_actions(app, "admin.payments_exported") == []
