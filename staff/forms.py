"""Staff forms; every one carries Flask-WTF's CSRF token."""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.datastructures import CombinedMultiDict, ImmutableMultiDict
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange

from membership.goal import MAX_GOAL
from staff.models import ROLES


class StaffForm(FlaskForm):
    """Fields read from the posted form alone: no staff form takes a file, and a field sent as
    a file part (or a JSON body) would hand the code an object where it expects text. Such a
    post is read as a form without those fields, so the page shows what is missing."""

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            if request.files or request.is_json:
                formdata = request.form if request.method == "POST" else None
            return super().wrap_formdata(form, formdata)


class LoginForm(StaffForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter your email address.")])
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password.")])


class CodeForm(StaffForm):
    code = StringField(
        "Code from your authenticator app, or a recovery code",
        validators=[DataRequired(message="Enter the code."), Length(max=64)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "text"},
    )


class ForgotPasswordForm(StaffForm):
    email = EmailField(
        "Email",
        validators=[DataRequired(message="Enter your email address.")],
    )


class NewPasswordForm(StaffForm):
    password = PasswordField(
        "New password (at least 12 characters; a few unrelated words make a good one)",
        validators=[DataRequired(message="Choose a password.")],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "The new password again",
        validators=[DataRequired(message="Type the password again.")],
        render_kw={"autocomplete": "new-password"},
    )


ROLE_CHOICES = [SelectChoice(role, role.capitalize()) for role in ROLES]


class InviteForm(StaffForm):
    email = EmailField(
        "Colleague's email",
        validators=[DataRequired(message="Enter their email address.")],
    )
    role = SelectField("Role", choices=ROLE_CHOICES, default="editor")


class ActionForm(StaffForm):
    """A button with nothing but the CSRF token: sign out, archive, restore."""


class GoalForm(StaffForm):
    goal = IntegerField(
        "Members goal",
        validators=[
            DataRequired(message="Enter the goal as a whole number."),
            NumberRange(min=1, max=MAX_GOAL, message=f"Between 1 and {MAX_GOAL:,}."),
        ],
    )


class ListForm(StaffForm):
    slug = StringField(
        "Slug (in signup forms and embeds; cannot change later)",
        validators=[DataRequired(message="Enter a slug."), Length(max=64)],
    )
    name = StringField("Name", validators=[DataRequired(message="Enter a name."), Length(max=200)])
    description = TextAreaField("Description", validators=[Length(max=2000)])
    is_default = BooleanField("Default list (signups that name no list join it)")


class CampaignForm(StaffForm):
    """A campaign's draft. The rules (a list that exists, a subject, a body) are
    campaigns.services'; the form carries the fields and the CSRF token."""

    newsletter = SelectField("List", choices=[], validate_choice=False)
    subject = StringField("Subject")
    body = TextAreaField(
        "Body (Markdown)",
        description="Headings with #, **bold**, *italic*, lists with -, links as [text](https://…).",
    )


class TestSendForm(StaffForm):
    to = EmailField("Send a test to")


class SendForm(StaffForm):
    when = RadioField(
        "When",
        choices=[SelectChoice("now", "Now"), SelectChoice("later", "At a time (UTC)")],
        default="now",
    )
    at = StringField("Date and time (UTC)", render_kw={"type": "datetime-local"})


class ImportForm(FlaskForm):
    """The one staff form that takes a file: its `file` part, every other field from the
    posted form alone (never a JSON body, never a file part where text is expected)."""

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            if formdata is None or request.method != "POST":
                return None  # a blank form, or a page shown without a post
            upload = ImmutableMultiDict([("file", part) for part in request.files.getlist("file")])
            return CombinedMultiDict([upload, request.form])

    file = FileField(
        "File (a Mailchimp audience export, or any CSV with an email column)",
        validators=[FileRequired(message="Choose a file to import.")],
    )
    newsletter = SelectField("Into the list", validate_choice=True)
    encoding = StringField(
        "Encoding, only for a file that is neither UTF-8 nor UTF-16 (cp1252, cp1251, …)",
        validators=[Length(max=40)],
    )
    send_confirmations = BooleanField(
        "Mail each pending reader a confirmation (through the outbox, within the daily caps)"
    )
