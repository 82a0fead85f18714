"""Staff pages for people: searching subscribers and members, a subscriber's record."""

from __future__ import annotations

from flask import abort, render_template, request

from database import utcnow
from extensions import db
from staff import exports, people
from staff.access import admin_required, audit
from staff.views.blueprint import bp, csv_download, id_argument


@bp.get("/people")
def people_search():
    kind = request.args.get("kind", people.SUBSCRIBERS)
    text = request.args.get("q", "")[:320]
    after = id_argument("after")
    kind, page = people.search(kind, text, after)
    return render_template("staff/people.html", kind=kind, q=text, after=after, page=page)


@bp.get("/people/subscribers/<int:subscriber_id>")
def subscriber_detail(subscriber_id: int):
    record = people.subscriber_record(subscriber_id)
    if record is None:
        abort(404)
    return render_template("staff/subscriber.html", record=record)


@bp.get("/people/customers/<customer_id>")
def customer_detail(customer_id: str):
    record = people.customer_record(customer_id)
    if record is None:
        abort(404)
    return render_template("staff/customer.html", record=record)


@bp.get("/members/export.csv")
@admin_required
def members_export():
    audit("export_members")
    db.session.commit()
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return csv_download(exports.members_csv(), f"members-{stamp}.csv")
