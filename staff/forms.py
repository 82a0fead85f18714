"""Staff forms; every one carries Flask-WTF's CSRF token."""

from __future__ import annotations

from flask_wtf import FlaskForm
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


def text_only(value):
    """A field sent as something other than text (a file part, a JSON number or list) is read
    as empty, so the form answers "enter your …" rather than failing."""
    return value if isinstance(value, str) else ""


class LoginForm(FlaskForm):
    email = EmailField(
        "Email",
        filters=[text_only],
        validators=[DataRequired(message="Enter your email address.")],
    )
    password = PasswordField(
        "Password",
        filters=[text_only],
        validators=[DataRequired(message="Enter your password.")],
    )


class CodeForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app, or a recovery code",
        filters=[text_only],
        validators=[DataRequired(message="Enter the code."), Length(max=64)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "text"},
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        "Email",
        filters=[text_only],
        validators=[DataRequired(message="Enter your email address.")],
    )


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        "New password (at least 12 characters; a few unrelated words make a good one)",
        filters=[text_only],
        validators=[DataRequired(message="Choose a password.")],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "The new password again",
        filters=[text_only],
        validators=[DataRequired(message="Type the password again.")],
        render_kw={"autocomplete": "new-password"},
    )


ROLE_CHOICES = [SelectChoice(role, role.capitalize()) for role in ROLES]


class InviteForm(FlaskForm):
    email = EmailField(
        "Colleague's email",
        filters=[text_only],
        validators=[DataRequired(message="Enter their email address.")],
    )
    role = SelectField("Role", choices=ROLE_CHOICES, default="editor")


class ActionForm(FlaskForm):
    """A button with nothing but the CSRF token: sign out, archive, restore."""


class GoalForm(FlaskForm):
    goal = IntegerField(
        "Members goal",
        validators=[
            DataRequired(message="Enter the goal as a whole number."),
            NumberRange(min=1, max=MAX_GOAL, message=f"Between 1 and {MAX_GOAL:,}."),
        ],
    )


class ListForm(FlaskForm):
    slug = StringField(
        "Slug (in signup forms and embeds; cannot change later)",
        validators=[DataRequired(message="Enter a slug."), Length(max=64)],
    )
    name = StringField("Name", validators=[DataRequired(message="Enter a name."), Length(max=200)])
    description = TextAreaField("Description", validators=[Length(max=2000)])
    is_default = BooleanField("Default list (signups that name no list join it)")


class CampaignForm(FlaskForm):
    """A campaign's draft. The rules (a list that exists, a subject, a body) are
    campaigns.services'; the form carries the fields and the CSRF token."""

    newsletter = SelectField("List", choices=[], validate_choice=False)
    subject = StringField("Subject")
    body = TextAreaField(
        "Body (Markdown)",
        description="Headings with #, **bold**, *italic*, lists with -, links as [text](https://…).",
    )


class TestSendForm(FlaskForm):
    to = EmailField("Send a test to")


class SendForm(FlaskForm):
    when = RadioField(
        "When",
        choices=[SelectChoice("now", "Now"), SelectChoice("later", "At a time (UTC)")],
        default="now",
    )
    at = StringField("Date and time (UTC)", render_kw={"type": "datetime-local"})
