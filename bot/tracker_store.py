"""Rasa's SQL tracker store, configured from environment variables with a SQLite default.

Rasa's endpoints.yml cannot give an environment variable a default, so this thin subclass reads
them (contracts/settings.py, TrackerStoreSettings): with nothing set, conversations go to the
SQLite file data/rasa-tracker.sqlite3; set RASA_TRACKER_DIALECT=postgresql (and
RASA_TRACKER_HOST, _PORT, _DB, _USER, _PASSWORD) to share them between several Rasa servers.
Values written in endpoints.yml are the fallbacks. Every turn's events also go through
bot/crisis_alerts.py, so that the team hears about each crisis answer (and on to the event broker
endpoints.yml configures, if any); alerts not yet recorded wait in this store's database
(bot/crisis_outbox.py). Those events are found by counting the stored ones, not as Rasa's own store
finds them, by reading and rebuilding the whole conversation a second time on every turn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

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

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        """The events of the turn not yet stored, to the event broker. Rasa's own store reads the
        conversation back and rebuilds a tracker only to count its events, the same number that
        save() counts right after to know what to insert (about a tenth of the Rasa server's
        time in the starter benchmark's conversations, py-spy 2026-12-05)."""
        if self.event_broker is None:
            return
        with self.session_scope() as session:
            new_events = list(self._additional_events(session, tracker))
        await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)
