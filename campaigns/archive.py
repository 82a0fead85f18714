"""The public archive: a list's sent campaigns, newest first, and each one's sanitised text.

Members-only lists show a non-member the first paragraph and an invitation to join.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from campaigns import content
from campaigns.models import SENT, Campaign
from extensions import db
from newsletters.models import Newsletter


@dataclass(frozen=True)
class ArchiveEntry:
    id: int
    subject: str
    sent_at: datetime


@dataclass(frozen=True)
class Issue:
    newsletter: Newsletter
    id: int
    subject: str
    sent_at: datetime
    html: str  # the whole body, or only its first paragraph for a members-only list's teaser
    teaser: bool  # True: the rest is for members


def _newsletter(slug: str) -> Newsletter | None:
    return db.session.scalar(select(Newsletter).where(Newsletter.slug == slug[:64]))


def archive_of(slug: str) -> tuple[Newsletter, list[ArchiveEntry]] | None:
    """The list and its sent campaigns, newest first; None for an unknown list."""
    newsletter = _newsletter(slug)
    if newsletter is None:
        return None
    rows = db.session.execute(
        select(Campaign.id, Campaign.subject, Campaign.finished_at)
        .where(Campaign.newsletter_id == newsletter.id, Campaign.status == SENT)
        .order_by(Campaign.finished_at.desc(), Campaign.id.desc())
    )
    return newsletter, [ArchiveEntry(row.id, row.subject, row.finished_at) for row in rows]


def sent_issue(slug: str, campaign_id: int, *, full_text: bool) -> Issue | None:
    """One sent campaign of the list; None for a draft, a cancelled one or an unknown id.

    `full_text` says whether the visitor may read a members-only campaign in full.
    """
    newsletter = _newsletter(slug)
    if newsletter is None:
        return None
    campaign = db.session.scalar(
        select(Campaign).where(
            Campaign.id == campaign_id,
            Campaign.newsletter_id == newsletter.id,
            Campaign.status == SENT,
        )
    )
    if campaign is None:
        return None
    body = content.render_html(campaign.body_markdown)
    teaser = newsletter.members_only and not full_text
    return Issue(
        newsletter=newsletter,
        id=campaign.id,
        subject=campaign.subject,
        sent_at=campaign.finished_at,
        html=content.first_paragraph(body) if teaser else body,
        teaser=teaser,
    )
