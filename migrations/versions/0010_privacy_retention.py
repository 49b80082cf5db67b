"""privacy retention: the record of retention runs, case-less messages (the retention notice),
pseudonymised responses, removable API users

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 18:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('privacy_retention_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('as_of', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_retention_runs'))
    )
    op.create_table('privacy_retention_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('affected', sa.Integer(), nullable=False),
    sa.Column('notified', sa.Integer(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('sample', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['privacy_retention_runs.id'], name=op.f('fk_privacy_retention_reports_run_id_privacy_retention_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_retention_reports'))
    )
    with op.batch_alter_table('privacy_retention_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_retention_reports_run_id'), ['run_id'], unique=False)

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.alter_column('case_id', existing_type=sa.Integer(), nullable=True)

    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pseudonymised_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.alter_column('contact_email', existing_type=sa.String(length=254), nullable=True)
        batch_op.add_column(sa.Column('sole_proprietorship', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('removed_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.drop_column('removed_at')
        batch_op.drop_column('sole_proprietorship')
        batch_op.alter_column('contact_email', existing_type=sa.String(length=254), nullable=False)

    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_column('pseudonymised_at')

    op.execute("DELETE FROM messages WHERE case_id IS NULL")
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.alter_column('case_id', existing_type=sa.Integer(), nullable=False)

    with op.batch_alter_table('privacy_retention_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_retention_reports_run_id'))
    op.drop_table('privacy_retention_reports')
    op.drop_table('privacy_retention_runs')
