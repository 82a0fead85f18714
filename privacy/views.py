"""The privacy notice, and a reader's data: the mailed links and the pages they lead to.

Like the other emailed-link pages these need no session or CSRF token: the signed token in the
URL is the credential. The preferences page's two buttons only mail a link (to the address on
file), so a forwarded newsletter hands nothing over.
"""

from __future__ import annotations

import json

from flask import Response, current_app, render_template, request

from database import utcnow
from extensions import client_address, db, limiter
from newsletters.links import read_preferences_token
from privacy import links, services
from signing import TokenInvalid


def _reader_key() -> str:
    """Per reader, whichever of their preferences links is used; else per client."""
    try:
        return f"reader:{read_preferences_token(request.view_args['token'])}"
    except (TokenInvalid, KeyError):
        return f"client:{client_address()}"


privacy_links_per_reader = limiter.shared_limit(
    lambda: current_app.config["RATELIMIT_PRIVACY_LINKS"],
    scope="privacy-links",
    key_func=_reader_key,
    methods=["POST"],
)


def notice():
    return render_template("privacy/notice.html", link_hours=links.LINK_HOURS)


@privacy_links_per_reader
def ask_for_data(token: str):
    sent = services.mail_export_link(read_preferences_token(token))
    db.session.commit()
    return render_template("privacy/link_sent.html", sent=sent, purpose="data")


@privacy_links_per_reader
def ask_for_erasure(token: str):
    sent = services.mail_erasure_link(read_preferences_token(token))
    db.session.commit()
    return render_template("privacy/link_sent.html", sent=sent, purpose="erase")


def json_download(export: dict, filename: str) -> Response:
    """A reader's data as one JSON file to save (never kept by a cache on the way)."""
    return Response(
        json.dumps(export, ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def download_data(token: str):
    export = services.reader_export(links.read_export_token(token))
    return json_download(export, f"my-data-{utcnow():%Y-%m-%d}.json")


def erase_page(token: str):
    page = services.erasure_page(links.read_erasure_token(token))
    return render_template("privacy/erase.html", page=page, token=token)


def erase(token: str):
    done = services.erase_reader(links.read_erasure_token(token))
    db.session.commit()
    return render_template("privacy/erased.html", done=done)


def link_expired(_error):
    return render_template("privacy/link_expired.html", link_hours=links.LINK_HOURS), 410


def too_many_requests(_error):
    return render_template("privacy/too_many.html"), 429
