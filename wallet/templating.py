"""Template filters and globals: money in KRW, dates in Asia/Seoul, language switch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, current_app
from flask_babel import format_datetime, get_locale


def krw(amount: int | None) -> str:
    """₩12,300 — KRW has no minor unit, so amounts are whole integers."""
    if amount is None:
        return "—"
    sign = "-" if amount < 0 else ""
    return f"{sign}₩{abs(int(amount)):,}"


def local_dt(value: datetime | None, fmt: str = "medium") -> str:
    """A datetime in the member's locale, in Korea's time zone."""
    if value is None:
        return "—"
    return str(format_datetime(value, fmt))


def init_app(app: Flask) -> None:
    """Register filters and globals."""
    app.add_template_filter(krw, "krw")
    app.add_template_filter(local_dt, "dt")

    def has_endpoint(name: str) -> bool:
        return name in app.view_functions

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "has_endpoint": has_endpoint,
            "current_locale": str(get_locale() or "ko"),
            "languages": current_app.config["LANGUAGES"],
            "sdk_url": current_app.config["SDK_URL"],
        }
