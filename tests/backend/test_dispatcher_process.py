"""The dispatcher as users start it (`scripts/start.py dispatcher`), killed with SIGKILL in the
middle of a push and started again: the push reaches the conversation exactly once.

A stand-in for Rasa's HTTP API (the two routes the dispatcher uses, with its token) holds the
first push without answering, either after adding it to the conversation (the answer is lost)
or before (nothing happened); the dispatcher is killed while it waits.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from backend.db import Database
from backend.models import ChatIdentity, NotificationDelivery
from backend.services import notifications
from contracts.push import pushed_keys
from tests.backend import factories
from tests.channels.standins import ThreadedServer, wait_for
from tests.stack import PYTHON, REPO, _base_env, free_port

TOKEN = "dispatcher-test-rasa-token"
LEASE_SECONDS = 3
HOLD_SECONDS = 6
# Each wait's bound: the whole test, slow steps included, fails with the dispatcher's log well
# before its own timeout (a timeout that fires while pytest reports a failure loses the report).
PHASE_SECONDS = 40


@dataclass
class RasaStandIn:
    """Rasa's `POST /conversations/{id}/tracker/events` and `GET .../tracker`."""

    hold_first: str  # "after_applying" or "before_applying"
    posts: list[dict[str, Any]] = field(default_factory=list)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    held: bool = False

    @property
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/conversations/{id}/tracker/events", self.append)
        app.router.add_get("/conversations/{id}/tracker", self.tracker)
        return app

    async def append(self, request: web.Request) -> web.Response:
        if request.query.get("token") != TOKEN:
            return web.json_response({"error": "unauthorised"}, status=401)
        events = await request.json()
        self.posts.append({"conversation": request.match_info["id"], "events": events,
                           "output_channel": request.query.get("output_channel")})
        hold = not self.held
        self.held = True
        if hold and self.hold_first == "before_applying":
            await asyncio.sleep(HOLD_SECONDS)  # the dispatcher is killed meanwhile
            return web.json_response({"error": "gave up"}, status=500)
        self.events.setdefault(request.match_info["id"], []).extend(events)
        if hold:
            await asyncio.sleep(HOLD_SECONDS)  # the answer comes after the dispatcher's death
        return web.json_response({"events": self.events[request.match_info["id"]]})

    async def tracker(self, request: web.Request) -> web.Response:
        if request.query.get("token") != TOKEN:
            return web.json_response({"error": "unauthorised"}, status=401)
        return web.json_response({"events": self.events.get(request.match_info["id"], [])})


def start_dispatcher(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as output:
        return subprocess.Popen([str(PYTHON), "scripts/start.py", "dispatcher"], cwd=REPO,
                                env=env, stdout=output, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


def delivery_states(db: Database) -> list[tuple[str, int]]:
    with db.reader() as session:
        return [(row.state.value, row.attempts) for row in session.scalars(
            select(NotificationDelivery).order_by(NotificationDelivery.id))]


@pytest.fixture
def database(tmp_path) -> Iterator[tuple[Database, dict[str, str]]]:
    url = f"sqlite:///{tmp_path / 'backend.sqlite3'}"
    env = _base_env({"DATABASE_URL": url})
    subprocess.run([str(PYTHON), "-m", "backend", "migrate"], cwd=REPO, env=env, check=True,
                   capture_output=True, timeout=60)
    db = Database(url)
    yield db, env
    db.dispose()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("hold_first", ["after_applying", "before_applying"])
def test_a_dispatcher_killed_mid_push_delivers_exactly_once_after_restart(
        database, tmp_path, hold_first):
    db, env = database
    admin = factories.register_organisation(db)
    with db.transaction() as session:
        session.add(ChatIdentity(channel="slack", external_id="T1:U1",
                                 member_id=admin.member_id))
    with db.transaction() as session:
        notifications.notify_admins(session, admin.organisation_id, "charge_failed",
                                    "The card was declined.")
    rasa = RasaStandIn(hold_first)
    server = ThreadedServer(rasa.app).start()
    env = {**env, "RASA_URL": server.url, "RASA_API_TOKEN": TOKEN,
           "DISPATCHER_PORT": str(free_port()), "DISPATCHER_POLL_SECONDS": "0.2",
           "DISPATCHER_LEASE_SECONDS": str(LEASE_SECONDS), "DISPATCHER_RETRY_SECONDS": "0.5"}
    log = tmp_path / "dispatcher.log"
    first = start_dispatcher(env, log)
    try:
        wait_for(lambda: rasa.posts, timeout=PHASE_SECONDS, why=log.read_text)
        assert delivery_states(db) == [("sending", 1)]
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        second = start_dispatcher(env, log)
        try:
            wait_for(lambda: delivery_states(db) == [("delivered", 2)], timeout=PHASE_SECONDS,
                     why=lambda: f"{delivery_states(db)}\n{log.read_text()}")
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(20) == 0, log.read_text()
    finally:
        if first.poll() is None:
            first.kill()
        server.stop()
    [conversation] = rasa.events
    assert conversation == "slack:T1:U1"  # keyed as the channel keys it
    assert rasa.posts[0]["output_channel"] == "slack"
    bot_events = [event for event in rasa.events[conversation] if event["event"] == "bot"]
    assert len(bot_events) == 1 and bot_events[0]["text"] == "The card was declined."
    assert len(pushed_keys({"events": bot_events})) == 1
    # Sent again only when the first never reached the conversation.
    assert len(rasa.posts) == (1 if hold_first == "after_applying" else 2)
    listed = subprocess.run([str(PYTHON), "-m", "backend", "notifications"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60, check=True).stdout
    assert "delivered 1" in listed and "charge_failed" in listed


@pytest.mark.timeout(120)
def test_a_push_rasa_refuses_is_retried_and_its_error_shown(database, tmp_path):
    db, env = database
    admin = factories.register_organisation(db)
    with db.transaction() as session:
        session.add(ChatIdentity(channel="dev", external_id="alice", member_id=admin.member_id))
    with db.transaction() as session:
        notifications.notify_admins(session, admin.organisation_id, "test", "hello")
    env = {**env, "RASA_URL": f"http://127.0.0.1:{free_port()}", "RASA_API_TOKEN": TOKEN,
           "DISPATCHER_PORT": str(free_port()), "DISPATCHER_POLL_SECONDS": "0.2",
           "DISPATCHER_RETRY_SECONDS": "0.2", "DISPATCHER_MAX_ATTEMPTS": "2"}
    dispatcher = start_dispatcher(env, tmp_path / "dispatcher.log")
    try:
        wait_for(lambda: delivery_states(db) == [("failed", 2)], timeout=PHASE_SECONDS,
                 why=lambda: f"{delivery_states(db)}\n{(tmp_path / 'dispatcher.log').read_text()}")
    finally:
        dispatcher.send_signal(signal.SIGTERM)
        dispatcher.wait(20)
    listed = subprocess.run([str(PYTHON), "-m", "backend", "notifications", "--state", "failed"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
                            check=True).stdout
    assert "failed 1" in listed and "Rasa unreachable" in listed
