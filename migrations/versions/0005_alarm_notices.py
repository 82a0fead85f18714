"""alarm_notices: when each operations alarm (the signup spike) last mailed the admins

Revision ID: 0005_alarm_notices
Revises: 0004_campaigns
Create Date: 2026-11-30 13:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_alarm_notices'
down_revision = '0004_campaigns'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alarm_notices',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade():
    op.drop_table('alarm_notices')
