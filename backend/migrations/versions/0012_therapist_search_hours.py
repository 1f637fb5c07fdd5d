"""therapist search hours: one row per therapist and weekly start hour, with the filtered
columns, so search walks the directory in first-free-hour order instead of ranking every row

Revision ID: 0012_therapist_search_hours
Revises: 0011_waitlist
Create Date: 2026-12-04 00:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0012_therapist_search_hours'
down_revision = '0011_waitlist'
branch_labels = None
depends_on = None

_DAYS = ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')


def upgrade() -> None:
    op.create_table(
        'therapist_search_hours',
        sa.Column('slot', sa.Integer(), nullable=False),
        sa.Column('therapist_id', sa.Integer(), nullable=False),
        sa.Column('gender', sa.String(length=32), nullable=False),
        sa.Column('location', sa.String(length=120), nullable=True),
        sa.Column('issues_mask', sa.BigInteger(), nullable=False),
        sa.Column('therapy_types_mask', sa.BigInteger(), nullable=False),
        sa.Column('languages_mask', sa.BigInteger(), nullable=False),
        sa.Column('modalities_mask', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['therapist_id'], ['therapists.id'],
                                name=op.f('fk_therapist_search_hours_therapist_id_therapists'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('slot', 'therapist_id', name=op.f('pk_therapist_search_hours')),
    )
    op.create_index('ix_therapist_search_hours_walk', 'therapist_search_hours',
                    ['slot', 'therapist_id', 'gender', 'location', 'issues_mask',
                     'therapy_types_mask', 'languages_mask', 'modalities_mask'])
    # The denormalised copy of the therapists' hour masks, one statement per weekly hour.
    for day, name in enumerate(_DAYS):
        for hour in range(24):
            op.execute(
                "INSERT INTO therapist_search_hours (slot, therapist_id, gender, location, "
                "issues_mask, therapy_types_mask, languages_mask, modalities_mask) "
                f"SELECT {day * 24 + hour}, id, gender, location, issues_mask, "
                "therapy_types_mask, languages_mask, modalities_mask FROM therapists "
                f"WHERE (hours_{name} & {1 << hour}) != 0")


def downgrade() -> None:
    op.drop_table('therapist_search_hours')
