"""A crisis alert the backend could not take yet survives a restart of the Rasa server (issue 10).

Two Rasa-side processes in turn, each opening the tracker store as the Rasa server does
(bot/tracker_store.py, Rasa's environment): the first answers a crisis while the backend is
unreachable and exits with the alert unsent; the second starts on the same tracker database with
the real backend up (tests/bot/conftest.py) and sends it, once, with the kind and no words.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from pathlib import Path

from sqlalchemy import select

from backend.models import HandoffRequest
from bot.crisis_outbox import TABLE_NAME
from tests.bot.conftest import running_backend
from tests.stack import RASA_PYTHON, REPO

IDENTITY = "slack:T0CRISIS:U0ALERT"
WORDS = "i took all my pills an hour ago"

# One Rasa server's life, as far as crisis alerts go: open the tracker store, then either answer
# a crisis (events as Rasa saves them) and stop after `seconds`, or only wait for what it resumed,
# or answer a crisis while the backend takes calls but never answers, and shut down (the broker's
# close()) while an attempt waits: the delivery must end within `seconds`.
SERVER = """
import asyncio, json, os, sys
from bot.tracker_store import EnvironmentSQLTrackerStore

def answer_crisis(broker):
    broker.publish({"event": "user", "sender_id": "s1", "timestamp": 100.0, "text": WORDS,
                    "metadata": {"identity": IDENTITY},
                    "parse_data": {"entities": [{"entity": "risk_kind", "value": "emergency"}]}})
    broker.publish({"event": "action", "name": "utter_crisis", "sender_id": "s1",
                    "timestamp": 101.0})

async def main(phase, seconds):
    store = EnvironmentSQLTrackerStore()
    broker = store.event_broker
    if phase == "crisis":
        answer_crisis(broker)
        await asyncio.sleep(seconds)  # attempts fail meanwhile; then the server stops
    elif phase == "shutdown":
        silent = await asyncio.start_server(lambda r, w: asyncio.sleep(3600), "127.0.0.1", 0)
        os.environ["BACKEND_URL"] = f"http://127.0.0.1:{silent.sockets[0].getsockname()[1]}"
        answer_crisis(broker)
        await asyncio.sleep(0.5)  # the first attempt now waits for an answer
        await broker.close()
        await asyncio.wait_for(broker.delivered(), seconds)
    else:
        await asyncio.wait_for(broker.delivered(), seconds)

asyncio.run(main(sys.argv[1], float(sys.argv[2])))
"""


async def rasa_side(phase: str, seconds: float, env: dict[str, str], log: Path, *,
                    limit: float = 240) -> None:
    """Runs one phase, for at most `limit` seconds; its output goes to a file, so that only the
    process itself is waited for (a pipe stays open while anything it started holds it)."""
    code = f"WORDS = {WORDS!r}\nIDENTITY = {IDENTITY!r}\n{SERVER}"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            str(RASA_PYTHON), "-c", code, phase, str(seconds), cwd=REPO, env=env,
            stdout=output, stderr=asyncio.subprocess.STDOUT)
    try:
        await asyncio.wait_for(process.wait(), limit)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"the {phase} phase did not end in {limit:.0f} s:\n"
                             f"{log.read_text(errors='replace')[-3000:]}") from None
    assert process.returncode == 0, log.read_text(errors="replace")[-3000:]


def pending(tracker_db: Path) -> list[dict]:
    with sqlite3.connect(tracker_db) as connection:
        return [json.loads(row[0]) for row in connection.execute(f"SELECT alert FROM {TABLE_NAME}")]


async def test_an_alert_waiting_for_the_backend_is_sent_by_the_next_rasa_server(
        backend_db, monkeypatch, tmp_path):
    tracker_db = tmp_path / "tracker.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(REPO), "RASA_TRACKER_DB": str(tracker_db),
           "BACKEND_URL": "http://127.0.0.1:9", "BACKEND_SERVICE_TOKEN": "unused"}
    # Nothing listens on port 9: the backend is down.
    await rasa_side("crisis", 3.0, env, tmp_path / "crisis.log")
    waiting = pending(tracker_db)
    assert [alert["risk_kind"] for alert in waiting] == ["emergency"]
    assert WORDS not in json.dumps(waiting)

    async with running_backend(backend_db, monkeypatch):
        env.update(BACKEND_URL=os.environ["BACKEND_URL"],
                   BACKEND_SERVICE_TOKEN=os.environ["BACKEND_SERVICE_TOKEN"])
        await rasa_side("restart", 60.0, env, tmp_path / "restart.log")

    with backend_db.reader() as session:
        recorded = list(session.scalars(select(HandoffRequest)))
    assert [(r.identity, r.topic) for r in recorded] == [(IDENTITY, "crisis")]
    assert pending(tracker_db) == []


async def test_a_server_stopping_while_an_alert_waits_for_the_backend_stops(tmp_path):
    """The delivery's retries must not swallow the cancellation of a shutdown: tenacity catches
    every exception an attempt raises, CancelledError too, and retrying it kept the Rasa server
    from ever exiting (seen in full test runs under load, when attempts last longer)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "RASA_TRACKER_DB": str(tmp_path / "t.sqlite3"),
           "BACKEND_SERVICE_TOKEN": "unused"}
    await rasa_side("shutdown", 2.0, env, tmp_path / "shutdown.log", limit=90)
