"""scripts/start.py: each process finds the others where BACKEND_HOST/BACKEND_PORT and
RASA_INTERFACE/RASA_PORT start them, unless BACKEND_URL, PUBLIC_BASE_URL, RASA_SOCKET_URL or
RASA_URL say otherwise (a `make run` on other ports once pushed to port 5005, and then called the
backend on port 8000). tests/test_run_output.py starts the Procfile on other ports without them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

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


@pytest.mark.parametrize(("interface", "port", "url"), [
    (None, None, "http://127.0.0.1:5005"),
    (None, "18005", "http://127.0.0.1:18005"),
    ("0.0.0.0", "5010", "http://127.0.0.1:5010"),
    ("10.0.0.5", "5005", "http://10.0.0.5:5005"),
])
def test_the_dispatcher_and_the_widget_reach_the_rasa_server_started_beside_them(
        start, monkeypatch, interface, port, url):
    if interface:
        monkeypatch.setenv("RASA_INTERFACE", interface)
    if port:
        monkeypatch.setenv("RASA_PORT", port)
    start.default_addresses()
    assert os.environ["RASA_URL"] == url
    assert os.environ["RASA_SOCKET_URL"] == url


@pytest.mark.parametrize(("host", "port", "url"), [
    (None, None, "http://127.0.0.1:8000"),
    (None, "18000", "http://127.0.0.1:18000"),
    ("0.0.0.0", "8010", "http://127.0.0.1:8010"),
    ("10.0.0.5", "8000", "http://10.0.0.5:8000"),
])
def test_the_actions_rasa_and_browsers_reach_the_backend_started_beside_them(
        start, monkeypatch, host, port, url):
    if host:
        monkeypatch.setenv("BACKEND_HOST", host)
    if port:
        monkeypatch.setenv("BACKEND_PORT", port)
    start.default_addresses()
    assert os.environ["BACKEND_URL"] == url
    assert os.environ["PUBLIC_BASE_URL"] == url


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
