"""scores as the reports' fact table; partial index for unscored responses

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UNSCORED = "disposition <> 'in_progress' AND scored_at IS NULL"


def upgrade():
    with op.batch_alter_table("survey_responses") as batch:
        batch.add_column(sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_survey_responses_unscored",
        "survey_responses",
        ["ended_at"],
        postgresql_where=sa.text(UNSCORED),
        sqlite_where=sa.text(UNSCORED),
    )
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("agent_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("queue", sa.String(length=128), nullable=True))
        # Existing rows (none before this revision shipped) would take their response's start.
        batch.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key("fk_scores_agent_id_agents", "agents", ["agent_id"], ["id"])
    op.execute(
        "UPDATE scores SET agent_id = (SELECT agent_id FROM survey_responses r WHERE r.id = scores.response_id),"
        " queue = (SELECT queue FROM survey_responses r WHERE r.id = scores.response_id),"
        " started_at = (SELECT started_at FROM survey_responses r WHERE r.id = scores.response_id)"
    )
    op.execute(
        "UPDATE survey_responses SET scored_at = (SELECT scored_at FROM scores s WHERE s.response_id = survey_responses.id)"
    )
    with op.batch_alter_table("scores") as batch:
        batch.alter_column("started_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.create_index("ix_scores_started_at", ["started_at"])
        batch.create_index("ix_scores_agent_id_started_at", ["agent_id", "started_at"])
        batch.create_index("ix_scores_queue_started_at", ["queue", "started_at"])


def downgrade():
    with op.batch_alter_table("scores") as batch:
        batch.drop_index("ix_scores_queue_started_at")
        batch.drop_index("ix_scores_agent_id_started_at")
        batch.drop_index("ix_scores_started_at")
        batch.drop_constraint("fk_scores_agent_id_agents", type_="foreignkey")
        batch.drop_column("started_at")
        batch.drop_column("queue")
        batch.drop_column("agent_id")
    op.drop_index("ix_survey_responses_unscored", table_name="survey_responses")
    with op.batch_alter_table("survey_responses") as batch:
        batch.drop_column("scored_at")
