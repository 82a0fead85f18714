"""Campaign rules: drafts, tests, sending now or later, pausing, resuming, cancelling.

Every change of status is one conditional UPDATE … WHERE status IN (…): of two requests that
race (a double click, `campaigns send` run twice, two workers starting a scheduled campaign),
one changes the row and the other finds nothing to change. The recipients are queued in the
same transaction as the change that starts sending, so they are fixed at that moment: the
list's confirmed readers (members only, for a members-only list) minus suppressed addresses.
Nothing here commits; the caller commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from addresses import InvalidEmail, normalise_email
from campaigns import recipients
from campaigns.models import (
    CANCELLED,
    DRAFT,
    MAX_SUBJECT,
    PAUSED,
    SCHEDULED,
    SENDING,
    SENT,
    UNDER_WAY,
    Campaign,
)
from database import utcnow
from extensions import db
from mailer import campaign_outbox
from mailer.models import HELD as OUTBOX_HELD
from mailer.models import QUEUED as OUTBOX_QUEUED
from mailer.models import OutboxMessage
from mailer.services import queue_mail
from newsletters.models import Newsletter

CAMPAIGN_KIND = "campaign"  # outbox rows of a campaign's readers
TEST_KIND = "campaign_test"  # a test sent to one address (no campaign_id: not in its figures)
MAX_BODY = 200_000  # characters of Markdown; a long issue is a tenth of this


class CampaignError(ValueError):
    """A request that cannot be done as asked; `field` names the form field it is about."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class CampaignNotFound(CampaignError):
    def __init__(self, campaign_id: int) -> None:
        super().__init__(f"There is no campaign {campaign_id}.")


@dataclass(frozen=True)
class SendOutcome:
    campaign: Campaign
    changed: bool  # False: it was already under way, and nothing was done
    readers: int  # queued for (sending now), or would reach now (scheduled)


# --- drafts -------------------------------------------------------------------------------


