"""How one campaign is written for each reader: their own links, their language, and the body
rendered once per version of the campaign, not once per message."""

from __future__ import annotations

from datetime import UTC, datetime

from campaigns import rendering, services
from extensions import db
from newsletters.links import ReaderLinks, read_unsubscribe_token
from tests.campaigns.helpers import create

MARCH_5 = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


def test_each_reader_gets_their_own_one_click_link_for_this_list_only(newsroom):
    campaign_id = create(newsroom)
    with newsroom.app_context():
        frame = rendering.frame_for(campaign_id, None)
        ann = rendering.for_reader(frame, ReaderLinks(), 41, None)
        bob = rendering.for_reader(frame, ReaderLinks(), 42, None)

        token = ann.headers["List-Unsubscribe"].strip("<>").rsplit("/", 1)[1]
        claim = read_unsubscribe_token(token)
    assert (claim.subscriber_id, claim.slugs) == (41, ("briefing",))
    assert ann.headers["List-Unsubscribe"] != bob.headers["List-Unsubscribe"]
    assert token in ann.text_body and token in ann.html_body and token not in bob.text_body


def test_the_footer_says_since_when_the_reader_subscribed(newsroom):
    campaign_id = create(newsroom)
    with newsroom.app_context():
        frame = rendering.frame_for(campaign_id, None)
        mail = rendering.for_reader(frame, ReaderLinks(), 41, MARCH_5)

    assert "You get this because you subscribed to Morning Briefing on 05 March 2026." in (
        mail.text_body
    )


def test_a_ukrainian_reader_gets_the_footer_in_ukrainian(newsroom):
    campaign_id = create(newsroom)
    with newsroom.app_context():
        frame = rendering.frame_for(campaign_id, "uk")
        mail = rendering.for_reader(frame, ReaderLinks(), 41, MARCH_5)

    assert "підписалися на розсилку «Morning Briefing»" in mail.text_body
    assert "05 березня 2026" in mail.text_body
    assert "Відписатися" in mail.html_body and '<html lang="uk">' in mail.html_body


def test_the_body_is_rendered_once_per_version_of_the_campaign(newsroom):
    campaign_id = create(newsroom)
    with newsroom.app_context():
        first = rendering.frame_for(campaign_id, None)
        again = rendering.frame_for(campaign_id, None)
        services.update_draft(campaign_id, "briefing", "New subject", "New body.\n")
        db.session.commit()
        edited = rendering.frame_for(campaign_id, None)
        mail = rendering.for_reader(edited, ReaderLinks(), 41, None)

    assert again is first
    assert edited is not first and mail.subject == "New subject"
    assert "New body." in mail.text_body
