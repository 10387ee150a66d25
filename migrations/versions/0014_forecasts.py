"""supervisors' weekly forecasts of their team's satisfied callers

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('forecasts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('top_box_share', sa.Double(), nullable=False),
    sa.Column('stated_by_id', sa.Integer(), nullable=False),
    sa.Column('stated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('top_box_share >= 0 AND top_box_share <= 1', name=op.f('ck_forecasts_share_0_to_1')),
    sa.ForeignKeyConstraint(['stated_by_id'], ['users.id'], name=op.f('fk_forecasts_stated_by_id_users')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_forecasts_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forecasts')),
    sa.UniqueConstraint('team_id', 'week_start', name=op.f('uq_forecasts_team_id_week_start'))
    )


def downgrade():
    op.drop_table('forecasts')
