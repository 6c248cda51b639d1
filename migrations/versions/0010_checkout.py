"""checkout options: installments, card points, cash receipts (issue 15)

Revision ID: 0010_checkout
Revises: 0009_receipt_fields
Create Date: 2026-12-03

- orders gain the member's checkout options, stored before the SDK call: the
  installment plan (0 or 2-12 months, installments only from 50,000 KRW), card points,
  and a cash receipt's type, number kind and the number's last four digits.
- payments gain what Toss reports for them: installment months, card points, the
  cash receipt's type and link.
- orders gain the merchant pre-approval hook's state for the current confirm attempt
  and the merchant's reason when it said no; merchants gain the hook's URL.
All nullable: orders and payments from before this revision had no options or hook.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_checkout"
down_revision = "0009_receipt_fields"
branch_labels = None
depends_on = None

_ORDER_COLUMNS = (
    ("installment_months", sa.Integer()),
    ("use_card_point", sa.Boolean()),
    ("cash_receipt_type", sa.String(length=8)),
    ("cash_receipt_number_type", sa.String(length=24)),
    ("cash_receipt_number_last4", sa.String(length=4)),
    ("preapproval", sa.String(length=16)),
    ("preapproval_reason", sa.String(length=200)),
)
_PAYMENT_COLUMNS = (
    ("installment_months", sa.Integer()),
    ("use_card_point", sa.Boolean()),
    ("cash_receipt_type", sa.String(length=8)),
    ("cash_receipt_url", sa.String(length=500)),
)


def upgrade():
    with op.batch_alter_table("merchants") as batch_op:
        batch_op.add_column(
            sa.Column("confirm_url", sa.String(length=500), nullable=True)
        )
    with op.batch_alter_table("orders") as batch_op:
        for name, kind in _ORDER_COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_orders_installment_months"),
            "installment_months IS NULL OR installment_months = 0 OR "
            "(installment_months BETWEEN 2 AND 12 AND amount >= 50000)",
        )
    with op.batch_alter_table("payments") as batch_op:
        for name, kind in _PAYMENT_COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))


def downgrade():
    with op.batch_alter_table("payments") as batch_op:
        for name, _kind in reversed(_PAYMENT_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_orders_installment_months"), type_="check"
        )
        for name, _kind in reversed(_ORDER_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table("merchants") as batch_op:
        batch_op.drop_column("confirm_url")
