"""How a campaign is going and how it went, for staff pages, their JSON and the command line."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select

from campaigns.models import Campaign
from campaigns.recipients import unsubscribed_since
from mailer import campaign_outbox
from mailer.models import OutboxMessage


@dataclass(frozen=True)
class Progress:
    status: str
    recipients: int
    sent: int
    failed: int
    suppressed: int  # not sent: suppressed or unsubscribed since it was queued
    held: int
    queued: int
    cancelled: int

    @property
    def left(self) -> int:
        """Still to go: queued, or held while the campaign is paused."""
        return self.queued + self.held

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.suppressed

    @property
    def percent(self) -> float:
        if not self.recipients:
            return 100.0 if self.status == "sent" else 0.0
        return round(100.0 * self.done / self.recipients, 1)

    def as_json(self) -> dict:
        return asdict(self) | {"left": self.left, "done": self.done, "percent": self.percent}


@dataclass(frozen=True)
class Outcome:
    """The figures staff compare campaigns by."""

    recipients: int
    delivered: int
    failed: int
    bounced: int
    unsubscribed_since: int  # recipients who left the list after it started going out


def progress(campaign: Campaign) -> Progress:
    counts = campaign_outbox.campaign_counts(campaign.id)
    return Progress(
        status=campaign.status,
        recipients=campaign.recipients or 0,
        sent=counts["sent"],
        failed=counts["failed"],
        suppressed=counts["suppressed"],
        held=counts["held"],
        queued=counts["queued"],
        cancelled=counts["cancelled"],
    )


def outcome(campaign: Campaign) -> Outcome | None:
    """None before sending started."""
    if campaign.started_at is None:
        return None
    delivery = campaign_outbox.campaign_delivery(campaign.id)
    readers = select(OutboxMessage.subscriber_id).where(OutboxMessage.campaign_id == campaign.id)
    left = unsubscribed_since(campaign.newsletter_id, campaign.started_at, readers)
    return Outcome(
        recipients=campaign.recipients or delivery.recipients,
        delivered=delivery.delivered,
        failed=delivery.failed,
        bounced=delivery.bounced,
        unsubscribed_since=left,
    )
