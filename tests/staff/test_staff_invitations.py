"""Inviting a colleague: a mailed link, valid 72 hours, where they choose a password; used
once; a changed link answers 400, an expired one 410, a used one a page saying so."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from database import utcnow
from extensions import db
from staff.invitations import Invitation, invitation_token
from staff.models import StaffInvitation, StaffUser
from tests.newsletters.test_flow_over_smtp import deliver, parts
from tests.staff.account_helpers import account, actions, link_path, mail_to
from tests.staff.conftest import sign_in, signed_in
from tests.staff.factories import make_staff

NEW_PASSWORD = "lantern orchard velvet compass"
NEW = "nadia@newsroom.test"
ADMIN = "admin@newsroom.test"


def invite(admin_client, email: str = NEW, role: str = "editor"):
    return admin_client.post("/staff/accounts/invite", data={"email": email, "role": role})


def invitation_path(app, email: str = NEW) -> str:
    (message,) = mail_to(app, email, "staff_invitation")
    return link_path(message, "/staff/invitation/")


def choose_password(client, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    return client.post(path, data={"password": password, "confirm": confirm or password})


def staff_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(StaffUser.id)))


def test_a_colleague_invited_by_mail_chooses_a_password_and_is_signed_in(make_app, smtp_server):
    sink, smtp_url = smtp_server
    app = make_app(SMTP_URL=smtp_url)
    with app.app_context():
        make_staff("admin@newsroom.test", role="admin")
    admin = app.test_client()
    sign_in(admin, "admin@newsroom.test")
    assert invite(admin, " nadia@Newsroom.TEST ", "admin").status_code == 302
    deliver(app)

    (mail,) = sink.messages()
    assert mail["To"] == NEW
    text, html = parts(mail)
    assert "admin@newsroom.test invited you" in text
    assert "72 hours" in text
    path = link_path(mail_to(app, NEW)[0], "/staff/invitation/")
    assert path in html

    newcomer = app.test_client()
    page = newcomer.get(path)
    assert page.status_code == 200
    assert NEW in page.get_data(as_text=True) and "an administrator" in page.get_data(as_text=True)
    accepted = choose_password(newcomer, path)
    assert accepted.status_code == 302
    assert newcomer.get("/staff/").status_code == 200
    user = account(app, NEW)
    assert user.role == "admin" and user.active
    assert sign_in(app.test_client(), NEW, NEW_PASSWORD).status_code == 302


def test_an_invitation_link_works_once_and_then_says_it_was_used(staff_app):
    app, admin_client = staff_app, signed_in(staff_app, ADMIN)
    invite(admin_client)
    path = invitation_path(app)
    assert choose_password(app.test_client(), path).status_code == 302
    again = app.test_client().get(path)
    assert again.status_code == 410
    assert "This invitation was used already" in again.get_data(as_text=True)
    reused = choose_password(app.test_client(), path, "another long passphrase here")
    assert reused.status_code == 410
    assert staff_count(app) == 3


def _invitation_sent(app, hours_ago: float) -> str:
    """An invitation's link as if mailed `hours_ago` hours ago."""
    with app.app_context():
        sent = utcnow() - timedelta(hours=hours_ago)
        invitation = Invitation(email=NEW, role="editor", nonce="nonce-of-an-older-invitation")
        db.session.add(
            StaffInvitation(
                email=NEW,
                email_key=NEW,
                role="editor",
                nonce=invitation.nonce,
                created_at=sent,
                expires_at=sent + timedelta(hours=72),
            )
        )
        db.session.commit()
        return "/staff/invitation/" + invitation_token(invitation, now=sent)


def test_an_invitation_older_than_72_hours_answers_410(app, app_ctx):
    path = _invitation_sent(app, hours_ago=72.01)
    response = app.test_client().get(path)
    assert response.status_code == 410
    assert "This link has expired" in response.get_data(as_text=True)
    assert choose_password(app.test_client(), path).status_code == 410
    assert staff_count(app) == 0


def test_an_invitation_still_works_near_the_end_of_its_72_hours(app, app_ctx):
    path = _invitation_sent(app, hours_ago=71.9)
    assert app.test_client().get(path).status_code == 200


def test_a_changed_invitation_link_answers_400(staff_app):
    app, admin_client = staff_app, signed_in(staff_app, ADMIN)
    invite(admin_client)
    path = invitation_path(app)
    payload, stamp, signature = path.rsplit("/", 1)[1].split(".")
    forged = f"/staff/invitation/{payload[:-2]}xx.{stamp}.{signature}"
    response = app.test_client().get(forged)
    assert response.status_code == 400
    assert "This link is not valid" in response.get_data(as_text=True)
    assert app.test_client().get("/staff/invitation/nonsense").status_code == 400


def test_a_withdrawn_invitation_says_so(staff_app):
    app, admin_client = staff_app, signed_in(staff_app, ADMIN)
    invite(admin_client)
    path = invitation_path(app)
    with app.app_context():
        invitation_id = db.session.scalar(select(StaffInvitation.id))
    assert (
        admin_client.post(f"/staff/accounts/invitations/{invitation_id}/withdraw").status_code
        == 302
    )
    response = app.test_client().get(path)
    assert response.status_code == 410
    assert "withdrawn" in response.get_data(as_text=True)


def test_a_common_password_is_refused_by_the_field_and_the_link_still_works(staff_app):
    app, admin_client = staff_app, signed_in(staff_app, ADMIN)
    invite(admin_client)
    path = invitation_path(app)
    refused = choose_password(app.test_client(), path, "password1234")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="password-error"' in page and "common passwords" in page
    assert staff_count(app) == 2
    assert choose_password(app.test_client(), path).status_code == 302


def test_two_different_passwords_are_refused_by_the_second_field(staff_app):
    app, admin_client = staff_app, signed_in(staff_app, ADMIN)
    invite(admin_client)
    refused = choose_password(
        app.test_client(), invitation_path(app), NEW_PASSWORD, "lantern orchard velvet compas"
    )
    assert refused.status_code == 422
    assert 'id="confirm-error"' in refused.get_data(as_text=True)


def test_inviting_an_address_that_has_an_account_is_refused_by_the_field(staff_app):
    app, admin_client = staff_app, signed_in(staff_app, ADMIN)
    response = invite(admin_client, "Admin@Newsroom.test")
    assert response.status_code == 422
    assert "already a staff account" in response.get_data(as_text=True)
    assert mail_to(app, "admin@newsroom.test") == []


def test_an_invalid_address_is_refused_by_the_field(staff_app):
    admin_client = signed_in(staff_app, ADMIN)
    response = invite(admin_client, "Nadia <nadia@newsroom.test>")
    assert response.status_code == 422
    assert 'id="email-error"' in response.get_data(as_text=True)


def test_inviting_and_accepting_are_in_the_audit_log(staff_app):
    app, admin_client = staff_app, signed_in(staff_app, ADMIN)
    admin = account(app, ADMIN)
    invite(admin_client)
    choose_password(app.test_client(), invitation_path(app))
    assert actions(app, admin.id)[-1] == "staff_invited"
    newcomer = account(app, NEW)
    assert actions(app, newcomer.id) == ["invitation_accepted", "login"]


def test_pending_invitations_are_listed_for_admins(staff_app):
    admin_client = signed_in(staff_app, ADMIN)
    invite(admin_client)
    page = admin_client.get("/staff/accounts").get_data(as_text=True)
    assert NEW in page.split('id="invitations-table"')[1]
