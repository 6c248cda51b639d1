"""The baseline: the Flask app a merchant's developer writes in an afternoon (issue 16).

Flask-Login, Flask-SQLAlchemy on the portal's own tables and seeded data, one Jinja
template per page, one pooled `requests.Session` for the Bearer call to Toss (the
sandbox). No i18n, CSRF, audit log, security headers, rate limits, token encryption,
idempotency records or outbox: everything the portal adds on top is what the
comparison prices. The pages answer on the portal's own paths, so the bench asks both
apps for the same URLs:

    GET  /wallet                          wallet home (link summary, 5 recent payments)
    GET  /wallet/methods                  one Bearer GET /v1/brandpay/payments/methods
    GET  /pay/history[?after=cursor]      20 payments, keyset on (created_at, id)
    GET  /pay/orders/<order_id>           checkout of a PENDING order
    GET  /pay/orders/<order_id>/receipt   the order, its payment and refunds
    GET  /merchant                        50 orders, API keys of the member's merchant
    GET  /admin/payments                  50 payments, newest first
    GET  /admin/members/<id>              member, link, 20 payments, 20 recent refunds
    POST /api/v1/orders                   Bearer API key → a PENDING order, JSON 201

Nothing here is imported by the portal. `create(database_url, ...)` builds one app; the
access tokens the methods page sends are handed in (the portal keeps them encrypted;
this app would keep them in a column).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import UTC, datetime, timedelta
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
    or_,
    select,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    joinedload,
    mapped_column,
    relationship,
)
from werkzeug.security import check_password_hash


class Base(DeclarativeBase):
    """The baseline's own declarative base (its own metadata, same tables)."""


db = SQLAlchemy(model_class=Base)
KST = ZoneInfo("Asia/Seoul")
# What lists show: orders that reached Toss. NOT IN the two others, not IN the six:
# SQLite's planner then walks the (created_at, id) index (the portal does the same).
HIDDEN = ("PENDING", "EXPIRED")


class Member(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    customer_key: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(16))


staff = Table(
    "merchant_members",
    db.metadata,
    Column("member_id", Integer, ForeignKey("members.id"), primary_key=True),
    Column("merchant_id", Integer, ForeignKey("merchants.id"), primary_key=True),
)


class Link(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "brandpay_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    status: Mapped[str] = mapped_column(String(16))
    method_count: Mapped[int | None] = mapped_column(Integer)
    access_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Merchant(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "merchants"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean)


class ApiKey(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "merchant_api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    prefix: Mapped[str] = mapped_column(String(24))
    key_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Order(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64))
    order_name: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="KRW")
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    merchant_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    confirm_attempts: Mapped[int] = mapped_column(Integer, default=0)
    payment: Mapped[Payment | None] = relationship(uselist=False, lazy="select")


