"""BrandPay links, link attempts and encrypted tokens (issue 4)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Tokens are stored only as TokenVault ciphertexts (Text); see wallet/models/brandpay_link.py.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "brandpay_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("access_token_enc", sa.Text(), nullable=True),
        sa.Column("refresh_token_enc", sa.Text(), nullable=True),
        sa.Column("access_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("refresh_lock_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refresh_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("method_count", sa.Integer(), nullable=True),
        sa.Column("methods_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("relink_reason", sa.String(length=64), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=254), nullable=True),
        sa.Column("revoked_reason", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "status IN ('linked', 'needs_relink', 'withdrawn', 'revoked')",
            name=op.f("ck_brandpay_links_status"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_brandpay_links_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brandpay_links")),
        sa.UniqueConstraint("member_id", name=op.f("uq_brandpay_links_member_id")),
    )
    op.create_table(
        "link_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_link_attempts_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_attempts")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_link_attempts_code_hash")),
    )
    with op.batch_alter_table("link_attempts") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_link_attempts_member_id"), ["member_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("link_attempts") as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_attempts_member_id"))
    op.drop_table("link_attempts")
    op.drop_table("brandpay_links")
