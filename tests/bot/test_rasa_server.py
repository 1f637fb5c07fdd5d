"""bot/rasa_server.py: the Rasa server the project starts checks the action server's answers with
a validator built once, and still refuses what Rasa refuses, with Rasa's error. Runs in Rasa's
environment (a subprocess), as the server does; the started server's command is checked too."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RASA_PYTHON = REPO / ".venv-rasa" / "bin" / "python"

CHECK = textwrap.dedent("""
    import json, sys
    import jsonschema
    from rasa.core.actions.action import RemoteAction
    from bot import rasa_server

    rasa_server.apply()
    action = RemoteAction("action_anything", None)
    good = {"events": [{"event": "slot", "name": "x", "value": 1}],
            "responses": [{"text": "hello", "buttons": []}]}
    outcome = {"patched": RemoteAction._validate_action_result is
                          rasa_server.validate_action_result,
               "good": action._validate_action_result(good)}
    for name, bad in (("events_not_a_list", {"events": "nope"}),
                      ("event_without_kind", {"events": [{"name": "x"}]}),
                      ("responses_not_objects", {"responses": ["text"]})):
        try:
            action._validate_action_result(bad)
            outcome[name] = "accepted"
        except jsonschema.ValidationError as error:
            outcome[name] = error.message
    print(json.dumps(outcome))
""")


@pytest.fixture(scope="module")
def outcome() -> dict[str, object]:
    if not RASA_PYTHON.exists():
        pytest.fail("Rasa's environment is missing: run `make setup`")
    done = subprocess.run([str(RASA_PYTHON), "-c", CHECK], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_validator_is_replaced_and_takes_a_good_answer(outcome) -> None:
    assert outcome["patched"] is True
    assert outcome["good"] is True


@pytest.mark.parametrize("case", ["events_not_a_list", "event_without_kind",
                                  "responses_not_objects"])
def test_a_bad_answer_gets_rasas_own_error(outcome, case: str) -> None:
    message = outcome[case]
    assert message != "accepted"
    assert "Failed to validate Action server response" in str(message)


def test_the_rasa_server_is_started_through_it(monkeypatch) -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import start
    finally:
        sys.path.remove(str(REPO / "scripts"))
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "x" * 32)
    command = start.rasa_command()
    assert command[2:4] == ["bot.rasa_server", "run"], command