def get_campaign(campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignNotFound(campaign_id)
    return campaign


def newsletter_for(campaign: Campaign) -> Newsletter:
    return db.session.get(Newsletter, campaign.newsletter_id)


def _newsletter(slug: str) -> Newsletter:
    slug = (slug or "").strip()
    newsletter = db.session.scalar(select(Newsletter).where(Newsletter.slug == slug[:64]))
    if newsletter is None:
        raise CampaignError(f"There is no newsletter {slug[:64]!r}.", "newsletter")
    return newsletter


def _subject(subject: str) -> str:
    subject = " ".join((subject or "").split())  # one line: it goes into a mail header
    if not subject:
        raise CampaignError("Write a subject.", "subject")
    if len(subject) > MAX_SUBJECT:
        raise CampaignError(f"Keep the subject under {MAX_SUBJECT} characters.", "subject")
    return subject


def _body(body: str) -> str:
    body = (body or "").replace("\r\n", "\n").replace("\x00", "")
    if not body.strip():
        raise CampaignError("Write the body of the campaign.", "body")
    if len(body) > MAX_BODY:
        raise CampaignError(f"Keep the body under {MAX_BODY:,} characters.", "body")
    return body


def _checked(newsletter_slug: str, subject: str, body: str) -> tuple[Newsletter, str, str]:
    """Every field checked, the first problem raised (the list first: it decides the rest)."""
    return _newsletter(newsletter_slug), _subject(subject), _body(body)


def create_draft(newsletter_slug: str, subject: str, body: str, created_by: str) -> Campaign:
    newsletter, subject, body = _checked(newsletter_slug, subject, body)
    now = utcnow()
    campaign = Campaign(
        newsletter_id=newsletter.id,
        subject=subject,
        body_markdown=body,
        status=DRAFT,
        created_by=created_by[:320],
        created_at=now,
        updated_at=now,
    )
    db.session.add(campaign)
    db.session.flush()
    return campaign


def update_draft(campaign_id: int, newsletter_slug: str, subject: str, body: str) -> Campaign:
    """Change a draft; once sending was asked for, the text is what readers get."""
    newsletter, subject, body = _checked(newsletter_slug, subject, body)
    changed = db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == DRAFT)
        .values(newsletter_id=newsletter.id, subject=subject, body_markdown=body)
        .returning(Campaign.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    if changed is None:
        campaign = get_campaign(campaign_id)
        raise CampaignError(f"Only a draft can be changed; this campaign is {campaign.status}.")
    return get_campaign(campaign_id)


def send_test(campaign_id: int, to: str) -> str:
    """Queue the campaign to one address, marked as a test; returns the address as written."""
    get_campaign(campaign_id)
    try:
        address = normalise_email(to or "")
    except InvalidEmail as error:
        raise CampaignError("Enter a valid email address, like name@example.com.", "to") from error
    queue_mail(to=address, template=TEST_KIND, context={"campaign_id": campaign_id})
    return address


# --- sending ------------------------------------------------------------------------------


def check_sendable(campaign: Campaign, at: datetime | None) -> None:
    """Refuse what send() would refuse, so the confirmation step can say it first."""
    if at is not None and at <= utcnow():
        raise CampaignError("That time has passed: choose a time in the future.", "at")
    if campaign.status == SENT:
        raise CampaignError("This campaign was already sent; it cannot be sent again.")
    if campaign.status == CANCELLED:
        raise CampaignError("This campaign was cancelled; it cannot be sent.")


def send(campaign_id: int, at: datetime | None = None) -> SendOutcome:
    """Send now, or at `at` (aware, in the future). Asking again changes nothing."""
    campaign = get_campaign(campaign_id)
    if campaign.status in UNDER_WAY:
        return SendOutcome(campaign, changed=False, readers=_readers_of(campaign))
    check_sendable(campaign, at)
    if at is None:
        if _start(campaign_id, from_status=DRAFT, now=utcnow()):
            return SendOutcome(_fresh(campaign), changed=True, readers=campaign.recipients or 0)
    elif _change(campaign_id, (DRAFT,), status=SCHEDULED, scheduled_at=at):
        campaign = _fresh(campaign)
        return SendOutcome(campaign, changed=True, readers=_readers_of(campaign))
    return _refused_or_raced(_fresh(campaign))


def _refused_or_raced(campaign: Campaign) -> SendOutcome:
    """Another request changed the campaign between our read and our UPDATE."""
    check_sendable(campaign, None)
    return SendOutcome(campaign, changed=False, readers=_readers_of(campaign))


def _readers_of(campaign: Campaign) -> int:
    if campaign.recipients is not None:
        return campaign.recipients
    return recipients.audience_size(newsletter_for(campaign))


def _start(campaign_id: int, *, from_status: str, now: datetime) -> bool:
    """Fix the recipients and queue one message each: the one place sending starts."""
    if not _change(campaign_id, (from_status,), status=SENDING, started_at=now):
        return False
    campaign = get_campaign(campaign_id)
    campaign_outbox.queue_for_recipients(
        CAMPAIGN_KIND, campaign_id, recipients.audience(newsletter_for(campaign)), at=now
    )
    # Counted from the rows rather than taken from the INSERT's rowcount, which psycopg does
    # not report for INSERT … SELECT … ON CONFLICT (-1).
    queued = sum(campaign_outbox.campaign_counts(campaign_id).values())
    values = {"recipients": queued}
    if queued == 0:  # nobody to wait for
        values |= {"status": SENT, "finished_at": now}
    _change(campaign_id, (SENDING,), **values)
    return True


def start_due_campaigns() -> list[int]:
    """Start every scheduled campaign whose time has come (run by `outbox work`, every pass);
    several workers may run it at once: each campaign starts once."""
    now = utcnow()
    due = db.session.scalars(
        select(Campaign.id).where(Campaign.status == SCHEDULED, Campaign.scheduled_at <= now)
    ).all()
    return [id_ for id_ in due if _start(id_, from_status=SCHEDULED, now=now)]


def finish_sent_campaigns() -> list[int]:
    """Campaigns with no message left to go become sent (and appear in the archive)."""
    sending = db.session.scalars(select(Campaign.id).where(Campaign.status == SENDING)).all()
    finished = []
    for campaign_id in sending:
        if _messages_left(campaign_id):
            continue
        if _change(campaign_id, (SENDING,), status=SENT, finished_at=utcnow()):
            finished.append(campaign_id)
    return finished


def _messages_left(campaign_id: int) -> bool:
    """Whether any of its messages may still go: stops at the first one found, where counting
    them all would read every row of a large campaign on each pass of each worker."""
    left = select(OutboxMessage.id).where(
        OutboxMessage.campaign_id == campaign_id,
        OutboxMessage.status.in_((OUTBOX_QUEUED, OUTBOX_HELD)),
    )
    return db.session.execute(left.limit(1)).first() is not None


def move_campaigns_along() -> tuple[list[int], list[int]]:
    """What `outbox work` runs on each pass: start the scheduled campaigns that are due, and
    mark sent those with nothing left to go; (started, finished) ids. Commits."""
    started = start_due_campaigns()
    db.session.commit()
    finished = finish_sent_campaigns()
    db.session.commit()
    return started, finished


def pause(campaign_id: int) -> Campaign:
    if not _change(campaign_id, (SENDING,), status=PAUSED):
        raise CampaignError(_cannot("paused", get_campaign(campaign_id)))
    campaign_outbox.hold_campaign(campaign_id)
    return get_campaign(campaign_id)


def resume(campaign_id: int) -> Campaign:
    if not _change(campaign_id, (PAUSED,), status=SENDING):
        raise CampaignError(_cannot("resumed", get_campaign(campaign_id)))
    campaign_outbox.release_campaign(campaign_id)
    return get_campaign(campaign_id)


def cancel(campaign_id: int) -> Campaign:
    """Stop what is not yet sent; what was sent stays sent."""
    under_way = (DRAFT, *UNDER_WAY)
    if not _change(campaign_id, under_way, status=CANCELLED, finished_at=utcnow()):
        raise CampaignError(_cannot("cancelled", get_campaign(campaign_id)))
    campaign_outbox.cancel_campaign(campaign_id)
    return get_campaign(campaign_id)


def _cannot(what: str, campaign: Campaign) -> str:
    return f"This campaign is {campaign.status}: it cannot be {what}."


def _change(campaign_id: int, from_statuses: tuple[str, ...], **values) -> bool:
    """One conditional UPDATE: True when this call made the change."""
    changed = db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status.in_(from_statuses))
        .values(updated_at=utcnow(), **values)
        .returning(Campaign.id)
        .execution_options(synchronize_session=False)
    )
    return changed.first() is not None


def _fresh(campaign: Campaign) -> Campaign:
    db.session.refresh(campaign)
    return campaign
