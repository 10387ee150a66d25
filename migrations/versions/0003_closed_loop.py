"""closed loop: teams, supervisors, feedback items, callback tasks, notifications

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('supervisors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('escalates_to_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['escalates_to_id'], ['supervisors.id'], name=op.f('fk_supervisors_escalates_to_id_supervisors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervisors')),
    sa.UniqueConstraint('name', name=op.f('uq_supervisors_name'))
    )
    op.create_table('teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('supervisor_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('webhook_url', sa.String(length=500), nullable=True),
    sa.Column('webhook_secret', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['supervisor_id'], ['supervisors.id'], name=op.f('fk_teams_supervisor_id_supervisors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('name', name=op.f('uq_teams_name'))
    )
    op.create_table('callback_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('open', 'claimed', 'escalated', 'done', name='taskstatus', native_enum=False, length=16), nullable=False),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('caller_number', sa.String(length=64), nullable=True),
    sa.Column('at_risk', sa.Boolean(), nullable=False),
    sa.Column('claimed_by', sa.String(length=255), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=255), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Enum('resolved', 'apologised', 'compensated', 'unreachable', 'declined', name='taskoutcome', native_enum=False, length=16), nullable=True),
    sa.Column('root_cause', sa.Enum('agent_behaviour', 'agent_knowledge', 'process', 'product', 'policy', 'billing', 'technical', 'wait_time', 'other', name='rootcause', native_enum=False, length=32), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_callback_tasks_agent_id_agents')),
    sa.ForeignKeyConstraint(['assignee_id'], ['supervisors.id'], name=op.f('fk_callback_tasks_assignee_id_supervisors')),
    sa.ForeignKeyConstraint(['response_id'], ['survey_responses.id'], name=op.f('fk_callback_tasks_response_id_survey_responses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_callback_tasks_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_tasks')),
    sa.UniqueConstraint('response_id', name=op.f('uq_callback_tasks_response_id'))
    )
    with op.batch_alter_table('callback_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_tasks_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index('ix_callback_tasks_status_due_at', ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_tasks_team_id'), ['team_id'], unique=False)

    op.create_table('feedback_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('praise', 'low', 'regular', name='feedbackkind', native_enum=False, length=16), nullable=False),
    sa.Column('csat', sa.Integer(), nullable=True),
    sa.Column('nps', sa.Integer(), nullable=True),
    sa.Column('ces', sa.Integer(), nullable=True),
    sa.Column('resolved', sa.Boolean(), nullable=True),
    sa.Column('verbatim', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_feedback_items_agent_id_agents')),
    sa.ForeignKeyConstraint(['response_id'], ['survey_responses.id'], name=op.f('fk_feedback_items_response_id_survey_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_items')),
    sa.UniqueConstraint('response_id', name=op.f('uq_feedback_items_response_id'))
    )
    with op.batch_alter_table('feedback_items', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_items_agent_id_created_at', ['agent_id', 'created_at'], unique=False)
        batch_op.create_index('ix_feedback_items_undelivered', ['agent_id'], unique=False, postgresql_where=sa.text('delivered_at IS NULL'), sqlite_where=sa.text('delivered_at IS NULL'))

    op.create_table('callback_task_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['callback_tasks.id'], name=op.f('fk_callback_task_events_task_id_callback_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_task_events'))
    )
    with op.batch_alter_table('callback_task_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_task_events_task_id'), ['task_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=255), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.Enum('sms', 'email', 'webhook', name='channel', native_enum=False, length=16), nullable=False),
    sa.Column('recipient', sa.String(length=500), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=True),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', name='notificationstatus', native_enum=False, length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('feedback_item_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['feedback_item_id'], ['feedback_items.id'], name=op.f('fk_notifications_feedback_item_id_feedback_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['callback_tasks.id'], name=op.f('fk_notifications_task_id_callback_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notifications_dedupe_key'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_feedback_item_id'), ['feedback_item_id'], unique=False)
        batch_op.create_index('ix_notifications_status_created_at', ['status', 'created_at'], unique=False)
        batch_op.create_index('ix_notifications_task_id', ['task_id'], unique=False)

    op.create_table('notification_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], name=op.f('fk_notification_attempts_notification_id_notifications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_attempts'))
    )
    with op.batch_alter_table('notification_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_attempts_notification_id'), ['notification_id'], unique=False)

    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('email', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('feedback_delivery', sa.Enum('digest', 'immediate', name='feedbackdelivery', native_enum=False, length=16), nullable=False, server_default='digest'))
        batch_op.create_index(batch_op.f('ix_agents_team_id'), ['team_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_agents_team_id_teams'), 'teams', ['team_id'], ['id'])

    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('csat_top_box', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('csat_bottom_box', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('ces', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('extreme_high', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('extreme_high_rule', sa.String(length=255), nullable=True))

    # Existing rows got their defaults; new rows get them from the application.
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.alter_column('feedback_delivery', server_default=None)
    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.alter_column('extreme_high', server_default=None)


def downgrade():
    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.drop_column('extreme_high_rule')
        batch_op.drop_column('extreme_high')
        batch_op.drop_column('ces')
        batch_op.drop_column('csat_bottom_box')
        batch_op.drop_column('csat_top_box')

    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_agents_team_id_teams'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_agents_team_id'))
        batch_op.drop_column('feedback_delivery')
        batch_op.drop_column('email')
        batch_op.drop_column('team_id')

    with op.batch_alter_table('notification_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_attempts_notification_id'))

    op.drop_table('notification_attempts')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_task_id')
        batch_op.drop_index('ix_notifications_status_created_at')
        batch_op.drop_index(batch_op.f('ix_notifications_feedback_item_id'))

    op.drop_table('notifications')
    with op.batch_alter_table('callback_task_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_task_events_task_id'))

    op.drop_table('callback_task_events')
    with op.batch_alter_table('feedback_items', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_items_undelivered', postgresql_where=sa.text('delivered_at IS NULL'), sqlite_where=sa.text('delivered_at IS NULL'))
        batch_op.drop_index('ix_feedback_items_agent_id_created_at')

    op.drop_table('feedback_items')
    with op.batch_alter_table('callback_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_tasks_team_id'))
        batch_op.drop_index('ix_callback_tasks_status_due_at')
        batch_op.drop_index(batch_op.f('ix_callback_tasks_agent_id'))

    op.drop_table('callback_tasks')
    op.drop_table('teams')
    op.drop_table('supervisors')
