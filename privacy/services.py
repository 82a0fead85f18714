"""A reader's data: mailing the links, the export, and the erasure.

Every package owns the deletes of its own tables; this module only asks each one, through its
reader_data service, and keeps the erasure register. Nothing here commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app

from database import utcnow
from extensions import db
from mailer import reader_data as mail_data
from mailer.recipients import register_transactional_kind
from mailer.services import queue_mail
from mailer.suppressions import address_hash, suppress_hash_only
from membership import reader_data as member_data
from membership.services import PORTAL_LINK_MAX_AGE_SECONDS, portal_url
from newsletters import reader_data as newsletter_data
from payments import reader_data as payment_data
from privacy import links
from privacy.models import BY_READER, Erasure

log = logging.getLogger(__name__)

EXPORT_MAIL, ERASURE_MAIL = "data_export_link", "erasure_link"
# The reader asked for these: they reach a suppressed address too (CONTRACT.md, Suppressions).
for _kind in (EXPORT_MAIL, ERASURE_MAIL):
    register_transactional_kind(_kind)


@dataclass(frozen=True)
class LinkSent:
    email: str
    hours: int = links.LINK_HOURS


@dataclass(frozen=True)
class ErasurePage:
    email: str
    manage_membership_urls: list[str]  # one per membership that still counts (and is paid)


@dataclass(frozen=True)
class ErasureDone:
    erasure_id: int
    hash_prefix: str
    removed: dict[str, int]
    # Erasing ends no membership: the page links each one to "Manage membership" to cancel.
    manage_membership_urls: list[str]
    portal_hours: int = PORTAL_LINK_MAX_AGE_SECONDS // 3600


def _mail_link(subscriber_id: int, template: str, url: str) -> LinkSent:
    reader = newsletter_data.reader(subscriber_id)
    queue_mail(
        to=reader.email,
        template=template,
        context={"email": reader.email, "link_url": url, "hours": links.LINK_HOURS},
        language=reader.language,
    )
    return LinkSent(reader.email)


def mail_export_link(subscriber_id: int) -> LinkSent:
    """Mail the reader a link to their data; ReaderGone when they are gone."""
    return _mail_link(subscriber_id, EXPORT_MAIL, links.export_url(subscriber_id))


def mail_erasure_link(subscriber_id: int) -> LinkSent:
    """Mail the reader a link to the page that erases their data; ReaderGone when gone."""
    return _mail_link(subscriber_id, ERASURE_MAIL, links.erasure_url(subscriber_id))


def mail_window_start() -> datetime:
    return utcnow() - timedelta(days=int(current_app.config["OUTBOX_RETENTION_DAYS"]))


def reader_export(subscriber_id: int) -> dict:
    """Every row that names the reader, as one JSON-ready document."""
    reader = newsletter_data.reader(subscriber_id)
    newsletters = newsletter_data.reader_export(subscriber_id)
    member = member_data.member_record(reader.email_key)
    paid = payment_data.payment_record(
        reader.email_key, member.customer_ids, member.subscription_ids
    )
    config = current_app.config
    return {
        "exported_at": utcnow().isoformat(),
        "publisher": config.get("SITE_NAME", "The Newsroom"),
        "email": reader.email,
        **newsletters,
        "suppressions": mail_data.suppressions_of(reader.email),
        "memberships": member.memberships,
        "membership_history": member.history,
        "contributions": member.contributions,
        "stripe_customers": paid.stripe_customers,
        "payments": paid.payments,
        "refunds_and_disputes": paid.refunds_and_disputes,
        "mail": mail_data.mail_sent_to(
            {reader.email, reader.email_key}, reader.email_key, mail_window_start()
        ),
        "retention": {
            "mail_days": int(config["OUTBOX_RETENTION_DAYS"]),
            "unconfirmed_signup_days": int(config["PENDING_RETENTION_DAYS"]),
        },
    }


def _manage_membership_urls(address_key: str) -> list[str]:
    return [portal_url(customer) for customer in member_data.counted_customers(address_key)]


def erasure_page(subscriber_id: int) -> ErasurePage:
    reader = newsletter_data.reader(subscriber_id)
    return ErasurePage(reader.email, _manage_membership_urls(reader.email_key))


def erase_reader(subscriber_id: int, requested_by: str = BY_READER) -> ErasureDone:
    """Delete every row that names the reader; keep their address only as a keyed hash among
    the suppressions. Memberships stay counted (their address cleared). ReaderGone when the
    reader is gone already."""
    reader = newsletter_data.reader(subscriber_id, lock=True)
    manage_urls = _manage_membership_urls(reader.email_key)
    member = member_data.forget_member(reader.email_key)
    paid = payment_data.forget_payments(
        reader.email_key, member.customer_ids, member.subscription_ids
    )
    mail = mail_data.forget_mail({reader.email, reader.email_key}, reader.email_key)
    suppress_hash_only(reader.email)
    newsletters = newsletter_data.forget_reader(subscriber_id)
    removed = {
        "subscriptions": newsletters.subscriptions,
        "consent_records": newsletters.consents,
        "mail_deleted": mail.deleted,
        "campaign_mail_anonymised": mail.anonymised,
        "memberships_address_cleared": member.subscriptions,
        "contributions_address_cleared": member.contributions,
        "payments": paid.payments,
        "refunds_and_disputes": paid.refunds_and_disputes,
        "stripe_customers_forgotten": paid.stripe_customers,
    }
    prefix = address_hash(reader.email)[:12]
    entry = Erasure(
        subscriber_id=subscriber_id,
        address_hash_prefix=prefix,
        requested_by=requested_by,
        removed=removed,
    )
    db.session.add(entry)
    db.session.flush()
    log.info(
        "reader #%s erased (hash %s) at the request of the %s", subscriber_id, prefix, requested_by
    )
    return ErasureDone(entry.id, prefix, removed, manage_urls)
