"""indexes for the report queries (per-agent and per-queue over a period)

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("survey_responses") as batch:
        batch.drop_index("ix_survey_responses_agent_id")
        batch.create_index("ix_survey_responses_agent_id_started_at", ["agent_id", "started_at"])
        batch.create_index("ix_survey_responses_queue_started_at", ["queue", "started_at"])
        batch.create_index("ix_survey_responses_started_at", ["started_at"])


def downgrade():
    with op.batch_alter_table("survey_responses") as batch:
        batch.drop_index("ix_survey_responses_started_at")
        batch.drop_index("ix_survey_responses_queue_started_at")
        batch.drop_index("ix_survey_responses_agent_id_started_at")
        batch.create_index("ix_survey_responses_agent_id", ["agent_id"])
