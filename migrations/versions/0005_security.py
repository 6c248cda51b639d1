"""admin console and security additions (issue 7)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

- member_notices: what an admin did to a member's link (revoked, re-link forced), shown
  on the member's wallet home until dismissed.
- Indexes for the admin console: email-prefix search (pattern ops on PostgreSQL), one
  subject's audit entries, and the payments CSV export's date-range scan; keyset
  pages of all orders, of one status and of one merchant's orders (found by
  bench/growth.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "member_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('link_revoked', 'relink_required')",
            name=op.f("ck_member_notices_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_member_notices_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_notices")),
    )
    with op.batch_alter_table("member_notices") as batch_op:
        batch_op.create_index(
            "ix_member_notices_member_dismissed",
            ["member_id", "dismissed_at"],
            unique=False,
        )
    with op.batch_alter_table("members") as batch_op:
        batch_op.create_index(
            "ix_members_email_pattern",
            ["email"],
            unique=False,
            postgresql_ops={"email": "varchar_pattern_ops"},
        )
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.create_index(
            "ix_audit_events_subject_seq", ["subject", "seq"], unique=False
        )
    with op.batch_alter_table("payments") as batch_op:
        batch_op.create_index(
            "ix_payments_created_at_id", ["created_at", "id"], unique=False
        )
    # Keyset pages of every order and of one status (admin payments) and of one
    # merchant's orders (merchant API and dashboard): without these, each page sorts
    # every matching order.
    with op.batch_alter_table("orders") as batch_op:
        batch_op.create_index(
            "ix_orders_created_at_id", ["created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_orders_merchant_created",
            ["merchant_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_orders_status_created", ["status", "created_at", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_index("ix_orders_status_created")
        batch_op.drop_index("ix_orders_merchant_created")
        batch_op.drop_index("ix_orders_created_at_id")
    with op.batch_alter_table("payments") as batch_op:
        batch_op.drop_index("ix_payments_created_at_id")
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_index("ix_audit_events_subject_seq")
    with op.batch_alter_table("members") as batch_op:
        batch_op.drop_index("ix_members_email_pattern")
    op.drop_table("member_notices")
