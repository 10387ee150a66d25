"""What the domain refuses, in its own words. Services raise these; each way in translates them:
the API into an HTTP status, the voice webhooks into an apology and a hang-up, the CLI into an
exit code. No service speaks HTTP, TwiML or command-line flags."""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain cannot honour; the message says why, for a person to read, and
    `fields` names the values at fault (a form or the CLI can point at them)."""

    def __init__(self, message: str, *fields: str) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class NotFound(DomainError):
    """A named thing does not exist: a survey response, a step, a call, a task, a queue."""


class Invalid(DomainError):
    """A value is not acceptable: a malformed number or CallSid, an unknown flow or language."""


class Conflict(DomainError):
    """The thing's state does not allow it now: a task already done, a caller who hung up, a
    number that may not be surveyed, a setting the action needs that is not set."""


class Unreachable(DomainError):
    """Twilio (or another service we depend on) could not be reached, or refused the request."""
