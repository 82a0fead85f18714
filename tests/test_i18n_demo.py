"""The demo offers both languages, and the embed a publisher frames takes `?lang=` all the way
to the reader's mail (a framed page may get no cookie)."""

from __future__ import annotations

import re

from sqlalchemy import select

from extensions import db
from newsletters.models import Subscriber
from tests.newsletters.helpers import load_lists, outbox


def test_the_demo_has_a_ukrainian_list_with_a_ukrainian_issue_in_its_archive(app):
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    client = app.test_client()
    names = [item["name"] for item in client.get("/api/newsletters").get_json()["newsletters"]]
    assert "Головне за день" in names
    assert "Explaining Ukraine with Kate Tsurkan" in names
    archive = client.get("/newsletters/holovne-za-den?lang=uk").get_data(as_text=True)
    assert '<html lang="uk">' in archive
    assert "нічна зміна, що тримає світло в Харкові" in archive


def test_the_embed_takes_lang_and_the_signup_from_it_keeps_that_language(app):
    load_lists(app)
    client = app.test_client()
    page = client.get("/embed/signup?newsletter=morning-briefing&lang=uk").get_data(as_text=True)
    assert '<html lang="uk">' in page
    assert "Підписатися" in page
    action = re.search(r'<form class="signup-form" method="post" action="([^"]+)"', page)
    assert action and "lang=uk" in action.group(1)

    framed = app.test_client()  # a third-party frame: no cookie from the page above
    response = framed.post(
        action.group(1).replace("&amp;", "&"),
        data={
            "email": "reader@example.com",
            "newsletters": ["morning-briefing"],
            "source": "embed",
        },
    )
    assert response.status_code == 200
    assert '<html lang="uk">' in response.get_data(as_text=True)
    with app.app_context():
        kept = db.session.scalar(select(Subscriber.language))
    assert kept == "uk"
    (mail,) = outbox(app, "confirm")
    assert mail.language == "uk"
