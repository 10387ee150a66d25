"""the front door's routing in the database: versions, the current one and its draft; the
flows' audit log names routing versions too

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('routing_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('yaml_text', sa.Text(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.String(length=255), nullable=True),
    sa.Column('change_note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_versions')),
    sa.UniqueConstraint('version', name=op.f('uq_routing_versions_version'))
    )
    op.create_table('routing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('current_version_id', sa.Integer(), nullable=False),
    sa.Column('draft_yaml', sa.Text(), nullable=True),
    sa.Column('draft_base_version_id', sa.Integer(), nullable=True),
    sa.Column('draft_saved_by', sa.String(length=255), nullable=True),
    sa.Column('draft_saved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['current_version_id'], ['routing_versions.id'], name=op.f('fk_routing_current_version_id_routing_versions')),
    sa.ForeignKeyConstraint(['draft_base_version_id'], ['routing_versions.id'], name=op.f('fk_routing_draft_base_version_id_routing_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing')),
    sa.UniqueConstraint('key', name=op.f('uq_routing_key'))
    )
    with op.batch_alter_table('flow_audit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('routing_version_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_flow_audit_routing_version_id_routing_versions'), 'routing_versions', ['routing_version_id'], ['id'])


def downgrade():
    with op.batch_alter_table('flow_audit', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_flow_audit_routing_version_id_routing_versions'), type_='foreignkey')
        batch_op.drop_column('routing_version_id')

    op.drop_table('routing')
    op.drop_table('routing_versions')
