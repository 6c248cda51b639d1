"""The schema comes from the migrations and matches the models."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import inspect

from wallet.extensions import db


def test_migrations_build_every_model_table(app: Flask) -> None:
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_migrations_report_no_drift_against_models(app: Flask) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context(), db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == []


def test_migrations_downgrade_to_base_and_upgrade_again(app: Flask) -> None:
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert set(db.metadata.tables) <= set(inspect(db.engine).get_table_names())
