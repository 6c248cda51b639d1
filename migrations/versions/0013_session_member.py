"""web_sessions.member_id: the session's member, read with it (issue 16)

Revision ID: 0013_session_member
Revises: 0012_mandates
Create Date: 2026-12-03

Every logged-in request read its session row and then its member in a second
statement. The member's id is now kept beside the session data when the session is
saved, so one statement reads both (wallet/sessions.py). It is only a hint: the user
loader still checks the id and session epoch the session data holds. No foreign key:
a deleted member leaves a hint that names nobody, and the session ends as before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_session_member"
down_revision = "0012_mandates"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("web_sessions") as batch:
        batch.add_column(sa.Column("member_id", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("web_sessions") as batch:
        batch.drop_column("member_id")
