"""Development mail: an SMTP sink on loopback that files every message in a Maildir,
and reading that Maildir back (the dev mailbox page of `make run`, and the tests).

The sink is aiosmtpd (a development dependency, imported only when a sink starts).
Nothing here is used in production: the portal there talks to a real SMTP server.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

_KEY_RE = re.compile(r"^[A-Za-z0-9._,=\\-]{1,200}\Z")
# Maildir keys: "<seconds>.M<microseconds>P<pid>Q<count>.<host>" (Python's mailbox).
_ARRIVAL_RE = re.compile(r"^(\d+)\.M(\d+)P\d+Q(\d+)")


def _arrival(key: str) -> tuple[int, int, int]:
    found = _ARRIVAL_RE.match(key)
    return tuple(int(g) for g in found.groups()) if found else (0, 0, 0)  # type: ignore[return-value]


@dataclass(frozen=True)
class StoredMail:
    """One received message, decoded."""

    key: str
    sender: str
    to: str
    subject: str
    date: datetime | None
    language: str
    message_id: str
    text: str
    html: str


def _decode(key: str, raw: bytes) -> StoredMail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)  # noqa: S101 - policy.default makes one
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    try:
        date = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        date = None

    def header(name: str) -> str:
        # A long encoded subject is folded onto the next line; unfolding leaves a
        # leading space that mail clients drop, so drop it too.
        return str(message[name] or "").strip()

    return StoredMail(
        key=key,
        sender=header("From"),
        to=header("To"),
        subject=header("Subject"),
        date=date,
        language=header("Content-Language"),
        message_id=header("Message-ID"),
        text=text_part.get_content() if text_part is not None else "",  # type: ignore[attr-defined]
        html=html_part.get_content() if html_part is not None else "",  # type: ignore[attr-defined]
    )


def read_mailbox(directory: str | Path) -> list[StoredMail]:
    """Every message in the Maildir, newest first (an absent Maildir is empty)."""
    path = Path(directory)
    if not path.is_dir():
        return []
    box = mailbox.Maildir(path, factory=None, create=False)
    found = []
    for key in box.iterkeys():
        try:
            found.append(_decode(key, box.get_bytes(key)))
        except (KeyError, FileNotFoundError):  # removed while we read
            continue
    return sorted(found, key=lambda m: _arrival(m.key), reverse=True)


def read_message(directory: str | Path, key: str) -> StoredMail | None:
    """One message by its Maildir key, or None (also for a malformed key)."""
    path = Path(directory)
    if not _KEY_RE.match(key or "") or not path.is_dir():
        return None
    box = mailbox.Maildir(path, factory=None, create=False)
    try:
        return _decode(key, box.get_bytes(key))
    except (KeyError, FileNotFoundError):
        return None


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the sink binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class MailSink:
    """An SMTP server on loopback that keeps every message in a Maildir.

    `handler` may be a subclass of the filing handler (tests use one that holds a
    delivery to kill a worker mid-send). `wait_for(n)` blocks until n messages are
    filed, so tests wait on a condition, not a sleep.
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        handler_factory: Any = None,
    ) -> None:
        self.directory = Path(directory)
        self.host = host
        self.port = port
        self._handler_factory = handler_factory
        self._filed = threading.Condition()
        self._controller: Any = None

    def start(self) -> MailSink:
        """Listen (on a free port when none was given); returns self."""
        from aiosmtpd.controller import Controller

        handler = (self._handler_factory or filing_handler)(
            self.directory, self._notify
        )
        for _try in range(5):
            port = self.port or free_port(self.host)
            controller = Controller(handler, hostname=self.host, port=port)
            try:
                controller.start()
            except (OSError, RuntimeError):
                if self.port:  # the port we were told to use is busy
                    raise
                continue  # somebody took the free port first: pick another
            self.port, self._controller = port, controller
            return self
        raise RuntimeError("no free port for the mail sink")

    def stop(self) -> None:
        """Stop listening (the Maildir stays)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _notify(self) -> None:
        with self._filed:
            self._filed.notify_all()

    def messages(self) -> list[StoredMail]:
        """What arrived so far, newest first."""
        return read_mailbox(self.directory)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[StoredMail]:
        """Block until at least `count` messages arrived; returns them, oldest first."""
        deadline = time.monotonic() + timeout
        with self._filed:
            while True:
                found = self.messages()
                if len(found) >= count:
                    return list(reversed(found))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(found)} of {count} mails arrived")
                self._filed.wait(min(left, 0.5))


def filing_handler(directory: Path, notify: Any) -> Any:
    """aiosmtpd's Maildir handler, telling the sink whenever a message is filed."""
    from aiosmtpd.handlers import Mailbox

    class _Filing(Mailbox):
        def handle_message(self, message: Any) -> None:
            super().handle_message(message)
            notify()

    for sub in ("tmp", "new", "cur"):  # a Maildir's layout
        (directory / sub).mkdir(parents=True, exist_ok=True)
    return _Filing(directory)
