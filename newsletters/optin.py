"""The second half of double opt-in: confirming a link, and a fresh link for an expired one."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update

import metrics
from database import utcnow
from extensions import db
from mailer.services import list_id_header, queue_mail
from mailer.suppressions import unsuppress
from newsletters import links
from newsletters.consent import slugs_key
from newsletters.models import (
    CONFIRMED,
    PENDING,
    UNSUBSCRIBED,
    Consent,
    Newsletter,
    Subscriber,
    Subscription,
)
from newsletters.services import (
    claim_confirmation,
    confirm_pending,
    lists_named,
    queue_confirmation,
)
from signing import ReaderGone


@dataclass(frozen=True)
class ConfirmOutcome:
    subscriber: Subscriber
    newly_confirmed: list[Newsletter]
    confirmed: list[Newsletter]  # every list the subscriber now receives
    left: list[Newsletter] = field(default_factory=list)  # named in the link, left since

    @property
    def already_confirmed(self) -> bool:
        return not self.newly_confirmed


def confirm(claim: links.ConfirmClaim) -> ConfirmOutcome:
    """Confirm the lists named in the link; safe to repeat (the second time changes nothing).

    Only pending subscriptions change, with one UPDATE … RETURNING, so of two concurrent
    confirmations one sees the rows and queues the welcome mail, the other sees none.
    A list the reader left after signing up stays left: an old link does not undo that.
    Confirming lifts a suppression of the address (a bounce long ago, an erasure): the reader
    has just shown that the address is theirs and wants the mail (CONTRACT.md, Suppressions).
    """
    subscriber = db.session.get(Subscriber, claim.subscriber_id)
    if subscriber is None:
        raise ReaderGone()
    named = lists_named(claim.slugs)
    newly_ids = confirm_pending(subscriber.id, [newsletter.id for newsletter in named])
    newly = [newsletter for newsletter in named if newsletter.id in newly_ids]
    if newly:
        metrics.CONFIRMATIONS.inc(len(newly))
        if claim.consent_id is not None:
            db.session.execute(
                update(Consent)
                .where(
                    Consent.id == claim.consent_id,
                    Consent.subscriber_id == subscriber.id,
                    Consent.confirmed_at.is_(None),
                )
                .values(confirmed_at=utcnow())
                .execution_options(synchronize_session=False)
            )
        unsuppress(subscriber.email)
        queue_welcome(subscriber, newly)
    left = [
        newsletter
        for newsletter, status in subscription_statuses(subscriber.id, claim.slugs)
        if status == UNSUBSCRIBED
    ]
    return ConfirmOutcome(subscriber, newly, confirmed_lists(subscriber.id), left)


def queue_welcome(subscriber: Subscriber, newsletters: list[Newsletter]) -> None:
    """One welcome per confirmation, with the list headers; its one-click leaves those lists."""
    slugs = [newsletter.slug for newsletter in newsletters]
    first = newsletters[0]
    queue_mail(
        to=subscriber.email,
        template="welcome",
        context={
            "email": subscriber.email,
            "newsletters": newsletters,
            "preferences_url": links.preferences_url(subscriber.id),
        },
        list_id=list_id_header(first.name, first.slug),
        unsubscribe_url=links.unsubscribe_url(subscriber.id, slugs),
        language=subscriber.language,  # kept from the signup, whatever this page speaks
    )


def resend_confirmation(claim: links.ConfirmClaim) -> bool:
    """A fresh link for the lists of an expired one that still wait; counts against the cap.

    ReaderGone when the reader's data is gone (erased, or purged as never confirmed).
    """
    subscriber = db.session.get(Subscriber, claim.subscriber_id)
    if subscriber is None:
        raise ReaderGone()
    waiting = [
        newsletter
        for newsletter, status in subscription_statuses(subscriber.id, claim.slugs)
        if status == PENDING and not newsletter.archived
    ]
    if not waiting or not claim_confirmation(subscriber.id, slugs_key(waiting)):
        return False
    consent_id = claim.consent_id
    if consent_id is not None and db.session.get(Consent, consent_id) is None:
        consent_id = None
    queue_confirmation(subscriber.email, subscriber.id, waiting, consent_id, subscriber.language)
    return True


def lists_to_confirm(claim: links.ConfirmClaim) -> list[tuple[Newsletter, str]]:
    """What the confirmation page shows; ReaderGone when the reader's data is gone."""
    if db.session.get(Subscriber, claim.subscriber_id) is None:
        raise ReaderGone()
    return subscription_statuses(claim.subscriber_id, claim.slugs)


def subscription_statuses(
    subscriber_id: int, slugs: tuple[str, ...]
) -> list[tuple[Newsletter, str]]:
    query = (
        select(Newsletter, Subscription.status)
        .join(Subscription, Subscription.newsletter_id == Newsletter.id)
        .where(Subscription.subscriber_id == subscriber_id, Newsletter.slug.in_(slugs))
        .order_by(Newsletter.id)
    )
    return [(newsletter, status) for newsletter, status in db.session.execute(query)]


def confirmed_lists(subscriber_id: int) -> list[Newsletter]:
    query = (
        select(Newsletter)
        .join(Subscription, Subscription.newsletter_id == Newsletter.id)
        .where(Subscription.subscriber_id == subscriber_id, Subscription.status == CONFIRMED)
        .order_by(Newsletter.id)
    )
    return list(db.session.scalars(query))
