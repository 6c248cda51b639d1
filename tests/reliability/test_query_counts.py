"""No N+1: the SQL statements a page runs do not grow with the rows it shows.

Each test measures a page, adds many more rows of what the page lists (payments,
cancels, members, audit entries, methods), and measures again: the count must be equal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bench import seed
from tests.integration.brandpay.conftest import browser, link  # noqa: F401 (fixtures)
from tests.integration.merchants.conftest import make_shop
from wallet.extensions import db
from wallet.models import Member
from wallet.models.merchant import Merchant
from wallet.models.notice import LINK_REVOKED, RELINK_REQUIRED
from wallet.models.order import Order
from wallet.models.payment import PaymentCancel
from wallet.models.refund_request import RefundRequest
from wallet.services import audit, merchants, notices


def _seed_payments(app: Flask, member_id: int | None, n: int, **kw: Any) -> None:
    with app.app_context(), db.engine.begin() as conn:
        seed.payments(conn, n, member_id=member_id, cancel_every=2, **kw)


def _measure(
    client: FlaskClient,
    count_queries: Callable[[], Any],
    url: str,
    **kwargs: Any,
) -> tuple[int, str]:
    """(statements, their first lines) of one request; the page must answer 200."""
    client.open(url, **kwargs)  # warm-up: first-request work is not the page's cost
    with count_queries() as log:
        resp = client.open(url, **kwargs)
    assert resp.status_code == 200, (url, resp.status_code)
    return log.count, str(log)


def _assert_flat(small: tuple[int, str], large: tuple[int, str]) -> None:
    assert small[0] == large[0], f"\n-- small --\n{small[1]}\n-- large --\n{large[1]}"


def _add_cancels(app: Flask, order_pk: int, n: int) -> None:
    """n more DONE cancels on an order's payment (1 won each)."""
    with app.app_context():
        order = db.session.get(Order, order_pk)
        payment = order.payment
        for i in range(n):
            db.session.add(
                PaymentCancel(
                    payment_id=payment.id,
                    amount=1,
                    reason=f"Extra cancel {i}",
                    actor="test",
                    status="DONE",
                    transaction_key=f"tx_extra_{order_pk}_{i}",
                    canceled_at=payment.created_at,
                )
            )
            payment.balance_amount -= 1
        db.session.commit()


def _newest_order(app: Flask) -> tuple[int, str]:
    with app.app_context():
        order = db.session.scalars(select(Order).order_by(Order.id.desc())).first()
        return order.id, order.order_id


def test_queries_history_5_vs_50_payments_same_count(
    app: Flask, member_login: Callable[..., Any], count_queries: Callable[[], Any]
) -> None:
    client, member_id = member_login()
    _seed_payments(app, member_id, 5)
    small = _measure(client, count_queries, "/pay/history")
    _seed_payments(app, member_id, 45)
    large = _measure(client, count_queries, "/pay/history")
    _assert_flat(small, large)
    assert small[0] <= 8, small[1]


def test_queries_history_older_page_same_count(
    app: Flask, member_login: Callable[..., Any], count_queries: Callable[[], Any]
) -> None:
    client, member_id = member_login()
    _seed_payments(app, member_id, 50)
    page = client.get("/pay/history").get_data(as_text=True)
    cursor = page.split("after=")[1].split('"')[0]
    first = _measure(client, count_queries, "/pay/history")
    older = _measure(client, count_queries, f"/pay/history?after={cursor}")
    _assert_flat(first, older)


def test_queries_wallet_home_5_vs_50_payments_same_count(
    app: Flask, member_login: Callable[..., Any], count_queries: Callable[[], Any]
) -> None:
    client, member_id = member_login()
    _seed_payments(app, member_id, 5)
    small = _measure(client, count_queries, "/wallet")
    _seed_payments(app, member_id, 45)
    large = _measure(client, count_queries, "/wallet")
    _assert_flat(small, large)


def test_queries_receipt_1_vs_10_cancels_same_count(
    app: Flask, member_login: Callable[..., Any], count_queries: Callable[[], Any]
) -> None:
    client, member_id = member_login()
    _seed_payments(app, member_id, 1)
    pk, order_id = _newest_order(app)
    small = _measure(client, count_queries, f"/pay/orders/{order_id}/receipt")
    _add_cancels(app, pk, 9)
    large = _measure(client, count_queries, f"/pay/orders/{order_id}/receipt")
    _assert_flat(small, large)
    # Issue 16: the session with its member, then the order with its payment and
    # cancels, one statement each (a direct payment: no shop to read).
    assert large[0] == 2, large[1]
    assert large[1].splitlines()[1].startswith("SELECT orders."), large[1]


