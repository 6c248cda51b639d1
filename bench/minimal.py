"""The baseline: the Flask app a merchant's developer writes in an afternoon (issue 16).

Flask-Login, Flask-SQLAlchemy on the portal's own tables and seeded data, one Jinja
template per page, one pooled `requests.Session` for the Bearer call to Toss (the
sandbox). No i18n, CSRF, audit log, security headers, rate limits, token encryption,
idempotency records or outbox: everything the portal adds on top is what the
comparison prices. The pages answer on the portal's own paths and show what the
portal's pages show (the same sections, rows, fields, forms and links; English
literals, plain forms), so the bench asks both apps for the same URLs:

    GET  /wallet                          notices, link state, 5 recent payments
    GET  /wallet/methods                  one Bearer GET /v1/brandpay/payments/methods
    GET  /pay/history[?after=&from=&to=&status=&shop=]  20 payments, keyset on (created_at, id)
    GET  /pay/orders/<order_id>           checkout of a PENDING order (options, 3 windows)
    GET  /pay/orders/<order_id>/receipt   the order, its payment, refunds, refund policy
    GET  /merchant[?m=]                   refund requests, 50 orders, payments, mandates,
                                          webhook deliveries, forms, API keys, snippet
    GET  /admin/payments[?after=&status=] 50 payments, newest first
    GET  /admin/members/<id>[?after=&before=]  member, link, 20 payments, mandates,
                                          20 recent refunds, 20 audit entries
    POST /api/v1/orders                   Bearer API key → a PENDING order, JSON 201

The links and forms point at the portal's paths; only the pages above (and login,
logout) are served here. Nothing here is imported by the portal. `create(database_url,
...)` builds one app; the access tokens the methods page sends are handed in (the
portal keeps them encrypted; this app would keep them in a column).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests
from flask import Flask, abort, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_sqlalchemy import SQLAlchemy
from jinja2 import DictLoader
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    event,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    column_property,
    joinedload,
    mapped_column,
    relationship,
    selectinload,
)
from werkzeug.security import check_password_hash


class Base(DeclarativeBase):
    """The baseline's own declarative base (its own metadata, same tables)."""


db = SQLAlchemy(model_class=Base)
KST = ZoneInfo("Asia/Seoul")
# What lists show: orders that reached Toss. NOT IN the two others, not IN the six:
# SQLite's planner then walks the (created_at, id) index (the portal does the same).
HIDDEN = ("PENDING", "EXPIRED")
STATUSES = {
    "PENDING": "Awaiting payment",
    "CONFIRMING": "Confirming",
    "DONE": "Paid",
    "PARTIAL_CANCELED": "Partly refunded",
    "CANCELED": "Refunded",
    "FAILED": "Stopped",
    "EXPIRED": "Expired",
    "UNKNOWN": "Being checked",
}
SHOWN_STATUSES = STATUSES | {"DECLINED": "Declined"}
PAY_WAYS = {
    "BRANDPAY": "BrandPay",
    "CARD": "Card (payment window)",
    "FOREIGN_CARD": "Foreign card",
    "AUTOPAY": "Automatic payment",
}
# The history's status filter: (value, label, statuses, declined by Toss only).
HISTORY_CHOICES = (
    ("paid", "Paid", ("DONE", "PARTIAL_CANCELED"), False),
    ("refunded", "Refunded (all or part)", ("PARTIAL_CANCELED", "CANCELED"), False),
    ("unpaid", "Awaiting payment", ("PENDING",), False),
    ("declined", "Declined", ("PENDING", "EXPIRED", "FAILED"), True),
    ("failed", "Stopped", ("FAILED",), False),
    ("expired", "Expired", ("EXPIRED",), False),
    ("checking", "Being checked", ("CONFIRMING", "UNKNOWN"), False),
)
STOPPED_BY_MEMBER = "PAY_PROCESS_CANCELED"
MEMBER_CANCEL_DAYS = 7  # the portal's default for a member's own orders
INSTALLMENT_MINIMUM = 50_000
INSTALLMENT_MONTHS = range(2, 13)


staff = Table(
    "merchant_members",
    db.metadata,
    Column("member_id", Integer, ForeignKey("members.id"), primary_key=True),
    Column("merchant_id", Integer, ForeignKey("merchants.id"), primary_key=True),
)


class Member(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    customer_key: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# The nav's "Merchant" link: read with the member, in the user loader's statement.
Member.is_merchant = column_property(  # type: ignore[attr-defined]
    exists().where(staff.c.member_id == Member.id)
)


class Link(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "brandpay_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    status: Mapped[str] = mapped_column(String(16))
    access_token_enc: Mapped[str | None] = mapped_column(String)
    refresh_token_enc: Mapped[str | None] = mapped_column(String)
    method_count: Mapped[int | None] = mapped_column(Integer)
    access_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    linked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    relink_reason: Mapped[str | None] = mapped_column(String)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(String)
    revoked_reason: Mapped[str | None] = mapped_column(String)


class Notice(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "member_notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    dismissed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Merchant(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "merchants"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    confirm_url: Mapped[str | None] = mapped_column(String(500))
    member_cancel_days: Mapped[int | None] = mapped_column(Integer)


class ApiKey(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "merchant_api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    prefix: Mapped[str] = mapped_column(String(24))
    key_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Order(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64))
    order_name: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="KRW")
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"))
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    confirm_attempts: Mapped[int] = mapped_column(Integer, default=0)
    failure_code: Mapped[str | None] = mapped_column(String(64))
    pay_way: Mapped[str | None] = mapped_column(String(16))
    installment_months: Mapped[int | None] = mapped_column(Integer)
    use_card_point: Mapped[bool | None] = mapped_column(Boolean)
    cash_receipt_type: Mapped[str | None] = mapped_column(String(10))
    cash_receipt_number_type: Mapped[str | None] = mapped_column(String(32))
    cash_receipt_number_last4: Mapped[str | None] = mapped_column(String(4))
    preapproval: Mapped[str | None] = mapped_column(String(16))
    preapproval_reason: Mapped[str | None] = mapped_column(String(200))
    payment: Mapped[Payment | None] = relationship(uselist=False, lazy="select")
    merchant: Mapped[Merchant | None] = relationship(lazy="select")
    member: Mapped[Member | None] = relationship(lazy="select")

    @property
    def shown_status(self) -> str:
        """DECLINED for an unpaid order whose last attempt Toss declined."""
        if self.status == "PENDING" and self.failure_code not in (
            None,
            STOPPED_BY_MEMBER,
        ):
            return "DECLINED"
        return self.status

    @property
    def past_expiry(self) -> bool:
        return datetime.now(UTC) >= _utc(self.expires_at)


class Payment(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_pk: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    status: Mapped[str] = mapped_column(String(20))
    method: Mapped[str | None] = mapped_column(String(32))
    card_number: Mapped[str | None] = mapped_column(String(32))
    approve_no: Mapped[str | None] = mapped_column(String(32))
    card_type: Mapped[str | None] = mapped_column(String(16))
    issuer_code: Mapped[str | None] = mapped_column(String(8))
    bank_code: Mapped[str | None] = mapped_column(String(8))
    supplied_amount: Mapped[int | None] = mapped_column(Integer)
    vat: Mapped[int | None] = mapped_column(Integer)
    installment_months: Mapped[int | None] = mapped_column(Integer)
    use_card_point: Mapped[bool | None] = mapped_column(Boolean)
    cash_receipt_type: Mapped[str | None] = mapped_column(String(10))
    cash_receipt_url: Mapped[str | None] = mapped_column(String(500))
    total_amount: Mapped[int] = mapped_column(Integer)
    balance_amount: Mapped[int] = mapped_column(Integer)
    refund_reserved: Mapped[int] = mapped_column(Integer)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    receipt_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cancels: Mapped[list[Cancel]] = relationship(order_by="Cancel.id", lazy="select")

    @property
    def refunded(self) -> int:
        return self.total_amount - self.balance_amount

    @property
    def refundable(self) -> int:
        return self.balance_amount - self.refund_reserved


class Cancel(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "payment_cancels"
    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    amount: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(10))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RefundRequest(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "refund_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40))
    order_pk: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10))
    decision_reason: Mapped[str | None] = mapped_column(String(200))
    refunded_amount: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    order: Mapped[Order] = relationship(lazy="select")


class Mandate(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "mandates"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    description: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(100))
    max_amount: Mapped[int] = mapped_column(Integer)
    max_charges: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(8))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(10))
    merchant: Mapped[Merchant] = relationship(lazy="select")

    @property
    def shown_status(self) -> str:
        if self.status == "active" and datetime.now(UTC) >= _utc(self.expires_at):
            return "expired"
        return self.status


