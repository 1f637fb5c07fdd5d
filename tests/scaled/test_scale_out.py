"""`make run-scaled` as users start it: two of each process behind HAProxy, PostgreSQL, Redis.

Runs `scripts/run.sh --scaled` (what `make run-scaled` runs) with free ports, throw-away databases
on the PostgreSQL server of TEST_POSTGRES_URL and a lock-key prefix of its own in Redis; nothing
else differs from a user's start. Then, over real HTTP:
- one conversation's turns alternate between the two Rasa servers and keep their order, each
  message once;
- turns of one conversation sent to both Rasa servers at the same moment are handled one at a time
  (Redis lock store): every message once, every turn finished before the next begins;
- a Rasa server, an action server and a backend are each killed (SIGKILL) in the middle of
  conversations, and the conversations go on through the load balancer while its supervisor
  (scripts/supervise.sh) starts it again.
Needs a trained model in models/ (`make train`), PostgreSQL and Redis.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.callers import call
from tests.conftest import POSTGRES_URL
from tests.e2e.chat import WEBHOOK
from tests.stack import REPO, _base_env, free_ports, trained_model

READY_SECONDS = 900
# A killed backend or action server is back within this; a Rasa server loads its model first.
RESTART_SECONDS = {"backend": 120, "actions": 120, "rasa": READY_SECONDS}
ALL_READY = "==> run: all processes are ready"
SERVERS = ("backend_1", "backend_2", "actions_1", "actions_2", "rasa_1", "rasa_2")
BALANCED = ("backend", "action_server", "rasa")

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.postgres,
              pytest.mark.timeout(READY_SECONDS + 600)]


def _listening(port: int) -> int | None:
    """The pid listening on `port`, if any."""
    return next((c.pid for c in psutil.net_connections("tcp") if c.status == psutil.CONN_LISTEN
                 and c.laddr and c.laddr.port == port), None)


@dataclass
class Scaled:
    ports: dict[str, int]
    rasa_token: str
    log_path: Path

    def url(self, name: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tracker_events(self, sender: str, server: str = "rasa") -> list[dict[str, Any]]:
        # ALL: also what came before a restart (a goodbye restarts the conversation).
        answer = call("GET", self.url(server, f"/conversations/{sender}/tracker"
                                              f"?include_events=ALL&token={self.rasa_token}"))
        assert answer.status == 200, answer.body
        return answer.json()["events"]

    def what_happened(self) -> str:
        """The load balancer's and the supervisors' lines: what failed, and which server."""
        lines = [line for line in self.output.splitlines()
                 if "balancer" in line or "supervise:" in line or "Traceback" in line]
        return "\n".join(lines[-40:])

    def kill(self, server: str) -> None:
        """SIGKILL the process listening on the server's port: a crash, not a shutdown."""
        pid = _listening(self.ports[server])
        assert pid, f"nothing listens for {server}"
        process = psutil.Process(pid)
        process.send_signal(signal.SIGKILL)
        # Until its last thread has exited (a second or so while the kernel frees a Rasa
        # server's heap), the killed process's listening socket still completes connections,
        # which then die unanswered. A message sent then is one sent to a server as it crashed
        # (the balancer must not send it again), not one sent after the crash. /proc stops
        # naming the socket's owner as soon as the main thread is gone, so wait for the process
        # to be gone (its supervisor reaps it), not for the socket to lose its owner.
        deadline = time.monotonic() + 30
        while process.is_running():
            assert time.monotonic() < deadline, f"{server} (pid {pid}) outlived SIGKILL"
            time.sleep(0.05)


def _database_urls(work_name: str) -> tuple[str, str]:
    base = make_url(POSTGRES_URL)
    return (base.set(database=f"{work_name}").render_as_string(hide_password=False),
            base.set(database=f"{work_name}_tracker").render_as_string(hide_password=False))


def _drop(urls: tuple[str, ...]) -> None:
    server = create_engine(make_url(POSTGRES_URL).set(database="postgres"),
                           isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        for url in urls:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" '
                                    "WITH (FORCE)"))
    server.dispose()