def test_queries_admin_members_5_vs_50_same_count(
    app: Flask, member_login: Callable[..., Any], count_queries: Callable[[], Any]
) -> None:
    client, _admin = member_login("admin")
    with app.app_context(), db.engine.begin() as conn:
        seed.members(conn, 5)
    small = _measure(client, count_queries, "/admin/members")
    with app.app_context(), db.engine.begin() as conn:
        seed.members(conn, 45)
    large = _measure(client, count_queries, "/admin/members")
    _assert_flat(small, large)


def test_queries_admin_payments_5_vs_50_same_count(
    app: Flask, member_login: Callable[..., Any], count_queries: Callable[[], Any]
) -> None:
    client, _admin = member_login("admin")
    with app.app_context(), db.engine.begin() as conn:
        owners = seed.members(conn, 3, linked=False)
    _seed_payments(app, owners[0], 5)
    small = _measure(client, count_queries, "/admin/payments")
    _seed_payments(app, owners[1], 25)
    _seed_payments(app, owners[2], 20)
    large = _measure(client, count_queries, "/admin/payments")
    _assert_flat(small, large)
    filtered = _measure(client, count_queries, "/admin/payments?status=DONE")
    _assert_flat(small, filtered)


def test_queries_admin_payment_detail_1_vs_10_cancels_same_count(
    app: Flask, member_login: Callable[..., Any], count_queries: Callable[[], Any]
) -> None:
    client, admin_id = member_login("admin")
    _seed_payments(app, admin_id, 1)
    pk, order_id = _newest_order(app)
    small = _measure(client, count_queries, f"/admin/payments/{order_id}")
    _add_cancels(app, pk, 9)
    large = _measure(client, count_queries, f"/admin/payments/{order_id}")
    _assert_flat(small, large)


def test_queries_admin_audit_5_vs_50_entries_same_count(
    app: Flask, member_login: Callable[..., Any], count_queries: Callable[[], Any]
) -> None:
    client, _admin = member_login("admin")

    def add(n: int) -> None:
        with app.app_context():
            for i in range(n):
                audit.record("test", "test.event", f"thing:{i}", n=i)

    add(5)
    small = _measure(client, count_queries, "/admin/audit")
    add(45)
    large = _measure(client, count_queries, "/admin/audit")
    _assert_flat(small, large)


def test_queries_admin_member_5_vs_50_payments_same_count(
    app: Flask,
    member_login: Callable[..., Any],
    make_member: Callable[..., Any],
    count_queries: Callable[[], Any],
) -> None:
    client, _admin = member_login("admin")
    member_id = make_member("watched@example.com")
    _seed_payments(app, member_id, 5)
    small = _measure(client, count_queries, f"/admin/members/{member_id}")
    _seed_payments(app, member_id, 45)
    with app.app_context():
        for kind in (LINK_REVOKED, RELINK_REQUIRED):
            notices.add(member_id, kind)
        db.session.commit()
        for i in range(10):
            audit.record("test", "test.event", f"member:{member_id}", n=i)
    large = _measure(client, count_queries, f"/admin/members/{member_id}")
    _assert_flat(small, large)
    # 9 on PostgreSQL (no bounded orders count). One of them is the account's wrong
    # passwords (login_throttles), keyed by an HMAC of the email read just before.
    assert large[0] <= 10, large[1]
    # The member, their link and the unread notices' count come in one statement
    # (issue 16: were three); the page's own audit entry is its tail read and insert.
    lines = large[1].splitlines()
    assert sum(s.startswith("SELECT members.") for s in lines) == 1, large[1]
    assert lines[0].startswith("SELECT web_sessions."), large[1]  # with the viewer
    assert not any(s.startswith("SELECT brandpay_links.") for s in lines), large[1]
    assert not any(s.startswith("SELECT member_notices.") for s in lines), large[1]


