"""Real processes for integration tests: the backend, the action server, the Rasa server and the
dispatcher (pushes through Rasa's HTTP API; its "now" is `stack.set_now(...)`, DEV_CLOCK_FILE).

    def test_something(stack_factory):  # the fixture is registered in tests/conftest.py
        stack = stack_factory("slack", credentials={"channels.slack.SlackInput": {...}},
                              rasa_env={"SLACK_API_BASE_URL": ...})
        requests go to stack.rasa_url / stack.backend_url; stack.database() reads the backend.
        stack_factory("api", backend_only=True) starts the backend alone (no model needed).

Each process starts as the Procfile starts it (scripts/start.py, configured by environment
variables): the tests differ from `make run` only by ports, secrets and temporary databases.
Each named stack starts once per test process (`make test` runs two by default,
pytest-xdist's gw0 and gw1, each taking whole modules): a second call with the same name, from
any module, returns the running one (and fails if it asks for other settings), and a test
process stops its stacks when its tests are done, each of their processes by its own pid. Most
conversations share one stack (`stack` in tests/conftest.py): starting one costs 17 to 40 s. The
backend runs on a temporary SQLite database, migrated and seeded with the demo organisation and
60 therapists; Rasa keeps its conversations in a temporary SQLite tracker store. Logs go to
artifacts/stack/<name>/{backend,actions,rasa}.log (<name>-gw0/ and so on under pytest-xdist).
Rasa needs a trained model in models/ (`make train`); without one the fixture fails with that
instruction.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import pytest

from backend.db import Database

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"
RASA = REPO / ".venv-rasa" / "bin" / "rasa"
RASA_PYTHON = RASA.parent / "python"
START = "scripts/start.py"
MODELS = REPO / "models"
ARTIFACTS = REPO / "artifacts" / "stack"
SERVICE_TOKEN = "stack-service-token"
DEFAULT_CREDENTIALS: dict[str, Any] = {"channels.dev_rest.DevRestInput": None}
# Rasa loads TensorFlow and the model: minutes on a loaded two-core machine (more when several
# test runs share it: STACK_RASA_STARTUP_SECONDS).
STARTUP_SECONDS = {"backend": 60, "actions": 90,
                   "rasa": int(os.environ.get("STACK_RASA_STARTUP_SECONDS") or 600),
                   "dispatcher": 60}


class StackError(RuntimeError):
    pass


def free_port() -> int:
    return free_ports("one")["one"]


# The ports handed out in this test run, by every pytest-xdist worker (one file per run).
_HANDED_OUT = Path(tempfile.gettempdir()) / (
    f"test-ports-{os.environ.get('PYTEST_XDIST_TESTRUNUID') or os.getpid()}")


def free_ports(*names: str) -> dict[str, int]:
    """A free port for each name, all different, and none handed out before in this test run.
    Every socket stays bound until all are chosen (ports chosen one by one may repeat). A port
    stays free until its server listens, which can take Rasa a minute: meanwhile the kernel may
    offer it to another worker, and two stacks then share one (seen: a `make run` test's Rasa
    refused a port another worker's Rasa had just opened, 2026-12-06)."""
    with _HANDED_OUT.open("a+") as registry, contextlib.ExitStack() as held:
        fcntl.flock(registry, fcntl.LOCK_EX)  # released when the file closes
        registry.seek(0)
        taken = {int(line) for line in registry.read().split()}
        chosen: dict[str, int] = {}
        while len(chosen) < len(names):
            sock = held.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            if port not in taken:
                chosen[names[len(chosen)]] = port
                taken.add(port)
        registry.write("".join(f"{port}\n" for port in chosen.values()))
        return chosen


def in_rasa_env(code: str, *args: str, timeout: float = 300) -> Any:
    """Runs `python -c code args` in Rasa's environment (where its components run) and gives the
    JSON its last line of output printed; fails the test when the code fails."""
    if not RASA_PYTHON.exists():
        pytest.fail("Rasa's environment is missing: run `make setup`")
    done = subprocess.run([str(RASA_PYTHON), "-c", code, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def trained_model() -> Path:
    models = sorted(MODELS.glob("*.tar.gz"), key=lambda path: path.stat().st_mtime)
    if not models:
        raise StackError(f"No trained Rasa model in {MODELS}. Run `make train` in {REPO} first.")
    return models[-1]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log_path: Path
    log_file: IO[bytes]
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def stop(self, grace: float = 15) -> None:
        stop_together([self], grace)

    def log_tail(self, lines: int = 40) -> str:
        self.log_file.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def stop_together(processes: list[Process], grace: float = 15) -> None:
    """SIGTERM to every process at once, then wait for each (SIGKILL once `grace` seconds are
    over): their shutdowns overlap instead of adding up (one after the other, a test process
    took 8 to 9 s to stop its stacks at its end)."""
    for process in processes:
        if process.popen.poll() is None:
            process.popen.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.popen.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.popen.kill()
            process.popen.wait(5)
        process.log_file.close()


@dataclass
class Stack:
    name: str
    workdir: Path
    logs: Path
    database_url: str
    backend_url: str
    action_url: str
    rasa_url: str
    rasa_token: str
    service_token: str = SERVICE_TOKEN
    action_token: str = field(default_factory=lambda: secrets.token_hex(32))
    processes: list[Process] = field(default_factory=list)

    def database(self) -> Database:
        """The backend's database (for arranging and checking data in tests)."""
        return Database(self.database_url)

    def rasa_api(self, path: str) -> Any:
        """GET from Rasa's HTTP API (enabled, with this stack's token), as JSON."""
        separator = "&" if "?" in path else "?"
        url = f"{self.rasa_url}{path}{separator}token={self.rasa_token}"
        with urllib.request.urlopen(url, timeout=30) as answer:
            return json.loads(answer.read())

    def tracker(self, sender_id: str) -> dict[str, Any]:
        return self.rasa_api(f"/conversations/{quote(sender_id, safe=':')}/tracker")

    def append_events(self, sender_id: str, events: list[dict[str, Any]]) -> Any:
        """POST events to the end of a conversation (Rasa's HTTP API, with this stack's token)."""
        request = urllib.request.Request(
            f"{self.rasa_url}/conversations/{quote(sender_id, safe=':')}/tracker/events"
            f"?token={self.rasa_token}",
            data=json.dumps(events).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    @property
    def clock_file(self) -> Path:
        return self.workdir / "now"

    def set_now(self, moment: Any) -> None:
        """The time the dispatcher takes as now (None: the real time)."""
        from backend.clock import set_file_clock

        set_file_clock(self.clock_file, moment)

    def stop(self) -> None:
        stop_together(self.processes)
        self.processes.clear()

    def process(self, name: str) -> Process:
        return next(process for process in self.processes if process.name == name)

    def kill(self, name: str) -> None:
        """SIGKILL one process by its pid (a crash: no cleanup, nothing drained)."""
        process = self.process(name)
        process.popen.kill()
        process.popen.wait(10)

    def _relaunch(self, name: str) -> Process:
        old = self.process(name)
        old.stop()
        self.processes.remove(old)
        return _launch(self, name, old.command, old.env)

    def restart_backend(self) -> None:
        """Start the backend again as it was started (after `kill`, or stopping it first)."""
        _wait_until_up(self._relaunch("backend"), f"{self.backend_url}/health",
                       STARTUP_SECONDS["backend"])

    def restart_actions(self) -> None:
        """Start the action server again as it was started."""
        health = self.action_url.removesuffix("/webhook") + "/health"
        _wait_until_up(self._relaunch("actions"), health, STARTUP_SECONDS["actions"])

    def restart_rasa(self) -> None:
        """Start the Rasa server again as it was started, and wait for its model."""
        _wait_until_up(self._relaunch("rasa"), f"{self.rasa_url}/status?token={self.rasa_token}",
                       STARTUP_SECONDS["rasa"],
                       ready=lambda body: bool(json.loads(body).get("model_id")))


def _launch(stack: Stack, name: str, command: list[str], env: dict[str, str]) -> Process:
    log_path = stack.logs / f"{name}.log"
    log_file = log_path.open("ab")
    log_file.write(f"$ {' '.join(command)}\n".encode())
    log_file.flush()
    popen = subprocess.Popen(command, cwd=REPO, env=env, stdout=log_file,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    process = Process(name, popen, log_path, log_file, command, env)
    stack.processes.append(process)
    return process


def _wait_until_up(process: Process, url: str, seconds: float,
                   ready: Callable[[bytes], bool] = lambda body: True) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise StackError(f"{process.name} exited with {process.popen.returncode}:\n"
                             f"{process.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200 and ready(answer.read()):
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise StackError(f"{process.name} not ready at {url} after {seconds:.0f} s:\n"
                     f"{process.log_tail()}")


def _run(stack: Stack, name: str, command: list[str], env: dict[str, str]) -> None:
    with (stack.logs / f"{name}.log").open("ab") as log_file:
        result = subprocess.run(command, cwd=REPO, env=env, stdout=log_file,
                                stderr=subprocess.STDOUT, timeout=300, check=False)
    if result.returncode != 0:
        raise StackError(f"{' '.join(command)} failed; see {stack.logs / (name + '.log')}")


def _base_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SLACK_", "TEAMS_", "RASA_", "ACTION_SERVER_"))
           and key != "SERVICE_MODE"}
    env.update(PYTHONPATH=str(REPO), RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONUNBUFFERED="1")
    env.update(extra or {})
    return env


def _placed(env: dict[str, str] | None, stack: Stack) -> dict[str, str]:
    """`env` with "{backend_url}" replaced by the backend's address (known only once the ports
    are chosen), e.g. WEB_ALLOWED_ORIGINS="{backend_url} http://localhost:8123"."""
    return {key: value.replace("{backend_url}", stack.backend_url)
            for key, value in (env or {}).items()}


def start_stack(name: str, *, credentials: dict[str, Any] | None = None,
                rasa_env: dict[str, str] | None = None,
                backend_env: dict[str, str] | None = None,
                dispatcher_env: dict[str, str] | None = None,
                backend_only: bool = False, workdir: Path) -> Stack:
    model = None if backend_only else trained_model()
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ... (each may start this stack)
    logs = ARTIFACTS / (f"{name}-{worker}" if worker else name)
    logs.mkdir(parents=True, exist_ok=True)
    for old in logs.glob("*.log"):
        old.unlink()
    ports = free_ports("backend", "actions", "rasa", "dispatcher")
    stack = Stack(
        name=name, workdir=workdir, logs=logs,
        database_url=f"sqlite:///{workdir / 'backend.sqlite3'}",
        backend_url=f"http://127.0.0.1:{ports['backend']}",
        action_url=f"http://127.0.0.1:{ports['actions']}/webhook",
        rasa_url=f"http://127.0.0.1:{ports['rasa']}",
        rasa_token=secrets.token_hex(16),
    )
    try:
        backend_client = {"BACKEND_URL": stack.backend_url,
                          "BACKEND_SERVICE_TOKEN": SERVICE_TOKEN,
                          "ACTION_SERVER_PORT": str(ports["actions"]),
                          "ACTION_SERVER_TOKEN": stack.action_token}
        if not backend_only:
            # Rasa (half a minute: TensorFlow and the model) and the action server start while
            # the backend's database is made, as the Procfile starts every process at once.
            credentials_file = workdir / "credentials.yml"
            credentials_file.write_text(json.dumps({**DEFAULT_CREDENTIALS, **(credentials or {})},
                                                   indent=2))  # JSON is YAML
            rasa = _launch(stack, "rasa", [str(RASA_PYTHON), START, "rasa"], _base_env({
                **backend_client, "RASA_PORT": str(ports["rasa"]), "RASA_MODEL": str(model),
                "RASA_CREDENTIALS": str(credentials_file), "RASA_API_TOKEN": stack.rasa_token,
                "RASA_TRACKER_DB": str(workdir / "tracker.sqlite3"),
                "CHAT_INBOX_PATH": str(workdir / "chat-inbox.sqlite3"),
                # The website channel accepts pages of the backend's origin.
                "PUBLIC_BASE_URL": stack.backend_url, **_placed(rasa_env, stack)}))
            actions = _launch(stack, "actions", [str(PYTHON), START, "actions"],
                              _base_env(backend_client))

        backend = _base_env({"DATABASE_URL": stack.database_url,
                             "BACKEND_SERVICE_TOKEN": SERVICE_TOKEN,
                             "BACKEND_PORT": str(ports["backend"]),
                             "PUBLIC_BASE_URL": stack.backend_url,
                             # The portal page's widget connects to this Rasa server.
                             "RASA_SOCKET_URL": stack.rasa_url,
                             **_placed(backend_env, stack)})
        _run(stack, "backend", [str(PYTHON), "-m", "backend", "migrate"], backend)
        _run(stack, "backend", [str(PYTHON), "-m", "backend", "seed", "--demo",
                                "--therapists", "60"], backend)
        server = _launch(stack, "backend", [str(PYTHON), START, "backend"], backend)
        _wait_until_up(server, f"{stack.backend_url}/health", STARTUP_SECONDS["backend"])
        if backend_only:
            return stack

        _wait_until_up(actions, f"http://127.0.0.1:{ports['actions']}/health",
                       STARTUP_SECONDS["actions"])
        _wait_until_up(rasa, f"{stack.rasa_url}/status?token={stack.rasa_token}",
                       STARTUP_SECONDS["rasa"],
                       ready=lambda body: bool(json.loads(body).get("model_id")))
        dispatcher = _launch(stack, "dispatcher", [str(PYTHON), START, "dispatcher"], _base_env({
            "DATABASE_URL": stack.database_url, "RASA_URL": stack.rasa_url,
            "RASA_API_TOKEN": stack.rasa_token, "DISPATCHER_PORT": str(ports["dispatcher"]),
            "DISPATCHER_POLL_SECONDS": "0.2", "DISPATCHER_SCHEDULE_SECONDS": "1",
            "DEV_CLOCK_FILE": str(stack.clock_file), **(dispatcher_env or {})}))
        _wait_until_up(dispatcher, f"http://127.0.0.1:{ports['dispatcher']}/health",
                       STARTUP_SECONDS["dispatcher"])
    except BaseException:
        stack.stop()
        raise
    return stack


@pytest.fixture(scope="session")
def stack_factory(tmp_path_factory) -> Iterator[Callable[..., Stack]]:
    """`stack_factory(name, credentials=..., rasa_env=..., backend_env=...)` -> a running Stack.

    Fails (never skips) when the processes cannot start, e.g. without a trained model.
    """
    running: dict[str, Stack] = {}
    started_with: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}

    def make(name: str = "default", **options: Any) -> Stack:
        if name in failed:  # do not spend minutes failing again for every test
            pytest.fail(failed[name], pytrace=False)
        if name in started_with and started_with[name] != options:
            pytest.fail(f"The '{name}' stack is already running with other settings "
                        f"({started_with[name]}); give this one another name.", pytrace=False)
        started_with[name] = options
        if name not in running:
            try:
                running[name] = start_stack(name, workdir=tmp_path_factory.mktemp(f"stack-{name}"),
                                            **options)
            except StackError as error:
                failed[name] = f"Could not start the '{name}' stack: {error}"
                pytest.fail(failed[name], pytrace=False)
        return running[name]

    yield make
    stop_together([process for stack in running.values() for process in stack.processes])
