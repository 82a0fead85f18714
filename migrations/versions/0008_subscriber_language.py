"""newsletters: the reader's mail language kept with the subscriber

Revision ID: 0008_subscriber_language
Revises: 0007_privacy_erasures
Create Date: 2026-11-30 15:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_subscriber_language'
down_revision = '0007_privacy_erasures'
branch_labels = None
depends_on = None


def upgrade():
    # Nullable, no default: readers who signed up before this never said, and get the default.
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.drop_column('language')
