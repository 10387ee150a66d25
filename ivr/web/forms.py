"""The pages' forms (Flask-WTF: labels, CSRF, errors next to each field)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

ROLES = [(role, role.capitalize()) for role in ("agent", "supervisor", "analyst", "admin")]

# Flask-WTF ships no type information: its form base class is Any to mypy.


class SignInForm(FlaskForm):  # type: ignore[misc]
    email = EmailField("Email", validators=[DataRequired(), Length(max=255)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class InboxFilterForm(FlaskForm):  # type: ignore[misc]
    """The inbox's filters: a GET form (no CSRF: it changes nothing), its choices set by the view."""

    class Meta:
        csrf = False

    status = SelectField("Status", validators=[Optional()])
    team = SelectField("Team", validators=[Optional()])
    agent = SelectField("Agent", validators=[Optional()])


class NoteForm(FlaskForm):  # type: ignore[misc]
    note = TextAreaField("Note", validators=[DataRequired(), Length(max=5000)])


class ReassignForm(FlaskForm):  # type: ignore[misc]
    assignee = SelectField("Reassign to", coerce=int, validators=[DataRequired()])


class CloseForm(FlaskForm):  # type: ignore[misc]
    outcome = SelectField("Outcome", validators=[Optional()])
    root_cause = SelectField("Root cause", validators=[Optional()])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])


class UserForm(FlaskForm):  # type: ignore[misc]
    email = EmailField("Email", validators=[DataRequired(), Length(max=255)])
    display_name = StringField("Name", validators=[Optional(), Length(max=255)])
    role = SelectField("Role", choices=ROLES)
    agent = StringField("Agent reference", validators=[Optional(), Length(max=255)])
    supervisor = StringField("Supervisor name", validators=[Optional(), Length(max=255)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=12, max=1024)])
