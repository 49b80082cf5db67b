"""follow-up: Twilio Voice click-to-call on call attempts

Revision ID: 0012
Revises: 0011

E-mail bounces need no schema: they are message events, suppressions and the message's state.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("call_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("call_sid", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("call_status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("call_duration", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("dial_status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("call_error", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("call_updated_at", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_call_attempts_call_sid"), ["call_sid"], unique=True)


def downgrade():
    with op.batch_alter_table("call_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_attempts_call_sid"))
        batch_op.drop_column("call_updated_at")
        batch_op.drop_column("call_error")
        batch_op.drop_column("dial_status")
        batch_op.drop_column("call_duration")
        batch_op.drop_column("call_status")
        batch_op.drop_column("call_sid")
