"""privacy: the erasure register; an erased member's address is not learned again

Revision ID: 0007_privacy_erasures
Revises: 0006_staff_accounts
Create Date: 2026-12-02 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_privacy_erasures'
down_revision = '0006_staff_accounts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('erasures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('subscriber_id', sa.BigInteger(), nullable=False),
    sa.Column('address_hash_prefix', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=16), nullable=False),
    sa.Column('removed', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('erasures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erasures_address_hash_prefix'), ['address_hash_prefix'], unique=False)
        batch_op.create_index(batch_op.f('ix_erasures_erased_at'), ['erased_at'], unique=False)

    with op.batch_alter_table('member_subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_erased_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('member_subscriptions', schema=None) as batch_op:
        batch_op.drop_column('email_erased_at')

    with op.batch_alter_table('erasures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erasures_erased_at'))
        batch_op.drop_index(batch_op.f('ix_erasures_address_hash_prefix'))

    op.drop_table('erasures')
