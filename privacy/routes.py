"""The privacy pages, wired in one place: every URL, its view and its error pages."""

from __future__ import annotations

from flask import Blueprint

from extensions import csrf
from newsletters.link_views import link_gone, link_invalid
from privacy import views
from signing import ReaderGone, TokenExpired, TokenInvalid


def _privacy_pages() -> Blueprint:
    pages = Blueprint("privacy", __name__)
    csrf.exempt(pages)  # the signed token in each URL is the credential, as for preferences
    pages.add_url_rule("/privacy", view_func=views.notice)
    data, erase = views.ask_for_data, views.ask_for_erasure
    pages.add_url_rule("/preferences/<token>/data", view_func=data, methods=["POST"])
    pages.add_url_rule("/preferences/<token>/erase", view_func=erase, methods=["POST"])
    pages.add_url_rule("/privacy/data/<token>", view_func=views.download_data)
    pages.add_url_rule("/privacy/erase/<token>", view_func=views.erase_page)
    pages.add_url_rule("/privacy/erase/<token>", view_func=views.erase, methods=["POST"])
    pages.register_error_handler(TokenInvalid, link_invalid)
    pages.register_error_handler(ReaderGone, link_gone)
    pages.register_error_handler(TokenExpired, views.link_expired)
    pages.register_error_handler(429, views.too_many_requests)
    return pages


bp = _privacy_pages()
