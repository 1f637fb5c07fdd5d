"""handoff member messages: a request's thread also holds what the member wrote while the team
had it (author "member", no staff address)

Revision ID: 0010_handoff_member_messages
Revises: 0009_teams_sign_in_states
Create Date: 2026-12-04 00:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0010_handoff_member_messages'
down_revision = '0009_teams_sign_in_states'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('handoff_replies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('author', sa.String(length=16), server_default='staff',
                                      nullable=False))
        batch_op.alter_column('staff_email', existing_type=sa.String(length=320), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM handoff_replies WHERE author = 'member'")
    with op.batch_alter_table('handoff_replies', schema=None) as batch_op:
        batch_op.alter_column('staff_email', existing_type=sa.String(length=320), nullable=False)
        batch_op.drop_column('author')
