"""Flask extensions, created unbound here and bound to the app in the factory."""

from flask_httpauth import HTTPTokenAuth
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from ivr.models.base import Base
from ivr.outbox import OutboxSession

# Every commit relays the background work asked for in its transaction (ivr.outbox).
db = SQLAlchemy(model_class=Base, session_options={"class_": OutboxSession})
migrate = Migrate()
api_auth = HTTPTokenAuth(scheme="Bearer")
