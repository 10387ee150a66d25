"""people who sign in: users with roles; API keys with roles; callback tasks claimed, closed and
noted by users; outcomes and root causes from configurable lists

Existing API keys become integrator + analyst (what any key could do before). The free-text
"by" of existing task events moves into their detail, so no history is lost.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('agent', 'supervisor', 'analyst', 'admin', 'integrator', name='role', native_enum=False, length=16), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('supervisor_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_users_agent_id_agents')),
    sa.ForeignKeyConstraint(['supervisor_id'], ['supervisors.id'], name=op.f('fk_users_supervisor_id_supervisors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_supervisor_id'), ['supervisor_id'], unique=False)

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('roles', sa.String(length=64), nullable=False, server_default='integrator,analyst'))
        batch_op.add_column(sa.Column('agent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('supervisor_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_api_keys_supervisor_id_supervisors'), 'supervisors', ['supervisor_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_api_keys_agent_id_agents'), 'agents', ['agent_id'], ['id'])

    op.execute(
        "UPDATE callback_task_events SET detail = COALESCE(detail || ' ', '') || '(by ' || actor || ')'"
        " WHERE actor IS NOT NULL"
    )
    with op.batch_alter_table('callback_task_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_callback_task_events_actor_id_users'), 'users', ['actor_id'], ['id'])
        batch_op.drop_column('actor')

    with op.batch_alter_table('callback_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('closed_by_id', sa.Integer(), nullable=True))
        batch_op.alter_column('outcome',
               existing_type=sa.VARCHAR(length=16),
               type_=sa.String(length=64),
               existing_nullable=True)
        batch_op.alter_column('root_cause',
               existing_type=sa.VARCHAR(length=32),
               type_=sa.String(length=64),
               existing_nullable=True)
        batch_op.create_foreign_key(batch_op.f('fk_callback_tasks_claimed_by_id_users'), 'users', ['claimed_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_callback_tasks_closed_by_id_users'), 'users', ['closed_by_id'], ['id'])
        batch_op.drop_column('closed_by')
        batch_op.drop_column('claimed_by')



def downgrade():
    with op.batch_alter_table('callback_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.VARCHAR(length=255), nullable=True))
        batch_op.add_column(sa.Column('closed_by', sa.VARCHAR(length=255), nullable=True))
        batch_op.drop_constraint(batch_op.f('fk_callback_tasks_closed_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_callback_tasks_claimed_by_id_users'), type_='foreignkey')
        batch_op.alter_column('root_cause',
               existing_type=sa.String(length=64),
               type_=sa.VARCHAR(length=32),
               existing_nullable=True)
        batch_op.alter_column('outcome',
               existing_type=sa.String(length=64),
               type_=sa.VARCHAR(length=16),
               existing_nullable=True)
        batch_op.drop_column('closed_by_id')
        batch_op.drop_column('claimed_by_id')

    with op.batch_alter_table('callback_task_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor', sa.VARCHAR(length=255), nullable=True))
        batch_op.drop_constraint(batch_op.f('fk_callback_task_events_actor_id_users'), type_='foreignkey')
        batch_op.drop_column('actor_id')

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_keys_agent_id_agents'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_api_keys_supervisor_id_supervisors'), type_='foreignkey')
        batch_op.drop_column('supervisor_id')
        batch_op.drop_column('agent_id')
        batch_op.drop_column('roles')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_supervisor_id'))
        batch_op.drop_index(batch_op.f('ix_users_agent_id'))

    op.drop_table('users')
