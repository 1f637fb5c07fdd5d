"""Rasa's SQL tracker store, configured from environment variables with a SQLite default.

Rasa's endpoints.yml cannot give an environment variable a default, so this thin subclass reads
them: with nothing set, conversations go to the SQLite file data/rasa-tracker.sqlite3; set
RASA_TRACKER_DIALECT=postgresql (and RASA_TRACKER_HOST, _PORT, _DB, _USER, _PASSWORD) to share
them between several Rasa servers. Values written in endpoints.yml are the fallbacks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain

PREFIX = "RASA_TRACKER_"
DEFAULT_SQLITE_FILE = "data/rasa-tracker.sqlite3"


def settings_from_environment(configured: dict[str, Any],
                              environ: dict[str, str] | None = None) -> dict[str, Any]:
    environ = os.environ if environ is None else environ

    def pick(name: str, default: Any = None) -> Any:
        return environ.get(PREFIX + name.upper()) or configured.get(name) or default

    dialect = pick("dialect", "sqlite")
    settings = {
        "dialect": dialect,
        "db": pick("db", DEFAULT_SQLITE_FILE if dialect == "sqlite" else "rasa"),
        "host": pick("host"),
        "port": pick("port"),
        "username": pick("username") or environ.get(PREFIX + "USER"),
        "password": pick("password"),
        "login_db": pick("login_db"),
    }
    return {key: value for key, value in settings.items() if value is not None}


class EnvironmentSQLTrackerStore(SQLTrackerStore):
    def __init__(self, domain: Domain | None = None, event_broker: EventBroker | None = None,
                 host: str | None = None, **kwargs: Any) -> None:
        configured = {"host": host, **kwargs}
        settings = settings_from_environment(configured)
        if settings["dialect"] == "sqlite":
            Path(settings["db"]).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(domain=domain, event_broker=event_broker, **settings)