def test_queries_api_orders_and_payment_5_vs_50_same_count(
    app: Flask, client: FlaskClient, count_queries: Callable[[], Any]
) -> None:
    with app.app_context():
        shop = make_shop()
    headers = {"Authorization": f"Bearer {shop.api_key}"}
    _seed_payments(app, None, 5, merchant_id=shop.id)
    small = _measure(client, count_queries, "/api/v1/orders?limit=100", headers=headers)
    _seed_payments(app, None, 45, merchant_id=shop.id)
    large = _measure(client, count_queries, "/api/v1/orders?limit=100", headers=headers)
    _assert_flat(small, large)
    pk, order_id = _newest_order(app)
    one = _measure(
        client, count_queries, f"/api/v1/payments/{order_id}", headers=headers
    )
    _add_cancels(app, pk, 9)
    ten = _measure(
        client, count_queries, f"/api/v1/payments/{order_id}", headers=headers
    )
    _assert_flat(one, ten)


def _staff_of_a_shop(app: Flask, member_id: int) -> Any:
    """A new shop whose dashboard the member may see."""
    with app.app_context():
        shop = make_shop()
        merchant = db.session.get(Merchant, shop.id)
        email = db.session.get(Member, member_id).email
        merchants.add_staff(merchant, email, "test")
    return shop


def test_queries_merchant_dashboard_5_vs_50_orders_same_count(
    app: Flask, member_login: Callable[..., Any], count_queries: Callable[[], Any]
) -> None:
    client, member_id = member_login()
    shop = _staff_of_a_shop(app, member_id)
    _seed_payments(app, None, 5, merchant_id=shop.id)
    small = _measure(client, count_queries, "/merchant")
    _seed_payments(app, None, 45, merchant_id=shop.id)
    with app.app_context():
        merchant = db.session.get(Merchant, shop.id)
        for i in range(4):
            merchants.issue_api_key(merchant, f"extra {i}", "test")
    large = _measure(client, count_queries, "/merchant")
    _assert_flat(small, large)


def _ask_refunds(app: Flask, merchant_id: int, member_id: int, n: int) -> None:
    """Open refund requests on the merchant's n oldest orders still without one
    (older than the dashboard's 50 latest orders, so none of them is loaded yet)."""
    with app.app_context():
        asked = select(RefundRequest.order_pk)
        oldest = db.session.scalars(
            select(Order.id)
            .where(Order.merchant_id == merchant_id, Order.id.not_in(asked))
            .order_by(Order.id)
            .limit(n)
        )
        for pk in list(oldest):
            db.session.add(
                RefundRequest(
                    order_pk=pk,
                    merchant_id=merchant_id,
                    member_id=member_id,
                    reason="r",
                )
            )
        db.session.commit()


def test_queries_merchant_dashboard_1_vs_6_refund_requests_same_count(
    app: Flask, member_login: Callable[..., Any], count_queries: Callable[[], Any]
) -> None:
    """Each request shows its order and what is left to refund: read with the
    requests, not one order and one payment (and its cancels) per request."""
    client, member_id = member_login()
    shop = _staff_of_a_shop(app, member_id)
    _seed_payments(app, member_id, 60, merchant_id=shop.id)
    _ask_refunds(app, shop.id, member_id, 1)
    small = _measure(client, count_queries, "/merchant")
    _ask_refunds(app, shop.id, member_id, 5)
    large = _measure(client, count_queries, "/merchant")
    _assert_flat(small, large)
    page = client.get("/merchant").get_data(as_text=True)
    assert page.count('name="amount"') == 6


@pytest.mark.usefixtures("sandbox")
def test_queries_methods_1_vs_4_methods_same_count(
    browser: Callable[..., Any],  # noqa: F811
    link: Callable[..., Any],  # noqa: F811
    sandbox: Any,
    count_queries: Callable[[], Any],
) -> None:
    who = browser()
    link(who)
    small = _measure(who.client, count_queries, "/wallet/methods")
    for card in ("5310123412341234", "9490123412341234"):
        sandbox.add_card(who.customer_key, "http://127.0.0.1/cb", card)
    sandbox.add_account(who.customer_key, "http://127.0.0.1/cb")
    large = _measure(who.client, count_queries, "/wallet/methods")
    _assert_flat(small, large)
    assert large[0] <= 10, large[1]
    # The token path's rollback (before the Toss call) no longer makes the page read
    # its member and link rows again, and the token path takes the link row the page
    # has just read (issue 16): the member row (read with the session) and one read
    # of the link row, nothing more.
    first_lines = large[1].splitlines()
    assert sum(" members.email" in s for s in first_lines) == 1, large[1]
    links = sum(s.startswith("SELECT brandpay_links.") for s in first_lines)
    assert links == 1, large[1]


