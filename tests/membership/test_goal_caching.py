"""The goal, the widget and the badge: a CDN may keep them a few seconds, a client revalidates."""

import pytest

from tests.stripe_helpers import add_tiers, make_event, post_event, subscription

SHARED_PATHS = ["/api/goal", "/membership/widget", "/membership/progress.svg"]


@pytest.mark.parametrize("path", SHARED_PATHS)
def test_a_cdn_may_keep_the_answer_a_few_seconds(client, tiers, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=5"
    assert response.headers["ETag"]
    assert "Set-Cookie" not in response.headers
    assert "cookie" not in response.headers.get("Vary", "").lower()


@pytest.mark.parametrize("path", SHARED_PATHS)
def test_a_client_holding_the_current_answer_hears_304_without_a_body(client, tiers, path):
    first = client.get(path)
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Cache-Control"] == "public, max-age=5"


@pytest.mark.parametrize("path", SHARED_PATHS)
def test_a_stale_copy_gets_the_new_count(client, tiers, path):
    before = client.get(path)
    post_event(client, make_event("customer.subscription.created", subscription("sub_1", "c1")))
    after = client.get(path, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    if path == "/api/goal":
        assert before.get_json()["members"] == 0 and after.get_json()["members"] == 1


def test_an_unrelated_or_garbled_tag_gets_the_whole_answer(client, tiers):
    for tag in ['"something-else"', "garbage", "*x"]:
        response = client.get("/api/goal", headers={"If-None-Match": tag})
        assert response.status_code == 200
        assert response.get_json()["goal"] > 0


@pytest.mark.parametrize("path", ["/membership/widget", "/membership/progress.svg"])
def test_each_language_is_its_own_answer_and_tag(client, path):
    english = client.get(f"{path}?lang=en")
    ukrainian = client.get(f"{path}?lang=uk")
    assert english.data != ukrainian.data
    assert english.headers["ETag"] != ukrainian.headers["ETag"]
    # The English tag does not validate the Ukrainian answer.
    crossed = client.get(f"{path}?lang=uk", headers={"If-None-Match": english.headers["ETag"]})
    assert crossed.status_code == 200 and crossed.data == ukrainian.data


@pytest.mark.parametrize("path", SHARED_PATHS)
def test_without_lang_the_answer_varies_by_accept_language(client, path):
    english = client.get(path, headers={"Accept-Language": "en"})
    ukrainian = client.get(path, headers={"Accept-Language": "uk"})
    assert "Accept-Language" in ukrainian.headers["Vary"]
    assert english.headers["ETag"] != ukrainian.headers["ETag"]


@pytest.fixture
def kept_app(make_app):
    """Figures kept a minute per process, as a busy site might set GOAL_CACHE_SECONDS."""
    return make_app(GOAL_CACHE_SECONDS=60)


def test_a_kept_answer_is_the_apps_own_with_its_own_request_id(kept_app, caplog):
    client = kept_app.test_client()
    caplog.set_level("INFO", logger="request")
    answers = [client.get("/api/goal", headers={"Accept-Language": "uk"}) for _ in range(3)]
    assert len({answer.data for answer in answers}) == 1
    assert len({answer.headers["X-Request-ID"] for answer in answers}) == 3
    for answer in answers:
        assert answer.headers["Cache-Control"] == "public, max-age=5"
        assert answer.headers["Vary"] == "Accept-Language"
    lines = [r for r in caplog.records if r.name == "request" and r.path == "/api/goal"]
    assert [line.request_id for line in lines] == [a.headers["X-Request-ID"] for a in answers]
    english = client.get("/api/goal", headers={"Accept-Language": "en"})
    assert english.get_json()["definition"] != answers[0].get_json()["definition"]


def test_a_kept_answer_gives_way_to_a_new_count_at_once(kept_app):
    client = kept_app.test_client()
    with kept_app.app_context():
        add_tiers()
    assert client.get("/api/goal").get_json()["members"] == 0
    assert client.get("/membership/progress.svg").status_code == 200
    svg_before = client.get("/membership/progress.svg").data
    post_event(client, make_event("customer.subscription.created", subscription("sub_1", "c1")))
    assert client.get("/api/goal").get_json()["members"] == 1
    assert client.get("/membership/progress.svg").data != svg_before
