"""Start one process of the service, the one way it is started everywhere (Procfile, `make run`,
the production start, the tests), configured by environment variables only (README
"Configuration"):

    .venv/bin/python scripts/start.py backend        python -m backend serve
    .venv/bin/python scripts/start.py actions        python -m bot.action_server
    .venv-rasa/bin/python scripts/start.py rasa      rasa run (bot/rasa_server.py) with RASA_* below
    .venv/bin/python scripts/start.py dispatcher     python -m backend dispatch (the pushes)

Rasa: RASA_INTERFACE (127.0.0.1), RASA_PORT (5005), RASA_MODEL (models), RASA_ENDPOINTS
(endpoints.yml), RASA_CREDENTIALS (credentials.yml); its HTTP API only with RASA_API_TOKEN or
RASA_JWT_SECRET (+ RASA_JWT_METHOD); CORS only for RASA_CORS_ORIGINS (comma-separated, no '*');
ACTION_SERVER_URL (default: from ACTION_SERVER_HOST/PORT) and ACTION_SERVER_TOKEN go to
endpoints.yml. Each process finds the others at BACKEND_URL, PUBLIC_BASE_URL, RASA_SOCKET_URL and
RASA_URL, by default the addresses BACKEND_HOST/PORT and RASA_INTERFACE/PORT start them on. With
SERVICE_MODE=production each process first runs contracts/deployment.py's check and exits with
status 2 and the list of what to fix; on a port another process holds, each exits with status 2
and says which variable moves it. The process replaces this script (same pid), and
deprecation warnings of third-party code are hidden (scripts/without-deprecations.py).
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from contracts.deployment import require_safe_start  # noqa: E402
from contracts.settings import (  # noqa: E402
    LOOPBACK,
    SERVER_KEEP_ALIVE_SECONDS,
    ActionServerSettings,
    BackendServerSettings,
    DispatcherServerSettings,
    RasaServerSettings,
    SettingsError,
)

WITHOUT_DEPRECATIONS = "scripts/without-deprecations.py"
LOGGING_CONFIG = "logging.yml"
ANY_ADDRESS = ("0.0.0.0", "::", "")


def require_free_port(host: str, port: int, variable: str) -> None:
    """Refuses a port another process listens on. The servers would not say it plainly: the
    action and Rasa servers (Sanic) print a traceback and exit with status 0, the backend and the
    dispatcher (aiohttp) a traceback; and a readiness check would take the other process's answers
    for this one's (an earlier `make run` still holding 5055 did that)."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError):
        return  # an unknown host: the server says so itself
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise SettingsError(
                    f"port {port} on {host or 'every interface'} is in use by another process "
                    f"(an earlier `make run` still running?): stop it, or set {variable} to a "
                    "free port") from None


def backend_command() -> list[str]:
    require_safe_start("backend")  # again in `serve`; here before its imports take seconds
    settings = BackendServerSettings.from_environment()
    require_free_port(settings.host, settings.port, "BACKEND_PORT")
    return [sys.executable, WITHOUT_DEPRECATIONS, "backend", "serve"]


def actions_command() -> list[str]:
    require_safe_start("actions")  # again in bot/action_server.py, after rasa_sdk's imports
    settings = ActionServerSettings.from_environment()
    require_free_port(settings.host, settings.port, "ACTION_SERVER_PORT")
    return [sys.executable, WITHOUT_DEPRECATIONS, "bot.action_server"]


def _local_url(host: str, port: int, path: str = "") -> str:
    """Where a process of this machine listening on host:port is reached."""
    return f"http://{LOOPBACK if host in ANY_ADDRESS else host}:{port}{path}"


def default_addresses() -> None:
    """Where the processes beside this one are, unless the environment says otherwise: the
    addresses BACKEND_HOST/BACKEND_PORT and RASA_INTERFACE/RASA_PORT start them on (a `make run`
    on other ports once called the backend on port 8000). BACKEND_URL: where the action server
    and the Rasa server call the backend; PUBLIC_BASE_URL: where browsers reach the portal;
    RASA_SOCKET_URL: where the portal's chat widget reaches Rasa; RASA_URL: where the dispatcher
    pushes. Production sets each of them (deploy/production.env.example)."""
    backend_settings = BackendServerSettings.from_environment()
    rasa_settings = RasaServerSettings.from_environment()
    backend = _local_url(backend_settings.host, backend_settings.port)
    rasa = _local_url(rasa_settings.interface, rasa_settings.port)
    for name, url in [("BACKEND_URL", backend), ("PUBLIC_BASE_URL", backend),
                      ("RASA_SOCKET_URL", rasa), ("RASA_URL", rasa)]:
        if not os.environ.get(name):
            os.environ[name] = url


def dispatcher_command() -> list[str]:
    require_safe_start("dispatcher")
    settings = DispatcherServerSettings.from_environment()
    require_free_port(settings.host, settings.port, "DISPATCHER_PORT")
    return [sys.executable, WITHOUT_DEPRECATIONS, "backend", "dispatch"]


def rasa_command() -> list[str]:
    settings = RasaServerSettings.from_environment()
    require_safe_start("rasa", credentials=Path(settings.credentials))
    require_free_port(settings.interface, settings.port, "RASA_PORT")
    actions = ActionServerSettings.from_environment()
    if not os.environ.get("ACTION_SERVER_URL"):
        os.environ["ACTION_SERVER_URL"] = _local_url(actions.host, actions.port, "/webhook")
    if not actions.token:
        print("ACTION_SERVER_TOKEN is not set: the action server refuses Rasa's calls "
              "(`make run` sets one).", file=sys.stderr, flush=True)
        os.environ["ACTION_SERVER_TOKEN"] = ""  # endpoints.yml needs the variable to exist
    # Rasa's Sanic app reads SANIC_* variables into its config (`rasa run` has no option).
    os.environ.setdefault("SANIC_KEEP_ALIVE_TIMEOUT", str(SERVER_KEEP_ALIVE_SECONDS))
    # bot.rasa_server: `rasa run`, its answers from the action server checked faster.
    return [sys.executable, WITHOUT_DEPRECATIONS, "bot.rasa_server", "run", *settings.arguments(),
            "--logging-config-file", LOGGING_CONFIG]


COMMANDS = {"backend": backend_command, "actions": actions_command, "rasa": rasa_command,
            "dispatcher": dispatcher_command}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in COMMANDS:
        asked = argv in (["-h"], ["--help"])
        print(__doc__, file=sys.stdout if asked else sys.stderr)
        return 0 if asked else 2
    os.chdir(REPO)
    try:
        default_addresses()
        command = COMMANDS[argv[0]]()
    except SettingsError as error:
        print(f"Refusing to start {argv[0]}: {error}", file=sys.stderr, flush=True)
        return 2
    os.execv(command[0], command)
    return 1  # not reached: execv replaces this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
