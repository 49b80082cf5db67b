"""data-subject requests and restrictions

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 18:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('subject_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('value_hash', sa.String(length=64), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_subject_requests_actor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subject_requests'))
    )
    with op.batch_alter_table('subject_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subject_requests_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_subject_requests_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subject_requests_value_hash'), ['value_hash'], unique=False)

    op.create_table('subject_restrictions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('value_hash', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=12), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['subject_requests.id'], name=op.f('fk_subject_restrictions_request_id_subject_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subject_restrictions')),
    sa.UniqueConstraint('kind', 'value_hash', name=op.f('uq_subject_restrictions_kind_value_hash'))
    )


def downgrade():
    op.drop_table('subject_restrictions')
    with op.batch_alter_table('subject_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subject_requests_value_hash'))
        batch_op.drop_index(batch_op.f('ix_subject_requests_actor_id'))
        batch_op.drop_index(batch_op.f('ix_subject_requests_action'))
    op.drop_table('subject_requests')
