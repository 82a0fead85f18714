"""The newsletters' reader pages, wired in one place: every URL, its view and its error pages.

app.py registers `bp` (and newsletters.api's `bp` for the JSON API). The views live in
newsletters/views.py (the article, the embed, the signup) and newsletters/link_views.py (the
pages emailed links lead to); endpoint names are the views' names, as `newsletters.confirm`.
"""

from __future__ import annotations

from flask import Blueprint

from extensions import csrf
from newsletters import link_views, views
from signing import ReaderGone, TokenExpired, TokenInvalid


def _reader_pages() -> Blueprint:
    pages = Blueprint("newsletters", __name__)
    # Public forms: an outlet's page posting to us is the purpose, and no session is at stake.
    # The emailed-link pages carry their credential in the signed token instead.
    csrf.exempt(pages)

    pages.add_url_rule("/", view_func=views.article)
    pages.add_url_rule("/embed/signup", view_func=views.embed_signup)
    pages.add_url_rule("/subscribe", view_func=views.subscribe, methods=["POST"])
    pages.register_error_handler(429, views.too_many_signups)

    pages.add_url_rule("/confirm/<token>", view_func=link_views.confirm)
    pages.add_url_rule("/confirm/<token>", view_func=link_views.confirm_post, methods=["POST"])
    resend = link_views.confirm_resend
    pages.add_url_rule("/confirm/<token>/resend", view_func=resend, methods=["POST"])
    pages.add_url_rule("/unsubscribe/<token>", view_func=link_views.unsubscribe)
    unsubscribe = link_views.unsubscribe_post
    pages.add_url_rule("/unsubscribe/<token>", view_func=unsubscribe, methods=["POST"])
    pages.add_url_rule("/preferences/<token>", view_func=link_views.preferences_page)
    preferences = link_views.preferences_post
    pages.add_url_rule("/preferences/<token>", view_func=preferences, methods=["POST"])
    pages.register_error_handler(TokenInvalid, link_views.link_invalid)
    pages.register_error_handler(ReaderGone, link_views.link_gone)
    pages.register_error_handler(TokenExpired, link_views.link_expired)
    return pages


bp = _reader_pages()
