"""Reliability fixtures: a SQL statement counter, logged-in clients, bulk seeding."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from bench.servers import Gunicorn, portal_env
from tests.conftest import VAULT_SPEC
from wallet.extensions import db
from wallet.models.order import Order
from wallet.services import payments

PASSWORD = "correct-horse-1"
_emails = itertools.count(1)


@dataclass
class QueryLog:
    """SQL statements seen on the app's engine while counting."""

    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many statements ran."""
        return len(self.statements)

    def __str__(self) -> str:
        return "\n".join(s.split("\n")[0][:160] for s in self.statements)


@pytest.fixture
def count_queries(app: Flask) -> Callable[[], Any]:
    """`with count_queries() as log:` counts every SQL statement the app runs.

    Hooked on the engine with `before_cursor_execute`, so lazy loads, flushes and
    statements from templates are all counted, whichever session issued them.
    """

    @contextmanager
    def _count() -> Iterator[QueryLog]:
        log = QueryLog()

        def _record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            log.statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", _record)
        try:
            yield log
        finally:
            event.remove(engine, "before_cursor_execute", _record)

    return _count


@pytest.fixture
def member_login(
    client: FlaskClient, make_member: Callable[..., Any], login: Callable[..., Any]
) -> Callable[..., tuple[FlaskClient, int]]:
    """A new member (or admin), logged in on `client`: (client, member id)."""

    def _make(role: str = "member") -> tuple[FlaskClient, int]:
        email = f"rel{next(_emails)}@example.com"
        member_id = make_member(email, PASSWORD, role)
        assert login(email, PASSWORD).status_code == 302
        return client, member_id

    return _make


def reconcile(app: Flask) -> str:
    """`flask wallet reconcile --min-age 0`; its output."""
    result = app.test_cli_runner().invoke(
        args=["wallet", "reconcile", "--min-age", "0"]
    )
    assert result.exit_code == 0, result.output
    return result.output


def mismatches(app: Flask, sandbox: Any, order_ids: list[str]) -> list[str]:
    """Every way an order disagrees with the sandbox's truth about it."""
    problems: list[str] = []
    with app.app_context():
        for order_id in order_ids:
            order = db.session.scalar(select(Order).where(Order.order_id == order_id))
            truth = sandbox.payment_by_order(order_id)
            paid = truth is not None and truth["status"] in payments.PAID_TOSS_STATUSES
            payment = order.payment
            where = f"{order_id} ({order.status}, Toss {truth and truth['status']})"
            if not paid:
                if order.status not in ("PENDING", "EXPIRED", "FAILED") or payment:
                    problems.append(f"{where}: not paid at Toss, but not open here")
                continue
            if order.status != truth["status"] or payment is None:
                problems.append(f"{where}: status differs")
                continue
            done = sum(c.amount for c in payment.cancels if c.status == "DONE")
            toss_cancels = sum(c["cancelAmount"] for c in truth.get("cancels") or [])
            if (
                payment.payment_key != truth["paymentKey"]
                or payment.total_amount != truth["totalAmount"]
                or payment.balance_amount != truth["balanceAmount"]
                or payment.refund_reserved != 0
                or done != toss_cancels
                or done != payment.total_amount - payment.balance_amount
                or any(c.status == "PENDING" for c in payment.cancels)
            ):
                problems.append(
                    f"{where}: balance {payment.balance_amount} vs "
                    f"{truth['balanceAmount']}, cancels {done} vs {toss_cancels}"
                )
    return problems


def order_statuses(app: Flask, order_ids: list[str]) -> list[str]:
    """The stored statuses of these orders (in the database's order)."""
    with app.app_context():
        rows = db.session.scalars(
            select(Order.status).where(Order.order_id.in_(order_ids))
        ).all()
        db.session.remove()
        return list(rows)


@pytest.fixture
def env(database_url: str, sandbox: Any, tmp_path: Path) -> dict[str, str]:
    """Settings for the portal process: this test's database and sandbox."""
    return portal_env(
        database_url,
        sandbox.base_url,
        VAULT_SPEC,
        str(tmp_path / "instance"),
        TOSS_TIMEOUT="[2.0, 10.0]",
    )


@pytest.fixture
def start_portal(env: dict[str, str]) -> Iterator[Callable[[], Gunicorn]]:
    """Start portal processes; every one still running is killed at the end."""
    started: list[Gunicorn] = []

    def _start() -> Gunicorn:
        portal = Gunicorn("wallet:create_app()", env, workers=1, threads=8)
        started.append(portal)
        return portal

    yield _start
    for portal in started:
        portal.kill()
