"""indexes for the dashboard: its aggregates read indexes alone (PostgreSQL INCLUDE)

The dashboard counts scores per team (agent_id, started_at) and for everyone (started_at); the
response rate counts responses by disposition, and the survey-offer rate agent legs, over a
period, per agent or for everyone. Each index carries the columns its query reads, so a
period's numbers are index-only scans instead of a heap page per row.

Revision ID: 0010
Revises: 0009
"""
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

REPORT_COLUMNS = ["queue", "agent_id", "csat", "nps", "nps_category"]
DASHBOARD_COLUMNS = [
    "queue", "csat", "csat_top_box", "csat_bottom_box", "nps_category", "resolved", "ces",
    "extreme_low", "extreme_high",
]


def upgrade():
    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.drop_index('ix_scores_started_at')
        batch_op.create_index('ix_scores_started_at', ['started_at'], unique=False,
                              postgresql_include=REPORT_COLUMNS + DASHBOARD_COLUMNS[2:])
        batch_op.drop_index('ix_scores_agent_id_started_at')
        batch_op.create_index('ix_scores_agent_id_started_at', ['agent_id', 'started_at'], unique=False,
                              postgresql_include=DASHBOARD_COLUMNS)
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.create_index('ix_survey_responses_started_at', ['started_at'], unique=False,
                              postgresql_include=['agent_id', 'queue', 'disposition', 'call_id'])
        batch_op.create_index('ix_survey_responses_agent_id_started_at', ['agent_id', 'started_at'],
                              unique=False, postgresql_include=['queue', 'disposition'])
    with op.batch_alter_table('agent_legs', schema=None) as batch_op:
        batch_op.create_index('ix_agent_legs_started_at', ['started_at'], unique=False,
                              postgresql_include=['agent_id', 'outcome', 'call_id'])
        batch_op.create_index('ix_agent_legs_agent_id_started_at', ['agent_id', 'started_at'], unique=False,
                              postgresql_include=['outcome', 'call_id'])


def downgrade():
    with op.batch_alter_table('agent_legs', schema=None) as batch_op:
        batch_op.drop_index('ix_agent_legs_agent_id_started_at')
        batch_op.drop_index('ix_agent_legs_started_at')
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_responses_agent_id_started_at')
        batch_op.drop_index('ix_survey_responses_started_at')
    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.drop_index('ix_scores_agent_id_started_at')
        batch_op.create_index('ix_scores_agent_id_started_at', ['agent_id', 'started_at'], unique=False)
        batch_op.drop_index('ix_scores_started_at')
        batch_op.create_index('ix_scores_started_at', ['started_at'], unique=False,
                              postgresql_include=REPORT_COLUMNS)
