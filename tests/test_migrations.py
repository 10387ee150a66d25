"""The migrations build the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade

from ivr.extensions import db
from ivr.models import Base


def _not_trigram(obj: object, name: str | None, kind: str, reflected: bool, compare_to: object) -> bool:
    """The verbatims' trigram indexes exist on PostgreSQL alone (migration 0017), not in the models."""
    return not (kind == "index" and name is not None and name.endswith("_trgm"))


def schema_diff(app: Flask) -> list[object]:
    with app.app_context(), db.engine.connect() as conn:
        opts = {"compare_type": True, "render_as_batch": True, "include_object": _not_trigram}
        context = MigrationContext.configure(conn, opts=opts)
        return list(compare_metadata(context, Base.metadata))


def test_models_and_migrations_agree(app: Flask) -> None:
    assert schema_diff(app) == []


def test_downgrade_to_empty_then_upgrade_again(app: Flask) -> None:
    with app.app_context():
        downgrade(revision="base")
        tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == {t.name for t in Base.metadata.sorted_tables}
    assert schema_diff(app) == []
