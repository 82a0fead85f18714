"""Ids in staff URLs and query strings beyond what the database holds: not found, never an error."""

HUGE_ID = "99999999999999999999999"


def test_ids_too_large_for_the_database_are_not_found_rather_than_an_error(admin_client):
    assert admin_client.get(f"/staff/lists/{HUGE_ID}").status_code == 404
    assert admin_client.get(f"/staff/people/subscribers/{HUGE_ID}").status_code == 404
    assert admin_client.get(f"/staff/audit?before={HUGE_ID}").status_code == 200
    assert admin_client.get(f"/staff/people?after={HUGE_ID}").status_code == 200
