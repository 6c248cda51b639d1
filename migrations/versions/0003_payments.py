"""orders, payments, cancels and Toss webhook events (issue 5)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

Reserved in the revision chain so parallel work lands in a fixed order; empty until its
capability adds tables.
"""

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
