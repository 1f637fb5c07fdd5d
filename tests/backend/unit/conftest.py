"""The unit tier tests the rules of backend/domain alone: no database may be opened here."""

from __future__ import annotations

import pytest

from backend.db import Database


@pytest.fixture(autouse=True)
def no_database(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("unit tests must not open a database")

    monkeypatch.setattr(Database, "__init__", refuse)
