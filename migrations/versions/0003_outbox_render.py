"""outbox rows hold a template and its values, rendered when sent; campaign rows; daily jobs

Revision ID: 0003_outbox_render
Revises: 0002_suppressions
Create Date: 2026-12-01 09:00:00.000000

Rows already queued keep their rendered subject and bodies (now nullable) and are sent as
stored, so upgrading with mail in the queue loses none of it.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_outbox_render'
down_revision = '0002_suppressions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('context', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('campaign_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('subscriber_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('bounced_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column('subject', existing_type=sa.Text(), nullable=True)
        batch_op.alter_column('text_body', existing_type=sa.Text(), nullable=True)
        batch_op.alter_column('html_body', existing_type=sa.Text(), nullable=True)
        batch_op.alter_column('headers', existing_type=sa.JSON(), nullable=True)
        batch_op.alter_column('message_id', existing_type=sa.String(length=255), nullable=True)
        batch_op.create_unique_constraint(
            'uq_outbox_campaign_recipient', ['campaign_id', 'subscriber_id']
        )

    op.create_table('outbox_daily_jobs',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('last_day', sa.String(length=10), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )

    with op.batch_alter_table('suppressions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address_key', sa.String(length=320), nullable=True))
    # Lower-cased in Python, as addresses.email_key does: SQLite's lower() knows ASCII only.
    bind = op.get_bind()
    rows = bind.execute(sa.text('SELECT id, address FROM suppressions WHERE address IS NOT NULL'))
    keys = [{'id': row.id, 'key': row.address.lower()} for row in rows]
    if keys:
        bind.execute(sa.text('UPDATE suppressions SET address_key = :key WHERE id = :id'), keys)
    with op.batch_alter_table('suppressions', schema=None) as batch_op:
        batch_op.create_index('ix_suppressions_address_key', ['address_key'], unique=True)


def downgrade():
    with op.batch_alter_table('suppressions', schema=None) as batch_op:
        batch_op.drop_index('ix_suppressions_address_key')
        batch_op.drop_column('address_key')

    op.drop_table('outbox_daily_jobs')

    # Rows queued since the upgrade have no rendered bodies: the old worker cannot send them,
    # so they are kept as failed (with their context gone, an operator can still see who).
    op.execute(
        "UPDATE outbox SET status = 'failed', last_error = 'queued for rendering at send time; "
        "cannot be sent by a release before 0003_outbox_render' "
        "WHERE text_body IS NULL AND status NOT IN ('sent', 'failed')"
    )
    op.execute("UPDATE outbox SET subject = '', text_body = '', html_body = '' WHERE text_body IS NULL")
    op.execute("UPDATE outbox SET headers = '{}' WHERE headers IS NULL")
    op.execute("UPDATE outbox SET message_id = '<' || id || '@outbox>' WHERE message_id IS NULL")
    op.execute("UPDATE outbox SET status = 'failed' WHERE status NOT IN ('queued', 'sent', 'failed')")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint('uq_outbox_campaign_recipient', type_='unique')
        batch_op.alter_column('message_id', existing_type=sa.String(length=255), nullable=False)
        batch_op.alter_column('headers', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('html_body', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('text_body', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('subject', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('bounced_at')
        batch_op.drop_column('subscriber_id')
        batch_op.drop_column('campaign_id')
        batch_op.drop_column('language')
        batch_op.drop_column('context')
