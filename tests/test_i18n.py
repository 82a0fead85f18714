"""Readers get pages in English or Ukrainian: how the language is chosen, the switch, the words,
the plural forms and the way numbers, money and dates are written (CONTRACT.md "Languages")."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser

import pytest
from flask import render_template

from extensions import db
from i18n import long_date, money
from membership.goal import GoalProgress, adjust_member_counter, recount_members
from membership.services import load_demo_tiers
from payments.prices import new_price_id
from tests.newsletters.helpers import (
    confirm_path,
    load_lists,
    outbox,
    preferences_path,
    unsubscribe_path,
)

NBSP = "\N{NO-BREAK SPACE}"


@pytest.fixture
def app(make_app):
    app = load_lists(make_app())
    with app.app_context():
        load_demo_tiers(new_price=new_price_id)
        db.session.commit()
    return app


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]*)"', response.get_data(as_text=True))
    assert match, "no <html lang> in the page"
    return match.group(1)


def set_language_cookie(client, value: str) -> None:
    client.set_cookie("lang", value)


# The order the contract fixes: ?lang=, else the cookie, else Accept-Language, else English.


def test_a_page_is_in_english_when_the_reader_gives_no_hint(client):
    assert html_lang(client.get("/")) == "en"


def test_accept_language_asking_for_ukrainian_gets_a_ukrainian_page(client):
    response = client.get("/", headers={"Accept-Language": "uk-UA,uk;q=0.9,en;q=0.8"})
    assert html_lang(response) == "uk"
    assert "Accept-Language" in response.headers["Vary"]


def test_a_language_we_do_not_speak_falls_back_to_english(client):
    assert html_lang(client.get("/", headers={"Accept-Language": "de-DE,de;q=0.9"})) == "en"


def test_ukrainian_ranked_below_a_language_we_do_not_speak_still_wins_over_english(client):
    response = client.get("/", headers={"Accept-Language": "pl,uk;q=0.8,en;q=0.5"})
    assert html_lang(response) == "uk"


def test_the_remembered_choice_beats_accept_language(client):
    set_language_cookie(client, "uk")
    assert html_lang(client.get("/", headers={"Accept-Language": "en"})) == "uk"


def test_vary_names_what_the_language_was_chosen_by(client):
    def vary(response) -> set[str]:
        return {name.strip() for name in response.headers.get("Vary", "").split(",")}

    unhinted = client.post("/api/subscriptions", json={"email": "vary@example.com"})
    assert {"Accept-Language", "Cookie"} <= vary(unhinted)
    set_language_cookie(client, "uk")
    remembered = client.get("/", headers={"Accept-Language": "en"})
    assert "Cookie" in vary(remembered)
    assert "Accept-Language" not in vary(remembered)


def test_lang_in_the_address_beats_the_remembered_choice(client):
    set_language_cookie(client, "uk")
    assert html_lang(client.get("/?lang=en", headers={"Accept-Language": "uk"})) == "en"


def test_lang_in_the_address_is_remembered_for_the_next_pages(client):
    response = client.get("/?lang=uk")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=uk;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert html_lang(client.get("/membership")) == "uk"


def test_an_unknown_lang_is_ignored_and_not_remembered(client):
    response = client.get("/?lang=fr", headers={"Accept-Language": "uk"})
    assert html_lang(response) == "uk"
    assert "Set-Cookie" not in response.headers


def test_a_forged_language_cookie_is_ignored(client):
    set_language_cookie(client, "xx")
    assert html_lang(client.get("/")) == "en"


def test_staff_pages_stay_english_whatever_the_reader_chose(client):
    set_language_cookie(client, "uk")
    response = client.get("/staff/login?lang=uk", headers={"Accept-Language": "uk"})
    assert html_lang(response) == "en"
    assert "Skip to content" in response.get_data(as_text=True)
    assert 'class="language-switch"' not in response.get_data(as_text=True)


def test_the_badge_speaks_the_asked_language_and_stays_cacheable(client):
    set_language_cookie(client, "uk")
    response = client.get("/membership/progress.svg?lang=uk")
    assert "учасників із 20" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")


def test_the_badge_without_lang_follows_accept_language_not_the_cookie(client):
    set_language_cookie(client, "uk")
    english = client.get("/membership/progress.svg", headers={"Accept-Language": "en"})
    assert "0 of 20,000 members" in english.get_data(as_text=True)
    assert "Accept-Language" in english.headers["Vary"]
    ukrainian = client.get("/membership/progress.svg", headers={"Accept-Language": "uk"})
    assert f"0 учасників із 20{NBSP}000" in ukrainian.get_data(as_text=True)


# The switch: on every reader page, plain links back to the same page in each language.


class _SwitchReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.label = None
        self.links: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "nav" and "language-switch" in (attributes.get("class") or ""):
            self.inside, self.label = True, attributes.get("aria-label")
        elif tag == "a" and self.inside:
            self.links.append(attributes)

    def handle_endtag(self, tag):
        if tag == "nav":
            self.inside = False


def language_switch(response) -> tuple[str | None, dict[str, dict]]:
    reader = _SwitchReader()
    reader.feed(response.get_data(as_text=True))
    return reader.label, {link["hreflang"]: link for link in reader.links}


@pytest.fixture
def reader_pages(app, client) -> list[str]:
    """A path of every kind of reader page, the emailed-link pages included."""
    client.post("/api/subscriptions", json={"email": "reader@example.com"})
    confirm = confirm_path(app, "reader@example.com")
    client.post(confirm)
    (welcome,) = outbox(app, "welcome")
    checkout = client.post(
        "/membership/checkout", data={"tier": "member", "email": "member@example.com"}
    ).headers["Location"]
    return [
        "/",
        "/membership",
        "/membership/manage",
        "/membership/widget",
        "/embed/signup?newsletter=morning-briefing",
        confirm,
        preferences_path(welcome),
        unsubscribe_path(welcome),
        checkout,
        "/membership/welcome?session_id=forged",
        "/confirm/not-a-token",
        "/no-such-page",
    ]


def test_every_reader_page_offers_a_labelled_switch_back_to_the_same_page(client, reader_pages):
    for path in reader_pages:
        label, links = language_switch(client.get(path, headers={"Accept-Language": "en"}))
        joiner = "&" if "?" in path else "?"
        assert label == "Language", path
        assert links["en"]["href"] == f"{path}{joiner}lang=en", path
        assert links["uk"]["href"] == f"{path}{joiner}lang=uk", path
        assert links["en"].get("aria-current") == "true", path
        assert "aria-current" not in links["uk"], path


def test_following_the_switch_gives_the_same_page_in_the_other_language(client):
    label, links = language_switch(client.get("/membership"))
    response = client.get(links["uk"]["href"])
    assert html_lang(response) == "uk"
    assert "Оберіть рівень підтримки" in response.get_data(as_text=True)
    label, links = language_switch(response)
    assert label == "Мова"
    assert links["uk"].get("aria-current") == "true"


def test_after_a_form_post_the_switch_leads_to_a_page_that_exists(client):
    answered = client.post("/subscribe?lang=uk", data={"email": "reader@example.com"})
    assert html_lang(answered) == "uk"
    label, links = language_switch(answered)
    assert links["en"]["href"] == "/?lang=en"
    assert client.get(links["en"]["href"]).status_code == 200


def test_the_switch_never_links_off_the_site(client):
    response = client.get("/", environ_overrides={"PATH_INFO": "//elsewhere.example/page"})
    label, links = language_switch(response)
    assert links["uk"]["href"] == "/elsewhere.example/page?lang=uk"


# The words of a Ukrainian page, and numbers, money and dates written the Ukrainian way.


def test_a_ukrainian_article_page_says_so_and_speaks_ukrainian(client):
    page = client.get("/?lang=uk").get_data(as_text=True)
    assert '<html lang="uk">' in page
    assert "Введіть свою електронну адресу, щоб підписатися" in page
    assert "Нічна зміна, завдяки якій у Харкові є світло" in page
    assert "Enter your email to subscribe" not in page


def test_the_signup_form_sends_the_page_language_with_it(client):
    page = client.get("/?lang=uk").get_data(as_text=True)
    assert 'action="/subscribe?lang=uk"' in page


def test_the_membership_page_writes_the_goal_and_prices_in_the_readers_language(client):
    english = client.get("/membership?lang=en").get_data(as_text=True)
    assert "Help us reach 20,000 members" in english
    assert "Member: $10 a month" in english
    ukrainian = client.get("/membership?lang=uk").get_data(as_text=True)
    assert f"Допоможіть нам досягти мети — 20{NBSP}000 учасників" in ukrainian
    assert f"Member: 10{NBSP}USD на місяць" in ukrainian
    assert f"Annual member: 100{NBSP}USD на рік" in ukrainian


def test_the_widget_takes_lang_and_links_to_the_page_in_that_language(client):
    page = client.get("/membership/widget?lang=uk").get_data(as_text=True)
    assert '<html lang="uk">' in page
    assert f"учасників із 20{NBSP}000" in page
    assert "/membership?lang=uk" in page


def test_a_signup_from_a_ukrainian_page_is_confirmed_in_ukrainian(app, client):
    client.post("/subscribe?lang=uk", data={"email": "reader@example.com"})
    (mail,) = outbox(app, "confirm")
    assert mail.subject == "Підтвердьте, будь ласка, підписку"
    assert "Посилання дійсне 72 години." in mail.text_body
    assert '<html lang="uk">' in mail.html_body


@pytest.mark.parametrize(
    ("amount", "currency", "english", "ukrainian"),
    [
        (1000, "usd", "$10", f"10{NBSP}USD"),
        (1250, "usd", "$12.50", f"12,50{NBSP}USD"),
        (2_000_000, "eur", "€20,000", f"20{NBSP}000{NBSP}EUR"),
        (10000, "uah", f"100{NBSP}UAH", f"100{NBSP}₴"),
        (500, "jpy", "¥500", f"500{NBSP}¥"),
    ],
)
def test_money_is_written_the_readers_way(app, amount, currency, english, ukrainian):
    with app.test_request_context("/?lang=en"):
        assert money(amount, currency) == english
    with app.test_request_context("/?lang=uk"):
        assert money(amount, currency) == ukrainian


def test_dates_name_the_month_in_the_readers_language(app):
    with app.test_request_context("/?lang=en"):
        assert long_date(date(2026, 5, 3)) == "03 May 2026"
    with app.test_request_context("/?lang=uk"):
        assert long_date(date(2026, 5, 3)) == "03 травня 2026"


# Ukrainian has three plural forms: 1 учасник, 2 учасники, 5 учасників (and 11, 21, 22, 25).

PLURALS = [
    (1, "учасник"),
    (2, "учасники"),
    (5, "учасників"),
    (11, "учасників"),
    (21, "учасник"),
    (22, "учасники"),
    (25, "учасників"),
]


def count_members_as(app, members: int) -> None:
    """The stored counter the banner reads, moved the way fulfilment moves it."""
    with app.app_context():
        recount_members()
        adjust_member_counter(members)
        db.session.commit()


def progress(members: int, goal: int = 20000) -> GoalProgress:
    return GoalProgress(members=members, goal=goal, updated_at=None)


@pytest.mark.parametrize(("members", "word"), PLURALS)
def test_the_members_count_takes_the_right_ukrainian_plural(app, members, word):
    count_members_as(app, members)
    with app.test_request_context("/?lang=uk"):
        counter = render_template("membership/_progress.html", progress=progress(members))
        banner = render_template("newsletters/article.html", forms=[])
    assert f"<strong>{members}</strong> {word} " in counter
    assert f"<strong>{members}</strong> {word}, до мети" in banner


@pytest.mark.parametrize(("goal", "word"), PLURALS)
def test_the_goal_takes_the_right_ukrainian_plural(make_app, goal, word):
    client = make_app(MEMBERSHIP_GOAL=goal).test_client()
    page = client.get("/membership?lang=uk").get_data(as_text=True)
    assert f"Допоможіть нам досягти мети — {goal} {word}</h1>" in page


@pytest.mark.parametrize(
    ("members", "sentence"),
    [(1, "<strong>1</strong> member supports us today"), (2, "<strong>2</strong> members support")],
)
def test_the_english_banner_agrees_with_the_count(app, members, sentence):
    count_members_as(app, members)
    with app.test_request_context("/?lang=en"):
        banner = render_template("newsletters/article.html", forms=[])
    assert sentence in banner
