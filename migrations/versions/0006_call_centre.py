"""call centre: attempts, appointments, locks, call list, dispositions

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "call_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("time_slice", sa.String(length=20), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("referred_name", sa.String(length=200), nullable=True),
        sa.Column("referred_phone", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_call_attempts_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_call_attempts_agent_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_attempts")),
    )
    with op.batch_alter_table("call_attempts") as batch_op:
        batch_op.create_index(batch_op.f("ix_call_attempts_case_id"), ["case_id"])
        batch_op.create_index(batch_op.f("ix_call_attempts_agent_id"), ["agent_id"])
        batch_op.create_index(batch_op.f("ix_call_attempts_started_at"), ["started_at"])

    op.create_table(
        "call_appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("hard", sa.Boolean(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_call_appointments_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_call_appointments_agent_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_call_appointments_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["call_attempts.id"],
            name=op.f("fk_call_appointments_attempt_id_call_attempts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_appointments")),
    )
    with op.batch_alter_table("call_appointments") as batch_op:
        batch_op.create_index(batch_op.f("ix_call_appointments_case_id"), ["case_id"])
        batch_op.create_index(batch_op.f("ix_call_appointments_due_at"), ["due_at"])
        batch_op.create_index(batch_op.f("ix_call_appointments_state"), ["state"])

    op.create_table(
        "call_locks",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_call_locks_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_call_locks_agent_id_users")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_call_locks")),
    )
    with op.batch_alter_table("call_locks") as batch_op:
        batch_op.create_index(batch_op.f("ix_call_locks_agent_id"), ["agent_id"])
        batch_op.create_index(batch_op.f("ix_call_locks_expires_at"), ["expires_at"])

    op.create_table(
        "call_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("hard_until", sa.DateTime(), nullable=True),
        sa.Column("preferred_agent_id", sa.Integer(), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_call_list_round_id_rounds")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_call_list_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["preferred_agent_id"], ["users.id"], name=op.f("fk_call_list_preferred_agent_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_list")),
        sa.UniqueConstraint("case_id", name=op.f("uq_call_list_case_id")),
    )
    with op.batch_alter_table("call_list") as batch_op:
        batch_op.create_index(batch_op.f("ix_call_list_round_id"), ["round_id"])
        batch_op.create_index(batch_op.f("ix_call_list_due_at"), ["due_at"])
        batch_op.create_index(batch_op.f("ix_call_list_state"), ["state"])

    op.create_table(
        "case_dispositions",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("rate_group", sa.String(length=2), nullable=False),
        sa.Column("derived_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_dispositions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_dispositions")),
    )
    with op.batch_alter_table("case_dispositions") as batch_op:
        batch_op.create_index(batch_op.f("ix_case_dispositions_code"), ["code"])


def downgrade():
    op.drop_table("case_dispositions")
    op.drop_table("call_list")
    op.drop_table("call_locks")
    op.drop_table("call_appointments")
    op.drop_table("call_attempts")
