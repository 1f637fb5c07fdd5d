"""faults: the reconciliation sweep's tries and next try on charges; stored idempotent replies

Revision ID: 0005_faults
Revises: 0004_outbox
Create Date: 2026-12-03 09:10:00.000000
"""

from alembic import op
import sqlalchemy as sa
import backend.models.base


revision = '0005_faults'
down_revision = '0004_outbox'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tries', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('next_try_at', backend.models.base.UTCDateTime(),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_charges_next_try_at'), ['next_try_at'],
                              unique=False)
    op.create_table(
        'idempotent_replies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('caller', sa.String(length=255), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('created_at', backend.models.base.UTCDateTime(), nullable=False),
        sa.Column('expires_at', backend.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotent_replies')),
        sa.UniqueConstraint('caller', 'key', name=op.f('uq_idempotent_replies_caller')),
    )
    op.create_index('ix_idempotent_replies_expires_at', 'idempotent_replies', ['expires_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_idempotent_replies_expires_at', table_name='idempotent_replies')
    op.drop_table('idempotent_replies')
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charges_next_try_at'))
        batch_op.drop_column('next_try_at')
        batch_op.drop_column('tries')
