"""mailer: outbox rows found by address (bounces, a reader's data, erasure) through an index

Revision ID: 0009_outbox_address_index
Revises: 0008_subscriber_language
Create Date: 2026-11-30 18:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_outbox_address_index'
down_revision = '0008_subscriber_language'
branch_labels = None
depends_on = None


def upgrade():
    # A campaign adds a row per reader, so the outbox is the largest table: on PostgreSQL the
    # index is built CONCURRENTLY, outside the migration's transaction, so signups and the
    # worker keep writing while it is built.
    if op.get_bind().dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            op.create_index('ix_outbox_address_key', 'outbox', [sa.text('lower(to_addr)')],
                            postgresql_concurrently=True, if_not_exists=True)
    else:
        op.create_index('ix_outbox_address_key', 'outbox', [sa.text('lower(to_addr)')])


def downgrade():
    op.drop_index('ix_outbox_address_key', table_name='outbox')
