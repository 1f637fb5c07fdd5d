"""Rasa's SQL tracker store, configured from environment variables with a SQLite default.

Rasa's endpoints.yml cannot give an environment variable a default, so this thin subclass reads
them (contracts/settings.py, TrackerStoreSettings): with nothing set, conversations go to the
SQLite file data/rasa-tracker.sqlite3; set RASA_TRACKER_DIALECT=postgresql (and
RASA_TRACKER_HOST, _PORT, _DB, _USER, _PASSWORD) to share them between several Rasa servers.
Values written in endpoints.yml are the fallbacks. Every turn's events also go through
bot/crisis_alerts.py, so that the team hears about each crisis answer (and on to the event broker
endpoints.yml configures, if any); alerts not yet recorded wait in this store's database
(bot/crisis_outbox.py). Those events are found by counting the stored ones once a turn, not as
Rasa's own store finds them, by reading and rebuilding the whole conversation a second time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

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

    async def save(self, tracker: DialogueStateTracker) -> None:
        """The turn's new events to the event broker, then to the database. Rasa's own save counts
        the stored events twice (once to stream, once to insert) and, to stream, first reads the
        whole conversation back and rebuilds a tracker only to count its events (about a tenth of
        the Rasa server's time in the starter benchmark's conversations, py-spy 2026-12-05).
        Here they are counted once; the rows are the ones Rasa writes."""
        with self.session_scope() as session:
            new_events = list(self._additional_events(session, tracker))
        if self.event_broker is not None:
            # Outside the counting transaction: the crisis alerts may write to this database.
            await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)
        with self.session_scope() as session:
            session.add_all(self._row(tracker.sender_id, event) for event in new_events)
            session.commit()

    def _row(self, sender_id: str, event: Event) -> Any:
        """The row Rasa's SQLTrackerStore.save writes for an event."""
        data = event.as_dict()
        return self.SQLEvent(
            sender_id=sender_id, type_name=event.type_name, timestamp=data.get("timestamp"),
            intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            action_name=data.get("name"), data=json.dumps(data))
