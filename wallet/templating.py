"""Template filters and globals: money in KRW, dates in Asia/Seoul, language switch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, current_app
from flask_babel import format_date, format_datetime, get_locale, to_user_timezone

from wallet import labels


def local_dt(value: datetime | None, fmt: str = "medium", zone: bool = True) -> str:
    """A datetime in the member's locale, in Korea's time zone, saying so (KST);
    `zone=False` where the wording already says "Korea time" (the mails)."""
    if value is None:
        return "—"
    shown = str(format_datetime(value, fmt))
    return f"{shown} KST" if zone else shown


def local_date(value: datetime | None) -> str:
    """The day of a datetime in Korea's time zone, in the member's locale."""
    if value is None:
        return "—"
    return str(format_date(to_user_timezone(value), "medium"))


def init_app(app: Flask) -> None:
    """Register filters and globals."""
    app.add_template_filter(labels.krw, "krw")
    app.add_template_filter(local_dt, "dt")
    app.add_template_filter(local_date, "date")
    app.add_template_filter(
        lambda v: labels.label(labels.ORDER_STATUS, v), "status_label"
    )
    app.add_template_filter(
        lambda v: labels.label(labels.AUDIT_ACTION, v), "audit_label"
    )
    app.add_template_filter(
        lambda v: labels.label(labels.PAYMENT_METHOD, v), "method_label"
    )
    app.add_template_filter(lambda v: labels.label(labels.CARD_TYPE, v), "card_type")
    app.add_template_filter(
        lambda v: labels.label(labels.CANCEL_REASON, v), "cancel_reason"
    )

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
