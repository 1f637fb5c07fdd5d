"""The production start (scripts/start-production.sh, SERVICE_MODE=production).

Each process, started as the Procfile starts it, refuses every demo setting and weak secret with
its message and exit status 2 before opening a port (fast: Rasa exits before loading anything).
Then the whole service starts from deploy/production.env.example with its placeholders filled
in, and its ports check their callers: Rasa's HTTP API is off, the action server refuses forged
calls, only Rasa (webhooks, socket.io) listens beyond loopback.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.callers import action_call, call, listening_addresses, stop, wait_for_port
from tests.stack import (
    PYTHON,
    RASA_PYTHON,
    REPO,
    _base_env,
    free_port,
    free_ports,
    trained_model,
)

EXAMPLE = REPO / "deploy" / "production.env.example"
START_PRODUCTION = REPO / "scripts" / "start-production.sh"
REFUSAL_SECONDS = 60
READY_SECONDS = 840
SECRET_NAMES = ("BACKEND_SERVICE_TOKEN", "ACTION_SERVER_TOKEN", "WEB_IDENTITY_SECRET",
                "PORTAL_SESSION_SECRET", "SIGNIN_ENCRYPTION_KEY", "RASA_API_TOKEN")


def example_values() -> dict[str, str]:
    lines = [line for line in EXAMPLE.read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def filled_example(work: Path, ports: dict[str, int]) -> dict[str, str]:
    """The example with every placeholder replaced, on free ports and temporary databases."""
    values = example_values()
    changes = {name: secrets.token_hex(32) for name in SECRET_NAMES}
    changes.update(
        ALLOW_OFFLINE_PAYMENTS="true", RASA_MODEL=str(trained_model()),
        DATABASE_URL=f"sqlite:///{work / 'backend.sqlite3'}",
        RASA_TRACKER_DIALECT="sqlite", RASA_TRACKER_DB=str(work / "tracker.sqlite3"),
        RASA_TRACKER_HOST="", RASA_TRACKER_PORT="", RASA_TRACKER_USER="",
        RASA_TRACKER_PASSWORD="",
        BACKEND_PORT=str(ports["backend"]), BACKEND_URL=f"http://127.0.0.1:{ports['backend']}",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{ports['backend']}",
        WEB_ALLOWED_ORIGINS=f"http://127.0.0.1:{ports['backend']}",
        ACTION_SERVER_PORT=str(ports["actions"]), RASA_PORT=str(ports["rasa"]),
        RASA_URL=f"http://127.0.0.1:{ports['rasa']}",
        DISPATCHER_PORT=str(ports.get("dispatcher") or free_port()),
        RASA_SOCKET_URL=f"http://127.0.0.1:{ports['rasa']}")
    missing = set(changes) - set(values)
    assert not missing, f"deploy/production.env.example no longer lists {sorted(missing)}"
    return {**values, **changes}


def write_env(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    return path


def test_the_production_start_explains_itself():
    shown = subprocess.run([str(START_PRODUCTION), "--help"], capture_output=True, text=True,
                           timeout=30)
    assert shown.returncode == 0 and "SERVICE_MODE=production" in shown.stdout


def test_the_unfilled_example_is_refused_with_every_placeholder(tmp_path):
    env_file = write_env(tmp_path / "production.env", example_values())
    checked = subprocess.run([str(START_PRODUCTION), "--env-file", str(env_file), "--check"],
                             cwd=REPO, env=_base_env(), capture_output=True, text=True,
                             timeout=REFUSAL_SECONDS)
    assert checked.returncode == 2, checked
    for name in (*SECRET_NAMES, "DATABASE_URL", "RASA_TRACKER_PASSWORD", "STRIPE_API_KEY"):
        assert re.search(rf"^  - {name} ", checked.stderr, re.M), (name, checked.stderr)


def test_a_missing_env_file_is_refused(tmp_path):
    checked = subprocess.run([str(START_PRODUCTION), "--env-file", str(tmp_path / "none.env")],
                             cwd=REPO, env=_base_env(), capture_output=True, text=True, timeout=30)
    assert checked.returncode == 2 and "deploy/production.env.example" in checked.stderr


START = {"backend": [str(PYTHON), "scripts/start.py", "backend"],
         "actions": [str(PYTHON), "scripts/start.py", "actions"],
         "rasa": [str(RASA_PYTHON), "scripts/start.py", "rasa"],
         "backend directly": [str(PYTHON), "-m", "backend", "serve"],
         "actions directly": [str(PYTHON), "-m", "bot.action_server"],
         "dispatcher": [str(PYTHON), "scripts/start.py", "dispatcher"]}


@pytest.mark.parametrize(("process", "change", "expected"), [
    ("backend", {"PORTAL_DEV_LOGIN": "true"}, "PORTAL_DEV_LOGIN is on"),
    ("backend", {"BACKEND_SERVICE_TOKEN": "dev-service-token"},
     "BACKEND_SERVICE_TOKEN is the public development default"),
    ("backend", {"ALLOW_OFFLINE_PAYMENTS": "false"}, "STRIPE_API_KEY is not set"),
    ("backend", {"PORTAL_SESSION_SECRET": ""}, "PORTAL_SESSION_SECRET is not set"),
    ("backend directly", {"WEB_IDENTITY_SECRET": "short"}, "WEB_IDENTITY_SECRET is 5 characters"),
    ("actions", {"ACTION_SERVER_TOKEN": "x" * 20}, "ACTION_SERVER_TOKEN is 20 characters"),
    ("actions directly", {"BACKEND_SERVICE_TOKEN": ""}, "BACKEND_SERVICE_TOKEN is not set"),
    ("rasa", {"DEV_TRUST_SENDER": "true"}, "DEV_TRUST_SENDER is on"),
    ("rasa", {"RASA_CREDENTIALS": "credentials.yml"},
     "credentials.yml opens the development channel"),
    ("rasa", {"RASA_API_TOKEN": "secret"}, "RASA_API_TOKEN is 6 characters"),
    ("rasa", {"RASA_CORS_ORIGINS": "*"}, "a wildcard '*' is refused"),
    ("dispatcher", {"RASA_API_TOKEN": ""}, "RASA_API_TOKEN is not set"),
    ("dispatcher", {"DEV_CLOCK_FILE": "/tmp/now"}, "DEV_CLOCK_FILE is set"),
])
def test_each_process_refuses_a_bad_production_setting(tmp_path, process, change, expected):
    ports = free_ports("backend", "actions", "rasa")
    env = _base_env({**filled_example(tmp_path, ports), **change})
    started = time.monotonic()
    refused = subprocess.run(START[process], cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=REFUSAL_SECONDS)
    assert refused.returncode == 2, (refused.stdout, refused.stderr)
    assert expected in refused.stderr, refused.stderr
    assert time.monotonic() - started < REFUSAL_SECONDS
    assert not any(listening_addresses(port) for port in ports.values())


@dataclass
class Production:
    ports: dict[str, int]
    values: dict[str, str]
    log_path: Path

    def url(self, name: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[name]}{path}"


@pytest.fixture(scope="module")
def production(tmp_path_factory) -> Iterator[Production]:
    work = tmp_path_factory.mktemp("production")
    ports = free_ports("backend", "actions", "rasa", "dispatcher")
    values = filled_example(work, ports)
    env_file = write_env(work / "production.env", values)
    state = Production(ports, values, work / "production.log")
    with state.log_path.open("wb") as log:
        process = subprocess.Popen([str(START_PRODUCTION), "--env-file", str(env_file)],
                                   cwd=REPO, env=_base_env(), stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            for port in ports.values():  # Rasa opens its port once the model is loaded
                wait_for_port(port, READY_SECONDS, process)
            yield state
        finally:
            stop(process)


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.timeout(READY_SECONDS + 120)
def test_production_starts_from_the_example_and_every_port_checks_its_caller(production):
    log = production.log_path.read_text(errors="replace")
    assert "Rasa server is up and running." in log, log
    assert "development default" not in log and "PORTAL_DEV_LOGIN is on" not in log
    assert listening_addresses(production.ports["rasa"]) == {"0.0.0.0"}
    assert listening_addresses(production.ports["backend"]) == {"127.0.0.1"}
    assert listening_addresses(production.ports["actions"]) == {"127.0.0.1"}
    assert listening_addresses(production.ports["dispatcher"]) == {"127.0.0.1"}
    # Rasa's HTTP API is on for the dispatcher only: without its token, no tracker, no events,
    # no model upload.
    for method, path in (("GET", "/conversations/ben/tracker"),
                         ("POST", "/conversations/ben/tracker/events"), ("PUT", "/model"),
                         ("GET", "/status")):
        assert call(method, production.url("rasa", path), [] if method != "GET" else None
                    ).status == 401, path
    # The dev channel is not there; the widget's socket.io is.
    assert call("POST", production.url("rasa", "/webhooks/dev_rest/webhook"),
                {"sender": "ben", "message": "hi"}).status == 404
    assert call("GET", production.url("rasa", "/socket.io/?EIO=4&transport=polling")
                ).status == 200
    forged = action_call("action_list_authorisations", "dev:alice")
    assert call("POST", production.url("actions", "/webhook"), forged).status == 401
    assert call("POST", production.url("actions", "/webhook"), forged,
                {"Authorization": f"Bearer {production.values['BACKEND_SERVICE_TOKEN']}"}
                ).status == 401
    # The backend keeps its service credential.
    assert call("GET", production.url("backend", "/authorisations"),
                headers={"X-Acting-For": "dev:alice"}).status == 401
