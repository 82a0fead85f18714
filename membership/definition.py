"""What a member is, in words: the one sentence the membership page, /api/goal's `definition`
and the staff dashboard show.

It is written from COUNTING_STATUSES, the statuses the counter's COUNTS_AS_MEMBER counts
(membership/goal.py), so the page cannot promise one thing while the counter counts another: a
status added there has no words here, and member_definition() refuses to run until it has.
"""

from __future__ import annotations

from babel.lists import format_list
from flask_babel import get_locale, gettext, lazy_gettext

from membership.models import COUNTING_STATUSES

# Each status the counter counts, as it reads in "…a membership that is ___".
STATUS_WORDS = {
    "active": lazy_gettext("active"),
    "trialing": lazy_gettext("in a free trial"),
    "past_due": lazy_gettext(
        "past due (a payment failed and Stripe is still retrying it: the grace period before "
        "the membership ends)"
    ),
}


class UndefinedStatus(LookupError):
    """The counter counts a status the definition has no words for."""


def counted_statuses_in_words() -> str:
    """The counted statuses joined as a list with "or", in the request's language."""
    missing = [status for status in COUNTING_STATUSES if status not in STATUS_WORDS]
    if missing:
        raise UndefinedStatus(f"no words for the counted status(es) {missing}")
    words = [str(STATUS_WORDS[status]) for status in COUNTING_STATUSES]
    return format_list(words, style="or", locale=get_locale() or "en")


def member_definition() -> str:
    """The sentence, in the request's language (English outside a request)."""
    return gettext(
        "A member is one person (one Stripe customer) with at least one monthly or yearly "
        "membership that is %(statuses)s. Each person counts once, however many memberships "
        "they hold, and one-time contributions are not counted. The count follows the status "
        "of the membership alone: a refund or a lost payment dispute does not change it.",
        statuses=counted_statuses_in_words(),
    )