class WebhookEvent(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "outbox_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"))
    event_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deliveries: Mapped[list[WebhookDelivery]] = relationship(
        order_by=lambda: [WebhookDelivery.attempt, WebhookDelivery.id], lazy="select"
    )


class WebhookDelivery(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200))
    succeeded: Mapped[bool] = mapped_column(Boolean)


class AuditEntry(db.Model):  # type: ignore[name-defined,misc]
    """Read only: this app writes no audit log."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(120))
    details: Mapped[str] = mapped_column(String)

    @property
    def details_dict(self) -> dict[str, Any]:
        loaded = json.loads(self.details or "{}")
        return loaded if isinstance(loaded, dict) else {}


class MerchantOrder(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "merchant_orders"
    order_pk: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    return_url: Mapped[str | None] = mapped_column(String(2000))


def _utc(value: datetime) -> datetime:
    # SQLite hands timestamps back naive (stored as UTC).
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _dt(value: datetime | None) -> str:
    if value is None:
        return "—"
    return _utc(value).astimezone(KST).strftime("%Y-%m-%d %H:%M:%S KST")


def _krw(amount: int | None) -> str:
    return "—" if amount is None else f"₩{amount:,}"


def _iso(value: datetime) -> str:
    return _utc(value).isoformat().replace("+00:00", "Z")


def _link_status(link: Link | None) -> str:
    if link is None:
        return "Not linked"
    return {
        "linked": "Linked",
        "needs_relink": "Needs re-linking",
        "withdrawn": "Withdrawn",
    }.get(link.status, "Revoked")


def _refund_timing(payment: Payment, cancel: Cancel) -> str:
    """When the money of one refund is back (Toss's rules per method)."""
    if payment.method == "카드":
        if cancel.amount != payment.total_amount:
            return (
                "A partial card refund goes through the card company first and takes "
                "3 to 4 business days; for a check card it can take up to about 10 days."
            )
        approved = _utc(payment.approved_at or payment.created_at).astimezone(KST)
        when = _utc(cancel.canceled_at or cancel.created_at).astimezone(KST)
        if approved.date() == when.date():
            return (
                "A full card cancel on the day of payment takes effect at once; "
                "a check card gets the money back the same day."
            )
        return (
            "For a card refund after the day of payment, the card company takes 3 to 4 "
            "business days; a check card gets the money back the same day."
        )
    if payment.method == "계좌이체":
        return "A bank transfer is refunded to your account at once."
    if payment.method == "가상계좌":
        return "A refund to a virtual account takes 2 business days."
    return (
        "Toss Payments returns the money according to the rules of your payment method."
    )


def _cursor(order: Order) -> str:
    return f"{int(_utc(order.created_at).timestamp() * 1_000_000)}-{order.id}"


def _orders(
    query: Any, after: str | None, limit: int, *load: Any
) -> tuple[list[Order], str | None]:
    """Newest first by (created_at, id), payments (and `load`) joined; the next
    page's cursor."""
    if after and "-" in after:
        micros, _sep, pk = after.partition("-")
        if micros.isdigit() and pk.isdigit():
            at = datetime.fromtimestamp(int(micros) / 1_000_000, UTC)
            query = query.where(
                Order.created_at <= at, or_(Order.created_at < at, Order.id < int(pk))
            )
    rows = list(
        db.session.scalars(
            query.options(joinedload(Order.payment), *load)
            .order_by(Order.created_at.desc(), Order.id.desc())
            .limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (_cursor(rows[-1]) if more and rows else None)


def _kst_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{% endblock %} · BrandPay Wallet</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/css/app.css">
<script src="/static/js/app.js" defer></script></head>
<body><header><a href="/">BrandPay Wallet</a>
<nav><a href="/wallet">Wallet</a> <a href="/wallet/methods">Payment methods</a>
<a href="/pay/history">Payments</a> <a href="/wallet/mandates">Autopay</a>
{% if current_user.is_merchant %}<a href="/merchant">Merchant</a>{% endif %}
{% if current_user.role == "admin" %}<a href="/admin/">Admin</a>{% endif %}
<a href="/account">Account</a></nav>
<form method="post" action="/auth/logout"><button>Log out</button></form></header>
<main>{% block content %}{% endblock %}</main>
<footer>Payments are processed by Toss Payments BrandPay. Amounts are in Korean won.</footer>
</body></html>
"""
# The portal's list table (history, admin payments, admin member).
ROWS = """{% macro orders_table(rows, prefix, suffix="", show_member=false, member_actions=false) %}
<table><thead><tr><th>Order</th><th>Shop</th><th>Ordered at</th><th>Method</th>
<th>Amount</th><th>Refund amount</th><th>Status</th>{% if member_actions %}<th></th>{% endif %}</tr></thead>
<tbody>{% for o in rows %}{% set p = o.payment %}<tr>
<td><a href="{% if member_actions and o.status == "PENDING" %}/pay/orders/{{ o.order_id }}{% else %}{{ prefix }}{{ o.order_id }}{{ suffix }}{% endif %}">{{ o.order_name }}</a>
{%- if show_member %}<br><code>{{ o.order_id }}</code>{% if o.member %} · {{ o.member.email }}{% endif %}{% endif %}</td>
<td>{{ o.merchant.name if o.merchant_id and o.merchant else "Direct payment" }}</td>
<td>{{ o.created_at|dt }}</td>
<td>{% if o.pay_way %}{{ o.pay_way|pay_way }} · {% endif %}{{ p.method if p and p.method else "—" }}{% if p and p.card_number %} {{ p.card_number }}{% endif %}</td>
<td>{{ o.amount|krw }}</td><td>{{ p.refunded|krw if p and p.refunded else "—" }}</td>
<td><span class="badge">{{ o.shown_status|status }}</span></td>
{% if member_actions %}<td>{% if o.status == "PENDING" and not o.past_expiry %}<a href="/pay/orders/{{ o.order_id }}">{{ "Try again" if o.failure_code else "Pay now" }}</a>
{%- elif o.status in ("PENDING", "EXPIRED", "FAILED") %}Nothing was charged.{% if not o.merchant_id %}
<a href="/pay/new?{{ {"order_name": o.order_name, "amount": o.amount}|urlencode }}">Pay again</a>{% endif %}{% endif %}</td>{% endif %}
</tr>
{% endfor %}</tbody></table>
{% endmacro %}
{% macro mandates_table(mandates, show_shop=false) %}
<table><thead><tr><th>Mandate</th><th>{{ "Shop" if show_shop else "What for" }}</th><th>Limits</th><th>Status</th></tr></thead>
<tbody>{% for m in mandates %}<tr><td><code>{{ m.public_id }}</code>{% if show_shop %}<br>{{ m.description }}{% endif %}</td>
<td>{% if show_shop %}{{ m.merchant.name }}{% else %}{{ m.description }}{% if m.reference %} ({{ m.reference }}){% endif %}{% endif %}</td>
<td>{{ m.max_amount|krw }} · {{ m.max_charges }} charge{{ "" if m.max_charges == 1 else "s" }}
{{ {"day": "per day", "week": "per week (from Monday)"}.get(m.period, "per month (from the 1st)") }}</td>
<td><span class="badge">{{ {"active": "Active", "pending": "Not approved", "revoked": "Revoked"}.get(m.shown_status, "Expired") }}</span></td></tr>
{% endfor %}</tbody></table>
{% endmacro %}
"""
TOSS = """{% macro toss_config(customer_key) %}
<div id="toss-config" hidden data-client-key="{{ client_key }}" data-customer-key="{{ customer_key }}"
data-redirect-url="{{ request.host_url }}brandpay/callback" data-attempt-url="/wallet/link/attempt"
data-sdk-origin="{{ sdk_origin }}"
data-msg-opening="Opening BrandPay…"
data-msg-failed="The window could not be opened or did not finish. Try again, or come back later."
data-msg-canceled="You closed the window before finishing. Nothing was changed."
data-msg-expired="Your session expired. Reload the page and try again."
data-msg-missing="The Toss Payments script did not load. Check your connection and try again."
data-msg-no-one-touch="One-touch payment is not offered here."
data-msg-bad-order-id="This order number cannot be sent to Toss. Create a new payment."
data-msg-bad-order-name="The order name must be 1 to 100 characters."
data-msg-bad-amount="The amount must be a whole number of at least 100 won."
data-msg-bad-url="The return address of this payment is not valid."
data-msg-bad-metadata="The order carries too much extra data for Toss."></div>
<script src="{{ sdk_origin }}/v2/standard" defer></script>
<script src="/static/js/toss.js" defer></script>
{% endmacro %}
"""
TEMPLATES = {
    "base.html": BASE,
    "_rows.html": ROWS,
    "_toss.html": TOSS,
    "home.html": """{% extends "base.html" %}{% block title %}Wallet{% endblock %}
{% block content %}<h1>Your wallet</h1><p>Signed in as {{ current_user.email }}</p>
{% for n in notices %}<section>{% if n.kind == "link_revoked" %}<h2>Your BrandPay link was revoked</h2>
<p>On {{ n.created_at|dt }} an administrator revoked your BrandPay link and deleted the access it gave
this site. Your payment history is kept. You can link BrandPay again at any time.</p>
{% else %}<h2>Please link BrandPay again</h2><p>On {{ n.created_at|dt }} an administrator reset your
BrandPay link for your security. Link BrandPay again to keep paying with your saved methods.</p>{% endif %}
<p>If you did not expect this, contact support.</p>
<form method="post" action="/wallet/notices/{{ n.id }}/dismiss"><button>Dismiss</button></form></section>
{% endfor %}
<section><h2>BrandPay <span class="badge">{{ link|link_status }}</span></h2>
{% if link and link.status == "linked" %}{% if link.method_count is not none %}
<p>{{ link.method_count }} saved payment method{{ "" if link.method_count == 1 else "s" }}</p>{% endif %}
<a href="/wallet/methods">Manage payment methods</a>
{% elif link and link.status == "needs_relink" %}<p>Your BrandPay link stopped working. Link again to keep
paying with your saved methods.</p><a href="/wallet/link">Link BrandPay again</a>
{% else %}<p>Link BrandPay to save cards and bank accounts and pay with a PIN.</p>
<a href="/wallet/link">Link BrandPay</a>{% endif %}</section>
<section><h2>Recent payments</h2>{% if recent %}<ul>{% for o in recent %}
<li><a href="/pay/orders/{{ o.order_id }}/receipt">{{ o.order_name }}</a> · {{ o.amount|krw }}
· <span class="badge">{{ o.status|status }}</span> {{ o.created_at|dt }}</li>{% endfor %}</ul>
{% else %}<p>No payments yet.</p>{% endif %}
<p><a href="/pay/new">New payment</a> <a href="/pay/history">All payments</a></p></section>{% endblock %}""",
    "methods.html": """{% extends "base.html" %}{% from "_toss.html" import toss_config %}
{% block title %}Payment methods{% endblock %}
{% macro start(mode, label) %}<form method="post" action="/wallet/link"><input type="hidden" name="mode" value="{{ mode }}">
<button>{{ label }}</button></form>{% endmacro %}
{% macro remove(kind, method, name) %}<form method="post" action="/wallet/methods/remove"
data-confirm="Remove {{ name }} from BrandPay? You can add it again later.">
<input type="hidden" name="kind" value="{{ kind }}"><input type="hidden" name="method_key" value="{{ method.get("methodKey") }}">
<button>Remove</button></form>{% endmacro %}
{% block content %}<h1>Payment methods</h1>{% set linked = link and link.status == "linked" %}
{% if linked %}{{ toss_config(current_user.customer_key) }}
<script src="/static/js/brandpay.js" defer></script><script src="/static/js/methods.js" defer></script>{% endif %}
<div id="methods-list">
{% if link is none or link.status in ("withdrawn", "revoked") %}<p><strong>BrandPay is not linked</strong></p>
<p>Link your BrandPay wallet to save cards and bank accounts.</p>{{ start("link", "Link BrandPay") }}
{% elif link.status == "needs_relink" %}<section><h2>Please link BrandPay again</h2><p>Your BrandPay link
stopped working (it expired or was cancelled). Link again to see and use your payment methods.</p>
{{ start("link", "Link BrandPay again") }}</section>
{% elif methods is none %}<section><h2>BrandPay is not answering</h2><p>We could not load your payment
methods from Toss Payments just now. Nothing was changed. Please try again in a moment.</p>
<a href="/wallet/methods">Try again</a></section>
{% elif not methods.get("cards") and not methods.get("accounts") %}<p><strong>No payment methods yet</strong></p>
<p>Add a card or bank account to pay with BrandPay.</p>{{ start("add", "Add a payment method") }}
{% else %}{% set selected = methods.get("selectedMethodId") %}{{ start("add", "Add a payment method") }}
<p>“Selected” is the method BrandPay offers first when you pay: the one you registered or used most
recently. You can still choose another one in the payment window.</p>
{% if methods.get("cards") %}<h2>Cards</h2><ul>{% for card in methods["cards"] %}
{% set name = card.get("alias") or card.get("cardName") or "Card" %}<li>
<p><strong>{{ name }}</strong>{% if card.get("id") == selected %} <span class="badge">Selected</span>{% endif %}</p>
<p>{{ card.get("cardName") or "Card" }}{% if card.get("cardType") %} · {{ card.get("cardType") }}{% endif %}</p>
<p><code>{{ card.get("cardNumber") or "—" }}</code></p>{{ remove("card", card, name) }}</li>{% endfor %}</ul>{% endif %}
{% if methods.get("accounts") %}<h2>Bank accounts</h2><ul>{% for acc in methods["accounts"] %}
{% set name = acc.get("alias") or acc.get("accountName") or "Bank account" %}<li>
<p><strong>{{ name }}</strong>{% if acc.get("id") == selected %} <span class="badge">Selected</span>{% endif %}</p>
<p>{{ acc.get("accountName") or "Bank account" }}</p><p><code>{{ acc.get("accountNumber") or "—" }}</code></p>
{{ remove("account", acc, name) }}</li>{% endfor %}</ul>{% endif %}{% endif %}</div>
{% if linked %}<section><h2>BrandPay settings</h2><dl><dt>One-touch payment</dt>
<dd id="onetouch-state" data-on="On: you pay without the PIN on this device"
data-off="Off: you confirm each payment with your PIN" data-unavailable="Not offered by this shop"
data-unknown="Could not be checked just now">Checking…</dd></dl>
<div id="brandpay-pending" hidden>Waiting for BrandPay…</div>
<button type="button" data-brandpay-action="changeOneTouchPay" data-mode="settings"
data-done-message="Your one-touch payment setting was saved.">Change one-touch payment</button>
<button type="button" data-brandpay-action="changePassword" data-mode="settings"
data-done-message="Your BrandPay payment password was changed.">Change payment password</button>
<button type="button" data-brandpay-action="openSettings" data-mode="settings"
data-done-url="/wallet/methods">Open BrandPay settings</button>
<p id="brandpay-status"></p><noscript><p>BrandPay needs JavaScript to open.</p></noscript></section>{% endif %}
{% if link and link.status in ("linked", "needs_relink") %}<p><a href="/wallet/withdraw">Leave BrandPay</a></p>{% endif %}
{% endblock %}""",
    "history.html": """{% extends "base.html" %}{% from "_rows.html" import orders_table %}
{% block title %}Payments{% endblock %}
{% block content %}<h1>Your payments</h1><p><a href="/pay/new">New payment</a></p>
<form method="get" action="/pay/history">
<label>From (KST) <input type="date" name="from" value="{{ since or "" }}"></label>
<label>To, inclusive (KST) <input type="date" name="to" value="{{ until or "" }}"></label>
<label>Status <select name="status"><option value="">All</option>{% for value, label, _s, _d in choices %}
<option value="{{ value }}"{% if value == status %} selected{% endif %}>{{ label }}</option>{% endfor %}</select></label>
<label>Shop <select name="shop"><option value="">All</option>
<option value="direct"{% if shop == "direct" %} selected{% endif %}>Direct payment</option>{% for id, name in shops %}
<option value="{{ id }}"{% if shop == id|string %} selected{% endif %}>{{ name }}</option>{% endfor %}</select></label>
<button>Filter</button>{% if args %} <a href="/pay/history">Clear filters</a>{% endif %}</form>
{% if rows %}{{ orders_table(rows, "/pay/orders/", "/receipt", member_actions=true) }}
<nav>{% if request.args.get("after") %}<a href="/pay/history{% if args %}?{{ args|urlencode }}{% endif %}">Newest</a>{% endif %}
{% if next_cursor %}<a href="/pay/history?{{ dict(args, after=next_cursor)|urlencode }}">Older payments</a>{% endif %}</nav>
{% elif args %}<p><strong>No payments match</strong></p><p>Try another date range, status or shop.</p>
{% else %}<p><strong>No payments yet</strong></p><p>Payments you make with your BrandPay wallet appear here.</p>{% endif %}
{% endblock %}""",
    "receipt.html": """{% extends "base.html" %}{% block title %}Receipt · {{ order.order_name }}{% endblock %}
{% block content %}<section><h1>{{ order.order_name }}</h1>
{% if order.failure_code %}<p class="error">The payment did not go through. Nothing was charged. (<code>{{ order.failure_code }}</code>)</p>{% endif %}
{% if order.status in ("CONFIRMING", "UNKNOWN") %}<p>We are checking this payment with Toss. Reload this page in a moment.</p>{% endif %}
<dl><dt>Status</dt><dd><span class="badge">{{ order.status|status }}</span></dd>
<dt>Shop</dt><dd>{{ order.merchant.name if order.merchant else "Direct payment" }}</dd>
<dt>Order number</dt><dd><code>{{ order.order_id }}</code></dd>
<dt>Ordered at</dt><dd>{{ order.created_at|dt }}</dd><dt>Amount</dt><dd><strong>{{ order.amount|krw }}</strong></dd>
{% if payment %}{% if payment.supplied_amount is not none and payment.vat is not none %}
<dt>Supplied amount</dt><dd>{{ payment.supplied_amount|krw }}</dd><dt>VAT</dt><dd>{{ payment.vat|krw }}</dd>{% endif %}
<dt>Method</dt><dd>{% if order.pay_way %}{{ order.pay_way|pay_way }} · {% endif %}{{ payment.method or "—" }}
{%- if payment.issuer_code %} · issuer {{ payment.issuer_code }}{% endif %}{% if payment.card_type %} ({{ payment.card_type }}){% endif %}
{%- if payment.card_number %} {{ payment.card_number }}{% endif %}{% if payment.bank_code %} bank code {{ payment.bank_code }}{% endif %}</dd>
{% if payment.approve_no %}<dt>Approval number</dt><dd><code>{{ payment.approve_no }}</code></dd>{% endif %}
{% if payment.installment_months is not none %}<dt>Installments</dt><dd>{{ "%d months"|format(payment.installment_months) if payment.installment_months else "Lump sum" }}</dd>{% endif %}
{% if payment.use_card_point %}<dt>Card points</dt><dd>Used</dd>{% endif %}
{% if payment.cash_receipt_type %}<dt>Cash receipt</dt><dd>{{ payment.cash_receipt_type }}{% if payment.cash_receipt_url %}
· <a href="{{ payment.cash_receipt_url }}">View the cash receipt</a>{% endif %}</dd>{% endif %}
<dt>Approved at</dt><dd>{{ payment.approved_at|dt }}</dd><dt>Refund amount</dt><dd>{{ payment.refunded|krw }}</dd>
<dt>Remaining</dt><dd>{{ payment.balance_amount|krw }}{% if payment.refund_reserved %} ({{ payment.refund_reserved|krw }} being refunded){% endif %}</dd>{% endif %}</dl>
{% if payment and payment.cancels %}<table><caption>Refunds</caption><thead><tr><th>Refunded at</th><th>Refund amount</th>
<th>Reason</th><th>Status</th><th>When the money is back</th></tr></thead><tbody>{% for c in payment.cancels %}
<tr><td>{{ (c.canceled_at or c.created_at)|dt }}</td><td>{{ c.amount|krw }}</td><td>{{ c.reason }}</td>
<td>{% if c.status == "DONE" %}Refunded{% elif c.status == "PENDING" %}In progress{% else %}Refused{% if c.failure_code %} (<code>{{ c.failure_code }}</code>){% endif %}{% endif %}</td>
<td>{{ timing(payment, c) if c.status == "DONE" else "—" }}</td></tr>{% endfor %}</tbody></table>{% endif %}
{% if payment and order.status in ("DONE", "PARTIAL_CANCELED") %}<section><h2>Canceling and refunds</h2>
{% if can_cancel %}<p>You can cancel this payment yourself until {{ deadline|dt }}.</p>
{% elif order.merchant_id %}<p>This shop decides refunds of its orders{{ ": ask it for a refund below" if can_request }}.</p>
{% elif order.status == "DONE" and not payment.refund_reserved %}<p>The time to cancel this payment yourself has passed. Contact support for a refund.</p>
{% else %}<p>Part of this payment was refunded, so it can no longer be canceled here. Contact support for a further refund.</p>{% endif %}
{% if payment.method == "카드" %}<p>Card refunds: a full cancel on the day of payment is immediate; a partial cancel,
or one on a later day, takes 3 to 4 business days at the card company.</p>
{% elif payment.method == "계좌이체" %}<p>A bank transfer is refunded to your account at once.</p>{% endif %}</section>{% endif %}
{% if refund_request %}<section><h2>Your refund request</h2>{% if refund_request.status == "OPEN" %}
<p>You asked the shop for a refund on {{ refund_request.created_at|dt }}. The shop has not answered yet.</p>
{% elif refund_request.status == "APPROVED" %}<p>The shop approved your request and refunded {{ (refund_request.refunded_amount or 0)|krw }}.</p>
{% else %}<p>The shop declined your request: {{ refund_request.decision_reason }}</p>{% endif %}
<p>Your reason: {{ refund_request.reason }}</p></section>{% endif %}
{% if can_request and not (refund_request and refund_request.status == "OPEN") %}<section><h2>Ask the shop for a refund</h2>
<p>This shop refunds its orders itself. Tell it why; it answers here and refunds through Toss if it agrees.</p>
<form method="post" action="/pay/orders/{{ order.order_id }}/refund-request"><label>Why do you want a refund?
<input name="reason" maxlength="200" required></label><button>Send refund request</button></form></section>{% endif %}
<p><button type="button" data-print>Print receipt</button>
{% if payment and payment.receipt_url %}<a href="{{ payment.receipt_url }}">Toss receipt</a>{% endif %}
{% if order.merchant_id %}<a href="/merchant/return/{{ order.order_id }}">Return to the shop</a>{% endif %}</p>
{% if can_cancel %}<form method="post" action="/pay/orders/{{ order.order_id }}/cancel"
data-confirm="Cancel this payment and refund {{ payment.balance_amount|krw }}?"><button>Cancel payment</button></form>{% endif %}
<p><a href="/pay/history">Your payments</a></p></section>{% endblock %}""",
    "checkout.html": """{% extends "base.html" %}{% from "_toss.html" import toss_config %}
{% block title %}Pay · {{ order.order_name }}{% endblock %}
{% block content %}{{ toss_config(current_user.customer_key) }}<script src="/static/js/checkout.js" defer></script>
<section><h1>{{ order.order_name }}</h1>
{% if order.failure_code %}<p class="error" id="checkout-error">The payment did not go through. Nothing was charged. (<code>{{ order.failure_code }}</code>)</p>{% endif %}
<dl><dt>Amount</dt><dd><strong>{{ order.amount|krw }}</strong></dd><dt>Order number</dt><dd><code>{{ order.order_id }}</code></dd>
<dt>Status</dt><dd><span class="badge">{{ order.status|status }}</span></dd>
{% if order.status == "PENDING" %}<dt>Pay before</dt><dd>{{ order.expires_at|dt }}</dd>{% endif %}</dl>
{% if order.status == "PENDING" %}{% if not (link and link.status == "linked") %}<p>No BrandPay wallet yet? The BrandPay
window lets you agree to its terms, register a card and pay, all in one go.</p>{% endif %}
<form id="pay-options" method="post" action="/pay/orders/{{ order.order_id }}/options">
<fieldset><legend>Card options</legend>{% if order.amount >= installment_minimum %}
<label>Installments <select name="installment"><option value="0">Lump sum</option>{% for m in installment_months %}
<option value="{{ m }}"{% if order.installment_months == m %} selected{% endif %}>{{ m }} months</option>{% endfor %}</select></label>
{% else %}<input type="hidden" name="installment" value="0">
<p>Installments start at {{ installment_minimum|krw }}; this order is paid in one go.</p>{% endif %}
<label><input type="checkbox" name="card_point" value="y"{% if order.use_card_point %} checked{% endif %}> Use card points</label>
<p>Not for foreign cards: they are paid in one go.</p></fieldset>
<fieldset><legend>Cash receipt (BrandPay bank account)</legend>{% set chosen = order.cash_receipt_type or "" %}
<label><input type="radio" name="cash_receipt" value=""{% if not chosen %} checked{% endif %}> No cash receipt</label>
<label><input type="radio" name="cash_receipt" value="소득공제"{% if chosen == "소득공제" %} checked{% endif %}> Income deduction, with a mobile or cash receipt card number</label>
<label><input type="radio" name="cash_receipt" value="지출증빙"{% if chosen == "지출증빙" %} checked{% endif %}> Expense proof, with a business registration number</label>
<label>Number type <select name="cash_receipt_number_type">{% for value, label in number_types %}
<option value="{{ value }}"{% if order.cash_receipt_number_type == value %} selected{% endif %}>{{ label }}</option>{% endfor %}</select></label>
<label>Number <input type="text" name="cash_receipt_number" inputmode="numeric" autocomplete="off" maxlength="24"></label>
<p>Digits only, dashes allowed. Only the last four digits are kept.{% if order.cash_receipt_number_last4 %}
Chosen: ending in {{ order.cash_receipt_number_last4 }}.{% endif %}</p></fieldset>
<noscript><button>Save options</button></noscript></form>
{% set base = request.host_url ~ "pay/orders/" ~ order.order_id %}
<div id="pay-buttons" data-amount="{{ order.amount }}" data-order-id="{{ order.order_id }}"
data-order-name="{{ order.order_name }}" data-next="{{ request.path }}" data-fail-url="{{ base }}/fail">
<button type="button" data-pay-way="brandpay" data-success-url="{{ base }}/success?way=brandpay">Pay {{ order.amount|krw }} with BrandPay</button>
<button type="button" data-pay-way="card" data-success-url="{{ base }}/success?way=card">Pay with a card</button>
<button type="button" data-pay-way="foreign" data-success-url="{{ base }}/success?way=foreign">Foreign card (Visa, Mastercard, JCB, UnionPay)</button>
<a href="/pay/history">Not now</a></div>
<div id="pay-status"><div id="pay-pending" hidden>The payment window is open. Finish the payment there…</div>
<p id="pay-error" hidden></p></div><noscript><p>Paying needs JavaScript.</p></noscript>
{% else %}<p>This order has expired and can no longer be paid. Create a new payment instead.</p>
<p><a href="/pay/new">New payment</a></p>{% endif %}</section>{% endblock %}""",
    "dashboard.html": """{% extends "base.html" %}{% from "_rows.html" import mandates_table %}
{% block title %}Merchant · {{ merchant.name }}{% endblock %}
{% block content %}<h1>{{ merchant.name }}</h1><p>Merchant id <code>{{ merchant.public_id }}</code></p>
{% if mine|length > 1 %}<nav>{% for m in mine %}<a href="/merchant?m={{ m.id }}">{{ m.name }}</a> {% endfor %}</nav>{% endif %}
{% set prefix = "/merchant/" ~ merchant.id %}
<h2>Refund requests</h2>{% if refund_requests %}<ul>{% for rq in refund_requests %}
{% set refundable = rq.order.payment.refundable if rq.order.payment else 0 %}<li>
<p><code>{{ rq.order.order_id }}</code> · {{ rq.order.order_name }} · {{ rq.order.amount|krw }} · asked {{ rq.created_at|dt }}</p>
<p>The member's reason: {{ rq.reason }}</p>
<form method="post" action="{{ prefix }}/refund-requests/{{ rq.public_id }}/approve" data-confirm="Refund this order?">
<label>Amount (won) <input type="number" name="amount" min="1" max="{{ refundable }}" value="{{ refundable }}" required></label>
<button>Approve and refund</button></form>
<form method="post" action="{{ prefix }}/refund-requests/{{ rq.public_id }}/decline">
<label>Reason for declining (the member sees it) <input type="text" name="reason" maxlength="200" required></label>
<button>Decline</button></form></li>{% endfor %}</ul>
{% else %}<p><strong>No open refund requests</strong></p><p>When a member asks for a refund of one of your orders,
it appears here and is sent to your webhook.</p>{% endif %}
<h2>Orders</h2>{% if orders %}<table><thead><tr><th>Order</th><th>Name</th><th>Amount</th><th>Status</th>
<th>Ordered at</th></tr></thead><tbody>{% for o in orders %}<tr>
<td><a href="{{ prefix }}/orders/{{ o.order_id }}"><code>{{ o.order_id }}</code></a></td><td>{{ o.order_name }}</td>
<td>{{ o.amount|krw }}</td><td><span class="badge">{{ o.status|status }}</span></td><td>{{ o.created_at|dt }}</td></tr>
{% endfor %}</tbody></table>{% else %}<p><strong>No orders yet</strong></p><p>Orders you create through the API appear here.</p>{% endif %}
<h2>Payments</h2>{% if payments %}<table><thead><tr><th>Order</th><th>Status</th><th>Paid</th><th>Refund amount</th>
<th>Approved at</th><th>Refund</th></tr></thead><tbody>{% for o in payments %}{% set p = o.payment %}<tr>
<td><a href="{{ prefix }}/orders/{{ o.order_id }}"><code>{{ o.order_id }}</code></a></td>
<td><span class="badge">{{ p.status|status }}</span></td><td>{{ p.total_amount|krw }}</td><td>{{ p.refunded|krw }}</td>
<td>{{ p.approved_at|dt }}</td><td>{% if p.status in ("DONE", "PARTIAL_CANCELED") and p.refundable > 0 %}
<a href="{{ prefix }}/orders/{{ o.order_id }}#refund-title">Refund…</a>{% else %}—{% endif %}</td></tr>
{% endfor %}</tbody></table>{% else %}<p><strong>No payments yet</strong></p><p>Paid orders appear here.</p>{% endif %}
<h2>Mandates (automatic payments)</h2>{% if mandates %}{{ mandates_table(mandates) }}
{% else %}<p><strong>No mandates yet</strong></p><p>Ask a member for one with POST /api/v1/mandate-links; once they
approve it, it appears here.</p>{% endif %}
<h2>Webhook deliveries</h2><p>{% if merchant.webhook_url %}Sent to {{ merchant.webhook_url }}{% else %}No webhook URL
is set; ask an admin to add one.{% endif %}</p>
<form method="post" action="{{ prefix }}/webhooks/test"><button{% if not merchant.webhook_url %} disabled{% endif %}>Send a test event</button></form>
{% if events %}<table><thead><tr><th>Event</th><th>Status</th><th>Attempts</th><th>Next try</th><th></th></tr></thead>
<tbody>{% for e in events %}<tr><td><code>{{ e.message_id }}</code><br><code>{{ e.event_type }}</code> · {{ e.created_at|dt }}</td>
<td><span class="badge">{{ {"pending": "pending", "delivered": "delivered", "failed": "gave up"}.get(e.status, e.status) }}</span></td>
<td>{% for a in e.deliveries %}<span class="badge">#{{ a.attempt }} {{ a.status_code or a.error }} · {{ a.duration_ms }} ms</span>
{% else %}—{% endfor %}</td><td>{{ e.next_attempt_at|dt if e.status == "pending" else "—" }}</td>
<td>{% if e.status != "pending" %}<form method="post" action="{{ prefix }}/webhooks/{{ e.id }}/resend"><button>Resend</button></form>{% endif %}</td></tr>
{% endfor %}</tbody></table>{% else %}<p><strong>No webhooks yet</strong></p><p>Each change of an order's status is
delivered to your webhook URL.</p>{% endif %}
<h2>Refund policy</h2><p>Members ask you for refunds; you decide here or over the API. You may also let members
cancel a fully paid order themselves for a number of days after paying.</p>
<form method="post" action="{{ prefix }}/refund-policy"><label>Member self-cancel (days)
<input type="number" name="member_cancel_days" min="1" max="90" value="{{ merchant.member_cancel_days or "" }}"></label>
<p>Leave empty to decide every refund yourself.</p><button>Save refund policy</button></form>
<h2>Pre-approval hook</h2><p>Optional. Before each payment of your orders is confirmed, the portal sends a signed
request (signed like your webhooks) to this URL and waits up to 5 seconds. Only an answer 200 with this body lets
the payment go through; anything else, or no answer in time, and it is not taken: <code>{"approve": true}</code></p>
<form method="post" action="{{ prefix }}/pre-approval"><label>Pre-approval URL
<input type="text" name="confirm_url" maxlength="500" value="{{ merchant.confirm_url or "" }}"></label>
<p>Leave empty to turn the hook off.</p><button>Save pre-approval hook</button></form>
<h2>API keys</h2>{% if keys %}<table><thead><tr><th>Key</th><th>Label</th><th>Created</th><th>Last used</th>
<th>Action</th></tr></thead><tbody>{% for k in keys %}<tr><td><code>{{ k.prefix }}_…</code></td><td>{{ k.label or "—" }}</td>
<td>{{ k.created_at|dt }}</td><td>{{ k.last_used_at|dt }}</td><td>{% if k.revoked_at is none %}
<form method="post" action="{{ prefix }}/keys/{{ k.id }}/revoke" data-confirm="Revoke key {{ k.prefix }}? Requests using it will fail.">
<button>Revoke</button></form>{% else %}<span class="badge">revoked</span>{% endif %}</td></tr>
{% endfor %}</tbody></table>{% else %}<p><strong>No API keys</strong></p><p>Create one to call the API.</p>{% endif %}
<form method="post" action="{{ prefix }}/keys"><label>Label <input type="text" name="label" maxlength="80" required></label>
<p>For example: production server</p><button>Create API key</button></form>
<h2>Embed the wallet button</h2><p>Create a wallet link for each order with the API (POST
/api/v1/orders/{order_id}/wallet-links), then put its url in the button. The script opens it in a popup, or a new
tab when popups are blocked.</p>
<label for="embed-snippet">Snippet to copy</label>
<textarea id="embed-snippet" rows="4" readonly>&lt;a href="LINK_URL_FROM_THE_API" data-brandpay-wallet="popup" target="_blank" rel="noopener"&gt;Pay with BrandPay Wallet&lt;/a&gt;
&lt;script src="{{ request.host_url }}static/js/embed.js" async&gt;&lt;/script&gt;</textarea>{% endblock %}""",
    "admin_payments.html": """{% extends "base.html" %}{% from "_rows.html" import orders_table %}
{% block title %}Payments{% endblock %}
{% block content %}<h1>Payments and refunds</h1><p><a href="/admin/payments/export">Export payments (CSV)</a></p>
<form method="get" action="/admin/payments"><label>Status <select name="status"><option value="">All that reached Toss</option>
{% for value, label in statuses.items() %}<option value="{{ value }}"{% if value == status %} selected{% endif %}>{{ label }}</option>
{% endfor %}</select></label><button>Filter</button></form>
{% if rows %}{{ orders_table(rows, "/admin/payments/", show_member=true) }}
{% if next_cursor %}<p><a href="/admin/payments?after={{ next_cursor }}{% if status %}&amp;status={{ status }}{% endif %}">Older payments</a></p>{% endif %}
{% else %}<p><strong>No payments</strong></p><p>Nothing matches this filter.</p>{% endif %}{% endblock %}""",
    "admin_member.html": """{% extends "base.html" %}{% from "_rows.html" import orders_table, mandates_table %}
{% block title %}Member · {{ member.email }}{% endblock %}
{% macro reason_form(action, label, question) %}<form method="post" action="/admin/members/{{ member.id }}/{{ action }}"
data-confirm="{{ question }}"><label>Reason <input type="text" name="reason" maxlength="200" required></label>
<button>{{ label }}</button></form>{% endmacro %}
{% block content %}<p><a href="/admin/members">All members</a></p>
<h1>{{ member.email }}{% if member.role == "admin" %} <span class="badge">admin</span>{% endif %}</h1>
<section><h2>Account</h2><dl><dt>customerKey</dt><dd><code>{{ member.customer_key }}</code></dd>
<dt>Registered</dt><dd>{{ member.created_at|dt }}</dd><dt>Notices not yet read</dt><dd>{{ open_notices }}</dd></dl></section>
<section><h2>BrandPay link <span class="badge">{{ link|link_status }}</span></h2>{% if link %}<dl>
{% if link.status in ("linked", "needs_relink") %}<dt>Linked at</dt><dd>{{ link.linked_at|dt }}</dd>
{% set tokens = link.access_token_enc and link.refresh_token_enc %}
<dt>Tokens stored</dt><dd>{{ "yes (encrypted)" if tokens else "no" }}</dd>
{% if tokens %}<dt>Access token expires</dt><dd>{{ link.access_expires_at|dt }}</dd>{% endif %}
{% if link.method_count is not none %}<dt>Saved methods (last seen)</dt><dd>{{ link.method_count }}</dd>{% endif %}
{% if link.status == "needs_relink" and link.relink_reason %}<dt>Why re-linking is needed</dt><dd><code>{{ link.relink_reason }}</code></dd>{% endif %}
{% elif link.status == "withdrawn" %}<dt>Withdrew</dt><dd>{{ link.withdrawn_at|dt }}</dd><dt>Tokens stored</dt><dd>no (destroyed)</dd>
{% elif link.status == "revoked" %}<dt>Revoked</dt><dd>{{ link.revoked_at|dt }} · by {{ link.revoked_by }}: {{ link.revoked_reason }}</dd>
<dt>Tokens stored</dt><dd>no (destroyed)</dd>{% endif %}</dl>
{% else %}<p>This member never linked BrandPay.</p>{% endif %}
{% if link and link.status in ("linked", "needs_relink") %}<p>Both actions destroy the stored tokens for good, ask for
your password again, and are recorded with your reason. The member sees a notice on their wallet.</p>
<h3>Revoke</h3>{{ reason_form("revoke", "Revoke tokens", "Revoke BrandPay tokens of " ~ member.email ~ "?") }}
{% if link.status == "linked" %}<h3>Force re-link</h3>{{ reason_form("relink", "Ask to link again", "Make " ~ member.email ~ " link BrandPay again?") }}{% endif %}
{% endif %}</section>
<section><h2>Payments</h2>{% if rows %}{{ orders_table(rows, "/admin/payments/", show_member=true) }}
{% if next_cursor %}<p><a href="/admin/members/{{ member.id }}?after={{ next_cursor }}">Older payments</a></p>{% endif %}
{% else %}<p><strong>No payments</strong></p><p>This member has not paid anything yet.</p>{% endif %}</section>
<section><h2>Mandates</h2>{% if mandates %}{{ mandates_table(mandates, show_shop=true) }}
<p><a href="/admin/mandates">All mandates, to revoke one</a></p>
{% else %}<p><strong>No mandates</strong></p><p>This member has not allowed any shop to charge automatically.</p>{% endif %}</section>
<section><h2>Refunds</h2>{% if refunds %}<table><thead><tr><th>Order</th><th>Refunded at</th><th>Refund amount</th>
<th>Reason</th><th>By</th><th>Status</th></tr></thead><tbody>{% for c, order_id in refunds %}
<tr><td><a href="/admin/payments/{{ order_id }}"><code>{{ order_id }}</code></a></td><td>{{ (c.canceled_at or c.created_at)|dt }}</td>
<td>{{ c.amount|krw }}</td><td>{{ c.reason }}</td><td>{{ c.actor }}</td>
<td>{{ {"DONE": "Refunded", "PENDING": "In progress"}.get(c.status, "Refused") }}{% if c.failure_code %} (<code>{{ c.failure_code }}</code>){% endif %}</td></tr>
{% endfor %}</tbody></table>{% else %}<p>No refunds.</p>{% endif %}</section>
<section><h2>Audit entries</h2>{% if audit %}<table><thead><tr><th>Action</th><th>Time</th><th>Actor</th><th>Details</th></tr></thead>
<tbody>{% for e in audit %}<tr><td>#{{ e.seq }} <code>{{ e.action }}</code></td><td>{{ e.created_at|dt }}</td><td>{{ e.actor }}</td>
<td>{% set details = e.details_dict %}{% if details %}<ul>{% for k, v in details.items() %}<li>{{ k }}: {{ v }}</li>{% endfor %}</ul>{% endif %}</td></tr>
{% endfor %}</tbody></table>
{% if audit_before %}<p><a href="/admin/members/{{ member.id }}?before={{ audit_before }}">Older entries</a></p>{% endif %}
<p><a href="/admin/audit?subject=member:{{ member.id }}">Open in the audit log</a></p>
{% else %}<p>No audit entries about this member.</p>{% endif %}</section>{% endblock %}""",
}
NUMBER_TYPES = (
    ("MOBILE", "Mobile number"),
    ("CASH_RECEIPT_CARD", "Cash receipt card number"),
    ("BUSINESS_REGISTRATION", "Business registration number"),
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create(
    database_url: str,
    sandbox_url: str,
    access_tokens: dict[int, str],
    *,
    secret_key: str = "minimal-bench-secret",  # noqa: S107 - a local benchmark app
    client_key: str = "test_ck_minimal",
) -> Flask:
    """The minimal app on `database_url`, calling Toss at `sandbox_url`."""
    app = Flask("bench-minimal")
    app.config.update(
        SECRET_KEY=secret_key,
        SQLALCHEMY_DATABASE_URI=database_url.replace(
            "postgresql://", "postgresql+psycopg://", 1
        ),
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
    )
    app.jinja_loader = DictLoader(TEMPLATES)
    app.add_template_filter(_dt, "dt")
    app.add_template_filter(_krw, "krw")
    app.add_template_filter(lambda s: SHOWN_STATUSES.get(s, s), "status")
    app.add_template_filter(lambda w: PAY_WAYS.get(w, w), "pay_way")
    app.add_template_filter(_link_status, "link_status")
    app.jinja_env.globals.update(client_key=client_key, sdk_origin=sandbox_url)
    db.init_app(app)
    if database_url.startswith("sqlite"):
        # The portal's SQLite settings (WAL, synchronous=NORMAL): both apps pay the
        # same for a commit, so the ratio prices the features, not the journal mode.
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_pragmas)
    login = LoginManager(app)
    http = requests.Session()  # one pooled session for every Toss call

    @login.user_loader
    def _load(user_id: str) -> Member | None:
        return db.session.get(Member, int(user_id))

    @app.post("/login")
    def log_in() -> ResponseReturnValue:
        member = db.session.scalar(
            select(Member).where(Member.email == request.form.get("email", ""))
        )
        if member is None or not check_password_hash(
            member.password_hash, request.form.get("password", "")
        ):
            abort(401)
        login_user(member)
        return redirect("/wallet")

    @app.post("/auth/logout")
    def log_out() -> ResponseReturnValue:
        logout_user()
        return redirect("/")

    def _link_of(member_id: int) -> Link | None:
        return db.session.scalar(select(Link).where(Link.member_id == member_id))

    @app.get("/wallet")
    @login_required
    def home() -> ResponseReturnValue:
        notices = db.session.scalars(
            select(Notice)
            .where(Notice.member_id == current_user.id, Notice.dismissed_at.is_(None))
            .order_by(Notice.id)
        ).all()
        recent, _next = _orders(
            select(Order).where(
                Order.member_id == current_user.id, Order.status.not_in(HIDDEN)
            ),
            None,
            5,
        )
        return render_template(
            "home.html", link=_link_of(current_user.id), notices=notices, recent=recent
        )

    @app.get("/wallet/methods")
    @login_required
    def methods() -> ResponseReturnValue:
        link = _link_of(current_user.id)
        if link is None or link.status != "linked":
            return render_template("methods.html", link=link, methods=None)
        resp = http.get(
            sandbox_url + "/v1/brandpay/payments/methods",
            headers={"Authorization": f"Bearer {access_tokens[current_user.id]}"},
            timeout=(3.05, 10.0),
        )
        if resp.status_code != 200:
            return render_template("methods.html", link=link, methods=None), 503
        return render_template("methods.html", link=link, methods=resp.json())

    @app.get("/pay/history")
    @login_required
    def history() -> ResponseReturnValue:
        query = select(Order).where(Order.member_id == current_user.id)
        args = {}
        status = request.args.get("status", "")
        for value, _label, statuses, declined in HISTORY_CHOICES:
            if value == status:
                args["status"] = status
                query = query.where(Order.status.in_(statuses))
                if declined:
                    query = query.where(
                        Order.failure_code.is_not(None),
                        Order.failure_code != STOPPED_BY_MEMBER,
                    )
        shop = request.args.get("shop", "")
        if shop == "direct":
            args["shop"] = shop
            query = query.where(Order.merchant_id.is_(None))
        elif shop.isdigit():
            args["shop"] = shop
            query = query.where(Order.merchant_id == int(shop))
        since, until = (
            _kst_day(request.args.get("from")),
            _kst_day(request.args.get("to")),
        )
        if since:
            args["from"] = since.isoformat()
            query = query.where(
                Order.created_at >= datetime.combine(since, time(), KST)
            )
        if until:
            args["to"] = until.isoformat()
            next_day = datetime.combine(until + timedelta(days=1), time(), KST)
            query = query.where(Order.created_at < next_day)
        rows, next_cursor = _orders(
            query, request.args.get("after"), 20, joinedload(Order.merchant)
        )
        shops = db.session.execute(
            select(Merchant.id, Merchant.name)
            .where(
                exists().where(
                    Order.member_id == current_user.id, Order.merchant_id == Merchant.id
                )
            )
            .order_by(Merchant.name)
        ).all()
        return render_template(
            "history.html",
            rows=rows,
            next_cursor=next_cursor,
            args=args,
            status=status,
            shop=shop,
            since=since,
            until=until,
            shops=shops,
            choices=HISTORY_CHOICES,
        )

    def _own_order(order_id: str, *load: Any) -> Order:
        order = db.session.scalar(
            select(Order)
            .where(Order.order_id == order_id, Order.member_id == current_user.id)
            .options(*load)
        )
        if order is None:
            abort(404)
        return order

    @app.get("/pay/orders/<order_id>")
    @login_required
    def checkout(order_id: str) -> ResponseReturnValue:
        order = _own_order(order_id)
        if order.status not in HIDDEN:
            return redirect(f"/pay/orders/{order_id}/receipt")
        return render_template(
            "checkout.html",
            order=order,
            link=_link_of(current_user.id),
            installment_minimum=INSTALLMENT_MINIMUM,
            installment_months=INSTALLMENT_MONTHS,
            number_types=NUMBER_TYPES,
        )

    @app.get("/pay/orders/<order_id>/receipt")
    @login_required
    def receipt(order_id: str) -> ResponseReturnValue:
        order = _own_order(
            order_id,
            joinedload(Order.payment).selectinload(Payment.cancels),
            joinedload(Order.merchant),
        )
        if order.status == "PENDING":
            return redirect(f"/pay/orders/{order_id}")
        payment = order.payment
        days = (
            MEMBER_CANCEL_DAYS
            if order.merchant is None
            else order.merchant.member_cancel_days
        )
        deadline = None
        if (
            order.status == "DONE"
            and payment is not None
            and not payment.refund_reserved
            and days is not None
        ):
            approved = min(
                _utc(t) for t in (payment.approved_at, payment.created_at) if t
            )
            deadline = approved + timedelta(days=days)
        can_cancel = deadline is not None and datetime.now(UTC) <= deadline
        can_request = (
            order.merchant_id is not None
            and order.status in ("DONE", "PARTIAL_CANCELED")
            and payment is not None
            and payment.refundable > 0
            and not can_cancel
        )
        refund_request = None
        if order.merchant_id is not None:
            refund_request = db.session.scalar(
                select(RefundRequest)
                .where(RefundRequest.order_pk == order.id)
                .order_by(RefundRequest.id.desc())
                .limit(1)
            )
        return render_template(
            "receipt.html",
            order=order,
            payment=payment,
            deadline=deadline,
            can_cancel=can_cancel,
            can_request=can_request,
            refund_request=refund_request,
            timing=_refund_timing,
        )

    @app.get("/merchant")
    @login_required
    def dashboard() -> ResponseReturnValue:
        mine = db.session.scalars(
            select(Merchant)
            .join(staff, staff.c.merchant_id == Merchant.id)
            .where(staff.c.member_id == current_user.id)
            .order_by(Merchant.name)
        ).all()
        if not mine:
            abort(403)
        wanted = request.args.get("m", type=int)
        merchant = next((m for m in mine if wanted in (None, m.id)), None)
        if merchant is None:
            abort(404)
        refund_requests = db.session.scalars(
            select(RefundRequest)
            .where(
                RefundRequest.merchant_id == merchant.id,
                RefundRequest.status == "OPEN",
            )
            .options(joinedload(RefundRequest.order).joinedload(Order.payment))
            .order_by(RefundRequest.id.desc())
            .limit(50)
        ).all()
        rows, _next = _orders(
            select(Order).where(Order.merchant_id == merchant.id), None, 50
        )
        mandates = db.session.scalars(
            select(Mandate)
            .where(Mandate.merchant_id == merchant.id)
            .order_by(Mandate.id.desc())
            .limit(20)
        ).all()
        events = db.session.scalars(
            select(WebhookEvent)
            .where(
                WebhookEvent.merchant_id == merchant.id,
                WebhookEvent.channel == "webhook",
            )
            .options(selectinload(WebhookEvent.deliveries))
            .order_by(WebhookEvent.id.desc())
            .limit(50)
        ).all()
        keys = db.session.scalars(
            select(ApiKey)
            .where(ApiKey.merchant_id == merchant.id)
            .order_by(ApiKey.id.desc())
        ).all()
        return render_template(
            "dashboard.html",
            merchant=merchant,
            mine=mine,
            refund_requests=refund_requests,
            orders=rows,
            payments=[o for o in rows if o.payment is not None],
            mandates=mandates,
            events=events,
            keys=keys,
        )

    def _admin() -> None:
        if current_user.role != "admin":
            abort(403)

    @app.get("/admin/payments")
    @login_required
    def admin_payments() -> ResponseReturnValue:
        _admin()
        status = request.args.get("status", "")
        if status in STATUSES:
            query = select(Order).where(Order.status == status)
        else:
            status, query = "", select(Order).where(Order.status.not_in(HIDDEN))
        rows, next_cursor = _orders(
            query,
            request.args.get("after"),
            50,
            joinedload(Order.member),
            joinedload(Order.merchant),
        )
        return render_template(
            "admin_payments.html",
            rows=rows,
            next_cursor=next_cursor,
            status=status,
            statuses=STATUSES,
        )

    @app.get("/admin/members/<int:member_id>")
    @login_required
    def admin_member(member_id: int) -> ResponseReturnValue:
        _admin()
        member = db.session.get(Member, member_id) or abort(404)
        open_notices = db.session.scalar(
            select(func.count(Notice.id)).where(
                Notice.member_id == member_id, Notice.dismissed_at.is_(None)
            )
        )
        rows, next_cursor = _orders(
            select(Order).where(
                Order.member_id == member_id, Order.status.not_in(HIDDEN)
            ),
            request.args.get("after"),
            20,
            joinedload(Order.merchant),
        )
        mandates = db.session.scalars(
            select(Mandate)
            .where(Mandate.member_id == member_id)
            .options(joinedload(Mandate.merchant))
            .order_by(Mandate.id.desc())
            .limit(20)
        ).all()
        # `member_id + 0` on SQLite: the portal's flat plan (services/admin.py), so
        # that the baseline is not slowed by SQLite's order-driven plan (bench/README).
        member_col: Any = Order.member_id
        if db.engine.dialect.name == "sqlite":
            member_col = Order.member_id + 0
        refunds = db.session.execute(
            select(Cancel, Order.order_id)
            .join(Payment, Cancel.payment_id == Payment.id)
            .join(Order, Payment.order_pk == Order.id)
            .where(member_col == member_id)
            .order_by(Cancel.id.desc())
            .limit(20)
        ).all()
        audit_query = select(AuditEntry).where(
            AuditEntry.subject == f"member:{member_id}"
        )
        before = request.args.get("before", type=int)
        if before is not None:
            audit_query = audit_query.where(AuditEntry.seq < before)
        audit = list(
            db.session.scalars(audit_query.order_by(AuditEntry.seq.desc()).limit(21))
        )
        audit_before = audit[19].seq if len(audit) > 20 else None
        return render_template(
            "admin_member.html",
            member=member,
            link=_link_of(member_id),
            open_notices=open_notices,
            rows=rows,
            next_cursor=next_cursor,
            mandates=mandates,
            refunds=refunds,
            audit=audit[:20],
            audit_before=audit_before,
        )

    @app.post("/api/v1/orders")
    def api_create_order() -> ResponseReturnValue:
        scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
        digest = hashlib.sha256(raw.strip().encode()).hexdigest()
        found = db.session.execute(
            select(ApiKey, Merchant)
            .join(Merchant, Merchant.id == ApiKey.merchant_id)
            .where(ApiKey.key_hash == digest)
        ).first()
        if (
            scheme.lower() != "bearer"
            or found is None
            or found[0].revoked_at is not None
            or not found[1].active
        ):
            return jsonify(error="unauthorized"), 401
        key = found[0]
        data = request.get_json(silent=True) or {}
        amount, name = data.get("amount"), data.get("order_name")
        return_url = data.get("return_url")
        if (
            not isinstance(amount, int)
            or not 100 <= amount <= 100_000_000
            or not name
            or not isinstance(return_url, str | None)
        ):
            return jsonify(error="invalid"), 400
        now = datetime.now(UTC)
        order = Order(
            order_id="ord_" + secrets.token_urlsafe(18),
            order_name=str(name)[:100],
            amount=amount,
            currency="KRW",
            merchant_id=key.merchant_id,
            status="PENDING",
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(minutes=30),
            confirm_attempts=0,
        )
        db.session.add(order)
        if return_url:
            db.session.flush()
            db.session.add(MerchantOrder(order_pk=order.id, return_url=return_url))
        db.session.commit()
        return jsonify(
            order_id=order.order_id,
            order_name=order.order_name,
            amount=order.amount,
            currency=order.currency,
            status=order.status,
            return_url=return_url,
            created_at=_iso(order.created_at),
            expires_at=_iso(order.expires_at),
            options={
                "installment_months": order.installment_months,
                "use_card_point": order.use_card_point,
                "cash_receipt_type": order.cash_receipt_type,
            },
            pre_approval={
                "state": order.preapproval,
                "reason": order.preapproval_reason,
            }
            if order.preapproval
            else None,
        ), 201

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        return "ok"

    return app


def from_env() -> Flask:
    """`gunicorn 'bench.minimal:from_env()'`: settings from BENCH_* variables."""
    tokens = {
        int(member): token
        for member, _sep, token in (
            pair.partition("=")
            for pair in os.environ.get("BENCH_ACCESS_TOKENS", "").split(",")
            if pair
        )
    }
    return create(
        os.environ["BENCH_DATABASE_URL"], os.environ["BENCH_SANDBOX_URL"], tokens
    )
