"""security review findings (issue 13) and account self-service (issue 14)

Revision ID: 0006_security
Revises: 0005
Create Date: 2026-12-02

- web_sessions: Flask-Session's server-side sessions (wallet/sessions.py), stored
  under a hash of the cookie's id.
- member_sessions: the devices a member is signed in on (account page).
- members.session_epoch: bumped to end every session of a member; the old lockout
  columns go (a stranger could lock anybody out): login_throttles replaces them.
- merchants.member_cancel_days: a merchant's opt-in to member self-cancel.
- refund_requests: a member asks, the merchant decides; one open request per order.
- api_idempotency_keys: stored answers are now encrypted with the vault; the old
  plaintext answers that carried a wallet-link token are deleted (a retry with such a
  key makes a new link, which is harmless), the others replay as they are.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_security"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("expiry", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("session_id", name=op.f("uq_web_sessions_session_id")),
    )
    with op.batch_alter_table("web_sessions") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_web_sessions_expiry"), ["expiry"], unique=False
        )

    op.create_table(
        "member_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("handle", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_member_sessions_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_sessions")),
        sa.UniqueConstraint("handle", name=op.f("uq_member_sessions_handle")),
    )
    with op.batch_alter_table("member_sessions") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_member_sessions_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "login_throttles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttles")),
        sa.UniqueConstraint("key", name=op.f("uq_login_throttles_key")),
    )

    with op.batch_alter_table("members") as batch_op:
        batch_op.add_column(
            sa.Column(
                "session_epoch", sa.Integer(), server_default="0", nullable=False
            )
        )
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("locked_until")

    with op.batch_alter_table("merchants") as batch_op:
        batch_op.add_column(
            sa.Column("member_cancel_days", sa.Integer(), nullable=True)
        )
        batch_op.create_check_constraint(
            "member_cancel_days",
            "member_cancel_days IS NULL OR "
            "(member_cancel_days >= 1 AND member_cancel_days <= 90)",
        )

    op.create_table(
        "refund_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("order_pk", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decision_reason", sa.String(length=200), nullable=True),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("refunded_amount", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('OPEN', 'APPROVED', 'DECLINED')",
            name=op.f("ck_refund_requests_status"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_refund_requests_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_refund_requests_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_pk"],
            ["orders.id"],
            name=op.f("fk_refund_requests_order_pk_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_requests")),
        sa.UniqueConstraint("public_id", name=op.f("uq_refund_requests_public_id")),
    )
    with op.batch_alter_table("refund_requests") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_refund_requests_order_pk"), ["order_pk"], unique=False
        )
        batch_op.create_index(
            "ix_refund_requests_merchant_status",
            ["merchant_id", "status", "id"],
            unique=False,
        )
        batch_op.create_index(
            "uq_refund_requests_open_order",
            ["order_pk"],
            unique=True,
            sqlite_where=sa.text("status = 'OPEN'"),
            postgresql_where=sa.text("status = 'OPEN'"),
        )

    # Plaintext answers that hold a wallet-link token (L4): forget them.
    op.execute(
        "DELETE FROM api_idempotency_keys WHERE response_body LIKE '%\"token\"%'"
    )


def downgrade():
    op.drop_table("refund_requests")
    with op.batch_alter_table("merchants") as batch_op:
        batch_op.drop_constraint(
            op.f("ck_merchants_member_cancel_days"), type_="check"
        )
        batch_op.drop_column("member_cancel_days")
    with op.batch_alter_table("members") as batch_op:
        batch_op.add_column(
            sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "failed_logins", sa.Integer(), server_default="0", nullable=False
            )
        )
        batch_op.drop_column("session_epoch")
    op.drop_table("login_throttles")
    op.drop_table("member_sessions")
    op.drop_table("web_sessions")
