"""Integrator API keys: from IVR_API_KEYS, or created by the CLI and stored as a hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app
from sqlalchemy import select

from ivr.extensions import db
from ivr.models import ApiKey
from ivr.settings import Environment

# Accepted only when IVR_ENV=development, so the README's quick start works with no set-up.
DEV_API_KEY = "dev-api-key"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(name: str) -> str:
    """A new key; only its hash is kept, so this is the one time it can be shown."""
    key = "ivr_" + secrets.token_urlsafe(32)
    db.session.add(ApiKey(name=name, key_hash=_hash(key)))
    db.session.commit()
    return key


def is_valid(key: str) -> bool:
    if not key:
        return False
    settings = current_app.extensions["ivr.settings"]
    allowed = list(settings.ivr_api_keys)
    if settings.ivr_env is Environment.development:
        allowed.append(DEV_API_KEY)
    if any(hmac.compare_digest(key.encode(), candidate.encode()) for candidate in allowed):
        return True
    stored = db.session.scalar(select(ApiKey).filter_by(key_hash=_hash(key), revoked_at=None))
    return stored is not None
