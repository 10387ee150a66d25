"""agents' blind self-ratings of their calls

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('self_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('resolved', sa.Boolean(), nullable=True),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('blind', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.CheckConstraint('rating BETWEEN 1 AND 5', name=op.f('ck_self_ratings_rating_1_to_5')),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_self_ratings_agent_id_agents')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_self_ratings_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_self_ratings')),
    sa.UniqueConstraint('call_id', 'agent_id', name=op.f('uq_self_ratings_call_id_agent_id'))
    )
    with op.batch_alter_table('self_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_self_ratings_agent_id'), ['agent_id'], unique=False)


def downgrade():
    with op.batch_alter_table('self_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_self_ratings_agent_id'))
    op.drop_table('self_ratings')
