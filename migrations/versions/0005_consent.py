"""consent: the do-not-survey list, callers' keyed number hash, the retention purge's mark

Existing calls get no hash (their numbers were stored before there was a key): the "once in N
days" rule and the list match them from their next call on.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('do_not_survey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number_hash', sa.String(length=64), nullable=False),
    sa.Column('masked', sa.String(length=32), nullable=True),
    sa.Column('source', sa.Enum('opt_out', 'admin', name='listsource', native_enum=False, length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_do_not_survey')),
    sa.UniqueConstraint('number_hash', name=op.f('uq_do_not_survey_number_hash'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('from_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_calls_from_hash'), ['from_hash'], unique=False)



def downgrade():
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calls_from_hash'))
        batch_op.drop_column('purged_at')
        batch_op.drop_column('from_hash')

    op.drop_table('do_not_survey')
