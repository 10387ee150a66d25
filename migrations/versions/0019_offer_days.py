"""each settled day's answered calls and surveyed calls per agent (the dashboard's survey-offer
rate), counted once

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('offer_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('surveyed', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_offer_days_agent_id_agents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offer_days'))
    )
    with op.batch_alter_table('offer_days', schema=None) as batch_op:
        batch_op.create_index('uq_offer_days_bucket', ['day', 'agent_id'], unique=True, postgresql_nulls_not_distinct=True)


def downgrade():
    with op.batch_alter_table('offer_days', schema=None) as batch_op:
        batch_op.drop_index('uq_offer_days_bucket', postgresql_nulls_not_distinct=True)

    op.drop_table('offer_days')
