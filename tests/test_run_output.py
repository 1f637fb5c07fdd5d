"""`make run` as users start it: what it prints, and that every port checks its caller.

Runs the real Procfile under honcho, as scripts/run.sh does, next to scripts/announce-ready.py,
with development secrets made the way run.sh makes them (python -m contracts.deployment
dev-secrets) and a Rasa API token configured. Only the environment differs from `make run`:
free ports instead of 8000/5055/5005, a temporary database and tracker store instead of data/,
so a running `make run` is not disturbed. Needs a trained model in models/ (`make train`).
"""

from __future__ import annotations

import re
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.callers import action_call, call, listening_addresses, stop
from tests.stack import PYTHON, RASA_PYTHON, REPO, _base_env, free_ports, trained_model

HONCHO = REPO / ".venv" / "bin" / "honcho"
READY_SECONDS = 840
# A Python warning line ("<file>:<line>: <Category>: <message>") about a deprecation.
DEPRECATION = re.compile(r":\d+: \w+Warning: .*deprecat|\w*DeprecationWarning\b|MovedIn20Warning",
                         re.IGNORECASE)
ALL_READY = "==> run: all processes are ready"

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.timeout(READY_SECONDS + 300)]


@dataclass
class Run:
    ports: dict[str, int]
    env: dict[str, str]
    log_path: Path

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def url(self, name: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[name]}{path}"


