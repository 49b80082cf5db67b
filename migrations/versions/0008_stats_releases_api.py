"""stats releases and the statistics API: releases, cells, API clients, keys, call log

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 15:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

IMMUTABLE = """
CREATE OR REPLACE FUNCTION stats_release_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'published releases are immutable (table %)', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql
"""


def upgrade():
    op.create_table('stats_releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('window_start', sa.Date(), nullable=False),
    sa.Column('window_end', sa.Date(), nullable=False),
    sa.Column('rounds', sa.JSON(), nullable=False),
    sa.Column('bank_versions', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('n_sampled', sa.Integer(), nullable=False),
    sa.Column('n_respondents', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_releases'))
    )
    with op.batch_alter_table('stats_releases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stats_releases_period'), ['period'], unique=False)

    op.create_table('stats_release_cells',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('table_id', sa.String(length=40), nullable=False),
    sa.Column('dimension', sa.String(length=20), nullable=False),
    sa.Column('value', sa.String(length=100), nullable=False),
    sa.Column('measure', sa.String(length=24), nullable=False),
    sa.Column('estimate', sa.Float(), nullable=True),
    sa.Column('ci_low', sa.Float(), nullable=True),
    sa.Column('ci_high', sa.Float(), nullable=True),
    sa.Column('n', sa.Integer(), nullable=True),
    sa.Column('suppressed', sa.Boolean(), nullable=False),
    sa.Column('suppression', sa.String(length=10), nullable=True),
    sa.ForeignKeyConstraint(['release_id'], ['stats_releases.id'], name=op.f('fk_stats_release_cells_release_id_stats_releases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_release_cells')),
    sa.UniqueConstraint('release_id', 'table_id', 'value', 'measure', name=op.f('uq_stats_release_cells_release_id_table_id_value_measure')),
    )
    with op.batch_alter_table('stats_release_cells', schema=None) as batch_op:
        batch_op.create_index('ix_stats_release_cells_release_table', ['release_id', 'table_id'], unique=False)

    op.create_table('api_clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=False),
    sa.Column('contact_name', sa.String(length=200), nullable=True),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_clients')),
    sa.UniqueConstraint('organisation', name=op.f('uq_api_clients_organisation'))
    )
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['api_clients.id'], name=op.f('fk_api_keys_client_id_api_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_client_id'), ['client_id'], unique=False)

    op.create_table('api_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('key_id', sa.Integer(), nullable=True),
    sa.Column('endpoint', sa.String(length=200), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('duration_ms', sa.Float(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['api_clients.id'], name=op.f('fk_api_calls_client_id_api_clients')),
    sa.ForeignKeyConstraint(['key_id'], ['api_keys.id'], name=op.f('fk_api_calls_key_id_api_keys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_calls'))
    )
    with op.batch_alter_table('api_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_calls_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_calls_at'), ['at'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        op.execute(IMMUTABLE)
        for table in ('stats_releases', 'stats_release_cells'):
            op.execute(
                f'CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} '
                'FOR EACH ROW EXECUTE FUNCTION stats_release_immutable()'
            )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in ('stats_releases', 'stats_release_cells'):
            op.execute(f'DROP TRIGGER IF EXISTS {table}_immutable ON {table}')
        op.execute('DROP FUNCTION IF EXISTS stats_release_immutable()')
    op.drop_table('api_calls')
    op.drop_table('api_keys')
    op.drop_table('api_clients')
    op.drop_table('stats_release_cells')
    op.drop_table('stats_releases')
