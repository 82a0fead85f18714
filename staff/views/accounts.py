"""/staff/accounts: administrators invite colleagues, change roles, deactivate accounts."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from extensions import client_address, db
from staff import accounts
from staff.access import admin_required
from staff.forms import ROLE_CHOICES, ActionForm, InviteForm
from staff.views.blueprint import bp


def _accounts_page(invite_form: InviteForm | None = None, status: int = 200):
    return render_template(
        "staff/accounts.html",
        overview=accounts.accounts_overview(),
        invite_form=invite_form or InviteForm(formdata=None),
        role_choices=ROLE_CHOICES,
        action_form=ActionForm(),
    ), status


@bp.get("/accounts")
@admin_required
def staff_accounts():
    return _accounts_page()


@bp.post("/accounts/invite")
@admin_required
def invite_staff():
    form = InviteForm()
    if not form.validate_on_submit():
        return _accounts_page(form, 422)
    try:
        invitation = accounts.invite(
            form.email.data, form.role.data, current_user, client_address()
        )
    except accounts.AccountError as invalid:
        getattr(form, invalid.field).errors = [invalid.message]
        return _accounts_page(form, 422)
    db.session.commit()
    flash(f"An invitation is on its way to {invitation.email} (valid 72 hours).", "success")
    return redirect(url_for("staff.staff_accounts"))


def _change(change, account_id: int, done: str):
    """Apply one change to an account, then back to the list saying what happened."""
    ActionForm().validate_on_submit()  # the CSRF check itself runs before every POST
    try:
        user = change(account_id, current_user, client_address())
    except LookupError:
        abort(404)
    except accounts.AccountError as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(url_for("staff.staff_accounts"))
    db.session.commit()
    flash(done.format(email=user.email, role=user.role), "success")
    return redirect(url_for("staff.staff_accounts"))


@bp.post("/accounts/<int:account_id>/role")
@admin_required
def change_staff_role(account_id: int):
    role = request.form.get("role", "")

    def change(target, by, ip):
        return accounts.change_role(target, role, by, ip)

    return _change(change, account_id, "{email} is now an {role}.")


@bp.post("/accounts/<int:account_id>/deactivate")
@admin_required
def deactivate_staff(account_id: int):
    done = "{email} is deactivated: their sessions have ended and they cannot sign in."
    return _change(accounts.deactivate, account_id, done)


@bp.post("/accounts/<int:account_id>/reactivate")
@admin_required
def reactivate_staff(account_id: int):
    return _change(accounts.reactivate, account_id, "{email} can sign in again.")


@bp.post("/accounts/<int:account_id>/two-factor/off")
@admin_required
def turn_off_staff_two_factor(account_id: int):
    done = "Two-factor sign-in is off for {email}: they can set it up again after signing in."
    return _change(accounts.turn_off_two_factor, account_id, done)


@bp.post("/accounts/invitations/<int:invitation_id>/withdraw")
@admin_required
def withdraw_invitation(invitation_id: int):
    return _change(
        accounts.revoke_invitation, invitation_id, "The invitation to {email} is withdrawn."
    )