def dev_secrets(work: Path, env: dict[str, str]) -> dict[str, str]:
    path = work / "dev-secrets.env"
    subprocess.run([str(PYTHON), "-m", "contracts.deployment", "dev-secrets", str(path)],
                   cwd=REPO, env=env, check=True, capture_output=True, timeout=60)
    assert path.stat().st_mode & 0o777 == 0o600
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Iterator[Run]:
    trained_model()  # fails with the instruction to train when there is none
    work = tmp_path_factory.mktemp("run")
    ports = free_ports("backend", "actions", "rasa", "dispatcher")
    env = _base_env({"DATABASE_URL": f"sqlite:///{work / 'backend.sqlite3'}",
                     # Other ports than make run's, and no BACKEND_URL or RASA_URL: each
                     # process finds the others as scripts/start.py derives them.
                     "DISPATCHER_PORT": str(ports["dispatcher"]),
                     "BACKEND_PORT": str(ports["backend"]),
                     "ACTION_SERVER_PORT": str(ports["actions"]),
                     "RASA_PORT": str(ports["rasa"]),
                     "RASA_TRACKER_DB": str(work / "tracker.sqlite3"),
                     "RASA_API_TOKEN": secrets.token_hex(32),
                     "DEV_TRUST_SENDER": "true", "PORTAL_DEV_LOGIN": "true"})
    env.update(dev_secrets(work, env))
    for step in (["migrate"], ["seed", "--demo", "--therapists", "30"]):
        subprocess.run([str(PYTHON), "-m", "backend", *step], cwd=REPO, env=env, check=True,
                       capture_output=True, timeout=180)
    state = Run(ports, env, work / "run.log")
    with state.log_path.open("wb") as log:
        announce = subprocess.Popen(
            [str(RASA_PYTHON), "scripts/announce-ready.py", "--credentials", "credentials.yml",
             "--backend", state.url("backend"), "--actions", state.url("actions"),
             "--rasa", state.url("rasa"), "--dispatcher", state.url("dispatcher"),
             "--timeout", str(READY_SECONDS)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        honcho = subprocess.Popen(
            [str(HONCHO), "start", "--no-colour", "-f", str(REPO / "Procfile"), "-d", str(REPO)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            # Ready, or honcho stopped them all (one process failed): no use waiting further.
            deadline = time.monotonic() + READY_SECONDS + 10
            while announce.poll() is None:
                assert honcho.poll() is None, f"honcho stopped:\n{state.output[-4000:]}"
                assert time.monotonic() < deadline, f"not ready:\n{state.output[-4000:]}"
                time.sleep(0.5)
            assert announce.returncode == 0, f"not ready:\n{state.output[-4000:]}"
            time.sleep(2)  # what the processes print right after opening their ports
            yield state
        finally:
            stop(honcho)
            stop(announce)


def test_each_process_says_once_that_it_is_ready(run):
    ready = [line for line in run.output.splitlines() if " ready on " in line]
    assert [line.split(" ready on ")[0] for line in sorted(ready)] == [
        "==> run: action server", "==> run: backend", "==> run: dispatcher", "==> run: rasa"
    ], run.output
    assert ALL_READY in run.output
    rasa = next(line for line in ready if line.startswith("==> run: rasa"))
    assert re.search(r"http://127\.0\.0\.1:\d+, channels: dev_rest, .*webchat", rasa), rasa


def test_no_deprecation_warnings_of_third_party_code(run):
    assert ALL_READY in run.output, run.output
    warnings = [line for line in run.output.splitlines() if DEPRECATION.search(line)]
    assert warnings == []


def test_the_project_log_lines_stay(run):
    output = run.output
    assert "The Slack channel is disabled" in output
    assert "Rasa server is up and running." in output
    assert "Action endpoint is up and running on http://127.0.0.1:" in output
    assert "Registered function for" not in output  # rasa_sdk's one line per action
    # The per-checkout secrets replace the public defaults, so nothing warns about them.
    assert "is the development default" not in output


def test_every_process_listens_on_loopback_only(run):
    assert ALL_READY in run.output, run.output
    for name, port in run.ports.items():
        assert listening_addresses(port) == {"127.0.0.1"}, name


def test_rasa_api_refuses_callers_without_its_token(run):
    token = run.env["RASA_API_TOKEN"]
    tracker = run.url("rasa", "/conversations/ben/tracker")
    events = run.url("rasa", "/conversations/ben/tracker/events")
    slot = [{"event": "slot", "name": "organisation_name", "value": "Forged Ltd"}]
    attempts = [call("GET", tracker), call("GET", f"{tracker}?token=wrong"),
                call("POST", events, slot), call("PUT", run.url("rasa", "/model"), {}),
                call("GET", tracker, headers={"Authorization": "Bearer wrong"})]
    assert [answer.status for answer in attempts] == [401] * 5, attempts
    # The events were not added: with the token the tracker has no such slot value.
    allowed = call("GET", f"{tracker}?token={token}")
    assert allowed.status == 200, allowed
    assert allowed.json()["slots"].get("organisation_name") != "Forged Ltd"
    assert call("POST", f"{events}?token={token}", slot).status == 200
    slots = call("GET", f"{tracker}?token={token}").json()["slots"]
    assert slots["organisation_name"] == "Forged Ltd"
    # Authorised, PUT /model gets as far as reading the request (no model there: not a 401).
    assert call("PUT", run.url("rasa", f"/model?token={token}"),
                {"model_file": "/nonexistent.tar.gz"}).status not in (401, 403)


def test_the_channels_stay_open_and_rasa_calls_the_actions_with_their_token(run):
    answer = call("POST", run.url("rasa", "/webhooks/dev_rest/webhook"),
                  {"sender": "ben", "message": "how many sessions do I have left?"})
    assert answer.status == 200, answer
    said = " ".join(reply.get("text", "") for reply in answer.json())
    # action_show_grants ran (endpoints.yml's URL and header reached the action server) and
    # read ben's grant from the backend.
    assert re.search(r"\d+ of \d+ sessions left", said), (said, run.output[-3000:])
    socket_io = call("GET", run.url("rasa", "/socket.io/?EIO=4&transport=polling"))
    assert socket_io.status == 200 and '"sid"' in socket_io.body, socket_io


def test_servers_keep_an_idle_connection_longer_than_sanics_default(run):
    """Rasa's client pools connections for 15 s; a server closing them sooner (Sanic's 5 s)
    made calls to the action server fail under load. One connection to each server (the three at
    once), two requests 8 s apart."""
    def answers(name: str, path: str) -> list[bytes]:
        with socket.create_connection(("127.0.0.1", run.ports[name]), timeout=10) as connection:
            request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
            said = []
            for attempt in range(2):
                if attempt:
                    time.sleep(8)
                connection.sendall(request)
                said.append(connection.recv(65536)[:100])
            return said

    servers = {"actions": "/health", "rasa": "/", "backend": "/health"}
    with ThreadPoolExecutor(len(servers)) as pool:
        said = dict(zip(servers, pool.map(answers, servers, servers.values()), strict=True))
    for name, answers_of_one in said.items():
        assert all(a.startswith(b"HTTP/1.1 200") for a in answers_of_one), (name, answers_of_one)


def backend_requests(run: Run) -> int:
    return len(re.findall(r'"GET /authorisations', run.output))


def test_action_server_refuses_a_forged_call(run):
    forged = action_call("action_list_authorisations", "dev:alice")
    webhook = run.url("actions", "/webhook")
    before = backend_requests(run)
    for headers in ({}, {"Authorization": "Bearer wrong"},
                    {"Authorization": f"Basic {run.env['ACTION_SERVER_TOKEN']}"},
                    {"Authorization": f"Bearer {run.env['BACKEND_SERVICE_TOKEN']}"}):
        answer = call("POST", webhook, forged, headers)
        assert answer.status == 401, (headers, answer)
        assert "Northwind" not in answer.body and "events" not in answer.body
    assert call("GET", run.url("actions", "/actions")).status == 401
    time.sleep(1)
    assert backend_requests(run) == before, "a refused call reached the backend"
    # The same call with Rasa's secret runs: the secret is what stopped the others.
    allowed = call("POST", webhook, forged,
                   {"Authorization": f"Bearer {run.env['ACTION_SERVER_TOKEN']}"})
    assert allowed.status == 200 and allowed.json()["responses"], allowed
    time.sleep(1)
    assert backend_requests(run) > before  # the count above would have seen a call
    assert call("GET", run.url("actions", "/health")).status == 200
