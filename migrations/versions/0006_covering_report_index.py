"""reports over a period read scores from the started_at index alone (PostgreSQL INCLUDE)

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

REPORT_COLUMNS = ["queue", "agent_id", "csat", "nps", "nps_category"]


def upgrade():
    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.drop_index('ix_scores_started_at')
        batch_op.create_index('ix_scores_started_at', ['started_at'], unique=False, postgresql_include=REPORT_COLUMNS)


def downgrade():
    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.drop_index('ix_scores_started_at')
        batch_op.create_index('ix_scores_started_at', ['started_at'], unique=False)
