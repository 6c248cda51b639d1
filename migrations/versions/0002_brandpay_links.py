"""BrandPay links, link attempts and encrypted tokens (issue 4)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Reserved in the revision chain so parallel work lands in a fixed order; empty until its
capability adds tables.
"""

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
