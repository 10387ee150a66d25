"""Integrator API keys: from IVR_API_KEYS, or created by the CLI and stored as a hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update

from ivr.extensions import db
from ivr.models import Agent, ApiKey, Role, Supervisor, as_utc, utcnow
from ivr.services import policy
from ivr.services.errors import Conflict, Invalid, NotFound
from ivr.services.policy import Principal
from ivr.settings import Environment, settings

# Accepted only when IVR_ENV=development, so the README's quick start works with no set-up.
DEV_API_KEY = "dev-api-key"
KEY_MARK = "ivr_"
# "ivr_" and 8 random characters: tells keys apart in lists and logs, guesses nothing.
PREFIX_LENGTH = 12
# last_used_at is written at most this often per key: a busy integrator costs no write per request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class NewKey:
    name: str
    prefix: str
    key: str


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def shown_prefix(key: str) -> str | None:
    """What of a presented key may be shown (logs, lists): the prefix of one of our keys only.
    Keys from IVR_API_KEYS have no such structure, so nothing of them is shown."""
    if key.startswith(KEY_MARK) and len(key) > PREFIX_LENGTH:
        return key[:PREFIX_LENGTH]
    return None


def create_key(
    name: str,
    roles: Sequence[Role] = (Role.integrator, Role.analyst),
    agent_ref: str | None = None,
    supervisor_name: str | None = None,
) -> NewKey:
    """A new key with its roles (an agent key names its agent, a supervisor key its supervisor);
    only its hash is kept, so this is the one time it can be shown."""
    name = name.strip()
    if not name:
        raise Invalid("a key needs a name (who or what uses it)", "name")
    row = ApiKey(name=name, roles=",".join(role.value for role in roles))
    if Role.agent in roles:
        row.agent_id = db.session.scalar(select(Agent.id).filter_by(ref=agent_ref)) if agent_ref else None
        if row.agent_id is None:
            raise Invalid(f"an agent key names a known agent; {agent_ref!r} is not one", "agent")
    if Role.supervisor in roles:
        found = (
            db.session.scalar(select(Supervisor.id).filter_by(name=supervisor_name))
            if supervisor_name
            else None
        )
        if found is None:
            raise Invalid(
                f"a supervisor key names a known supervisor; {supervisor_name!r} is not one", "supervisor"
            )
        row.supervisor_id = found
    key = KEY_MARK + secrets.token_urlsafe(32)
    prefix = key[:PREFIX_LENGTH]
    row.key_hash, row.prefix = _hash(key), prefix
    db.session.add(row)
    db.session.commit()
    return NewKey(name=name, prefix=prefix, key=key)


def list_keys() -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))


def revoke(name_or_prefix: str) -> ApiKey:
    """Revoke the one active key with this prefix, or else this name."""
    wanted = name_or_prefix.strip()
    active = select(ApiKey).where(ApiKey.revoked_at.is_(None))
    matches = list(db.session.scalars(active.where(ApiKey.prefix == wanted)))
    if not matches:
        matches = list(db.session.scalars(active.where(ApiKey.name == wanted)))
    if not matches:
        raise NotFound(f"no active API key is named or prefixed {wanted!r} (see `flask api-keys list`)")
    if len(matches) > 1:
        prefixes = ", ".join(key.prefix or f"(id {key.id}, no prefix)" for key in matches)
        raise Conflict(
            f"{len(matches)} active keys are named {wanted!r}: revoke one by its prefix: {prefixes}"
        )
    [key] = matches
    key.revoked_at = utcnow()
    db.session.commit()
    return key


def authenticate(key: str) -> Principal | None:
    """Who a presented key is: a key from IVR_API_KEYS (integrator and analyst), or a stored key
    that is not revoked (with its roles); None for anything else. A stored key's last use is
    recorded, at most once a minute."""
    if not key:
        return None
    config = settings()
    allowed = list(config.ivr_api_keys)
    if config.ivr_env is Environment.development:
        allowed.append(DEV_API_KEY)
    if any(hmac.compare_digest(key.encode(), candidate.encode()) for candidate in allowed):
        return policy.for_key(None)
    stored = db.session.scalar(select(ApiKey).filter_by(key_hash=_hash(key), revoked_at=None))
    if stored is None:
        return None
    now = utcnow()
    last_used = as_utc(stored.last_used_at) if stored.last_used_at is not None else None
    principal = policy.for_key(stored)
    if last_used is None or last_used < now - LAST_USED_RESOLUTION:
        # Conditional, so concurrent requests of one key write once between them.
        db.session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == stored.id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_RESOLUTION),
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return principal
