"""flow studio: each flow's current version and draft, who published a version and why, the
audit log; a rollback republishes old content, so a flow's content hash is no longer unique

Existing flows point at their newest version (what new calls got before).

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('flow_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_by', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('change_note', sa.Text(), nullable=True))
        batch_op.drop_constraint('uq_flow_versions_flow_key_content_hash', type_='unique')
        batch_op.create_index('ix_flow_versions_flow_key_content_hash', ['flow_key', 'content_hash'], unique=False)

    op.create_table('flows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('current_version_id', sa.Integer(), nullable=False),
    sa.Column('draft_yaml', sa.Text(), nullable=True),
    sa.Column('draft_prompts', sa.JSON(), nullable=True),
    sa.Column('draft_audio', sa.JSON(), nullable=True),
    sa.Column('draft_base_version_id', sa.Integer(), nullable=True),
    sa.Column('draft_saved_by', sa.String(length=255), nullable=True),
    sa.Column('draft_saved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['current_version_id'], ['flow_versions.id'], name=op.f('fk_flows_current_version_id_flow_versions')),
    sa.ForeignKeyConstraint(['draft_base_version_id'], ['flow_versions.id'], name=op.f('fk_flows_draft_base_version_id_flow_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flows')),
    sa.UniqueConstraint('key', name=op.f('uq_flows_key'))
    )
    op.create_table('flow_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flow_key', sa.String(length=128), nullable=False),
    sa.Column('action', sa.Enum('save', 'publish', 'rollback', 'discard', 'imported', name='flowaction', native_enum=False, length=16), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_flow_audit_user_id_users')),
    sa.ForeignKeyConstraint(['version_id'], ['flow_versions.id'], name=op.f('fk_flow_audit_version_id_flow_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flow_audit'))
    )
    with op.batch_alter_table('flow_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flow_audit_flow_key'), ['flow_key'], unique=False)

    op.create_table('prompt_audio',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prompt_audio')),
    sa.UniqueConstraint('digest', name=op.f('uq_prompt_audio_digest'))
    )
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_test', sa.Boolean(), server_default=sa.false(), nullable=False))

    op.execute(
        "INSERT INTO flows (key, current_version_id) "
        "SELECT flow_key, MAX(id) FROM flow_versions GROUP BY flow_key"
    )


def downgrade():
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.drop_column('is_test')
    with op.batch_alter_table('flow_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flow_audit_flow_key'))
    op.drop_table('flow_audit')
    op.drop_table('prompt_audio')
    op.drop_table('flows')
    # Republished content repeats a hash: keep the first version of each content.
    op.execute(
        "DELETE FROM flow_versions WHERE id NOT IN "
        "(SELECT MIN(id) FROM flow_versions GROUP BY flow_key, content_hash) "
        "AND id NOT IN (SELECT flow_version_id FROM survey_responses)"
    )
    with op.batch_alter_table('flow_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_flow_versions_flow_key_content_hash')
        batch_op.create_unique_constraint('uq_flow_versions_flow_key_content_hash', ['flow_key', 'content_hash'])
        batch_op.drop_column('change_note')
        batch_op.drop_column('published_by')
