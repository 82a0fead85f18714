"""Random input to every reader page and form, and to the emailed-link pages with tokens both
random and properly signed around payloads of odd shape: never a 5xx."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signing import SALTS, make_token
from tests.fuzz.routes import Route, app_routes, requests_to
from tests.fuzz.strategies import awkward_text, json_values
from tests.newsletters.helpers import load_lists, subscribe_api


def odd_payloads():
    ids = st.one_of(st.integers(min_value=-1, max_value=2**40), awkward_text, st.none())
    slugs = st.one_of(st.lists(awkward_text, max_size=3), awkward_text, st.none())
    shaped = st.fixed_dictionaries({"s": ids, "l": slugs, "c": ids, "customer": awkward_text})
    return st.one_of(shaped, json_values)


def signed_odd_tokens(app):
    def sign(purpose_and_payload):
        purpose, payload = purpose_and_payload
        with app.app_context():
            return make_token(purpose, payload)

    return st.tuples(st.sampled_from(sorted(SALTS)), odd_payloads()).map(sign)


@pytest.fixture
def reader_app(make_app, tiers):
    app = load_lists(make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGNUP="100000/minute"))
    app.config["RATELIMIT_SIGNUP_EMAIL"] = "100000/hour"
    assert subscribe_api(app.test_client(), "reader@example.com").status_code == 202
    return app


READER_ROUTES = app_routes(staff=False)


@pytest.mark.parametrize(
    "route", READER_ROUTES, ids=[f"{r.method} {r.rule}" for r in READER_ROUTES]
)
def test_reader_pages_and_forms_never_answer_5xx(reader_app, route: Route):
    client = reader_app.test_client()

    @given(requests_to(route, signed_odd_tokens(reader_app)))
    def check(request):
        response = request.send(client)
        assert response.status_code < 500, (request, response.status_code)

    check()
