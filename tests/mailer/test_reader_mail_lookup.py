"""Finding a reader's mail by address (their data, erasure, bounces): every spelling it was
queued under, through the outbox's address index rather than a scan of every campaign's rows."""

import pytest
from sqlalchemy import select, text

from extensions import db
from mailer.models import SENT, OutboxMessage
from mailer.reader_data import _to_reader, forget_mail

ACCENTED = "Ünïcode.Reader@Example.com"


def _queue(to_addr: str, **values) -> int:
    row = OutboxMessage(kind="note", to_addr=to_addr, context={"subject": "s"}, **values)
    db.session.add(row)
    db.session.flush()
    return row.id


def test_erasure_finds_mail_under_each_spelling_and_leaves_other_readers_alone(app):
    with app.app_context():
        exact = _queue(ACCENTED)
        lowered_key = _queue("ünïcode.reader@example.com")
        other_case = _queue("ünïcode.READER@example.com")
        someone_else = _queue("another.reader@example.com")

        forgotten = forget_mail([ACCENTED], "ünïcode.reader@example.com")
        db.session.commit()

        left = set(db.session.scalars(select(OutboxMessage.id)))
    assert forgotten.deleted == 3
    assert left.isdisjoint({exact, lowered_key, other_case})
    assert someone_else in left


@pytest.mark.postgresql
def test_lookups_by_address_can_use_the_outbox_address_index(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the planner's choice is PostgreSQL's")
    with app.app_context():
        _queue("reader@example.com", status=SENT)
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        lookups = {
            "a reader's data and erasure": select(OutboxMessage.id).where(
                _to_reader(["Reader@example.com"], "reader@example.com")
            ),
        }
        for name, statement in lookups.items():
            compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
            plan = "\n".join(db.session.scalars(text(f"EXPLAIN {compiled}")))
            assert "ix_outbox_address_key" in plan, f"{name}: {plan}"
        db.session.rollback()
