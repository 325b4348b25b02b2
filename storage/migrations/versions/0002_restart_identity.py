"""restart-safe violation identity, crash recovery and snapshot faults

Each reader run takes the next ``cameras.reader_epoch`` (its session id starts with it,
so sessions of one camera are ordered without trusting the clock). A violation's
duplicate key gains the reader session that produced its frames (frame and
track ids start again at 1 in every new reader), ``last_seen_at`` lets a restart close
what a killed process left open at the last time its person was seen, ``end_reason``
says how it ended, and ``snapshot_error`` records a snapshot that could not be written.

Revision ID: 0002_restart_identity
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = '0002_restart_identity'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cameras', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reader_epoch', sa.BigInteger(), nullable=False, server_default='0'))
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session', sa.String(length=32), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('end_reason', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('snapshot_error', sa.Text(), nullable=True))
        batch_op.drop_constraint('uq_violation_origin', type_='unique')
        batch_op.create_unique_constraint(
            'uq_violation_origin', ['camera', 'session', 'first_frame_id', 'track_id']
        )


def downgrade() -> None:
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.drop_constraint('uq_violation_origin', type_='unique')
        batch_op.create_unique_constraint('uq_violation_origin', ['camera', 'first_frame_id', 'track_id'])
        batch_op.drop_column('snapshot_error')
        batch_op.drop_column('end_reason')
        batch_op.drop_column('last_seen_at')
        batch_op.drop_column('session')
    with op.batch_alter_table('cameras', schema=None) as batch_op:
        batch_op.drop_column('reader_epoch')
