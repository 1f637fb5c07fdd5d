"""Rasa's SQL tracker store, configured from environment variables with a SQLite default.

Rasa's endpoints.yml cannot give an environment variable a default, so this thin subclass reads
them (contracts/settings.py, TrackerStoreSettings): with nothing set, conversations go to the
SQLite file data/rasa-tracker.sqlite3; set RASA_TRACKER_DIALECT=postgresql (and
RASA_TRACKER_HOST, _PORT, _DB, _USER, _PASSWORD) to share them between several Rasa servers.
Values written in endpoints.yml are the fallbacks. Every turn's events also go through
bot/crisis_alerts.py, so that the team hears about each crisis answer (and on to the event broker
endpoints.yml configures, if any); alerts not yet recorded wait in this store's database
(bot/crisis_outbox.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain

from bot.crisis_alerts import CrisisAlertBroker
from bot.crisis_outbox import CrisisOutbox
from contracts.settings import TrackerStoreSettings


class EnvironmentSQLTrackerStore(SQLTrackerStore):
    def __init__(self, domain: Domain | None = None, event_broker: EventBroker | None = None,
                 host: str | None = None, **kwargs: Any) -> None:
        settings = TrackerStoreSettings.load({"host": host, **kwargs})
        if settings.dialect == "sqlite":
            Path(str(settings.db)).parent.mkdir(parents=True, exist_ok=True)
        alerts = CrisisAlertBroker(event_broker)
        super().__init__(domain=domain, event_broker=alerts, **settings.store_arguments())
        # Alerts waiting for the backend are kept in this store's database (a restart keeps them).
        alerts.keep_pending_in(CrisisOutbox(self.engine))