@pytest.mark.parametrize("page", ["/wallet", "/account", "/pay/history"])
def test_queries_session_and_member_in_one_statement(
    browser: Callable[..., Any],  # noqa: F811
    count_queries: Callable[[], Any],
    page: str,
) -> None:
    # Issue 16: the session row and its member (with "is merchant staff") are one
    # statement; the user loader reads nothing more.
    who = browser()
    _count, lines = _measure(who.client, count_queries, page)
    statements = lines.splitlines()
    assert statements[0].startswith("SELECT web_sessions.data"), lines
    assert " members.email" in statements[0], lines
    assert sum(" members.email" in s for s in statements) == 1, lines


# Columns the list pages never show: whole ORM rows (orders.page) selected them.
_NOT_LISTED = (
    "orders.updated_at",
    "orders.confirm_payment_key",
    "payments.payment_key",
)


def _list_statement(
    client: FlaskClient, count_queries: Any, url: str, statements: int | None = None
) -> str:
    """The one statement of a list page that reads the orders it shows. No statement
    runs more than once (a per-row load would repeat one), and it reads none of the
    columns the list does not show (issue 16: services/order_list.py)."""
    client.get(url)
    with count_queries() as log:
        resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    listing = [s for s in log.statements if "orders.order_name" in s]
    assert len(listing) == 1, str(log)
    repeated = {s for s in log.statements if log.statements.count(s) > 1}
    assert not repeated, str(log)
    for column in _NOT_LISTED:
        assert column not in listing[0], (url, column, listing[0])
    if statements is not None:
        assert log.count == statements, str(log)
    return resp.get_data(as_text=True)


def _between(page: str, start: str, end: str) -> str:
    return page.split(start, 1)[1].split(end, 1)[0]


def test_list_pages_of_20_and_50_rows_one_statement_of_shown_columns(
    app: Flask, member_login: Callable[..., Any], count_queries: Callable[[], Any]
) -> None:
    client, member_id = member_login()
    shop = _staff_of_a_shop(app, member_id)
    _seed_payments(app, member_id, 30)
    _seed_payments(app, member_id, 10, merchant_id=shop.id)
    _seed_payments(app, None, 50, merchant_id=shop.id)
    history = _list_statement(client, count_queries, "/pay/history")
    assert history.count('<td class="primary">') == 20
    home = _list_statement(client, count_queries, "/wallet")
    assert home.count("/receipt") >= 5
    dashboard = _list_statement(client, count_queries, "/merchant")
    orders_part = _between(dashboard, 'id="orders"', 'id="payments"')
    assert orders_part.count('<td class="primary">') == 50
    payments_part = _between(dashboard, 'id="payments"', 'id="mandates"')
    assert payments_part.count('<td class="primary">') == 50
    _measure(client, count_queries, "/pay/history")
    with count_queries() as unfiltered:
        client.get("/pay/history")
    # The shop's name comes with the rows: no load of the shop after them.
    filtered = _list_statement(
        client, count_queries, f"/pay/history?shop={shop.id}", unfiltered.count
    )
    assert filtered.count('<td class="primary">') == 10


def test_admin_list_pages_of_20_and_50_rows_one_statement_of_shown_columns(
    app: Flask, member_login: Callable[..., Any], count_queries: Callable[[], Any]
) -> None:
    client, _admin = member_login("admin")
    with app.app_context(), db.engine.begin() as conn:
        owners = seed.members(conn, 2, linked=False)
    with app.app_context():
        shop = make_shop()
    _seed_payments(app, owners[0], 30)
    _seed_payments(app, None, 30, merchant_id=shop.id)  # guests: no member
    payments = _list_statement(client, count_queries, "/admin/payments")
    assert payments.count('<td class="primary">') == 50
    member = _list_statement(client, count_queries, f"/admin/members/{owners[0]}")
    shown = _between(member, 'id="payments-title"', 'id="mandates-title"')
    assert shown.count('<td class="primary">') == 20
