"""waitlist: a member's search kept waiting until a time it matches is free

Revision ID: 0011_waitlist
Revises: 0010_handoff_member_messages
Create Date: 2026-12-04 05:30:00.000000
"""

from alembic import op
import sqlalchemy as sa
import backend.models.base


revision = '0011_waitlist'
down_revision = '0010_handoff_member_messages'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'watches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('therapist_id', sa.Integer(), nullable=True),
        sa.Column('filters', sa.JSON(), nullable=False),
        sa.Column('status', sa.Enum('waiting', 'told', 'stopped', 'expired',
                                    name='watchstatus', native_enum=False,
                                    create_constraint=False, length=32), nullable=False),
        sa.Column('created_at', backend.models.base.UTCDateTime(), nullable=False),
        sa.Column('expires_at', backend.models.base.UTCDateTime(), nullable=False),
        sa.Column('ended_at', backend.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'],
                                name=op.f('fk_watches_member_id_members')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_watches_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['therapist_id'], ['therapists.id'],
                                name=op.f('fk_watches_therapist_id_therapists')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_watches')),
    )
    with op.batch_alter_table('watches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_watches_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_watches_status_expires_at', ['status', 'expires_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('watches', schema=None) as batch_op:
        batch_op.drop_index('ix_watches_status_expires_at')
        batch_op.drop_index(batch_op.f('ix_watches_member_id'))
    op.drop_table('watches')
