"""Staff pages for lists: audience figures, signups by source, editing, the subscriber export."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from database import utcnow
from extensions import db
from newsletters import lists as newsletter_lists
from newsletters.models import SOURCES, Newsletter
from staff import charts, exports, lists
from staff.access import admin_required, audit
from staff.forms import ActionForm, ListForm
from staff.views.blueprint import bp, csv_download


def _newsletter_or_404(list_id: int) -> Newsletter:
    newsletter = newsletter_lists.newsletter_by_id(list_id)
    if newsletter is None:
        abort(404)
    return newsletter


def _signups_page(template: str, weeks, **context):
    signups = charts.signups_chart(weeks, SOURCES)
    return render_template(
        template, weeks=weeks, signups=signups, sources=SOURCES, action_form=ActionForm(), **context
    )


@bp.get("/lists")
def list_index():
    weeks = lists.signups_by_source(utcnow().date())
    return _signups_page("staff/lists.html", weeks, overview=lists.list_overview())


@bp.get("/lists/<int:list_id>")
def list_detail(list_id: int):
    newsletter = _newsletter_or_404(list_id)
    weeks = lists.signups_by_source(utcnow().date(), slug=newsletter.slug)
    return _signups_page("staff/list_detail.html", weeks, item=lists.list_stats(newsletter))


def _saved(newsletter: Newsletter, action: str, verb: str):
    audit(action, f"{newsletter.slug} (#{newsletter.id}): {newsletter.name}")
    db.session.commit()
    flash(f"The list “{newsletter.name}” was {verb}.", "success")
    return redirect(url_for("staff.list_detail", list_id=newsletter.id))


def _form_again(form: ListForm, item: Newsletter | None, error=None):
    if error is not None:
        getattr(form, error.field).errors = [error.message]
    status = 422 if request.method == "POST" else 200
    return render_template("staff/list_form.html", form=form, item=item), status


@bp.route("/lists/new", methods=["GET", "POST"])
@admin_required
def list_create():
    form = ListForm()
    if not form.validate_on_submit():
        return _form_again(form, None)
    try:
        newsletter = newsletter_lists.create_list(
            form.slug.data, form.name.data, form.description.data or "", form.is_default.data
        )
    except newsletter_lists.InvalidList as error:
        return _form_again(form, None, error)
    return _saved(newsletter, "list_created", "created")


@bp.route("/lists/<int:list_id>/edit", methods=["GET", "POST"])
@admin_required
def list_edit(list_id: int):
    newsletter = _newsletter_or_404(list_id)
    form = ListForm(obj=newsletter)
    form.slug.data = newsletter.slug  # fixed once published
    if not form.validate_on_submit():
        return _form_again(form, newsletter)
    try:
        newsletter_lists.update_list(
            newsletter, form.name.data, form.description.data or "", form.is_default.data
        )
    except newsletter_lists.InvalidList as error:
        return _form_again(form, newsletter, error)
    return _saved(newsletter, "list_edited", "saved")


@bp.post("/lists/<int:list_id>/archive")
@admin_required
def list_archive(list_id: int):
    return _set_archived(list_id, archived=True)


@bp.post("/lists/<int:list_id>/restore")
@admin_required
def list_restore(list_id: int):
    return _set_archived(list_id, archived=False)


def _set_archived(list_id: int, archived: bool):
    newsletter = _newsletter_or_404(list_id)
    ActionForm().validate_on_submit()  # the CSRF check itself runs before every POST
    newsletter_lists.set_archived(newsletter, archived)
    audit("list_archived" if archived else "list_restored", f"{newsletter.slug} (#{newsletter.id})")
    db.session.commit()
    flash(f"The list “{newsletter.name}” was {'archived' if archived else 'restored'}.", "success")
    return redirect(url_for("staff.list_detail", list_id=newsletter.id))


@bp.get("/lists/<int:list_id>/export.csv")
@admin_required
def list_export(list_id: int):
    newsletter = _newsletter_or_404(list_id)
    audit("export_list_subscribers", f"{newsletter.slug} (#{newsletter.id})")
    db.session.commit()
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return csv_download(
        exports.list_subscribers_csv(newsletter), f"{newsletter.slug}-subscribers-{stamp}.csv"
    )
