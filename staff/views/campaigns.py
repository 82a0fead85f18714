"""Staff pages for campaigns: write (with a preview), test, confirm and send, follow, pause,
cancel. Admins and editors alike; sending always passes the confirmation page."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from campaigns import services
from campaigns.figures import progress
from errors import api_error
from extensions import db
from security import remote_images
from staff import campaigns as pages
from staff.access import audit
from staff.forms import ActionForm, CampaignForm, SendForm, TestSendForm
from staff.views.blueprint import bp

# A campaign's Markdown is far past the 16 KiB that public forms may send.
COMPOSE_BODY_LIMIT = 1024 * 1024
COMPOSE_ENDPOINTS = {"staff.campaign_new", "staff.campaign_detail", "staff.campaign_preview"}


@bp.url_value_preprocessor
def larger_bodies_for_composing(endpoint, _values):
    """Runs before the CSRF check reads the form, which would refuse a long issue."""
    if endpoint in COMPOSE_ENDPOINTS:
        request.max_content_length = COMPOSE_BODY_LIMIT
        request.max_form_memory_size = COMPOSE_BODY_LIMIT


@bp.errorhandler(services.CampaignNotFound)
def campaign_not_found(error):
    return render_template("staff/message.html", title="Not found", message=error.message), 404


def _compose_page(form: CampaignForm, page=None, preview=None, error=None, status=200):
    form.newsletter.choices = pages.list_choices(form.newsletter.data)
    if error is not None:
        (getattr(form, error.field).errors if error.field else form.form_errors).append(
            error.message
        )
    context = {"form": form, "page": page, "preview": preview, "send_form": SendForm()}
    context |= {"test_form": TestSendForm(to=current_user.email), "action_form": ActionForm()}
    return render_template("staff/campaign_compose.html", **context), status


def _done(campaign_id: int, action: str, message: str, detail: str = ""):
    audit(action, f"campaign #{campaign_id}{': ' + detail if detail else ''}")
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("staff.campaign_detail", campaign_id=campaign_id))


def _refused(campaign_id: int, error: services.CampaignError):
    if isinstance(error, services.CampaignNotFound):
        raise error  # a 404 page, not a message on a page that does not exist
    db.session.rollback()
    flash(error.message, "error")
    return redirect(url_for("staff.campaign_detail", campaign_id=campaign_id))


@bp.get("/campaigns")
def campaign_index():
    return render_template("staff/campaigns.html", rows=pages.campaign_index())


@bp.route("/campaigns/new", methods=["GET", "POST"])
@remote_images  # the preview shows the campaign's https images
def campaign_new():
    form = CampaignForm()
    if request.method == "GET" or not form.validate_on_submit():
        return _compose_page(form)
    return _save_or_preview(form, None)


@bp.route("/campaigns/<int:campaign_id>", methods=["GET", "POST"])
@remote_images
def campaign_detail(campaign_id: int):
    page = pages.campaign_page(campaign_id)
    if not page.is_draft:
        return render_template("staff/campaign.html", page=page, action_form=ActionForm())
    form = CampaignForm(data=pages.draft_fields(page))  # a POST's own fields win
    if request.method == "GET" or not form.validate_on_submit():
        return _compose_page(form, page, page.preview)
    return _save_or_preview(form, page)


def _save_or_preview(form: CampaignForm, page):
    """The compose form's two buttons: Preview (nothing saved; works without JavaScript)
    and Save draft."""
    fields = (form.newsletter.data, form.subject.data, form.body.data)
    try:
        if request.form.get("action") == "preview":
            return _compose_page(form, page, pages.preview(*fields))
        if page is None:
            campaign = services.create_draft(*fields, created_by=current_user.email)
            return _done(campaign.id, "campaign_created", "The draft was saved.")
        services.update_draft(page.campaign.id, *fields)
    except services.CampaignError as error:
        db.session.rollback()
        return _compose_page(form, page, None, error, status=422)
    return _done(page.campaign.id, "campaign_edited", "The draft was saved.")


@bp.post("/campaigns/preview")
def campaign_preview():
    """The live preview: {newsletter, subject, body} in, {html, text} out (same CSRF token)."""
    asked = request.get_json(silent=True) or {}
    fields = (str(asked.get(key) or "") for key in ("newsletter", "subject", "body"))
    try:
        shown = pages.preview(*fields)
    except services.CampaignError as error:
        return api_error(422, "invalid_campaign", error.message, error.field)
    return jsonify({"html": shown.html, "text": shown.text})


@bp.post("/campaigns/<int:campaign_id>/test")
def campaign_test(campaign_id: int):
    form = TestSendForm()
    try:
        address = services.send_test(campaign_id, form.to.data or "")
    except services.CampaignError as error:
        return _refused(campaign_id, error)
    message = f"A test is on its way to {address}."
    return _done(campaign_id, "campaign_test_sent", message, f"test to {address}")


@bp.post("/campaigns/<int:campaign_id>/confirm")
def campaign_confirm(campaign_id: int):
    """The confirmation step: which list, how many readers, when; nothing is sent yet."""
    form = SendForm()
    try:
        confirmation = pages.confirmation(campaign_id, form.when.data, form.at.data)
    except services.CampaignError as error:
        return _refused(campaign_id, error)
    return render_template(
        "staff/campaign_confirm.html", confirmation=confirmation, action_form=ActionForm()
    )


@bp.post("/campaigns/<int:campaign_id>/send")
def campaign_send(campaign_id: int):
    """Only the confirmation page's button posts here (it carries `confirmed`)."""
    if request.form.get("confirmed") != "yes":
        return redirect(url_for("staff.campaign_detail", campaign_id=campaign_id))
    try:
        at = pages.send_time("later" if request.form.get("at") else "now", request.form.get("at"))
        outcome = services.send(campaign_id, at)
    except services.CampaignError as error:
        return _refused(campaign_id, error)
    action = "campaign_scheduled" if at else "campaign_sent"
    return _done(campaign_id, action, *pages.send_report(outcome))


@bp.post("/campaigns/<int:campaign_id>/<any(pause, resume, cancel):change>")
def campaign_change(campaign_id: int, change: str):
    try:
        getattr(services, change)(campaign_id)
    except services.CampaignError as error:
        return _refused(campaign_id, error)
    done = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[change]
    return _done(campaign_id, f"campaign_{done}", f"The campaign was {done}.")


@bp.get("/campaigns/<int:campaign_id>/progress.json")
def campaign_progress(campaign_id: int):
    return jsonify(progress(services.get_campaign(campaign_id)).as_json())
