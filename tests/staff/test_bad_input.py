"""Bad input found by fuzzing the staff pages: a clear 4xx or the form again, never a 500."""

from __future__ import annotations

import io

from tests.staff.conftest import sign_in
from tests.staff.factories import PASSWORD


def test_a_nul_character_in_the_login_email_is_400(client):
    response = sign_in(client, "a\x00b@newsroom.test")
    assert response.status_code == 400


def test_email_sent_as_a_file_shows_the_login_form_again_with_a_message(client):
    response = client.post(
        "/staff/login",
        data={"email": (io.BytesIO(b"admin@newsroom.test"), "email.txt"), "password": PASSWORD},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Enter your email address." in response.get_data(as_text=True)


def test_a_json_login_body_is_not_read_as_the_form(client, admin):
    response = client.post("/staff/login", json={"email": admin.email, "password": PASSWORD})
    assert response.status_code == 422
    assert "Enter your email address." in response.get_data(as_text=True)


def test_a_nul_character_in_a_people_search_is_400(editor_client):
    assert editor_client.get("/staff/people?q=%00").status_code == 400
    assert editor_client.get("/staff/people?q=a%00&kind=members").status_code == 400


def test_a_list_name_with_a_nul_character_is_400_and_nothing_is_made(admin_client):
    response = admin_client.post(
        "/staff/lists/new", data={"slug": "weekly", "name": "Week\x00ly", "description": ""}
    )
    assert response.status_code == 400
    assert admin_client.get("/staff/lists").get_data(as_text=True).count("weekly") == 0
