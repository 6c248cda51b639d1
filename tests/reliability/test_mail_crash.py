"""Kill the outbox worker process while it is sending a mail, start another: the mail
arrives exactly once.

The worker is a real `flask wallet worker` process on the test database, sending to a
real SMTP server on loopback that holds the first delivery in the middle of the SMTP
conversation (after RCPT, before DATA). The worker is SIGKILLed there; its lease then
runs out and a new worker delivers the mail.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from bench.servers import ROOT, portal_env
from tests.conftest import VAULT_SPEC
from tests.integration.mail.conftest import member_asks_reset
from wallet.devmail import MailSink, filing_handler
from wallet.extensions import db
from wallet.models._types import utcnow
from wallet.models.outbox import OutboxEvent, WebhookDelivery

FLASK = Path(sys.executable).with_name("flask")
LEASE_SECONDS = 2


class HoldFirst:
    """Holds the first SMTP delivery at RCPT until released; says when it got there."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()

    def factory(self, directory: Path, notify: Any) -> Any:
        handler = filing_handler(directory, notify)

        async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
            server: Any, session: Any, envelope: Any, address: str, options: Any
        ) -> str:
            if not self.arrived.is_set():
                self.arrived.set()
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(None, self.release.wait, 30)
            envelope.rcpt_tos.append(address)
            return "250 OK"

        handler.handle_RCPT = handle_RCPT
        return handler


@pytest.fixture
def hold() -> HoldFirst:
    return HoldFirst()


@pytest.fixture
def sink(tmp_path: Path, hold: HoldFirst) -> Iterator[MailSink]:
    server = MailSink(tmp_path / "box", handler_factory=hold.factory).start()
    yield server
    hold.release.set()
    server.stop()


@pytest.fixture
def worker_env(
    database_url: str, sandbox: Any, sink: MailSink, tmp_path: Path
) -> dict[str, str]:
    return portal_env(
        database_url,
        sandbox.base_url,
        VAULT_SPEC,
        str(tmp_path / "instance"),
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(sink.port),
        PUBLIC_URL="http://localhost",
        OUTBOX_POLL_SECONDS="0.1",
        OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS),
    )


def _worker(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own venv's flask
        [str(FLASK), "--app", "wallet", "wallet", "worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the kill hits only it
    )


def _event(app: Flask) -> tuple[OutboxEvent, list[WebhookDelivery]]:
    with app.app_context():
        event = db.session.scalars(select(OutboxEvent)).one()
        attempts = db.session.scalars(select(WebhookDelivery)).all()
        db.session.expunge_all()
        db.session.remove()
        return event, list(attempts)


def test_mail_worker_killed_mid_delivery_delivered_once_after_restart(
    app: Flask, sink: MailSink, hold: HoldFirst, worker_env: dict[str, str]
) -> None:
    member_asks_reset(app, "crash@example.com")

    first = _worker(worker_env)
    try:
        assert hold.arrived.wait(30), "the worker never reached the SMTP server"
        os.killpg(first.pid, signal.SIGKILL)  # mid-conversation: after RCPT
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    hold.release.set()
    event, attempts = _event(app)
    assert event.status == "pending"
    dead = event.lease_owner
    assert dead is not None  # the dead worker's lease is still on the row
    assert attempts == []  # it died before it could record anything
    assert sink.messages() == []

    deadline = time.monotonic() + LEASE_SECONDS + 10
    while utcnow() <= event.lease_until:  # the lease must run out first
        assert time.monotonic() < deadline
        time.sleep(0.05)
    second = _worker(worker_env, "--once")
    out, _err = second.communicate(timeout=60)
    assert second.returncode == 0, out.decode()
    assert b"1 delivery attempts" in out

    (got,) = sink.wait_for(1)
    assert got.to == "crash@example.com"
    assert got.message_id.startswith(f"<{event.message_id}@")
    event, attempts = _event(app)
    assert event.status == "delivered"
    assert [(a.attempt, a.succeeded) for a in attempts] == [(1, True)]
    assert attempts[0].worker != dead[:64]  # the second worker delivered it
    # Nothing else is due: a third worker sends nothing more.
    third = _worker(worker_env, "--once")
    out, _err = third.communicate(timeout=60)
    assert b"0 delivery attempts" in out
    assert len(sink.messages()) == 1
