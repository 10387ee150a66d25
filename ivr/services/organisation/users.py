"""People who sign in: created with a role (and the agent or supervisor they are), their
passwords hashed with argon2, deactivated rather than deleted so the history keeps its names."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from ivr.extensions import db
from ivr.models import Agent, Role, Supervisor, User, utcnow
from ivr.services.errors import Conflict, Invalid, NotFound

MIN_PASSWORD = 12
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """What an unknown address's password is checked against, so that a failed sign-in takes as
    long either way. Made on first use: an argon2 hash takes 64 MiB and a sixth of a second, which
    every process (web workers, the RQ worker, each `flask` command) paid at start."""
    return _hasher.hash("not a password of anyone's")


def create_user(
    email: str,
    password: str,
    role: Role,
    agent_ref: str | None = None,
    supervisor_name: str | None = None,
    display_name: str | None = None,
) -> User:
    """A new user; agents name their agent reference, supervisors their supervisor."""
    address = email.strip().lower()
    if "@" not in address or len(address) > 255:
        raise Invalid(f"{email!r} is not an e-mail address", "email")
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"a password has at least {MIN_PASSWORD} characters", "password")
    if find(address) is not None:
        raise Conflict(f"there is already a user {address}", "email")
    user = User(email=address, password_hash=_hasher.hash(password), role=role, display_name=display_name)
    _give_role(user, role, agent_ref, supervisor_name)
    db.session.add(user)
    db.session.commit()
    return user


def update_user(
    user_id: int,
    role: Role,
    agent_ref: str | None = None,
    supervisor_name: str | None = None,
    display_name: str | None = None,
    password: str | None = None,
) -> User:
    """Change who a user is and what they may see; a new password when one is given. A change of
    role applies from their next request (the policy reads the role on every request)."""
    user = get(user_id)
    if user is None:
        raise NotFound(f"there is no user {user_id}")
    if password is not None and len(password) < MIN_PASSWORD:
        raise Invalid(f"a password has at least {MIN_PASSWORD} characters", "password")
    if user.role is Role.admin and role is not Role.admin:
        _keep_an_admin(user, "role")
    try:
        _give_role(user, role, agent_ref, supervisor_name)
    except Invalid:
        db.session.rollback()
        raise
    user.role = role
    user.display_name = display_name
    if password is not None:
        user.password_hash = _hasher.hash(password)
    db.session.commit()
    return user


def _give_role(user: User, role: Role, agent_ref: str | None, supervisor_name: str | None) -> None:
    """Link the user to the agent or supervisor their role names (and to nothing else)."""
    if role is Role.integrator:
        raise Invalid("integrator is a role for API keys, not for people", "role")
    user.agent = None
    user.supervisor = None
    if role is Role.agent:
        agent = db.session.scalar(select(Agent).filter_by(ref=agent_ref)) if agent_ref else None
        if agent is None:
            raise Invalid(f"an agent user names a known agent; {agent_ref!r} is not one", "agent")
        user.agent = agent
    if role is Role.supervisor:
        supervisor = (
            db.session.scalar(select(Supervisor).filter_by(name=supervisor_name)) if supervisor_name else None
        )
        if supervisor is None:
            raise Invalid(
                f"a supervisor user names a known supervisor; {supervisor_name!r} is not one",
                "supervisor",
            )
        user.supervisor = supervisor


def _keep_an_admin(user: User, field: str) -> None:
    """Refuse the change that would leave nobody able to manage users."""
    others = db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.admin, User.active.is_(True), User.id != user.id)
    )
    if not others:
        raise Conflict(f"{user.email} is the last active admin; make another admin first", field)


def find(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def get(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None (the same time either way)."""
    user = find(email)
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def deactivate(email: str) -> User:
    """Signed out at their next request, and never signed in again (until reactivated)."""
    user = find(email)
    if user is None:
        raise NotFound(f"there is no user {email}")
    if user.active and user.role is Role.admin:
        _keep_an_admin(user, "email")
    user.active = False
    db.session.commit()
    return user


def reactivate(email: str) -> User:
    """Able to sign in again, with the role and password they had."""
    user = find(email)
    if user is None:
        raise NotFound(f"there is no user {email}")
    user.active = True
    db.session.commit()
    return user


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.role, User.email)))
