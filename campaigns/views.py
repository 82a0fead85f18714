"""The public archive pages: GET /newsletters/<slug> and /newsletters/<slug>/<id>."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from campaigns import archive
from security import remote_images

bp = Blueprint("archive", __name__)


@bp.get("/newsletters/<slug>")
def newsletter_archive(slug: str):
    found = archive.archive_of(slug)
    if found is None:
        abort(404)
    newsletter, entries = found
    return render_template("campaigns/archive.html", newsletter=newsletter, entries=entries)


@bp.get("/newsletters/<slug>/<int:campaign_id>")
@remote_images
def sent_issue(slug: str, campaign_id: int):
    # Signed-in staff read members-only issues in full, as members do in their mail.
    issue = archive.sent_issue(slug, campaign_id, full_text=current_user.is_authenticated)
    if issue is None:
        abort(404)
    return render_template("campaigns/issue.html", issue=issue)
