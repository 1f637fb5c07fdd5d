"""staff console: who took a handoff request and when, when it closed; the team's replies

Revision ID: 0006_staff_console
Revises: 0005_faults
Create Date: 2026-12-03 13:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import backend.models.base


revision = '0006_staff_console'
down_revision = '0005_faults'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('handoff_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('taken_by', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('taken_at', backend.models.base.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('closed_at', backend.models.base.UTCDateTime(),
                                      nullable=True))
    op.create_table(
        'handoff_replies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('handoff_id', sa.Integer(), nullable=False),
        sa.Column('staff_email', sa.String(length=320), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', backend.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['handoff_id'], ['handoff_requests.id'],
                                name=op.f('fk_handoff_replies_handoff_id_handoff_requests')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_handoff_replies')),
    )
    with op.batch_alter_table('handoff_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handoff_replies_handoff_id'), ['handoff_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('handoff_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoff_replies_handoff_id'))
    op.drop_table('handoff_replies')
    with op.batch_alter_table('handoff_requests', schema=None) as batch_op:
        batch_op.drop_column('closed_at')
        batch_op.drop_column('taken_at')
        batch_op.drop_column('taken_by')
