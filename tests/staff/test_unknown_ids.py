"""Ids in staff URLs and query strings beyond what the database holds: not found or a plain
400, never a database error ("integer out of range" on PostgreSQL's INTEGER ids)."""

import pytest

HUGE_ID = "99999999999999999999999"
PAST_INTEGER = str(2**31)  # one past PostgreSQL's INTEGER


@pytest.mark.parametrize("number", [HUGE_ID, PAST_INTEGER])
def test_ids_too_large_for_the_database_in_a_url_are_not_found(admin_client, number):
    assert admin_client.get(f"/staff/lists/{number}").status_code == 404
    assert admin_client.get(f"/staff/lists/{number}/edit").status_code == 404
    assert admin_client.get(f"/staff/people/subscribers/{number}").status_code == 404


@pytest.mark.parametrize("number", [HUGE_ID, PAST_INTEGER, "-1", "abc", "1e3", "٣"])
def test_a_paging_parameter_that_is_not_an_id_is_400(admin_client, number):
    assert admin_client.get(f"/staff/audit?before={number}").status_code == 400
    assert admin_client.get(f"/staff/people?after={number}").status_code == 400


def test_the_largest_id_the_database_holds_pages_normally(admin_client):
    assert admin_client.get(f"/staff/audit?before={2**31 - 1}").status_code == 200
    assert admin_client.get(f"/staff/people?after={2**31 - 1}").status_code == 200