@pytest.fixture(scope="module")
def scaled(tmp_path_factory) -> Iterator[Scaled]:
    trained_model()  # fails with the instruction to train when there is none
    work = tmp_path_factory.mktemp("scaled")
    name = f"scaled_{uuid.uuid4().hex[:10]}"
    database_url, tracker_url = _database_urls(name)
    ports = free_ports(*BALANCED, *SERVERS, "dispatcher")
    state = Scaled(ports, secrets.token_hex(32), work / "run.log")
    env = _base_env({
        **{f"{key.upper()}_PORT": str(port) for key, port in ports.items()},
        "DATABASE_URL": database_url, "RASA_TRACKER_URL": tracker_url,
        "RASA_LOCK_STORE_PREFIX": name.replace("_", ""),
        "RASA_API_TOKEN": state.rasa_token,
    })
    with state.log_path.open("wb") as log:
        # Its own session, so that the teardown stops honcho and everything it started.
        run = subprocess.Popen(["scripts/run.sh", "--scaled"], cwd=REPO, env=env, stdout=log,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
        try:
            deadline = time.monotonic() + READY_SECONDS
            while ALL_READY not in state.output:
                assert run.poll() is None, f"run.sh --scaled exited:\n{state.output[-4000:]}"
                assert time.monotonic() < deadline, f"not ready:\n{state.output[-4000:]}"
                time.sleep(1)
            yield state
        finally:
            os.killpg(run.pid, signal.SIGINT)  # honcho's Ctrl-C: stops every process
            try:
                run.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait(10)
            _drop((database_url, tracker_url))


async def _say(session: aiohttp.ClientSession, url: str, sender: str, text: str
               ) -> list[dict[str, Any]]:
    async with session.post(url + WEBHOOK, json={"sender": sender, "message": text},
                            timeout=aiohttp.ClientTimeout(total=120)) as answer:
        assert answer.status == 200, await answer.text()
        return await answer.json()


def _user_texts(events: list[dict[str, Any]]) -> list[str]:
    return [event["text"] for event in events if event["event"] == "user"]


def _turns(events: list[dict[str, Any]]) -> list[list[str]]:
    """Each user message with the names of the events after it, up to the next user message."""
    turns: list[list[str]] = []
    for event in events:
        if event["event"] == "user":
            turns.append([])
        elif turns:
            turns[-1].append(event.get("name") or event["event"])
    return turns


QUESTIONS = ("hello", "what does coverage mean?", "how do vouchers work?",
             "what is the cancellation policy?", "is this confidential?",
             "what happens to my data?", "how long does a therapist take to confirm?", "thanks")


def test_everything_runs_twice_behind_the_balancer(scaled: Scaled) -> None:
    output = scaled.output
    assert output.count("==> run: rasa ready on") == 2
    assert output.count("==> run: backend ready on") == 2
    assert output.count("==> run: action server ready on") == 2
    assert "load balancer (HAProxy) on" in output
    for server in BALANCED:  # each public port is HAProxy's
        pid = _listening(scaled.ports[server])
        assert pid and psutil.Process(pid).name() == "haproxy"
    assert call("GET", scaled.url("backend", "/health")).status == 200


async def test_turns_alternating_between_rasa_servers_keep_their_order(scaled: Scaled) -> None:
    sender = f"alternating-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as session:
        for number, question in enumerate(QUESTIONS):
            server = ("rasa_1", "rasa_2")[number % 2]
            replies = await _say(session, scaled.url(server), sender, question)
            assert replies and replies[0].get("text"), (server, question, replies)
    for server in ("rasa_1", "rasa_2"):
        events = scaled.tracker_events(sender, server)
        assert _user_texts(events) == list(QUESTIONS), [e["event"] for e in events]


async def test_simultaneous_turns_on_both_servers_run_one_at_a_time(scaled: Scaled) -> None:
    sender = f"simultaneous-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as session:
        answers = await asyncio.gather(*(
            _say(session, scaled.url(("rasa_1", "rasa_2")[number % 2]), sender, question)
            for number, question in enumerate(QUESTIONS)))
    assert all(replies and replies[0].get("text") for replies in answers), answers
    events = scaled.tracker_events(sender)
    assert sorted(_user_texts(events)) == sorted(QUESTIONS)  # each once, none lost
    # Every turn ran to its end (the bot listening again) before the next message was taken.
    for turn in _turns(events):
        assert turn and turn[-1] == "action_listen", turn
        assert "action_listen" not in turn[:-1], turn


async def _conversation_through_balancer(scaled: Scaled, kill: str) -> None:
    """Ben asks what he has left (a custom action calling the backend), the server dies, and
    the next questions are answered all the same."""
    sender = "ben"  # the demo member (DEV_TRUST_SENDER: identity dev:ben)
    # A connection per message, as Slack's and Teams' webhook deliveries come.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        before = await _say(session, scaled.url("rasa"), sender,
                            "how many sessions do I have left?")
        assert "session" in " ".join(r.get("text") or "" for r in before).lower(), before
        scaled.kill(kill)
        try:
            for question in ("how many sessions do I have left?",
                             "what is the cancellation policy?",
                             "how many sessions do I have left?"):
                replies = await _say(session, scaled.url("rasa"), sender, question)
                text_ = " ".join(r.get("text") or "" for r in replies).lower()
                assert text_ and "sorry" not in text_.split(".")[0], (kill, question, replies)
                if "left" in question:
                    assert "session" in text_, (kill, replies)
        except AssertionError as failure:
            raise AssertionError(f"{failure}\n{scaled.what_happened()}") from None


@pytest.mark.parametrize("server", ["actions_1", "backend_2", "rasa_1"])
async def test_a_killed_server_and_the_conversations_go_on(scaled: Scaled, server: str) -> None:
    await _conversation_through_balancer(scaled, server)
    # Its supervisor (scripts/supervise.sh) starts it again; honcho keeps the others running.
    port = scaled.ports[server]
    deadline = time.monotonic() + RESTART_SECONDS[server.split("_")[0]]
    while not _listening(port):
        assert time.monotonic() < deadline, f"{server} did not come back"
        await asyncio.sleep(1)
    assert "exited with status 137; starting it again" in scaled.output
