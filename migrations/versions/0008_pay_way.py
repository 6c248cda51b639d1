"""orders.pay_way: which window paid the order; guest pay links (issue 12)

Revision ID: 0008_pay_way
Revises: 0007_mail
Create Date: 2026-12-02

- orders.pay_way: BrandPay, the standard card window or the international card window
  (SDK v2). Every order claimed before this revision went through BrandPay, so those
  rows say so.
- wallet_link_uses.member_id may be NULL: a guest (no account) redeemed the pay link.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_pay_way"
down_revision = "0007_mail"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(sa.Column("pay_way", sa.String(length=16), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_orders_pay_way"),
            "pay_way IS NULL OR pay_way IN ('BRANDPAY', 'CARD', 'FOREIGN_CARD')",
        )
    with op.batch_alter_table("wallet_link_uses") as batch_op:
        batch_op.alter_column("member_id", existing_type=sa.Integer(), nullable=True)
    op.execute(
        "UPDATE orders SET pay_way = 'BRANDPAY' "
        "WHERE confirm_attempts > 0 OR status NOT IN ('PENDING', 'EXPIRED')"
    )


def downgrade():
    op.execute("DELETE FROM wallet_link_uses WHERE member_id IS NULL")
    with op.batch_alter_table("wallet_link_uses") as batch_op:
        batch_op.alter_column("member_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_orders_pay_way"), type_="check")
        batch_op.drop_column("pay_way")
