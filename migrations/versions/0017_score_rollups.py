"""daily rollups of the scores per agent and per queue for the dashboard; a trigram index for
words in the verbatims (PostgreSQL)

Revision ID: 0017
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0015'
branch_labels = None
depends_on = None

COUNTS = [
    'responses', 'csat_1', 'csat_2', 'csat_3', 'csat_4', 'csat_5', 'bottom_box', 'top_box',
    'promoters', 'passives', 'detractors', 'resolved', 'resolution_answers', 'effort_total',
    'effort_answers', 'extreme_lows', 'extreme_highs', 'offered', 'answered',
]


def _counts():
    return [sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS]


def upgrade():
    op.create_table(
        'agent_score_days',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=True),
        *_counts(),
        sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_score_days_agent_id_agents')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_score_days')),
    )
    op.create_index('uq_agent_score_days_bucket', 'agent_score_days', ['day', 'agent_id'], unique=True, postgresql_nulls_not_distinct=True)
    op.create_index('ix_agent_score_days_agent_id_day', 'agent_score_days', ['agent_id', 'day'])
    op.create_table(
        'queue_score_days',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('queue', sa.String(length=128), nullable=True),
        *_counts(),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_score_days')),
    )
    op.create_index('uq_queue_score_days_bucket', 'queue_score_days', ['day', 'queue'], unique=True, postgresql_nulls_not_distinct=True)
    if op.get_bind().dialect.name == 'postgresql':
        # Words in the verbatims: ILIKE '%word%' reads these instead of every answer and transcript.
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.execute('CREATE INDEX ix_answers_speech_result_trgm ON answers USING gin (speech_result gin_trgm_ops)')
        op.execute('CREATE INDEX ix_recordings_transcript_trgm ON recordings USING gin (transcript gin_trgm_ops)')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_recordings_transcript_trgm')
        op.execute('DROP INDEX IF EXISTS ix_answers_speech_result_trgm')
    op.drop_index('uq_queue_score_days_bucket', table_name='queue_score_days')
    op.drop_table('queue_score_days')
    op.drop_index('ix_agent_score_days_agent_id_day', table_name='agent_score_days')
    op.drop_index('uq_agent_score_days_bucket', table_name='agent_score_days')
    op.drop_table('agent_score_days')
