"""Campaigns as staff see them: the list of campaigns, one campaign's page, the confirmation
before sending, the preview. The rules themselves are campaigns.services'."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from campaigns import figures, recipients, rendering, services
from campaigns.models import DRAFT, Campaign
from extensions import db
from mailer.suppressions import SuppressionPage, list_suppressions, unsuppress
from newsletters.models import Newsletter

SEND_LATER = "later"
INDEX_SIZE = 200


@dataclass(frozen=True)
class CampaignRow:
    campaign: Campaign
    list_name: str


@dataclass(frozen=True)
class CampaignPage:
    campaign: Campaign
    newsletter: Newsletter
    progress: figures.Progress
    outcome: figures.Outcome | None
    preview: rendering.Preview
    audience: int | None  # readers a draft or scheduled campaign would reach now

    @property
    def is_draft(self) -> bool:
        return self.campaign.status == DRAFT


@dataclass(frozen=True)
class Confirmation:
    campaign: Campaign
    newsletter: Newsletter
    readers: int
    at: datetime | None  # None: now


def campaign_index() -> list[CampaignRow]:
    """Newest first."""
    rows = db.session.execute(
        select(Campaign, Newsletter.name)
        .join(Newsletter, Newsletter.id == Campaign.newsletter_id)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
        .limit(INDEX_SIZE)
    )
    return [CampaignRow(campaign, name) for campaign, name in rows]


def list_choices(current_slug: str | None = None) -> list[SelectChoice]:
    """(slug, name) of the lists a campaign can be written for: the open ones, and the one a
    draft already names even if it was archived since."""
    query = select(Newsletter.slug, Newsletter.name).order_by(Newsletter.name)
    lists = db.session.execute(query.where(Newsletter.archived.is_(False))).all()
    if current_slug and current_slug not in {slug for slug, _ in lists}:
        lists += db.session.execute(query.where(Newsletter.slug == current_slug)).all()
    return [SelectChoice(slug, name) for slug, name in lists]


def campaign_page(campaign_id: int) -> CampaignPage:
    """Raises CampaignNotFound."""
    campaign = services.get_campaign(campaign_id)
    newsletter = services.newsletter_for(campaign)
    audience = None
    if campaign.started_at is None:
        audience = recipients.audience_size(newsletter)
    return CampaignPage(
        campaign=campaign,
        newsletter=newsletter,
        progress=figures.progress(campaign),
        outcome=figures.outcome(campaign),
        preview=rendering.preview(newsletter, campaign.subject, campaign.body_markdown),
        audience=audience,
    )


def draft_fields(page: CampaignPage) -> dict:
    """The compose form's values for a saved draft."""
    campaign = page.campaign
    return {"newsletter": page.newsletter.slug, "subject": campaign.subject,
            "body": campaign.body_markdown}  # fmt: skip


def send_report(outcome: services.SendOutcome) -> tuple[str, str]:
    """What staff read after sending (flash) and what the audit log keeps."""
    campaign = outcome.campaign
    if not outcome.changed:
        return f"It was already {campaign.status}: nothing changed.", "asked again: no change"
    if campaign.scheduled_at and campaign.started_at is None:
        when = f"{campaign.scheduled_at:%Y-%m-%d %H:%M} UTC"
        return f"Scheduled for {when}.", f"for {when}, {outcome.readers} readers now"
    return f"Sending to {outcome.readers:,} readers.", f"{outcome.readers} readers"


def preview(newsletter_slug: str, subject: str, body: str) -> rendering.Preview:
    """The HTML and text a reader of the list would get; an empty body previews as nothing."""
    newsletter = db.session.scalar(
        select(Newsletter).where(Newsletter.slug == (newsletter_slug or "")[:64])
    )
    if newsletter is None:
        raise services.CampaignError("Choose the list this campaign is for.", "newsletter")
    return rendering.preview(newsletter, subject or "", body or "")


def send_time(when: str, at_text: str | None) -> datetime | None:
    """When staff asked to send: None for now, else an aware UTC time (the form says UTC)."""
    if when != SEND_LATER:
        return None
    try:
        moment = datetime.fromisoformat((at_text or "").strip())
    except ValueError:
        raise services.CampaignError("Enter the date and time to send it, in UTC.", "at") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def confirmation(campaign_id: int, when: str, at_text: str | None) -> Confirmation:
    """What the confirmation step shows: the list and how many readers it reaches now.

    Refuses what sending would refuse (a past time, a campaign not a draft) before asking."""
    at = send_time(when, at_text)
    campaign = services.get_campaign(campaign_id)
    services.check_sendable(campaign, at)
    newsletter = services.newsletter_for(campaign)
    return Confirmation(campaign, newsletter, recipients.audience_size(newsletter), at)


def suppressions_page(page: int, reason: str | None) -> SuppressionPage:
    return list_suppressions(page=page, per_page=50, reason=reason or None)


def remove_suppression(address: str) -> bool:
    """Lift one suppression (the caller audits and commits); False if there was none."""
    return unsuppress(address)
