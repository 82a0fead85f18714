"""What campaigns hand the mailer: how their rows are rendered and who still wants them.

register_with_mailer() runs in create_app, so every process that sends (`outbox work`, a web
process's own sender in development) renders campaign rows the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from campaigns import rendering
from campaigns.models import Campaign
from campaigns.recipients import confirmed_since, still_subscribed
from campaigns.services import CAMPAIGN_KIND, TEST_KIND, move_campaigns_along
from extensions import db
from mailer.pass_hooks import register_pass_hook
from mailer.recipients import register_recipient_filter
from mailer.rendering import QueuedMail, RenderedMail, register_renderer
from newsletters.links import ReaderLinks


class UnknownCampaign(LookupError):
    pass


def register_with_mailer() -> None:
    register_renderer(CAMPAIGN_KIND, render_campaign_rows)
    register_renderer(TEST_KIND, render_test_rows)
    register_recipient_filter(CAMPAIGN_KIND, rows_still_wanted)
    register_pass_hook("campaigns", move_campaigns_along)


def _lists_of(campaign_ids: set[int]) -> dict[int, int]:
    """campaign id -> its list's id."""
    rows = db.session.execute(
        select(Campaign.id, Campaign.newsletter_id).where(Campaign.id.in_(campaign_ids))
    )
    return {row.id: row.newsletter_id for row in rows}


def render_campaign_rows(rows: Sequence[QueuedMail]) -> list[RenderedMail]:
    """Each reader's message: the campaign's frame once per batch, their own links in it."""
    lists = _lists_of({row.campaign_id for row in rows})
    confirmed: dict[int, dict] = {}
    for campaign_id, newsletter_id in lists.items():
        readers = [row.subscriber_id for row in rows if row.campaign_id == campaign_id]
        confirmed[campaign_id] = confirmed_since(readers, newsletter_id)
    frames: dict[tuple, rendering.Frame] = {}
    reader_links = ReaderLinks()
    rendered = []
    for row in rows:
        frame = frames.get((row.campaign_id, row.language))
        if frame is None:
            frame = rendering.frame_for(row.campaign_id, row.language)
            if frame is None:
                raise UnknownCampaign(f"campaign {row.campaign_id} no longer exists")
            frames[row.campaign_id, row.language] = frame
        since = confirmed[row.campaign_id].get(row.subscriber_id)
        rendered.append(rendering.for_reader(frame, reader_links, row.subscriber_id, since))
    return rendered


def render_test_rows(rows: Sequence[QueuedMail]) -> list[RenderedMail]:
    rendered = []
    for row in rows:
        campaign_id = (row.context or {}).get("campaign_id")
        frame = rendering.frame_for(campaign_id, row.language, test=True) if campaign_id else None
        if frame is None:
            raise UnknownCampaign(f"campaign {campaign_id} no longer exists")
        rendered.append(rendering.for_test(frame))
    return rendered


def rows_still_wanted(rows: Sequence[QueuedMail]) -> set[int]:
    """The rows whose reader is still subscribed to the campaign's list (confirmed)."""
    lists = _lists_of({row.campaign_id for row in rows})
    pairs = {
        row.id: (row.subscriber_id, lists[row.campaign_id])
        for row in rows
        if row.campaign_id in lists and row.subscriber_id is not None
    }
    subscribed = still_subscribed(pairs.values())
    return {row_id for row_id, pair in pairs.items() if pair in subscribed}
