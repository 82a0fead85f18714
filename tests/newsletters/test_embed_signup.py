"""The embeddable signup form an outlet puts in an iframe."""

from __future__ import annotations

from tests.newsletters.helpers import consents, outbox, statuses, subscribe_form


def test_embed_page_may_be_framed_by_the_embed_origins(lists, client):
    response = client.get("/embed/signup?newsletter=explaining-ukraine")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://outlet.example" in policy
    assert "X-Frame-Options" not in response.headers


def test_embed_page_is_a_small_form_for_the_named_list(lists, client):
    page = client.get("/embed/signup?newsletter=morning-briefing").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "<title>Subscribe: Morning Briefing" in page
    assert 'name="newsletters" value="morning-briefing"' in page
    assert 'name="source" value="embed"' in page
    assert "Enter your email to subscribe" in page and "novalidate" in page
    assert 'class="site-header"' not in page


def test_embed_for_an_unknown_list_is_a_404_page(lists, client):
    response = client.get("/embed/signup?newsletter=no-such-list")
    assert response.status_code == 404
    assert "text/html" in response.content_type


def test_other_pages_still_refuse_framing(lists, client):
    response = client.get("/")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_embed_signup_is_recorded_with_source_embed_and_the_framing_page(lists, client):
    page = client.get(
        "/embed/signup?newsletter=investigations",
        headers={"Referer": "https://outlet.example/story"},
    ).get_data(as_text=True)
    assert 'name="source_url" value="https://outlet.example/story"' in page
    response = subscribe_form(
        client,
        "reader@example.com",
        ["investigations"],
        form_id="embed",
        source="embed",
        source_url="https://outlet.example/story",
    )
    assert response.status_code == 200
    assert "We&#39;ve sent you a confirmation email." in response.get_data(as_text=True)
    assert (
        "frame-ancestors 'self' https://outlet.example"
        in (response.headers["Content-Security-Policy"])
    )
    (consent,) = consents(lists)
    assert (consent.source, consent.source_url) == ("embed", "https://outlet.example/story")
    assert statuses(lists, "reader@example.com") == {"investigations": "pending"}
    assert len(outbox(lists, "confirm")) == 1


def test_embed_error_comes_back_inside_the_embed(lists, client):
    response = subscribe_form(client, "wrong", ["investigations"], form_id="embed", source="embed")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="embed-email-error">Please enter a correct email address' in page
    assert 'class="site-header"' not in page
    assert (
        "frame-ancestors 'self' https://outlet.example"
        in (response.headers["Content-Security-Policy"])
    )
