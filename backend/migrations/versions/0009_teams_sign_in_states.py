"""teams sign-in states: the single-use states of the admin's sign-in with Microsoft that
follows the admin consent of "Connect Microsoft Teams" (the tenant consented for, nonce, PKCE
verifier)

Revision ID: 0009_teams_sign_in_states
Revises: 0008_teams_consent_states
Create Date: 2026-12-03 21:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import backend.models.base


revision = '0009_teams_sign_in_states'
down_revision = '0008_teams_consent_states'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'teams_sign_in_states',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('state_hash', sa.String(length=64), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('created_at', backend.models.base.UTCDateTime(), nullable=False),
        sa.Column('expires_at', backend.models.base.UTCDateTime(), nullable=False),
        sa.Column('used_at', backend.models.base.UTCDateTime(), nullable=True),
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('nonce', sa.String(length=64), nullable=False),
        sa.Column('verifier', sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'],
                                name=op.f('fk_teams_sign_in_states_member_id_members')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_teams_sign_in_states_organisation_id_organisations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_teams_sign_in_states')),
        sa.UniqueConstraint('state_hash', name=op.f('uq_teams_sign_in_states_state_hash')),
    )
    with op.batch_alter_table('teams_sign_in_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teams_sign_in_states_member_id'), ['member_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_teams_sign_in_states_organisation_id'),
                              ['organisation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('teams_sign_in_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teams_sign_in_states_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_teams_sign_in_states_member_id'))
    op.drop_table('teams_sign_in_states')
