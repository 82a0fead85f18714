"""Staff page for importing subscribers from a file: admins only, audited.

The upload is the one staff request allowed a large body (IMPORT_UPLOAD_MAX_BYTES): the limit
must be raised before anything reads the body, so the route is left out of the global CSRF
check (which reads the form) and its form checks the token itself once the limit is raised.
"""

from __future__ import annotations

from flask import abort, current_app, render_template, request, send_file
from werkzeug.exceptions import RequestEntityTooLarge

from extensions import csrf, db
from newsletters.import_rows import ImportFileError
from newsletters.services import UnknownNewsletter
from staff import imports
from staff.access import admin_required, audit
from staff.forms import ImportForm
from staff.views.blueprint import bp


def _form(blank: bool = False) -> ImportForm:
    """The form as posted, or (blank) a fresh one that does not read the request's body."""
    form = ImportForm(formdata=None) if blank else ImportForm()
    form.newsletter.choices = imports.list_choices()
    return form


def _upload_limit() -> str:
    limit = current_app.config["IMPORT_UPLOAD_MAX_BYTES"]
    return f"{limit / 2**20:g} MB" if limit >= 2**20 else f"{limit / 1024:g} KB"


def _page(form: ImportForm, status: int = 200, report=None, error: str | None = None):
    context = {"form": form, "report": report, "error": error, "limit": _upload_limit()}
    return render_template("staff/import.html", **context), status


@bp.get("/import")
@admin_required
def import_form():
    return _page(_form(blank=True))


@bp.post("/import")
@csrf.exempt
@admin_required
def import_upload():
    request.max_content_length = current_app.config["IMPORT_UPLOAD_MAX_BYTES"]
    try:
        form = _form()
        if not form.validate_on_submit():
            return _page(form, 400 if "csrf_token" in form.errors else 422)
        report = _import(form)
    except RequestEntityTooLarge:
        return _too_large()
    except (ImportFileError, UnknownNewsletter) as refused:
        return _page(form, 422, error=f"{refused} Nothing was imported.")
    audit("import_subscribers", report.audit_detail)
    db.session.commit()
    return _page(_form(blank=True), report=report)


def _too_large():
    limit = _upload_limit()
    message = f"The file is larger than {limit}: import it with `flask subscribers import`."
    return _page(_form(blank=True), 413, error=message)


def _import(form: ImportForm) -> imports.UploadReport:
    upload = form.file.data
    return imports.import_upload(
        upload.stream,
        upload.filename or "upload.csv",
        form.newsletter.data,
        encoding=(form.encoding.data or "").strip() or None,
        send_confirmations=form.send_confirmations.data,
    )


@bp.get("/import/rejected/<name>.csv")
@admin_required
def import_rejected_rows(name: str):
    path = imports.rejected_rows_file(name)
    if path is None:
        abort(404)
    audit("download_rejected_rows", name)
    db.session.commit()
    return send_file(
        path, mimetype="text/csv", as_attachment=True, download_name="rejected-rows.csv", max_age=0
    )
