"""The migrations build the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade

from ivr.extensions import db
from ivr.models import Base


def schema_diff(app: Flask) -> list[object]:
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
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
