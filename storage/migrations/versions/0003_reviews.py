"""reviews: a reviewer's verdict on a violation (confirmed / false positive), one row per click

Revision ID: 0003_reviews
Revises: 0002_restart_identity
"""
from alembic import op
import sqlalchemy as sa

revision = '0003_reviews'
down_revision = '0002_restart_identity'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'reviews',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('violation_id', sa.Integer(), nullable=False),
        sa.Column('verdict', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=16), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('reviewer', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['violation_id'], ['violations.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_reviews_violation', 'reviews', ['violation_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_reviews_violation', table_name='reviews')
    op.drop_table('reviews')
