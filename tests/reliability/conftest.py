"""Reliability fixtures: a SQL statement counter, logged-in clients, bulk seeding."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from wallet.extensions import db

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


def table_counts(app: Flask) -> dict[str, int]:
    """Row count of every table the models define."""
    with app.app_context():
        return {
            name: int(db.session.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in db.metadata.tables.items()
        }
