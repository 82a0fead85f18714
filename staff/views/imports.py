"""Staff page for importing subscribers from a file: admins only, audited.

The upload is the one staff request allowed a large body (IMPORT_UPLOAD_MAX_BYTES): the limit
must be raised before anything reads the body, so the route is left out of the global CSRF
check (which reads the form) and its form checks the token itself once the limit is raised.
"""

from __future__ import annotations

from flask import abort, current_app, render_template, request, send_file
from werkzeug.exceptions import RequestEntityTooLarge

from extensions import csrf, db
from newsletters.import_file import ImportFileError
from newsletters.services import UnknownNewsletter
from staff import imports
from staff.access import admin_required, audit
from staff.forms import ImportForm
from staff.views.blueprint import bp


def _form() -> ImportForm:
    form = ImportForm()
    form.newsletter.choices = imports.list_choices()
    return form


def _page(form: ImportForm, status: int = 200, report=None, error: str | None = None):
    limit_mb = current_app.config["IMPORT_UPLOAD_MAX_BYTES"] // 2**20
    context = {"form": form, "report": report, "error": error, "limit_mb": limit_mb}
    return render_template("staff/import.html", **context), status


@bp.get("/import")
@admin_required
def import_form():
    return _page(_form())


@bp.post("/import")
@csrf.exempt
@admin_required
def import_upload():
    request.max_content_length = current_app.config["IMPORT_UPLOAD_MAX_BYTES"]
    try:
        form = _form()
        if not form.validate_on_submit():
            return _page(form, 400 if form.csrf_token.errors else 422)
        upload = form.file.data
        report = imports.import_upload(
            upload.stream,
            upload.filename or "upload.csv",
            form.newsletter.data,
            encoding=form.encoding.data.strip() or None,
            send_confirmations=form.send_confirmations.data,
        )
    except RequestEntityTooLarge:
        limit = current_app.config["IMPORT_UPLOAD_MAX_BYTES"] // 2**20
        message = f"The file is larger than {limit} MB: import it with `flask subscribers import`."
        return _page(_form(), 413, error=message)
    except (ImportFileError, UnknownNewsletter) as refused:
        return _page(form, 422, error=f"{refused} Nothing was imported.")
    audit(
        "import_subscribers",
        f"{report.file_name} into {report.newsletter_slug}: "
        f"{report.result.summary()}; {report.rejected_count} rejected",
    )
    db.session.commit()
    return _page(_form(), report=report)


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
