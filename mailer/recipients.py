"""Who still wants their message when it goes out: the send-time check of every claimed row.

A reader may unsubscribe, or an address be suppressed, between queueing and sending. Before a
batch is rendered the worker drops, and marks `suppressed`:

- rows to a suppressed address, for every kind of list mail: everything except the kinds
  registered as transactional (a confirmation the reader just asked for, membership mail,
  links a reader asked to be sent), which the contract sends to suppressed addresses too;
- rows a higher package's filter no longer wants: register_recipient_filter(kind, fn) where
  fn(rows) returns the ids of the rows still wanted (campaigns drop readers who left the list).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from mailer.rendering import QueuedMail
from mailer.suppressions import suppressed_among

RecipientFilter = Callable[[Sequence[QueuedMail]], Collection[int]]

SUPPRESSED_ADDRESS = "not sent: the address is suppressed"
NO_LONGER_WANTED = "not sent: the reader no longer receives this (unsubscribed since queued)"

_filters: dict[str, RecipientFilter] = {}
# Mail a reader asked for, sent even to a suppressed address (CONTRACT.md, Suppressions).
_transactional: set[str] = {"confirm", "member_welcome", "membership_portal"}


def register_recipient_filter(kind: str, recipient_filter: RecipientFilter) -> None:
    """fn(rows of `kind`) -> ids of those still wanted; the rest are marked `suppressed`."""
    _filters[kind] = recipient_filter


def register_transactional_kind(kind: str) -> None:
    """Mail of `kind` is no list mail: it reaches suppressed addresses too."""
    _transactional.add(kind)


def is_list_mail(kind: str) -> bool:
    return kind not in _transactional


def unwanted(rows: Sequence[QueuedMail]) -> dict[int, str]:
    """Row id -> why it must not go, for the rows of a claimed batch that must not."""
    list_mail = [row for row in rows if is_list_mail(row.kind)]
    # Addresses in the outbox were stored as normalised_address() writes them.
    suppressed = suppressed_among({row.to_addr for row in list_mail}, already_normalised=True)
    reasons = {row.id: SUPPRESSED_ADDRESS for row in list_mail if row.to_addr in suppressed}
    by_kind: dict[str, list[QueuedMail]] = {}
    for row in rows:
        if row.id not in reasons and row.kind in _filters:
            by_kind.setdefault(row.kind, []).append(row)
    for kind, group in by_kind.items():
        wanted = set(_filters[kind](group))
        reasons.update({row.id: NO_LONGER_WANTED for row in group if row.id not in wanted})
    return reasons
