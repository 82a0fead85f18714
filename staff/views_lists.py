"""Staff pages for lists: audience figures, signups by source, editing, the subscriber export."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from database import utcnow
from extensions import db
from newsletters.models import SOURCES, Newsletter
from staff import charts, exports, lists
from staff.access import admin_required, audit
from staff.forms import ActionForm, ListForm
from staff.views import bp


def _newsletter_or_404(list_id: int) -> Newsletter:
    newsletter = db.session.get(Newsletter, list_id)
    if newsletter is None:
        abort(404)
    return newsletter


@bp.get("/lists")
def list_index():
    weeks = lists.signups_by_source(utcnow().date())
    return render_template(
        "staff/lists.html",
        overview=lists.list_overview(),
        weeks=weeks,
        signups=charts.signups_chart(weeks, SOURCES),
        sources=SOURCES,
        action_form=ActionForm(),
    )


@bp.get("/lists/<int:list_id>")
def list_detail(list_id: int):
    newsletter = _newsletter_or_404(list_id)
    weeks = lists.signups_by_source(utcnow().date(), slug=newsletter.slug)
    return render_template(
        "staff/list_detail.html",
        item=lists.list_stats(newsletter),
        weeks=weeks,
        signups=charts.signups_chart(weeks, SOURCES),
        sources=SOURCES,
        action_form=ActionForm(),
    )


def _apply_list_error(form: ListForm, error: lists.ListError) -> None:
    getattr(form, error.field_name).errors = [str(error)]


@bp.route("/lists/new", methods=["GET", "POST"])
@admin_required
def list_create():
    form = ListForm()
    if form.validate_on_submit():
        try:
            newsletter = lists.create_list(
                form.slug.data, form.name.data, form.description.data or "", form.is_default.data
            )
        except lists.ListError as error:
            _apply_list_error(form, error)
        else:
            db.session.flush()
            audit("list_created", f"{newsletter.slug} (#{newsletter.id}): {newsletter.name}")
            db.session.commit()
            flash(f"The list “{newsletter.name}” was created.", "success")
            return redirect(url_for("staff.list_detail", list_id=newsletter.id))
    status = 422 if request.method == "POST" else 200
    return render_template("staff/list_form.html", form=form, item=None), status


@bp.route("/lists/<int:list_id>/edit", methods=["GET", "POST"])
@admin_required
def list_edit(list_id: int):
    newsletter = _newsletter_or_404(list_id)
    form = ListForm(obj=newsletter)
    form.slug.data = newsletter.slug  # fixed once published
    if form.validate_on_submit():
        try:
            lists.edit_list(
                newsletter, form.name.data, form.description.data or "", form.is_default.data
            )
        except lists.ListError as error:
            _apply_list_error(form, error)
        else:
            audit("list_edited", f"{newsletter.slug} (#{newsletter.id}): {newsletter.name}")
            db.session.commit()
            flash(f"The list “{newsletter.name}” was saved.", "success")
            return redirect(url_for("staff.list_detail", list_id=newsletter.id))
    status = 422 if request.method == "POST" else 200
    return render_template("staff/list_form.html", form=form, item=newsletter), status


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
    lists.set_archived(newsletter, archived)
    action = "list_archived" if archived else "list_restored"
    audit(action, f"{newsletter.slug} (#{newsletter.id})")
    db.session.commit()
    flash(f"The list “{newsletter.name}” was {'archived' if archived else 'restored'}.", "success")
    return redirect(url_for("staff.list_detail", list_id=newsletter.id))


def csv_download(chunks, filename: str) -> Response:
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


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
