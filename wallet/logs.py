"""Access logs without bearer values (issue 13, L4).

Several URLs carry something that works like a password for a while: a wallet link
(`/l/<token>`), BrandPay's authorization `code=`, Toss's `paymentKey=` and `authKey=`,
and the reset and confirmation links that email brings (issue 14). Access lines of the
development server (werkzeug) and of gunicorn (the logger class below, named in
gunicorn.conf.py) show them as `[redacted]`, in the path, the query, a Referer and in
an URL-encoded `next=` parameter.

Others add what their URLs carry with `SECRET_PATH_PREFIXES.append("/auth/reset/")`
or `SECRET_QUERY_PARAMS.add("token")` at import time.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask
from gunicorn.glogging import Logger as _GunicornLogger

REDACTED = "[redacted]"
# The path segment after each prefix is a bearer token.
# Wallet links, and the emailed password-reset and email-change links.
SECRET_PATH_PREFIXES: list[str] = ["/l/", "/auth/reset/", "/account/email/confirm/"]
# Query parameters whose values are bearer values.
SECRET_QUERY_PARAMS: set[str] = {
    "code",
    "paymentKey",
    "authKey",
    "token",
    "wallet_result",
}

_SLASH = r"(?:/|%2[Ff])"
_VALUE = r"[^/?&#\s\"'%]+"


def _patterns() -> list[tuple[re.Pattern[str], str]]:
    """Regexes for the current lists (rebuilt when they change)."""
    found = []
    for prefix in SECRET_PATH_PREFIXES:
        parts = [re.escape(p) for p in prefix.strip("/").split("/")]
        path = _SLASH + _SLASH.join(parts) + _SLASH
        found.append((re.compile(f"({path}){_VALUE}"), rf"\1{REDACTED}"))
    if SECRET_QUERY_PARAMS:
        names = "|".join(re.escape(n) for n in sorted(SECRET_QUERY_PARAMS))
        query = rf"((?:[?&;]|%3[Ff]|%26)(?:{names})(?:=|%3[Dd]))"
        found.append((re.compile(query + _VALUE), rf"\1{REDACTED}"))
    return found


_cache: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Any]] = {}


def scrub(text: str) -> str:
    """The text with every bearer value of the lists above replaced by [redacted]."""
    key = (tuple(SECRET_PATH_PREFIXES), tuple(sorted(SECRET_QUERY_PARAMS)))
    patterns = _cache.get(key)
    if patterns is None:
        patterns = _cache[key] = _patterns()
    for pattern, replacement in patterns:
        text = pattern.sub(replacement, text)
    return text


class ScrubFilter(logging.Filter):
    """Rewrites each record's message with `scrub` (the arguments are formatted in)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keep the record; only its text changes."""
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_werkzeug_filter() -> None:
    """The development server logs each request on the `werkzeug` logger."""
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, ScrubFilter) for f in logger.filters):
        logger.addFilter(ScrubFilter())


class GunicornLogger(_GunicornLogger):
    """gunicorn's logger with every access-log atom scrubbed (request line, path,
    query, Referer and the other headers)."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> Any:
        """The access-log values, scrubbed."""
        values = super().atoms(resp, req, environ, request_time)
        for name, value in list(values.items()):
            if isinstance(value, str):
                values[name] = scrub(value)
        return values


def init_app(app: Flask) -> None:
    """Scrub the development server's access lines (gunicorn: gunicorn.conf.py)."""
    install_werkzeug_filter()
