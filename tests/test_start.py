"""scripts/start.py: each process finds the others where BACKEND_HOST/BACKEND_PORT and
RASA_INTERFACE/RASA_PORT start them, unless BACKEND_URL, PUBLIC_BASE_URL, RASA_SOCKET_URL or
RASA_URL say otherwise (a `make run` on other ports once pushed to port 5005, and then called the
backend on port 8000). tests/test_run_output.py starts the Procfile on other ports without them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stack import RASA_PYTHON

REPO = Path(__file__).resolve().parent.parent
ADDRESSES = ("BACKEND_URL", "PUBLIC_BASE_URL", "RASA_SOCKET_URL", "RASA_URL")


@pytest.fixture
def start(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "scripts"))
    for name in (*ADDRESSES, "RASA_INTERFACE", "RASA_PORT", "BACKEND_HOST", "BACKEND_PORT",
                 "SERVICE_MODE"):
        monkeypatch.setenv(name, "")  # remembered, so that what the test sets is undone
        monkeypatch.delenv(name)
    import start

    yield start
    sys.modules.pop("start", None)


# The variables naming where a server listens, its default port, and the addresses derived from
# them: the dispatcher's and the chat widget's Rasa, and the backend of the action server, Rasa
# and browsers.
SERVERS = {"rasa": ("RASA_INTERFACE", "RASA_PORT", 5005, ("RASA_URL", "RASA_SOCKET_URL")),
           "backend": ("BACKEND_HOST", "BACKEND_PORT", 8000, ("BACKEND_URL", "PUBLIC_BASE_URL"))}


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize(("host", "port", "address"), [
    (None, None, "127.0.0.1:{default}"),
    (None, "18123", "127.0.0.1:18123"),
    ("0.0.0.0", "18124", "127.0.0.1:18124"),
    ("10.0.0.5", None, "10.0.0.5:{default}"),
])
def test_each_process_reaches_the_servers_started_beside_it(start, monkeypatch, server, host,
                                                            port, address):
    host_variable, port_variable, default, derived = SERVERS[server]
    if host:
        monkeypatch.setenv(host_variable, host)
    if port:
        monkeypatch.setenv(port_variable, port)
    start.default_addresses()
    url = "http://" + address.format(default=default)
    assert {name: os.environ[name] for name in derived} == dict.fromkeys(derived, url)


def test_given_addresses_win(start, monkeypatch):
    given = {"BACKEND_URL": "http://backend.internal:8000",
             "PUBLIC_BASE_URL": "https://portal.example.com",
             "RASA_SOCKET_URL": "https://chat.example.com", "RASA_URL": "http://rasa.internal:5005"}
    monkeypatch.setenv("RASA_PORT", "18005")
    monkeypatch.setenv("BACKEND_PORT", "18000")
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    start.default_addresses()
    assert {name: os.environ[name] for name in ADDRESSES} == given


def test_a_port_that_is_not_a_number_refuses_to_start(start, monkeypatch, capsys):
    monkeypatch.setenv("BACKEND_PORT", "eighty")
    assert start.main(["dispatcher"]) == 2
    assert "BACKEND_PORT" in capsys.readouterr().err


@pytest.mark.parametrize(("process", "variable"), [
    ("backend", "BACKEND_PORT"), ("actions", "ACTION_SERVER_PORT"), ("rasa", "RASA_PORT"),
    ("dispatcher", "DISPATCHER_PORT"),
])
def test_a_port_in_use_refuses_to_start_and_says_which(process, variable):
    """Before, the action and Rasa servers printed a traceback and exited with status 0."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        python = RASA_PYTHON if process == "rasa" else Path(sys.executable)
        env = {**os.environ, variable: str(port), "SERVICE_MODE": "development"}
        done = subprocess.run([str(python), "scripts/start.py", process], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"port {port} on 127.0.0.1 is in use" in done.stderr
    assert f"set {variable} to a free port" in done.stderr
    assert "Traceback" not in done.stderr
