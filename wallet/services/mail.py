"""Mail to members, sent from the transactional outbox (issue 14).

A flow calls `enqueue(member, kind, **values)` inside its own transaction: the mail is
an outbox row on the "mail" channel that commits (or rolls back) with the change it
announces. The row holds the kind, the member and a TokenVault ciphertext of the
recipient, the language and the template values, so a reset link (a bearer token) is
never stored in plaintext. The outbox worker leases the row, renders
`templates/mail/<kind>.txt` and `.html` in the recipient's language, and sends both
parts over SMTP with Flask-Mailman; failures are retried with the outbox's backoff.

Kinds are a registry: a capability declares its mails with `register_kind` next to
the code that sends them (receipts.py, password_reset.py, ...).
"""

from __future__ import annotations

import json
import logging
import smtplib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, render_template
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_mailman import EmailMultiAlternatives
from sqlalchemy import func, select

from wallet.crypto import VaultError
from wallet.extensions import db, mail
from wallet.models import Member
from wallet.models._types import utcnow
from wallet.models.outbox import MAIL, OutboxEvent, new_message_id
from wallet.services import outbox, vault

log = logging.getLogger(__name__)
_DATETIME = "__datetime__"


class MailConfigError(RuntimeError):
    """Mail cannot be rendered here: a setting it needs is missing."""


@dataclass(frozen=True)
class MailKind:
    """One kind of mail: its name (= template name) and its subject.

    `subject` is a lazy string; `%(name)s` placeholders are filled from the mail's
    values.
    """

    name: str
    subject: Any


KINDS: dict[str, MailKind] = {}


def register_kind(name: str, subject: Any) -> MailKind:
    """Declare a mail kind; its templates are templates/mail/<name>.txt and .html."""
    if name in KINDS and KINDS[name].subject is not subject:
        raise ValueError(f"mail kind {name!r} is already registered")
    kind = MailKind(name, subject)
    KINDS[name] = kind
    return kind


# -- writing (inside the caller's transaction) ---------------------------------------


def locale_for(member: Member) -> str:
    """The recipient's language: their setting, else the language of the request that
    caused the mail, else the default (Korean)."""
    languages = current_app.config["LANGUAGES"]
    if member.locale in languages:
        return str(member.locale)
    if has_request_context():
        chosen = str(get_locale() or "")
        if chosen in languages:
            return chosen
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def enqueue(
    member: Member,
    kind: str,
    *,
    to: str | None = None,
    dedupe_key: str | None = None,
    **values: Any,
) -> OutboxEvent:
    """Queue one mail to `member` (at `to`, default their address) in the current
    session; the caller's commit sends it. `values` must be JSON-able or datetimes."""
    if kind not in KINDS:
        raise KeyError(f"unknown mail kind {kind!r}")
    message_id = new_message_id()
    envelope = {
        "to": to or member.email,
        "locale": locale_for(member),
        "values": values,
    }
    sealed = vault().encrypt(
        json.dumps(envelope, default=_encode, ensure_ascii=False),
        aad=_aad(message_id),
    )
    return outbox.add(
        MAIL,
        kind,
        sealed,
        member_id=member.id,
        dedupe_key=dedupe_key,
        message_id=message_id,
    )


def already_queued(dedupe_key: str) -> bool:
    """Whether a mail with this dedupe key exists (pending, sent or failed)."""
    found = db.session.scalar(
        select(OutboxEvent.id)
        .where(OutboxEvent.channel == MAIL, OutboxEvent.dedupe_key == dedupe_key)
        .limit(1)
    )
    return found is not None


def recent_count(member_id: int, kinds: Iterable[str], seconds: float) -> int:
    """How many mails of these kinds the member was sent in the last `seconds`."""
    since = utcnow() - timedelta(seconds=seconds)
    return int(
        db.session.scalar(
            select(func.count(OutboxEvent.id)).where(
                OutboxEvent.channel == MAIL,
                OutboxEvent.member_id == member_id,
                OutboxEvent.event_type.in_(list(kinds)),
                OutboxEvent.created_at >= since,
            )
        )
        or 0
    )


def within_hourly_cap(member: Member, kinds: Iterable[str]) -> bool:
    """Whether the member got fewer than ACCOUNT_MAILS_PER_HOUR mails of these kinds
    in the last hour: the cap that keeps the public forms from flooding an inbox."""
    cap = int(current_app.config["ACCOUNT_MAILS_PER_HOUR"])
    return recent_count(member.id, kinds, 3600) < cap


