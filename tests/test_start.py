"""scripts/start.py: the dispatcher reaches the Rasa server that RASA_INTERFACE and RASA_PORT
start, unless RASA_URL says otherwise (a `make run` on other ports once pushed to port 5005)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def start(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "scripts"))
    for name in ("RASA_URL", "RASA_INTERFACE", "RASA_PORT", "SERVICE_MODE"):
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
def test_the_dispatcher_reaches_the_rasa_server_started_beside_it(start, monkeypatch, interface,
                                                                   port, url):
    if interface:
        monkeypatch.setenv("RASA_INTERFACE", interface)
    if port:
        monkeypatch.setenv("RASA_PORT", port)
    assert start.dispatcher_command()[-2:] == ["backend", "dispatch"]
    assert os.environ["RASA_URL"] == url


def test_a_given_rasa_url_wins(start, monkeypatch):
    monkeypatch.setenv("RASA_PORT", "18005")
    monkeypatch.setenv("RASA_URL", "http://rasa.internal:5005")
    start.dispatcher_command()
    assert os.environ["RASA_URL"] == "http://rasa.internal:5005"
