"""Flask extensions, created unbound here and bound to the app in the factory."""

from flask_httpauth import HTTPTokenAuth
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from ivr.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
api_auth = HTTPTokenAuth(scheme="Bearer")
