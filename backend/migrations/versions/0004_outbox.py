"""outbox: notification deliveries, dedupe keys, buttons (therapists.email comes with 0003_signin)

Revision ID: 0004_outbox
Revises: 0003_signin
Create Date: 2026-12-03 08:58:52.369456
"""

from alembic import op
import sqlalchemy as sa
import backend.models.base


revision = '0004_outbox'
down_revision = '0003_signin'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notification_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.Column('identity', sa.String(length=200), nullable=False),
    sa.Column('dedupe_key', sa.String(length=250), nullable=False),
    sa.Column('state', sa.Enum('pending', 'sending', 'delivered', 'failed', 'skipped', name='deliverystate', native_enum=False, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', backend.models.base.UTCDateTime(), nullable=False),
    sa.Column('lease_until', backend.models.base.UTCDateTime(), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', backend.models.base.UTCDateTime(), nullable=False),
    sa.Column('delivered_at', backend.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], name=op.f('fk_notification_deliveries_notification_id_notifications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_deliveries')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notification_deliveries_dedupe_key'))
    )
    with op.batch_alter_table('notification_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_notification_deliveries_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_deliveries_notification_id'), ['notification_id'], unique=False)

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('buttons', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('slots', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_notifications_dedupe_key'), ['dedupe_key'])



def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_notifications_dedupe_key'), type_='unique')
        batch_op.drop_column('dedupe_key')
        batch_op.drop_column('slots')
        batch_op.drop_column('buttons')

    with op.batch_alter_table('notification_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_deliveries_notification_id'))
        batch_op.drop_index('ix_notification_deliveries_due')

    op.drop_table('notification_deliveries')
