"""outbound survey calls as rows, API keys' prefix and last use, the digest that carried a feedback item

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outbound_surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('to_number', sa.String(length=64), nullable=True),
    sa.Column('to_hash', sa.String(length=64), nullable=True),
    sa.Column('original_call_sid', sa.String(length=64), nullable=True),
    sa.Column('agent_ref', sa.String(length=255), nullable=True),
    sa.Column('queue', sa.String(length=128), nullable=True),
    sa.Column('flow_key', sa.String(length=128), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('time_zone', sa.String(length=64), nullable=True),
    sa.Column('state', sa.Enum('scheduled', 'placing', 'placed', 'failed', 'refused', name='outboundstate', native_enum=False, length=16), nullable=False),
    sa.Column('call_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('call_sid', sa.String(length=64), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('placing_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('requested_by', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_surveys')),
    sa.UniqueConstraint('call_sid', name=op.f('uq_outbound_surveys_call_sid'))
    )
    with op.batch_alter_table('outbound_surveys', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_surveys_state_call_at', ['state', 'call_at'], unique=False)

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prefix', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('feedback_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_notification_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_feedback_items_digest_notification_id'), ['digest_notification_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_feedback_items_digest_notification_id_notifications'), 'notifications', ['digest_notification_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('feedback_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_feedback_items_digest_notification_id_notifications'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_feedback_items_digest_notification_id'))
        batch_op.drop_column('digest_notification_id')

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('prefix')

    with op.batch_alter_table('outbound_surveys', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_surveys_state_call_at')

    op.drop_table('outbound_surveys')
