"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from backend.migrations import upgrade
from backend.models import Base
from tests.conftest import POSTGRES_URL


def _differences(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


def test_migrations_match_the_models_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        assert _differences(connection) == []
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()


def test_migrations_match_the_models_on_postgresql():
    schema = f"migrate_{uuid.uuid4().hex[:10]}"
    engine = create_engine(POSTGRES_URL)
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            connection.execute(text(f'SET search_path TO "{schema}"'))
            connection.commit()
            upgrade(POSTGRES_URL, connection)
            connection.commit()
            assert _differences(connection) == []
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.commit()
        engine.dispose()



def test_backends_starting_at_once_migrate_one_after_the_other_on_postgresql():
    """Replicas migrating at the same moment (Kubernetes init containers, Compose), each as
    `python -m backend migrate`: every run succeeds and the schema is built once."""
    schema = f"migrate_{uuid.uuid4().hex[:10]}"
    engine = create_engine(POSTGRES_URL)
    with engine.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        connection.commit()
    env = {**os.environ, "DATABASE_URL": f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"}
    try:
        runs = [subprocess.Popen([sys.executable, "-m", "backend", "migrate"], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                for _ in range(3)]
        outcomes = [(run.wait(120), run.stdout.read() if run.stdout else "") for run in runs]
        assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
        with engine.connect() as connection:
            connection.execute(text(f'SET search_path TO "{schema}"'))
            assert _differences(connection) == []
            assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.commit()
        engine.dispose()
