"""Two-factor sign-in for one's own account: set it up with the QR code, replace the recovery
codes, turn it off."""

from __future__ import annotations

from flask import flash, redirect, render_template, session, url_for
from flask_login import current_user

from extensions import client_address, db, limiter
from staff import second_factor
from staff.forms import CodeForm
from staff.views.blueprint import bp
from staff.views.limits import login_limit

SETUP_SECRET = "staff_totp_setup"  # the secret being set up, until a code confirms it
WRONG_CODE = "That code is not right (or was used already). Try the next code your app shows."


def _page(form: CodeForm, error: str | None = None, status: int = 200):
    setup = None
    if not current_user.two_factor_enabled:
        setup = second_factor.enrolment(current_user, session.get(SETUP_SECRET))
        session[SETUP_SECRET] = setup.secret
    required = second_factor.two_factor_required(current_user)
    return render_template(
        "staff/two_factor.html", form=form, setup=setup, error=error, required=required
    ), status


@bp.get("/two-factor")
def two_factor():
    return _page(CodeForm(formdata=None))


def _codes_page(codes: list[str]):
    db.session.commit()
    return render_template("staff/recovery_codes.html", codes=codes)


@bp.post("/two-factor/enable")
@limiter.limit(login_limit)
def two_factor_enable():
    form = CodeForm()
    secret = session.get(SETUP_SECRET)
    if not form.validate_on_submit() or not secret or current_user.two_factor_enabled:
        return _page(form, status=422)
    codes = second_factor.enable(current_user, secret, form.code.data, client_address())
    if codes is None:
        return _page(form, WRONG_CODE, 422)
    session.pop(SETUP_SECRET, None)
    return _codes_page(codes)


@bp.post("/two-factor/recovery-codes")
@limiter.limit(login_limit)
def two_factor_new_codes():
    form = CodeForm()
    codes = None
    if form.validate_on_submit():
        codes = second_factor.new_recovery_codes(current_user, form.code.data, client_address())
    if codes is None:
        db.session.rollback()
        return _page(form, WRONG_CODE, 422)
    return _codes_page(codes)


@bp.post("/two-factor/disable")
@limiter.limit(login_limit)
def two_factor_disable():
    form = CodeForm()
    if second_factor.two_factor_required(current_user):
        flash("Administrators must keep two-factor sign-in on here.", "error")
        return redirect(url_for("staff.two_factor"))
    if not (
        form.validate_on_submit()
        and second_factor.disable(current_user, form.code.data, client_address())
    ):
        db.session.rollback()
        return _page(form, WRONG_CODE, 422)
    db.session.commit()
    flash("Two-factor sign-in is off for your account.", "success")
    return redirect(url_for("staff.two_factor"))
