"""mail from the outbox, and emailed single-use links (issue 14)

Revision ID: 0007_mail
Revises: 0006_security
Create Date: 2026-12-05

- outbox_events gains a channel ("webhook", the default for every existing row, or
  "mail"), the member a mail goes to, and a dedupe key; merchant_id is now only
  required for webhooks.
- member_tokens: password-reset and email-change links, stored as SHA-256 hashes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_mail"
down_revision = "0006_security"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_events") as batch_op:
        batch_op.add_column(
            sa.Column(
                "channel",
                sa.String(length=16),
                server_default="webhook",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("member_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("dedupe_key", sa.String(length=100), nullable=True)
        )
        batch_op.alter_column(
            "merchant_id", existing_type=sa.Integer(), nullable=True
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_events_member_id_members"),
            "members",
            ["member_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_check_constraint(
            "channel_target",
            "(channel = 'webhook' AND merchant_id IS NOT NULL) OR "
            "(channel = 'mail' AND member_id IS NOT NULL)",
        )
        batch_op.create_index(
            "ix_outbox_events_dedupe_key", ["dedupe_key"], unique=False
        )
        batch_op.create_index(
            "ix_outbox_events_member_kind",
            ["member_id", "event_type", "created_at"],
            unique=False,
        )
    op.create_table(
        "member_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("new_email", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "purpose IN ('password_reset', 'email_change')",
            name=op.f("ck_member_tokens_purpose"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_member_tokens_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_member_tokens_token_hash")),
    )
    with op.batch_alter_table("member_tokens") as batch_op:
        batch_op.create_index(
            "ix_member_tokens_member_purpose", ["member_id", "purpose"], unique=False
        )


def downgrade():
    with op.batch_alter_table("member_tokens") as batch_op:
        batch_op.drop_index("ix_member_tokens_member_purpose")
    op.drop_table("member_tokens")
    # Mail rows cannot exist without the channel column; webhooks stay.
    op.execute("DELETE FROM outbox_events WHERE channel <> 'webhook'")
    with op.batch_alter_table("outbox_events") as batch_op:
        batch_op.drop_index("ix_outbox_events_member_kind")
        batch_op.drop_index("ix_outbox_events_dedupe_key")
        batch_op.drop_constraint("channel_target", type_="check")
        batch_op.drop_constraint(
            "fk_outbox_events_member_id_members", type_="foreignkey"
        )
        batch_op.alter_column(
            "merchant_id", existing_type=sa.Integer(), nullable=False
        )
        batch_op.drop_column("dedupe_key")
        batch_op.drop_column("member_id")
        batch_op.drop_column("channel")
