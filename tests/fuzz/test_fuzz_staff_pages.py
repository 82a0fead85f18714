"""Random input to every staff page, signed in as an administrator: never a 5xx."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.routes import Route, app_routes, requests_to
from tests.fuzz.strategies import awkward_text, path_part
from tests.staff.factories import make_newsletter, make_subscriber, subscribe

STAFF_ROUTES = app_routes(staff=True)


@pytest.fixture
def staff_data(app_ctx):
    daily = make_newsletter("daily", is_default=True)
    subscribe(make_subscriber("reader@example.com"), daily)


@pytest.mark.parametrize("route", STAFF_ROUTES, ids=[str(route) for route in STAFF_ROUTES])
def test_staff_pages_never_answer_5xx(admin_client, staff_data, route: Route):
    @given(requests_to(route, awkward_text.map(path_part) | st.just("1")))
    def check(request):
        response = request.send(admin_client)
        assert response.status_code < 500, (request, response.status_code)

    check()
