"""orders, payments, cancels and Toss webhook events (issue 5)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ORDER_STATUSES = (
    "'PENDING', 'CONFIRMING', 'DONE', 'PARTIAL_CANCELED', 'CANCELED', 'FAILED', "
    "'EXPIRED', 'UNKNOWN'"
)


def upgrade():
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("order_name", sa.String(length=100), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        # No FK to merchants here: revision 0004 adds it with the merchants table.
        sa.Column("merchant_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirm_attempts", sa.Integer(), nullable=False),
        sa.Column("confirm_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirm_payment_key", sa.String(length=200), nullable=True),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_orders_amount_positive")),
        sa.CheckConstraint("amount >= 100", name=op.f("ck_orders_amount_minimum")),
        sa.CheckConstraint("currency = 'KRW'", name=op.f("ck_orders_currency_krw")),
        sa.CheckConstraint(
            f"status IN ({ORDER_STATUSES})", name=op.f("ck_orders_status")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_orders_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("order_id", name=op.f("uq_orders_order_id")),
    )
    with op.batch_alter_table("orders") as batch_op:
        batch_op.create_index(
            "ix_orders_member_created", ["member_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_orders_merchant_id"), ["merchant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_orders_status"), ["status"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_pk", sa.Integer(), nullable=False),
        sa.Column("payment_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=True),
        sa.Column("card_number", sa.String(length=32), nullable=True),
        sa.Column("total_amount", sa.Integer(), nullable=False),
        sa.Column("balance_amount", sa.Integer(), nullable=False),
        sa.Column("refund_reserved", sa.Integer(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt_url", sa.String(length=500), nullable=True),
        sa.Column("last_transaction_key", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "total_amount > 0", name=op.f("ck_payments_total_positive")
        ),
        sa.CheckConstraint(
            "balance_amount >= 0 AND balance_amount <= total_amount",
            name=op.f("ck_payments_balance"),
        ),
        sa.CheckConstraint(
            "refund_reserved >= 0 AND refund_reserved <= balance_amount",
            name=op.f("ck_payments_refund_reserved"),
        ),
        sa.ForeignKeyConstraint(
            ["order_pk"], ["orders.id"], name=op.f("fk_payments_order_pk_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("order_pk", name=op.f("uq_payments_order_pk")),
        sa.UniqueConstraint("payment_key", name=op.f("uq_payments_payment_key")),
    )

    op.create_table(
        "payment_cancels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("transaction_key", sa.String(length=64), nullable=True),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "amount > 0", name=op.f("ck_payment_cancels_amount_positive")
        ),
        sa.CheckConstraint(
            "status IN ('PENDING', 'DONE', 'FAILED')",
            name=op.f("ck_payment_cancels_status"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_payment_cancels_payment_id_payments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_cancels")),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_payment_cancels_idempotency_key")
        ),
        sa.UniqueConstraint(
            "transaction_key", name=op.f("uq_payment_cancels_transaction_key")
        ),
    )
    with op.batch_alter_table("payment_cancels") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_cancels_payment_id"), ["payment_id"], unique=False
        )

    op.create_table(
        "toss_webhook_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transmission_id", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("retried_count", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_toss_webhook_events")),
        sa.UniqueConstraint(
            "transmission_id", name=op.f("uq_toss_webhook_events_transmission_id")
        ),
    )
    with op.batch_alter_table("toss_webhook_events") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_toss_webhook_events_event_type"),
            ["event_type"],
            unique=False,
        )


def downgrade():
    op.drop_table("toss_webhook_events")
    op.drop_table("payment_cancels")
    op.drop_table("payments")
    op.drop_table("orders")
