"""The pages' forms (Flask-WTF: labels, CSRF, errors next to each field)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
    widgets,
)
from wtforms.validators import URL, DataRequired, Length, Optional, Regexp

from ivr.models import Channel, FeedbackDelivery
from ivr.services.organisation.users import MIN_PASSWORD

ROLES = [SelectChoice(role, role.capitalize()) for role in ("agent", "supervisor", "analyst", "admin")]

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


PASSWORD_LENGTH = f"A password has at least {MIN_PASSWORD} characters (and at most 1024)."


class UserForm(FlaskForm):  # type: ignore[misc]
    email = EmailField("Email", validators=[DataRequired(), Length(max=255)])
    display_name = StringField("Name", validators=[Optional(), Length(max=255)])
    role = SelectField("Role", choices=ROLES)
    agent = StringField("Agent reference", validators=[Optional(), Length(max=255)])
    supervisor = StringField("Supervisor name", validators=[Optional(), Length(max=255)])
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD, max=1024, message=PASSWORD_LENGTH)],
        description=f"At least {MIN_PASSWORD} characters.",
        render_kw={"autocomplete": "new-password"},
    )


class UserEditForm(FlaskForm):  # type: ignore[misc]
    """A user's role and who they are; the e-mail stays (it is how the history names them)."""

    display_name = StringField("Name", validators=[Optional(), Length(max=255)])
    role = SelectField("Role", choices=ROLES)
    agent = StringField("Agent reference", validators=[Optional(), Length(max=255)])
    supervisor = StringField("Supervisor name", validators=[Optional(), Length(max=255)])
    password = PasswordField(
        "New password",
        validators=[Optional(), Length(min=MIN_PASSWORD, max=1024, message=PASSWORD_LENGTH)],
        description="Leave this empty to keep their password.",
        render_kw={"autocomplete": "new-password"},
    )


# A loose check: the address is the person's to get right; this only catches a slip of the keys.
EMAIL = Regexp(r"^[^@\s]+@[^@\s]+$", message="Enter an e-mail address, like name@example.com.")
PHONE = Regexp(r"^\+[1-9][0-9]{6,14}$", message="Enter the number in E.164 form, like +15551234567.")
CHANNELS = [
    SelectChoice(Channel.sms.value, "SMS"),
    SelectChoice(Channel.email.value, "E-mail"),
    SelectChoice(Channel.webhook.value, "Webhook (a CRM endpoint)"),
]
DELIVERIES = [
    SelectChoice(FeedbackDelivery.digest.value, "Daily digest (praise and very low scores at once)"),
    SelectChoice(FeedbackDelivery.immediate.value, "Every feedback item at once"),
]


class CheckboxesField(SelectMultipleField):  # type: ignore[misc]
    """Several choices as a list of checkboxes (rendered in a fieldset by _fields.html's choices)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class SupervisorForm(FlaskForm):  # type: ignore[misc]
    name = StringField("Name", validators=[DataRequired(), Length(max=255)])
    email = EmailField("Email", validators=[Optional(), Length(max=255), EMAIL])
    phone = StringField("Phone", validators=[Optional(), Length(max=32), PHONE])
    escalates_to = SelectField("Escalates to", choices=[SelectChoice("", "Nobody")])


class TeamForm(FlaskForm):  # type: ignore[misc]
    name = StringField("Name", validators=[DataRequired(), Length(max=128)])
    supervisor = SelectField("Supervisor", choices=[SelectChoice("", "Nobody: the team's pool")])
    channels = CheckboxesField("Channels", choices=CHANNELS, validate_choice=True)
    email = EmailField("Pool email", validators=[Optional(), Length(max=255), EMAIL])
    phone = StringField("Pool phone", validators=[Optional(), Length(max=32), PHONE])
    webhook_url = URLField("Webhook URL", validators=[Optional(), Length(max=500), URL(require_tld=False)])
    webhook_secret = PasswordField("Webhook secret", validators=[Optional(), Length(max=128)])
    follow_up_channel = SelectField(
        "Follow-up after a callback",
        choices=[SelectChoice("voice", "By phone call"), SelectChoice("sms", "By text message")],
        description="How a caller is asked, after their callback task is closed, whether it won them back.",
    )


class AgentForm(FlaskForm):  # type: ignore[misc]
    ref = StringField("Reference", validators=[DataRequired(), Length(max=255)])
    display_name = StringField("Name", validators=[Optional(), Length(max=255)])
    team = SelectField("Team", choices=[SelectChoice("", "No team")])
    email = EmailField("Email", validators=[Optional(), Length(max=255), EMAIL])
    feedback_delivery = RadioField("Feedback", choices=DELIVERIES, default=FeedbackDelivery.digest.value)


def change_note() -> StringField:
    """A publish's change note (flows and routing alike)."""
    return StringField(
        "Change note",
        validators=[Optional(), Length(max=2000)],
        description="What changed and why: kept with the version and in the audit log.",
    )


class DraftForm(FlaskForm):  # type: ignore[misc]
    """The flow editor: the document as YAML and the change note; the prompt texts are fields
    named text.<language>.<prompt key>, one per language and prompt (built by the template)."""

    document = TextAreaField(
        "Flow document (YAML)",
        validators=[Length(max=200_000)],
        description="Checked as you type: every problem is listed with its step and field.",
        render_kw={"rows": 28, "spellcheck": "false", "autocapitalize": "off"},
    )
    note = change_note()


class RoutingForm(FlaskForm):  # type: ignore[misc]
    """The routing editor: the front door's routing as YAML and the change note."""

    document = TextAreaField(
        "Routing (YAML)",
        validators=[Length(max=100_000)],
        description="Checked as you type: every problem is listed with its queue and field.",
        render_kw={"rows": 28, "spellcheck": "false", "autocapitalize": "off"},
    )
    note = change_note()


class RollbackForm(FlaskForm):  # type: ignore[misc]
    note = StringField("Why roll back", validators=[Optional(), Length(max=2000)])


class TryForm(FlaskForm):  # type: ignore[misc]
    """The phone panel: which version, which language, and what the caller does, in order."""

    version = SelectField("Version to try")
    language = SelectField("Language")
    keys = StringField(
        "Caller's answers",
        validators=[Optional(), Length(max=2000)],
        description=(
            'In order, space separated: keys (5, 10#), say:five ("say:very good@0.4" with a '
            'confidence), rec:8 or "rec:8:It was slow" for a comment, silence, hangup.'
        ),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class AudioForm(FlaskForm):  # type: ignore[misc]
    """A recorded prompt for one prompt and language (choices set by the view)."""

    prompt = SelectField("Prompt")
    language = SelectField("Language of the recording")
    audio = FileField(
        "Recording (MP3 or WAV)",
        validators=[FileRequired("Choose an .mp3 or .wav file.")],
        description="At most 5 MB and 120 seconds; it is played instead of the text once published.",
        render_kw={"accept": ".mp3,.wav,audio/mpeg,audio/wav"},
    )


class StepForm(FlaskForm):  # type: ignore[misc]
    """One step's fields, built per kind from the flow schema (ivr.web.flow_steps); the CSRF here."""


class QueueForm(FlaskForm):  # type: ignore[misc]
    """One queue of the routing draft (ivr.web.routing builds its fields); the CSRF here."""


class RemoveAudioForm(FlaskForm):  # type: ignore[misc]
    prompt = HiddenField()
    language = HiddenField()
