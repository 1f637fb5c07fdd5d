"""bot/tracker_store.py: each turn's new events reach the event broker (and through it the crisis
alerts) once each, in order, the same events Rasa's own store would stream and the same it stores,
without reading the conversation back and counting the stored events once a turn; the rows are
the ones Rasa's own store writes. Runs in Rasa's environment (a subprocess), on a SQLite
tracker database of its own, as the Rasa server opens it."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.stack import RASA_PYTHON, REPO

# Three turns of one conversation, the third starting a new session, saved as the Rasa server
# saves them: the tracker retrieved at the start of the turn, its new events appended, saved.
TURNS = """
import asyncio, json, sys
import sqlalchemy
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered)
from rasa.shared.core.trackers import DialogueStateTracker
from bot.tracker_store import EnvironmentSQLTrackerStore

class Recorder(EventBroker):
    def __init__(self):
        self.published = []
    def publish(self, event):
        self.published.append(event)

TURNS = [
    [ActionExecuted("action_session_start", timestamp=1), SessionStarted(timestamp=2),
     ActionExecuted("action_listen", timestamp=3), UserUttered("hi", timestamp=4),
     BotUttered("hello", timestamp=5), ActionExecuted("action_listen", timestamp=6)],
    [UserUttered("a therapist", {"name": "find_therapist", "confidence": 0.9}, timestamp=7),
     SlotSet("issue", "anxiety", timestamp=8),
     ActionExecuted("action_listen", timestamp=9)],
    [ActionExecuted("action_session_start", timestamp=10), SessionStarted(timestamp=11),
     ActionExecuted("action_listen", timestamp=12), UserUttered("back again", timestamp=13)],
]

async def main():
    recorder = Recorder()
    store = EnvironmentSQLTrackerStore(domain=Domain.empty(), event_broker=recorder)
    rasas_own = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=sys.argv[1])
    rasa_would_stream, reads_in_save, counts = [], 0, []
    additional_events = store._additional_events
    def counted_additional_events(session, tracker):
        counts[-1] += 1
        return additional_events(session, tracker)
    store._additional_events = counted_additional_events
    retrieve = store.retrieve
    async def counted_retrieve(sender_id):
        nonlocal reads_in_save
        reads_in_save += 1
        return await retrieve(sender_id)
    for events in TURNS:
        tracker = (await store.retrieve("s1")
                   or DialogueStateTracker.from_events("s1", [], Domain.empty().slots))
        for event in events:
            tracker.update(event)
        old = await store.retrieve("s1")
        offset = len(old.events) if old else 0  # what Rasa's own store streams
        rasa_would_stream += [e.as_dict()["event"] + ":" + str(e.timestamp)
                              for e in list(tracker.events)[offset:]]
        store.retrieve = counted_retrieve
        counts.append(0)
        await store.save(tracker)
        store.retrieve = retrieve
        await rasas_own.save(tracker)
    stored = await store.retrieve_full_tracker("s1")
    def rows(engine):
        with engine.connect() as connection:
            return [list(row) for row in connection.execute(sqlalchemy.text(
                "SELECT id, sender_id, type_name, timestamp, intent_name, action_name, data"
                " FROM events ORDER BY id"))]
    print(json.dumps({
        "published": [e["event"] + ":" + str(e["timestamp"]) for e in recorder.published],
        "senders": sorted({e["sender_id"] for e in recorder.published}),
        "rasa_would_stream": rasa_would_stream,
        "stored": [e.as_dict()["event"] + ":" + str(e.timestamp) for e in stored.events],
        "reads_in_save": reads_in_save, "counts_per_save": counts,
        "rows": rows(store.engine), "rasas_rows": rows(rasas_own.engine)}))

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def turns(tmp_path_factory) -> dict:
    if not RASA_PYTHON.exists():
        pytest.fail("Rasa's environment is missing: run `make setup`")
    database = tmp_path_factory.mktemp("tracker") / "tracker.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(REPO), "RASA_TRACKER_DB": str(database),
           "RASA_TRACKER_DIALECT": "sqlite"}
    rasas_own = database.with_name("rasas-own.sqlite3")
    done = subprocess.run([str(RASA_PYTHON), "-c", TURNS, str(rasas_own)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_each_new_event_reaches_the_broker_once_in_order(turns) -> None:
    assert turns["published"] == [f"{kind}:{time}" for kind, time in [
        ("action", 1), ("session_started", 2), ("action", 3), ("user", 4), ("bot", 5),
        ("action", 6), ("user", 7), ("slot", 8), ("action", 9),
        ("action", 10), ("session_started", 11), ("action", 12), ("user", 13)]]
    assert turns["senders"] == ["s1"]


def test_the_broker_gets_what_rasas_own_store_streams_and_what_is_stored(turns) -> None:
    assert turns["published"] == turns["rasa_would_stream"]
    assert turns["published"] == turns["stored"]


def test_saving_does_not_read_the_conversation_back(turns) -> None:
    assert turns["reads_in_save"] == 0


def test_the_stored_events_are_counted_once_a_turn(turns) -> None:
    # Rasa's own save counts them twice: once to stream the new events, once to insert them.
    assert turns["counts_per_save"] == [1, 1, 1]


def test_the_rows_are_the_ones_rasas_own_store_writes(turns) -> None:
    assert len(turns["rows"]) == 13
    assert turns["rows"] == turns["rasas_rows"]
    assert [row[4] for row in turns["rows"] if row[2] == "user"] == [None, "find_therapist", None]
    assert [row[5] for row in turns["rows"] if row[2] == "action"] == [
        "action_session_start", "action_listen", "action_listen", "action_listen",
        "action_session_start", "action_listen"]
