"""mandates: a member's consent to a merchant's autopay charges (issue 15)

Revision ID: 0012_mandates
Revises: 0011_perf_indexes
Create Date: 2026-12-03

- mandates: who (merchant, member), what the member agreed to (description, per-charge
  maximum, charges per KST calendar period, expiry, the method or "my selected
  method"), its status and the race-safe period counter (period_start, period_count).
- orders.mandate_id: the mandate a charge was made under; orders.pay_way admits
  AUTOPAY.
"""

import sqlalchemy as sa
from alembic import op


revision = "0012_mandates"
down_revision = "0011_perf_indexes"
branch_labels = None
depends_on = None

_OLD_WAYS = "pay_way IS NULL OR pay_way IN ('BRANDPAY', 'CARD', 'FOREIGN_CARD')"
_NEW_WAYS = (
    "pay_way IS NULL OR pay_way IN ('BRANDPAY', 'CARD', 'FOREIGN_CARD', 'AUTOPAY')"
)


def upgrade():
    op.create_table(
        "mandates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("max_amount", sa.Integer(), nullable=False),
        sa.Column("max_charges", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method_key", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("link_jti", sa.String(length=200), nullable=True),
        sa.Column("return_url", sa.String(length=2000), nullable=True),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("period_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=120), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'active', 'revoked', 'expired')",
            name=op.f("ck_mandates_status"),
        ),
        sa.CheckConstraint(
            "period IN ('day', 'week', 'month')", name=op.f("ck_mandates_period")
        ),
        sa.CheckConstraint(
            "max_amount > 0", name=op.f("ck_mandates_max_amount_positive")
        ),
        sa.CheckConstraint(
            "max_charges > 0", name=op.f("ck_mandates_max_charges_positive")
        ),
        sa.CheckConstraint("period_count >= 0", name=op.f("ck_mandates_period_count")),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_mandates_member_id_members"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_mandates_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mandates")),
        sa.UniqueConstraint("link_jti", name=op.f("uq_mandates_link_jti")),
        sa.UniqueConstraint("public_id", name=op.f("uq_mandates_public_id")),
    )
    with op.batch_alter_table("mandates") as batch_op:
        batch_op.create_index(
            "ix_mandates_merchant_id_id", ["merchant_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_mandates_member_id_id", ["member_id", "id"], unique=False
        )
    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(sa.Column("mandate_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_orders_mandate_id"), ["mandate_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_orders_mandate_id_mandates"),
            "mandates",
            ["mandate_id"],
            ["id"],
        )
        batch_op.drop_constraint(batch_op.f("ck_orders_pay_way"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_orders_pay_way"), _NEW_WAYS)


def downgrade():
    op.execute("UPDATE orders SET mandate_id = NULL")
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_orders_pay_way"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_orders_mandate_id_mandates"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_orders_mandate_id"))
        batch_op.drop_column("mandate_id")
    # Autopay charges were BrandPay payments: they keep a way the old check knows.
    op.execute("UPDATE orders SET pay_way = 'BRANDPAY' WHERE pay_way = 'AUTOPAY'")
    with op.batch_alter_table("orders") as batch_op:
        batch_op.create_check_constraint(batch_op.f("ck_orders_pay_way"), _OLD_WAYS)
    with op.batch_alter_table("mandates") as batch_op:
        batch_op.drop_index("ix_mandates_member_id_id")
        batch_op.drop_index("ix_mandates_merchant_id_id")
    op.drop_table("mandates")
