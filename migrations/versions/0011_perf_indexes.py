"""an index for the history's shop filter (issue 16)

Revision ID: 0011_perf_indexes
Revises: 0010_checkout
Create Date: 2026-12-03

`orders.merchants_of_member` asks, per shop, whether the member has an order there:
with (member_id, merchant_id) that is one index probe per shop instead of a pass over
every order of the member (10,000 in the bench: 13% of the history page).
"""

from alembic import op

revision = "0011_perf_indexes"
down_revision = "0010_checkout"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_orders_member_merchant", "orders", ["member_id", "merchant_id"])


def downgrade():
    op.drop_index("ix_orders_member_merchant", table_name="orders")
