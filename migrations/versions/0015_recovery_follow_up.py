"""recovery follow-ups: an outbound survey per closed callback task, the team's channel for it,
and the "likely to leave" flag

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbound_surveys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('task_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_outbound_surveys_task_id'), ['task_id'])
        batch_op.create_foreign_key(batch_op.f('fk_outbound_surveys_task_id_callback_tasks'), 'callback_tasks', ['task_id'], ['id'])
    with op.batch_alter_table('callback_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('likely_to_leave', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.add_column(sa.Column('follow_up_channel', sa.Enum('voice', 'sms', name='surveychannel', native_enum=False, length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_column('follow_up_channel')
    with op.batch_alter_table('callback_tasks', schema=None) as batch_op:
        batch_op.drop_column('likely_to_leave')
    with op.batch_alter_table('outbound_surveys', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbound_surveys_task_id_callback_tasks'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_outbound_surveys_task_id'), type_='unique')
        batch_op.drop_column('task_id')
