"""slack installations: one per workspace (its organisation, the encrypted bot token) and the
single-use states of "Add to Slack"

Revision ID: 0007_slack_installations
Revises: 0006_staff_console
Create Date: 2026-12-03 16:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import backend.models.base


revision = '0007_slack_installations'
down_revision = '0006_staff_console'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'slack_installations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.String(length=64), nullable=False),
        sa.Column('team_name', sa.String(length=200), nullable=True),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('bot_user_id', sa.String(length=64), nullable=False),
        sa.Column('bot_token_sealed', sa.String(length=2000), nullable=False),
        sa.Column('installer_user_id', sa.String(length=64), nullable=False),
        sa.Column('installed_by_member_id', sa.Integer(), nullable=False),
        sa.Column('installed_at', backend.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_slack_installations_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['installed_by_member_id'], ['members.id'],
                                name=op.f('fk_slack_installations_installed_by_member_id_members')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_slack_installations')),
        sa.UniqueConstraint('organisation_id',
                            name=op.f('uq_slack_installations_organisation_id')),
        sa.UniqueConstraint('team_id', name=op.f('uq_slack_installations_team_id')),
    )
    with op.batch_alter_table('slack_installations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slack_installations_installed_by_member_id'),
                              ['installed_by_member_id'], unique=False)
    op.create_table(
        'slack_install_states',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('state_hash', sa.String(length=64), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('created_at', backend.models.base.UTCDateTime(), nullable=False),
        sa.Column('expires_at', backend.models.base.UTCDateTime(), nullable=False),
        sa.Column('used_at', backend.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'],
                                name=op.f('fk_slack_install_states_member_id_members')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_slack_install_states_organisation_id_organisations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_slack_install_states')),
        sa.UniqueConstraint('state_hash', name=op.f('uq_slack_install_states_state_hash')),
    )
    with op.batch_alter_table('slack_install_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slack_install_states_member_id'), ['member_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_slack_install_states_organisation_id'),
                              ['organisation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('slack_install_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slack_install_states_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_slack_install_states_member_id'))
    op.drop_table('slack_install_states')
    with op.batch_alter_table('slack_installations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slack_installations_installed_by_member_id'))
    op.drop_table('slack_installations')
