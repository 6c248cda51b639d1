"""admin console and security additions (issue 7)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

Reserved in the revision chain so parallel work lands in a fixed order; empty until its
capability adds tables.
"""

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
