"""Hypothesis strategies for the fuzz tests: awkward text, JSON of any shape, form fields."""

from __future__ import annotations

import string
from urllib.parse import quote

from hypothesis import strategies as st

# Text as attackers and broken clients send it: NUL, control characters, full-width forms,
# right-to-left marks, very long strings, numbers past 2**31, nothing at all.
awkward_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=string.printable, max_size=40),
    st.sampled_from(
        [
            "",
            "\x00",
            "a\x00b@example.com",
            "＝1+1",
            " =cmd",
            "\u202e",
            "2147483648",
            "-1",
            "9" * 30,
            "NaN",
            "[" * 50,
            "reader@example.com",
            "Joe <joe@example.com>",
            "x" * 5000,
        ]
    ),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | awkward_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(awkward_text, inner, max_size=4),
    max_leaves=12,
)
# The fields each form reads (others get the generic names); a value is one or several.
FORM_FIELDS = {
    "/subscribe": ["email", "newsletters", "website", "source", "source_url", "form_id"],
    "/api/subscriptions": ["email", "newsletters"],
    "/membership/checkout": ["tier", "email", "attempt"],
    "/membership/contribute": ["amount", "email", "attempt"],
    "/membership/manage": ["email"],
    "/membership/portal/<token>/cancel": ["subscription"],
    "/preferences/<token>": ["newsletters", "action", "lang"],
    "/unsubscribe/<token>": ["List-Unsubscribe"],
    "/staff/login": ["email", "password", "next"],
    "/staff/lists/new": ["slug", "name", "description", "is_default"],
    "/staff/lists/<int:list_id>/edit": ["slug", "name", "description", "is_default"],
    "/staff/settings/goal": ["goal"],
}
GENERIC_FIELDS = ["email", "name", "q", "id", "csrf_token"]


def form_fields(rule: str):
    names = st.sampled_from(FORM_FIELDS.get(rule, GENERIC_FIELDS)) | awkward_text
    values = awkward_text | st.lists(awkward_text, min_size=1, max_size=3)
    return st.dictionaries(names, values, max_size=5)


def json_bodies(rule: str):
    names = st.sampled_from(FORM_FIELDS.get(rule, GENERIC_FIELDS)) | awkward_text
    return json_values | st.dictionaries(names, json_values, max_size=4)


query_strings = st.dictionaries(
    st.sampled_from(["q", "kind", "after", "before", "lang", "newsletter", "session_id", "next"])
    | awkward_text,
    awkward_text,
    max_size=4,
)


def path_part(text: str) -> str:
    """Text as one URL path segment (so a test reaches the route it meant to)."""
    return quote(text, safe="") or "x"
