"""SMS surveys: each response's channel, outbound surveys by text, and every text sent or received

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

CHANNEL = sa.Enum('voice', 'sms', name='surveychannel', native_enum=False, length=16)


def upgrade():
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', CHANNEL, nullable=False, server_default='voice'))

    with op.batch_alter_table('outbound_surveys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', CHANNEL, nullable=False, server_default='voice'))
        batch_op.add_column(sa.Column('response_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_outbound_surveys_response_id'), ['response_id'])
        batch_op.create_foreign_key(batch_op.f('fk_outbound_surveys_response_id_survey_responses'), 'survey_responses', ['response_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_outbound_surveys_to_hash', ['to_hash'], unique=False)

    op.create_table('text_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=True),
    sa.Column('direction', sa.Enum('inbound', 'outbound', name='direction', native_enum=False, length=16), nullable=False),
    sa.Column('message_sid', sa.String(length=64), nullable=True),
    sa.Column('reply_to_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('step_key', sa.String(length=64), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'accepted', 'queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'received', name='textstatus', native_enum=False, length=16), nullable=False),
    sa.Column('error_code', sa.String(length=16), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reply_to_id'], ['text_messages.id'], name=op.f('fk_text_messages_reply_to_id_text_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['response_id'], ['survey_responses.id'], name=op.f('fk_text_messages_response_id_survey_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_text_messages')),
    sa.UniqueConstraint('message_sid', name=op.f('uq_text_messages_message_sid'))
    )
    with op.batch_alter_table('text_messages', schema=None) as batch_op:
        batch_op.create_index('ix_text_messages_response_id_step_key', ['response_id', 'step_key'], unique=False)
        batch_op.create_index('ix_text_messages_reply_to_id', ['reply_to_id'], unique=False)


def downgrade():
    with op.batch_alter_table('text_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_text_messages_reply_to_id')
        batch_op.drop_index('ix_text_messages_response_id_step_key')
    op.drop_table('text_messages')

    with op.batch_alter_table('outbound_surveys', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_surveys_to_hash')
        batch_op.drop_constraint(batch_op.f('fk_outbound_surveys_response_id_survey_responses'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_outbound_surveys_response_id'), type_='unique')
        batch_op.drop_column('response_id')
        batch_op.drop_column('channel')

    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.drop_column('channel')
