"""urgent handoffs: crisis answers and requests for a person after one, for the team only

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 14:50:00.000000
"""

from alembic import op
import sqlalchemy as sa
import backend.models.base


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('handoff_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('urgent', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('risk_kind', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('occurred_at', backend.models.base.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('reference', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_handoff_requests_urgent'), ['urgent'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_handoff_requests_reference'),
                                          ['reference'])


def downgrade() -> None:
    with op.batch_alter_table('handoff_requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_handoff_requests_reference'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_handoff_requests_urgent'))
        batch_op.drop_column('reference')
        batch_op.drop_column('occurred_at')
        batch_op.drop_column('risk_kind')
        batch_op.drop_column('urgent')
