"""Staff pages for people: searching subscribers and members, a subscriber's record."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from database import utcnow
from extensions import db
from privacy import services as privacy
from privacy.models import BY_STAFF
from privacy.views import json_download
from signing import ReaderGone
from staff import exports, people
from staff.access import admin_required, audit
from staff.forms import ActionForm
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


@bp.get("/people/subscribers/<int:subscriber_id>/erase")
@admin_required
def subscriber_erase_confirm(subscriber_id: int):
    record = people.subscriber_record(subscriber_id)
    if record is None:
        abort(404)
    return render_template("staff/erase_reader.html", record=record, form=ActionForm())


@bp.post("/people/subscribers/<int:subscriber_id>/erase")
@admin_required
def subscriber_erase(subscriber_id: int):
    try:
        done = privacy.erase_reader(subscriber_id, requested_by=BY_STAFF)
    except ReaderGone:
        abort(404)
    removed = ", ".join(f"{kind} {count}" for kind, count in done.removed.items() if count)
    audit("erase_reader", f"subscriber #{subscriber_id} (hash {done.hash_prefix}): {removed}")
    db.session.commit()
    kept = " Their membership goes on and is still counted." if done.manage_membership_urls else ""
    flash(f"Subscriber #{subscriber_id}'s data was erased.{kept}", "success")
    return redirect(url_for("staff.people_search"))


@bp.get("/people/subscribers/<int:subscriber_id>/data.json")
@admin_required
def subscriber_data(subscriber_id: int):
    try:
        export = privacy.reader_export(subscriber_id)
    except ReaderGone:
        abort(404)
    audit("export_reader_data", f"subscriber #{subscriber_id}")
    db.session.commit()
    return json_download(export, f"subscriber-{subscriber_id}.json")


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
