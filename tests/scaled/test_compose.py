"""deploy/compose.yml, checked without Docker (none on the test machines): it is YAML that Compose
reads, every container runs one of scripts/start.py's processes (or the migration that
scripts/start-production.sh runs first), the same processes as Procfile.scaled (`make
run-scaled`), and HAProxy accepts deploy/haproxy.cfg with the balancer's environment."""

from __future__ import annotations

import re
import shlex
import subprocess
from typing import Any

import pytest
import yaml

from scripts.start import COMMANDS
from tests.stack import REPO

COMPOSE = REPO / "deploy" / "compose.yml"
HAPROXY_CONFIG = REPO / "deploy" / "haproxy.cfg"
PROCFILE = REPO / "Procfile.scaled"
PYTHON = {"rasa": ".venv-rasa/bin/python"}  # the Rasa server runs in the Rasa environment
HAPROXY_PATH = "/usr/sbin:/usr/bin"  # Debian's haproxy (`make balancer`)
MIGRATE = [".venv/bin/python", "-m", "backend", "migrate"]  # scripts/start-production.sh, step 3


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())  # merge keys (<<) resolved as Compose does


def _procfile() -> dict[str, tuple[dict[str, str], list[str]]]:
    """Each process of Procfile.scaled: its variables and its command after supervise.sh."""
    processes = {}
    for line in PROCFILE.read_text().splitlines():
        name, _, command = line.partition(": ")
        words = shlex.split(command)
        variables = dict(w.split("=", 1) for w in words if re.match(r"^[A-Z_0-9]+=", w))
        rest = [w for w in words if not re.match(r"^[A-Z_0-9]+=", w)]
        processes[name] = (variables, rest[1:] if rest[0] == "scripts/supervise.sh" else rest)
    return processes


def test_every_container_runs_a_process_of_scripts_start() -> None:
    services = _compose()["services"]
    own = {name: s for name, s in services.items() if "THERAPY_IMAGE" in str(s.get("image"))}
    assert own, "no service runs this repository's image"
    for name, service in own.items():
        command = service["command"]
        if command == MIGRATE:
            assert service["restart"] == "no", name  # runs once
            continue
        python, script, process = command
        assert (script, process) == ("scripts/start.py", process) and process in COMMANDS, name
        assert python == PYTHON.get(process, ".venv/bin/python"), name
        assert service["restart"] == "unless-stopped", name  # Docker restarts a dead process
        assert service["environment"]["SERVICE_MODE"] == "production", name


def test_the_same_processes_as_make_run_scaled() -> None:
    services = _compose()["services"]
    for name, (_, command) in _procfile().items():
        assert name in services, f"{name} of Procfile.scaled is missing"
        if name != "balancer":
            assert services[name]["command"] == command, name


def test_the_rasa_servers_share_the_inbox_each_under_its_own_name() -> None:
    """channels/inbox.py: a Rasa server that starts takes back what it held under its name, and
    what a server that never comes back held is taken over by the other; so both use the shared
    Redis inbox (make run-scaled: scripts/run.sh sets it) under names that differ."""
    run_scaled = (REPO / "scripts" / "run.sh").read_text()
    assert 'CHAT_INBOX_REDIS_URL="${CHAT_INBOX_REDIS_URL:-$redis}"' in run_scaled
    procfile = _procfile()
    assert procfile["rasa-1"][0]["RASA_PORT"] != procfile["rasa-2"][0]["RASA_PORT"]  # the names
    services = _compose()["services"]
    environments = [services[name]["environment"] for name in ("rasa-1", "rasa-2")]
    assert {env["CHAT_INBOX_REDIS_URL"] for env in environments} == {"redis://redis:6379/0"}
    assert environments[0]["CHAT_INBOX_OWNER"] != environments[1]["CHAT_INBOX_OWNER"]
    assert not any("CHAT_INBOX_PATH" in env for env in environments)


def test_dependencies_and_volumes_are_declared() -> None:
    compose = _compose()
    services = compose["services"]
    for name, service in services.items():
        depends = service.get("depends_on") or []
        assert set(depends) <= set(services), name
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (COMPOSE.parent / source).is_file(), (name, source)
            else:
                assert source in compose["volumes"], (name, source)


def test_haproxy_accepts_its_configuration_with_the_balancers_environment() -> None:
    balancer = _compose()["services"]["balancer"]
    settings = "\n".join(line for line in HAPROXY_CONFIG.read_text().splitlines()
                         if not line.lstrip().startswith("#"))
    used = set(re.findall(r"\$\{([A-Z_0-9]+)(?:-[^}]*)?\}", settings))  # ${NAME} or ${NAME-default}
    assert used <= set(balancer["environment"]), used - set(balancer["environment"])
    checked = subprocess.run(["haproxy", "-c", "-f", str(HAPROXY_CONFIG)], capture_output=True,
                             text=True, env={**balancer["environment"], "PATH": HAPROXY_PATH})
    # The containers' names do not resolve here: those servers start down, with a warning.
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Configuration file is valid" in checked.stdout + checked.stderr


@pytest.mark.parametrize("variable", ["BACKEND_URL", "RASA_URL", "ACTION_SERVER_URL"])
def test_processes_reach_each_other_through_the_balancer(variable: str) -> None:
    environment = _compose()["services"]["backend-1"]["environment"]
    assert environment[variable].startswith("http://balancer:")


# What several servers of one kind must share to act as one: conversation locks, chat limits,
# Slack's and pushes' already-seen keys, the durable inbox.
SHARED_REDIS = ("RASA_LOCK_STORE_URL", "CHAT_LIMITS_REDIS_URL", "SLACK_DEDUPE_REDIS_URL",
                "CHAT_INBOX_REDIS_URL", "CHAT_PUSH_REDIS_URL")


def test_every_shared_set_is_in_redis_in_every_scaled_deployment() -> None:
    run_scaled = (REPO / "scripts" / "run.sh").read_text()
    environment = _compose()["services"]["rasa-1"]["environment"]
    for name in SHARED_REDIS:
        assert f'{name}="${{{name}:-$redis}}"' in run_scaled, name
        assert environment[name] == "redis://redis:6379/0", name
