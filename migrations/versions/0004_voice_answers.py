"""voice answers: recordings with transcripts and sentiment, spoken answers, the language's source

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('recordings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('step_key', sa.String(length=64), nullable=False),
    sa.Column('recording_sid', sa.String(length=64), nullable=False),
    sa.Column('media_url', sa.String(length=500), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('transcript_status', sa.Enum('pending', 'completed', 'failed', 'not_requested', name='transcriptstatus', native_enum=False, length=16), nullable=False),
    sa.Column('transcript', sa.Text(), nullable=True),
    sa.Column('transcribed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sentiment', sa.Double(), nullable=True),
    sa.Column('sentiment_label', sa.Enum('positive', 'neutral', 'negative', 'not_scored', name='sentiment', native_enum=False, length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['survey_responses.id'], name=op.f('fk_recordings_response_id_survey_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recordings')),
    sa.UniqueConstraint('recording_sid', name=op.f('uq_recordings_recording_sid'))
    )
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recordings_response_id'), ['response_id'], unique=False)

    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('speech_result', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('speech_confidence', sa.Double(), nullable=True))

    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sentiment', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('sentiment_label', sa.Enum('positive', 'neutral', 'negative', 'not_scored', name='sentiment', native_enum=False, length=16), nullable=True))

    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language_source', sa.Enum('ivr', 'menu', 'default', name='languagesource', native_enum=False, length=16), nullable=False, server_default='default'))

    # Rows written from now on always set it; the default was only for the existing ones.
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.alter_column('language_source', server_default=None)



def downgrade():
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.drop_column('language_source')

    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.drop_column('sentiment_label')
        batch_op.drop_column('sentiment')

    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_column('speech_confidence')
        batch_op.drop_column('speech_result')

    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recordings_response_id'))

    op.drop_table('recordings')