def _aad(message_id: str) -> str:
    # The ciphertext is bound to its row: a payload moved to another row fails.
    return f"mail:{message_id}"


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {_DATETIME: value.isoformat()}
    raise TypeError(f"mail values cannot hold {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    if set(obj) == {_DATETIME}:
        return datetime.fromisoformat(obj[_DATETIME])
    return obj


# -- rendering and sending (the outbox worker) -----------------------------------------


@dataclass(frozen=True)
class RenderedMail:
    """A mail ready to send: both parts in the recipient's language."""

    to: str
    locale: str
    subject: str
    text: str
    html: str
    message_id: str


def open_envelope(event: OutboxEvent) -> dict[str, Any]:
    """Decrypt a mail row's recipient, language and values."""
    plain = vault().decrypt(event.payload, aad=_aad(event.message_id))
    envelope: dict[str, Any] = json.loads(plain, object_hook=_decode)
    return envelope


def _public_url() -> str:
    base = str(current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    if not base.startswith(("https://", "http://")):
        # Never the Host header of some request: a reset link must point at us.
        raise MailConfigError("set WALLET_PUBLIC_URL so mails can link to the portal")
    return base


def render(event: OutboxEvent) -> RenderedMail:
    """Render a mail row's text and HTML parts and subject, in its language."""
    kind = KINDS.get(event.event_type)
    if kind is None:
        raise MailConfigError(f"unknown mail kind {event.event_type!r}")
    envelope = open_envelope(event)
    values: Mapping[str, Any] = envelope["values"]
    locale = envelope["locale"]
    # A request context on the public URL: url_for(..., _external=True) builds links
    # to the portal, and the pages' filters (krw, dt) format as they do on the pages.
    with (
        current_app.test_request_context("/", base_url=_public_url()),
        force_locale(locale),
    ):
        subject = str(kind.subject) % dict(values)
        context = {**values, "subject": subject, "locale": locale}
        text = render_template(f"mail/{kind.name}.txt", **context)
        html = render_template(f"mail/{kind.name}.html", **context)
    return RenderedMail(envelope["to"], locale, subject, text, html, event.message_id)


def sender() -> str:
    """MAIL_DEFAULT_SENDER, else "BrandPay Wallet <no-reply@<the portal's host>>"."""
    configured = current_app.config.get("MAIL_DEFAULT_SENDER")
    if configured:
        return str(configured)
    host = urlsplit(_public_url()).hostname or "localhost"
    return formataddr((_("BrandPay Wallet"), f"no-reply@{host}"))


def _message(rendered: RenderedMail) -> EmailMultiAlternatives:
    host = urlsplit(_public_url()).hostname or "localhost"
    with force_locale(rendered.locale):
        from_email = sender()
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=from_email,
        to=[rendered.to],
        headers={
            # Stable across retries: a receiver can tell a resend from a new mail.
            "Message-ID": f"<{rendered.message_id}@{host}>",
            "Auto-Submitted": "auto-generated",  # RFC 3834: no auto-replies, please
            "Content-Language": rendered.locale,
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


def _connection() -> Any:
    """An SMTP connection from the live config (so tests and `make run` may set it
    after the app was built); every connection has a timeout."""
    config = current_app.config
    return mail.get_connection(
        host=config["MAIL_SERVER"],
        port=int(config["MAIL_PORT"]),
        username=config.get("MAIL_USERNAME") or None,
        password=config.get("MAIL_PASSWORD") or None,
        use_tls=bool(config.get("MAIL_USE_TLS")),
        use_ssl=bool(config.get("MAIL_USE_SSL")),
        timeout=float(config["MAIL_TIMEOUT"]),
    )


def _prepare(event: OutboxEvent) -> outbox.Send:
    """Outbox channel: render now (the row is ours), send after the transaction."""
    message = _message(render(event))
    connection = _connection()

    def send() -> outbox.Outcome:
        message.connection = connection
        try:
            message.send()
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _msg in exc.recipients.values()]
            # 5xx for the address itself: retrying will not make it exist.
            permanent = bool(codes) and all(500 <= c < 600 for c in codes)
            code = codes[0] if codes else None
            return outbox.Outcome(
                False, code, f"SMTPRecipientsRefused {code}", permanent=permanent
            )
        except smtplib.SMTPResponseException as exc:
            return outbox.Outcome(
                False, exc.smtp_code, f"{type(exc).__name__} {exc.smtp_code}"
            )
        except (smtplib.SMTPException, OSError) as exc:
            return outbox.Outcome(False, error=type(exc).__name__)
        return outbox.Outcome(True)

    return send


def _enabled(app: Flask) -> bool:
    return bool(app.config.get("MAIL_SERVER")) or app.config["MAIL_BACKEND"] != "smtp"


outbox.register_channel(outbox.Channel(MAIL, _prepare, _enabled))


def rotate_pending() -> int:
    """Re-encrypt unsent mail rows under the newest vault key (`flask wallet
    rotate-keys`), so dropping an old key loses no queued mail; returns how many."""
    changed = 0
    rows = db.session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.channel == MAIL, OutboxEvent.status == "pending")
        .order_by(OutboxEvent.id)
    )
    for row in rows:
        try:
            sealed = vault().reencrypt(row.payload, aad=_aad(row.message_id))
        except VaultError:  # no key opens it any more: it fails at delivery, as now
            log.error("mail %s: cannot re-encrypt its payload", row.id)
            continue
        if sealed != row.payload:
            row.payload = sealed
            changed += 1
    db.session.commit()
    return changed
