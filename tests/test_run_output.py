"""What `make run` prints: one ready line per process and no deprecation warnings of Rasa's
dependencies.

Starts the Procfile's three commands under honcho, as scripts/run.sh does, next to
scripts/announce-ready.py, and reads their output until all three are ready. Free ports replace
8000/5055/5005 and a temporary database and tracker store replace data/, so a running `make run`
is not disturbed. Needs a trained model in models/ (`make train`).
"""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from tests.stack import PYTHON, RASA, REPO, _base_env, free_port, trained_model

HONCHO = REPO / ".venv" / "bin" / "honcho"
RASA_PYTHON = RASA.parent / "python"
READY_SECONDS = 840
# A Python warning line ("<file>:<line>: <Category>: <message>") about a deprecation.
DEPRECATION = re.compile(r":\d+: \w+Warning: .*deprecat|\w*DeprecationWarning\b|MovedIn20Warning",
                         re.IGNORECASE)

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.timeout(READY_SECONDS + 120)]


def procfile_with(replacements: dict[str, str]) -> str:
    text = (REPO / "Procfile").read_text()
    for old, new in replacements.items():
        assert old in text, f"the Procfile no longer contains {old!r}; update this test"
        text = text.replace(old, new)
    return text


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="module")
def run_output(tmp_path_factory) -> str:
    trained_model()  # fails with the instruction to train when there is none
    work = tmp_path_factory.mktemp("run")
    ports = {name: free_port() for name in ("backend", "actions", "rasa")}
    env = _base_env({"DATABASE_URL": f"sqlite:///{work / 'backend.sqlite3'}",
                     "BACKEND_PORT": str(ports["backend"]),
                     "BACKEND_URL": f"http://127.0.0.1:{ports['backend']}"})
    subprocess.run([str(PYTHON), "-m", "backend", "migrate"], cwd=REPO, env=env, check=True,
                   capture_output=True, timeout=120)
    endpoints = work / "endpoints.yml"
    endpoints.write_text(json.dumps({  # JSON is YAML
        "action_endpoint": {"url": f"http://127.0.0.1:{ports['actions']}/webhook"},
        "tracker_store": {"type": "bot.tracker_store.EnvironmentSQLTrackerStore",
                          "dialect": "sqlite", "db": str(work / "tracker.sqlite3")},
    }))
    procfile = work / "Procfile"
    procfile.write_text(procfile_with({
        "--port 5055": f"--port {ports['actions']}",
        "--port 5005": f"--port {ports['rasa']}",
        "--endpoints endpoints.yml": f"--endpoints {endpoints}",
    }))
    log_path = work / "run.log"
    with log_path.open("wb") as log:
        announce = subprocess.Popen(
            [str(RASA_PYTHON), "scripts/announce-ready.py", "--credentials", "credentials.yml",
             "--backend", f"http://127.0.0.1:{ports['backend']}",
             "--actions", f"http://127.0.0.1:{ports['actions']}",
             "--rasa", f"http://127.0.0.1:{ports['rasa']}", "--timeout", str(READY_SECONDS)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        honcho = subprocess.Popen(
            [str(HONCHO), "start", "--no-colour", "-f", str(procfile), "-d", str(REPO)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            announce.wait(READY_SECONDS + 10)
            time.sleep(2)  # what the processes print right after opening their ports
        finally:
            stop(honcho)
            stop(announce)
    return log_path.read_text(errors="replace")


def test_each_process_says_once_that_it_is_ready(run_output):
    ready = [line for line in run_output.splitlines() if " ready on " in line]
    assert [line.split(" ready on ")[0] for line in sorted(ready)] == [
        "==> run: action server", "==> run: backend", "==> run: rasa"], run_output
    assert "==> run: all three processes are ready" in run_output
    rasa = next(line for line in ready if line.startswith("==> run: rasa"))
    assert re.search(r"http://127\.0\.0\.1:\d+, channels: dev_rest, .*webchat", rasa), rasa


def test_no_deprecation_warnings_of_third_party_code(run_output):
    assert "all three processes are ready" in run_output, run_output
    warnings = [line for line in run_output.splitlines() if DEPRECATION.search(line)]
    assert warnings == []


def test_the_project_log_lines_stay(run_output):
    assert "BACKEND_SERVICE_TOKEN is the development default" in run_output
    assert "The Slack channel is disabled" in run_output
    assert "Rasa server is up and running." in run_output
    assert "Registered function for" not in run_output  # rasa_sdk's one line per action
