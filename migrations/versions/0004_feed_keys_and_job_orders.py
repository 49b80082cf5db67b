"""feed keys, import channel and duplicate counts, indexes for merging duplicates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('feed_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_feed_keys_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_feed_keys_key_hash'))
    )
    with op.batch_alter_table('feed_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feed_keys_organisation_id'), ['organisation_id'], unique=False)

    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rows_duplicates', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('channel', sa.String(length=8), nullable=False, server_default='cli'))

    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postings_duplicate_of_id'), ['duplicate_of_id'], unique=False)


def downgrade():
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postings_duplicate_of_id'))

    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.drop_column('channel')
        batch_op.drop_column('rows_duplicates')

    with op.batch_alter_table('feed_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_keys_organisation_id'))

    op.drop_table('feed_keys')
