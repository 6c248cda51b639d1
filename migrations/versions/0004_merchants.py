"""merchants, API keys, wallet links, outbox and deliveries (issue 6)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

Reserved in the revision chain so parallel work lands in a fixed order; empty until its
capability adds tables.
"""

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
