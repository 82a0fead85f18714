"""/staff/accounts: admins only; roles, deactivation (sessions end at once, the audit trail
stays), never without an active administrator; every action audited."""

from __future__ import annotations

import pytest

from tests.staff.account_helpers import account, actions
from tests.staff.conftest import sign_in, signed_in
from tests.staff.factories import make_staff

ADMIN, EDITOR = "admin@newsroom.test", "editor@newsroom.test"


def ids(app) -> tuple[int, int]:
    return account(app, ADMIN).id, account(app, EDITOR).id


def add_staff(app, email: str, **fields) -> None:
    with app.app_context():
        make_staff(email, **fields)


def test_an_editor_cannot_reach_staff_accounts(staff_app):
    admin_id, _ = ids(staff_app)
    editor = signed_in(staff_app, EDITOR)
    assert editor.get("/staff/accounts").status_code == 403
    attempts = [
        ("/staff/accounts/invite", {"email": "x@newsroom.test", "role": "admin"}),
        (f"/staff/accounts/{admin_id}/role", {"role": "editor"}),
        (f"/staff/accounts/{admin_id}/deactivate", {}),
        (f"/staff/accounts/{admin_id}/two-factor/off", {}),
    ]
    for path, data in attempts:
        assert editor.post(path, data=data).status_code == 403, path
    assert account(staff_app, ADMIN).role == "admin"
    assert "staff_invited" not in actions(staff_app)


def test_editors_see_no_link_to_staff_accounts(staff_app):
    assert "/staff/accounts" not in signed_in(staff_app, EDITOR).get("/staff/").get_data(
        as_text=True
    )


def test_an_admin_sees_every_account_with_its_role_and_status(staff_app):
    add_staff(staff_app, "gone@newsroom.test", active=False)
    page = signed_in(staff_app, ADMIN).get("/staff/accounts").get_data(as_text=True)
    table = page.split('id="accounts-table"')[1].split("</table>")[0]
    assert "admin@newsroom.test (you)" in table
    assert EDITOR in table and "gone@newsroom.test" in table
    assert "Deactivated" in table and "Reactivate" in table


def test_a_promoted_editor_reaches_admin_pages_on_their_next_request(staff_app):
    _, editor_id = ids(staff_app)
    admin, editor = signed_in(staff_app, ADMIN), signed_in(staff_app, EDITOR)
    assert editor.get("/staff/accounts").status_code == 403
    response = admin.post(f"/staff/accounts/{editor_id}/role", data={"role": "admin"})
    assert response.status_code == 302
    assert editor.get("/staff/accounts").status_code == 200
    assert "role_changed" in actions(staff_app)


def test_a_deactivated_accounts_open_session_is_refused_on_its_next_request(staff_app):
    _, editor_id = ids(staff_app)
    admin, editor = signed_in(staff_app, ADMIN), signed_in(staff_app, EDITOR)
    assert editor.get("/staff/").status_code == 200
    assert admin.post(f"/staff/accounts/{editor_id}/deactivate").status_code == 302
    refused = editor.get("/staff/lists")
    assert refused.status_code == 302
    assert refused.headers["Location"].startswith("/staff/login")
    assert sign_in(staff_app.test_client(), EDITOR).status_code == 422


def test_a_deactivated_account_keeps_its_audit_trail(staff_app):
    _, editor_id = ids(staff_app)
    signed_in(staff_app, EDITOR)
    admin = signed_in(staff_app, ADMIN)
    admin.post(f"/staff/accounts/{editor_id}/deactivate")
    assert actions(staff_app, editor_id) == ["login"]
    audit_page = admin.get("/staff/audit").get_data(as_text=True)
    rows = audit_page.split("<tbody>")[1]
    assert EDITOR in rows and "staff_deactivated" in rows


def test_a_reactivated_account_signs_in_again(staff_app):
    _, editor_id = ids(staff_app)
    admin = signed_in(staff_app, ADMIN)
    admin.post(f"/staff/accounts/{editor_id}/deactivate")
    admin.post(f"/staff/accounts/{editor_id}/reactivate")
    assert sign_in(staff_app.test_client(), EDITOR).status_code == 302


@pytest.mark.parametrize(
    ("path", "data"),
    [("role", {"role": "editor"}), ("deactivate", {})],
    ids=["demote", "deactivate"],
)
def test_the_last_active_administrator_cannot_be_demoted_or_deactivated(staff_app, path, data):
    admin_id, _ = ids(staff_app)
    add_staff(staff_app, "former-admin@newsroom.test", role="admin", active=False)
    admin = signed_in(staff_app, ADMIN)
    response = admin.post(f"/staff/accounts/{admin_id}/{path}", data=data, follow_redirects=True)
    assert "last active administrator" in response.get_data(as_text=True)
    user = account(staff_app, ADMIN)
    assert (user.role, user.active) == ("admin", True)
    assert admin.get("/staff/accounts").status_code == 200


def test_with_a_second_administrator_one_may_step_down(staff_app):
    admin_id, _ = ids(staff_app)
    add_staff(staff_app, "second@newsroom.test", role="admin")
    admin = signed_in(staff_app, ADMIN)
    assert (
        admin.post(f"/staff/accounts/{admin_id}/role", data={"role": "editor"}).status_code == 302
    )
    assert account(staff_app, ADMIN).role == "editor"
    assert admin.get("/staff/accounts").status_code == 403


def test_an_unknown_account_or_role_is_refused_plainly(staff_app):
    _, editor_id = ids(staff_app)
    admin = signed_in(staff_app, ADMIN)
    assert admin.post("/staff/accounts/999999/deactivate").status_code == 404
    response = admin.post(
        f"/staff/accounts/{editor_id}/role", data={"role": "owner"}, follow_redirects=True
    )
    assert "Choose a role" in response.get_data(as_text=True)
    assert account(staff_app, EDITOR).role == "editor"


def test_every_account_action_is_in_the_audit_log(staff_app):
    admin_id, editor_id = ids(staff_app)
    admin = signed_in(staff_app, ADMIN)
    admin.post("/staff/accounts/invite", data={"email": "new@newsroom.test", "role": "editor"})
    admin.post(f"/staff/accounts/{editor_id}/role", data={"role": "admin"})
    admin.post(f"/staff/accounts/{editor_id}/deactivate")
    admin.post(f"/staff/accounts/{editor_id}/reactivate")
    assert actions(staff_app, admin_id) == [
        "login",
        "staff_invited",
        "role_changed",
        "staff_deactivated",
        "staff_reactivated",
    ]
