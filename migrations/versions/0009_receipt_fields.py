"""what a receipt shows from Toss's Payment (issue 14)

Revision ID: 0009_receipt_fields
Revises: 0008_pay_way
Create Date: 2026-12-02

payments gains the card company's approval number, the card type (신용/체크/…), the
card issuer's and the bank's codes, and Toss's supplied amount and VAT. All nullable:
payments confirmed before this revision simply do not show them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_receipt_fields"
down_revision = "0008_pay_way"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("approve_no", sa.String(length=32)),
    ("card_type", sa.String(length=10)),
    ("issuer_code", sa.String(length=8)),
    ("bank_code", sa.String(length=8)),
    ("supplied_amount", sa.Integer()),
    ("vat", sa.Integer()),
)


def upgrade():
    with op.batch_alter_table("payments") as batch_op:
        for name, kind in _COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))


def downgrade():
    with op.batch_alter_table("payments") as batch_op:
        for name, _kind in reversed(_COLUMNS):
            batch_op.drop_column(name)
