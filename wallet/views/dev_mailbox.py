"""`make run` only: read the mail the local SMTP sink received (/_dev/mailbox).

Registered only when DEV_MAILBOX_DIR is set outside production (wallet/__init__.py),
and even then answers loopback clients only.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue

from wallet import devmail

bp = Blueprint("dev_mailbox", __name__, url_prefix="/_dev/mailbox")
_LINK_RE = re.compile(r"https?://[^\s<>\"')]+")
LOOPBACK = ("127.0.0.1", "::1")


@bp.before_request
def _development_only() -> None:
    if current_app.config["ENV_NAME"] == "production":
        abort(404)
    if not current_app.config.get("DEV_MAILBOX_DIR"):
        abort(404)
    if request.remote_addr not in LOOPBACK:
        abort(404)


def _directory() -> str:
    return str(current_app.config["DEV_MAILBOX_DIR"])


@bp.get("")
def index() -> ResponseReturnValue:
    """Every mail the sink received, newest first."""
    return render_template("dev/mailbox.html", mails=devmail.read_mailbox(_directory()))


@bp.get("/<key>")
def message(key: str) -> ResponseReturnValue:
    """One mail: headers, its links, the text part and the HTML part (framed)."""
    found = devmail.read_message(_directory(), key)
    if found is None:
        abort(404)
    links = list(dict.fromkeys(_LINK_RE.findall(found.text)))
    return render_template("dev/message.html", mail=found, links=links)


@bp.get("/<key>/html")
def message_html(key: str) -> ResponseReturnValue:
    """The HTML part as sent, for the sandboxed frame of the message page."""
    found = devmail.read_message(_directory(), key)
    if found is None or not found.html:
        abort(404)
    headers = {
        # The mail's own inline styles, nothing else; it may only be framed by us.
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            "frame-ancestors 'self'; sandbox"
        ),
        "X-Frame-Options": "SAMEORIGIN",
        "Content-Type": "text/html; charset=utf-8",
    }
    return found.html, 200, headers