class Payment(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_pk: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    method: Mapped[str | None] = mapped_column(String(32))
    card_number: Mapped[str | None] = mapped_column(String(32))
    total_amount: Mapped[int] = mapped_column(Integer)
    balance_amount: Mapped[int] = mapped_column(Integer)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    receipt_url: Mapped[str | None] = mapped_column(String(500))


class Cancel(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "payment_cancels"
    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    amount: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def _utc(value: datetime) -> datetime:
    # SQLite hands timestamps back naive (stored as UTC).
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _dt(value: datetime | None) -> str:
    if value is None:
        return "—"
    return _utc(value).astimezone(KST).strftime("%Y-%m-%d %H:%M")


def _krw(amount: int | None) -> str:
    return "—" if amount is None else f"₩{amount:,}"


def _cursor(order: Order) -> str:
    return f"{int(_utc(order.created_at).timestamp() * 1_000_000)}-{order.id}"


def _orders(
    query: Any, after: str | None, limit: int
) -> tuple[list[Order], str | None]:
    """Newest first by (created_at, id), payments joined; the next page's cursor."""
    if after and "-" in after:
        micros, _sep, pk = after.partition("-")
        if micros.isdigit() and pk.isdigit():
            at = datetime.fromtimestamp(int(micros) / 1_000_000, UTC)
            query = query.where(
                Order.created_at <= at, or_(Order.created_at < at, Order.id < int(pk))
            )
    rows = list(
        db.session.scalars(
            query.options(joinedload(Order.payment))
            .order_by(Order.created_at.desc(), Order.id.desc())
            .limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (_cursor(rows[-1]) if more and rows else None)


BASE = """<!doctype html>
<html lang="ko"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{% endblock %} · Wallet</title>
<link rel="stylesheet" href="/static/css/app.css"></head>
<body><header><a href="/wallet">Wallet</a>
<nav><a href="/wallet">Wallet</a> <a href="/wallet/methods">Payment methods</a>
<a href="/pay/history">Payments</a>{% if current_user.role == "admin" %}
<a href="/admin/payments">Admin</a>{% endif %}</nav></header>
<main>{% block content %}{% endblock %}</main>
<footer>Payments are processed by Toss Payments BrandPay.</footer></body></html>
"""
ROWS = """<table><thead><tr><th>Date</th><th>Order</th><th>Method</th><th>Amount</th>
<th>Refunded</th><th>Status</th></tr></thead><tbody>
{% for o in rows %}<tr><td>{{ o.created_at|dt }}</td>
<td><a href="{{ prefix }}{{ o.order_id }}">{{ o.order_name }}</a></td>
<td>{{ o.payment.method if o.payment else "—" }} {{ o.payment.card_number if o.payment else "" }}</td>
<td>{{ o.amount|krw }}</td>
<td>{{ (o.payment.total_amount - o.payment.balance_amount)|krw if o.payment else "—" }}</td>
<td><span class="badge">{{ o.status }}</span></td></tr>
{% endfor %}</tbody></table>
"""
TEMPLATES = {
    "base.html": BASE,
    "home.html": """{% extends "base.html" %}{% block title %}Wallet{% endblock %}
{% block content %}<h1>Your wallet</h1><p>Signed in as {{ current_user.email }}</p>
<section><h2>BrandPay {{ link.status if link else "not linked" }}</h2>
{% if link and link.method_count is not none %}<p>{{ link.method_count }} saved payment methods</p>{% endif %}
<a href="/wallet/methods">Manage payment methods</a></section>
<section><h2>Recent payments</h2><ul>{% for o in recent %}
<li><a href="/pay/orders/{{ o.order_id }}/receipt">{{ o.order_name }}</a> · {{ o.amount|krw }}
· {{ o.status }} {{ o.created_at|dt }}</li>{% endfor %}</ul></section>{% endblock %}""",
    "methods.html": """{% extends "base.html" %}{% block title %}Payment methods{% endblock %}
{% block content %}<h1>Payment methods</h1>
{% for card in methods.get("cards", []) %}<div class="card"><p><strong>{{ card.get("alias") or card.get("cardName") }}</strong></p>
<p>{{ card.get("cardName") }} · {{ card.get("cardType") }}</p><code>{{ card.get("cardNumber") }}</code>
<form method="post" action="/wallet/methods/remove"><input type="hidden" name="method_key" value="{{ card.get("methodKey") }}">
<button>Remove</button></form></div>{% endfor %}
{% for acc in methods.get("accounts", []) %}<div class="card"><p>{{ acc.get("alias") or acc.get("accountName") }}</p>
<code>{{ acc.get("accountNumber") }}</code></div>{% endfor %}{% endblock %}""",
    "history.html": """{% extends "base.html" %}{% block title %}Payments{% endblock %}
{% block content %}<h1>Your payments</h1>{% set prefix = "/pay/orders/" %}"""
    + ROWS
    + """{% if next_cursor %}<a href="/pay/history?after={{ next_cursor }}">Older payments</a>{% endif %}
{% endblock %}""",
    "receipt.html": """{% extends "base.html" %}{% block title %}Receipt{% endblock %}
{% block content %}<h1>{{ order.order_name }}</h1><dl>
<dt>Status</dt><dd>{{ order.status }}</dd><dt>Amount</dt><dd>{{ order.amount|krw }}</dd>
<dt>Order number</dt><dd><code>{{ order.order_id }}</code></dd>
{% if payment %}<dt>Method</dt><dd>{{ payment.method }} {{ payment.card_number }}</dd>
<dt>Paid at</dt><dd>{{ payment.approved_at|dt }}</dd>
<dt>Refunded</dt><dd>{{ (payment.total_amount - payment.balance_amount)|krw }}</dd>
<dt>Remaining</dt><dd>{{ payment.balance_amount|krw }}</dd>{% endif %}</dl>
{% if cancels %}<table><caption>Refunds</caption>{% for c in cancels %}<tr><td>{{ c.created_at|dt }}</td>
<td>{{ c.amount|krw }}</td><td>{{ c.reason }}</td><td>{{ c.status }}</td></tr>{% endfor %}</table>{% endif %}
{% if payment and payment.receipt_url %}<a href="{{ payment.receipt_url }}">Toss receipt</a>{% endif %}
<a href="/pay/history">All payments</a>{% endblock %}""",
    "checkout.html": """{% extends "base.html" %}{% block title %}Checkout{% endblock %}
{% block content %}<h1>{{ order.order_name }}</h1><p>{{ order.amount|krw }}</p>
<div id="brandpay" data-client-key="{{ client_key }}" data-customer-key="{{ current_user.customer_key }}"
data-order-id="{{ order.order_id }}" data-amount="{{ order.amount }}" data-order-name="{{ order.order_name }}"
data-success-url="{{ base }}/pay/orders/{{ order.order_id }}/success"
data-fail-url="{{ base }}/pay/orders/{{ order.order_id }}/fail"></div>
<button id="pay">Pay {{ order.amount|krw }}</button>
<script src="{{ sdk_url }}"></script>{% endblock %}""",
    "dashboard.html": """{% extends "base.html" %}{% block title %}{{ merchant.name }}{% endblock %}
{% block content %}<h1>{{ merchant.name }}</h1><p><code>{{ merchant.public_id }}</code></p>
<h2>Orders</h2>{% set prefix = "/merchant/orders/" %}"""
    + ROWS
    + """<h2>API keys</h2><ul>{% for k in keys %}<li><code>{{ k.prefix }}</code> {{ k.label }}
{{ k.created_at|dt }} {{ "revoked" if k.revoked_at else "active" }}</li>{% endfor %}</ul>{% endblock %}""",
    "admin_payments.html": """{% extends "base.html" %}{% block title %}Payments{% endblock %}
{% block content %}<h1>Payments and refunds</h1>{% set prefix = "/admin/payments/" %}"""
    + ROWS
    + """{% if next_cursor %}<a href="/admin/payments?after={{ next_cursor }}">Older payments</a>{% endif %}
{% endblock %}""",
    "admin_member.html": """{% extends "base.html" %}{% block title %}{{ member.email }}{% endblock %}
{% block content %}<h1>{{ member.email }}</h1><p><code>{{ member.customer_key }}</code> {{ member.role }}</p>
<h2>BrandPay</h2><p>{{ link.status if link else "never linked" }}
{% if link %}{{ link.access_expires_at|dt }}{% endif %}</p>
<h2>Payments</h2>{% set prefix = "/admin/payments/" %}"""
    + ROWS
    + """<h2>Refunds</h2><table>{% for c, order_id in refunds %}<tr><td>{{ c.created_at|dt }}</td>
<td><a href="/admin/payments/{{ order_id }}">{{ order_id }}</a></td><td>{{ c.amount|krw }}</td>
<td>{{ c.reason }}</td><td>{{ c.status }}</td></tr>{% endfor %}</table>{% endblock %}""",
}


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

    @app.get("/wallet")
    @login_required
    def home() -> ResponseReturnValue:
        link = db.session.scalar(select(Link).where(Link.member_id == current_user.id))
        recent, _next = _orders(
            select(Order).where(
                Order.member_id == current_user.id, Order.status.not_in(HIDDEN)
            ),
            None,
            5,
        )
        return render_template("home.html", link=link, recent=recent)

    @app.get("/wallet/methods")
    @login_required
    def methods() -> ResponseReturnValue:
        link = db.session.scalar(select(Link).where(Link.member_id == current_user.id))
        if link is None or link.status != "linked":
            return redirect("/wallet")
        resp = http.get(
            sandbox_url + "/v1/brandpay/payments/methods",
            headers={"Authorization": f"Bearer {access_tokens[current_user.id]}"},
            timeout=(3.05, 10.0),
        )
        if resp.status_code != 200:
            abort(502)
        return render_template("methods.html", methods=resp.json())

    @app.get("/pay/history")
    @login_required
    def history() -> ResponseReturnValue:
        rows, next_cursor = _orders(
            select(Order).where(
                Order.member_id == current_user.id, Order.status.not_in(HIDDEN)
            ),
            request.args.get("after"),
            20,
        )
        return render_template("history.html", rows=rows, next_cursor=next_cursor)

    def _own_order(order_id: str) -> Order:
        order = db.session.scalar(
            select(Order).where(
                Order.order_id == order_id, Order.member_id == current_user.id
            )
        )
        if order is None:
            abort(404)
        return order

    @app.get("/pay/orders/<order_id>")
    @login_required
    def checkout(order_id: str) -> ResponseReturnValue:
        order = _own_order(order_id)
        if order.status != "PENDING":
            return redirect(f"/pay/orders/{order_id}/receipt")
        return render_template(
            "checkout.html",
            order=order,
            client_key=client_key,
            base=request.host_url.rstrip("/"),
            sdk_url=sandbox_url + "/v1/brandpay",
        )

    @app.get("/pay/orders/<order_id>/receipt")
    @login_required
    def receipt(order_id: str) -> ResponseReturnValue:
        order = _own_order(order_id)
        payment = order.payment
        cancels = (
            list(
                db.session.scalars(
                    select(Cancel)
                    .where(Cancel.payment_id == payment.id)
                    .order_by(Cancel.id)
                )
            )
            if payment
            else []
        )
        return render_template(
            "receipt.html", order=order, payment=payment, cancels=cancels
        )

    @app.get("/merchant")
    @login_required
    def dashboard() -> ResponseReturnValue:
        merchant = db.session.scalar(
            select(Merchant)
            .join(staff, staff.c.merchant_id == Merchant.id)
            .where(staff.c.member_id == current_user.id)
            .order_by(Merchant.name)
        )
        if merchant is None:
            abort(403)
        rows, _next = _orders(
            select(Order).where(Order.merchant_id == merchant.id), None, 50
        )
        keys = db.session.scalars(
            select(ApiKey)
            .where(ApiKey.merchant_id == merchant.id)
            .order_by(ApiKey.id.desc())
        ).all()
        return render_template(
            "dashboard.html", merchant=merchant, rows=rows, keys=keys
        )

    def _admin() -> None:
        if current_user.role != "admin":
            abort(403)

    @app.get("/admin/payments")
    @login_required
    def admin_payments() -> ResponseReturnValue:
        _admin()
        rows, next_cursor = _orders(
            select(Order).where(Order.status.not_in(HIDDEN)),
            request.args.get("after"),
            50,
        )
        return render_template(
            "admin_payments.html", rows=rows, next_cursor=next_cursor
        )

    @app.get("/admin/members/<int:member_id>")
    @login_required
    def admin_member(member_id: int) -> ResponseReturnValue:
        _admin()
        member = db.session.get(Member, member_id) or abort(404)
        link = db.session.scalar(select(Link).where(Link.member_id == member_id))
        rows, _next = _orders(
            select(Order).where(
                Order.member_id == member_id, Order.status.not_in(HIDDEN)
            ),
            None,
            20,
        )
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
        return render_template(
            "admin_member.html", member=member, link=link, rows=rows, refunds=refunds
        )

    @app.post("/api/v1/orders")
    def api_create_order() -> ResponseReturnValue:
        scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
        digest = hashlib.sha256(raw.strip().encode()).hexdigest()
        key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
        if scheme.lower() != "bearer" or key is None or key.revoked_at is not None:
            return jsonify(error="unauthorized"), 401
        data = request.get_json(silent=True) or {}
        amount, name = data.get("amount"), data.get("order_name")
        if not isinstance(amount, int) or not 100 <= amount <= 100_000_000 or not name:
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
        db.session.commit()
        return jsonify(
            order_id=order.order_id,
            order_name=order.order_name,
            amount=order.amount,
            currency="KRW",
            status=order.status,
            created_at=order.created_at.isoformat(),
            expires_at=order.expires_at.isoformat(),
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
