"""The session's Core statements run on the transaction's connection (extensions.Session): they
behave as Session.execute() would, only with less bookkeeping on the way."""

from sqlalchemy import func, insert, select, text

from extensions import db
from membership.models import AppSetting
from payments.models import StripeCustomer

_customers = StripeCustomer.__table__


def _customer_ids() -> list[str]:
    return list(
        db.session.execute(select(_customers.c.customer_id).order_by("customer_id")).scalars()
    )


def test_a_core_statement_sees_what_the_orm_added_before_it(app_ctx):
    db.session.execute(select(func.count()).select_from(_customers))  # the transaction begun
    db.session.add(StripeCustomer(customer_id="cus_orm", email_key="orm@example.com"))
    assert _customer_ids() == ["cus_orm"]  # flushed first, as Session.execute does


def test_core_statements_after_a_rollback_run_in_the_new_transaction(app_ctx):
    db.session.execute(insert(_customers).values(customer_id="cus_gone", email_key="g@example.com"))
    db.session.execute(
        insert(_customers).values(customer_id="cus_gone2", email_key="g@example.com")
    )
    db.session.rollback()
    db.session.execute(insert(_customers).values(customer_id="cus_kept", email_key="k@example.com"))
    db.session.execute(
        insert(_customers).values(customer_id="cus_kept2", email_key="k@example.com")
    )
    db.session.commit()
    db.session.remove()
    assert _customer_ids() == ["cus_kept", "cus_kept2"]


def test_core_statements_after_a_commit_run_in_a_transaction_of_their_own(app_ctx):
    db.session.execute(insert(_customers).values(customer_id="cus_1", email_key="a@example.com"))
    db.session.execute(insert(_customers).values(customer_id="cus_2", email_key="a@example.com"))
    db.session.commit()
    db.session.execute(insert(_customers).values(customer_id="cus_3", email_key="b@example.com"))
    db.session.execute(insert(_customers).values(customer_id="cus_4", email_key="b@example.com"))
    db.session.rollback()  # only the second transaction's rows go
    assert _customer_ids() == ["cus_1", "cus_2"]


def test_orm_statements_and_options_still_go_the_orms_way(app_ctx):
    db.session.add(AppSetting(key="session_test", value="1"))
    db.session.commit()
    db.session.execute(text("SELECT 1"))
    loaded = db.session.execute(select(AppSetting).where(AppSetting.key == "session_test"))
    setting = loaded.scalar_one()
    assert setting.value == "1"
    assert db.session.execute(select(AppSetting.value), execution_options={}).first() is not None
