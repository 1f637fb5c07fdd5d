"""deploy/kubernetes/, checked without a cluster: every manifest valid against the Kubernetes API's
schemas (kubernetes-validate, which ships them), the same processes as Procfile.scaled (`make
run-scaled`) each started by scripts/start.py, only environment variables the processes read,
probes on the paths the processes serve, and no secret but the placeholders production mode
refuses."""

from __future__ import annotations

import collections
import dataclasses
import functools
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from aiohttp import web
from kubernetes_validate import utils as kubernetes_schemas

from backend.api.routes import organisations
from backend.dispatcher.process import health_app
from backend.services.signin.settings import PortalSettings
from backend.services.slack.settings import SlackAppSettings
from backend.services.teams.settings import TeamsAppSettings
from backend.settings import Settings
from bot.action_server import OPEN_PATHS
from contracts import deployment
from contracts import settings as contract_settings
from scripts.start import COMMANDS
from tests.scaled.test_compose import MIGRATE, PYTHON, SHARED_REDIS, _procfile
from tests.stack import REPO

MANIFESTS = REPO / "deploy" / "kubernetes"
# The oldest Kubernetes still commonly run, and the newest the schemas know.
KUBERNETES_VERSIONS = ("1.30", str(kubernetes_schemas.latest_version()))
IMAGE = "therapy"  # set with `kustomize edit set image therapy=...` (kustomization.yaml)
WORKLOADS = ("Deployment", "StatefulSet")
# Read by Rasa and TensorFlow themselves, not by our settings.
THIRD_PARTY_VARIABLES = frozenset({"RASA_TELEMETRY_ENABLED", "TF_CPP_MIN_LOG_LEVEL"})
# Read with os.environ in a module of the Rasa environment (not importable here).
DIRECT_READS = {"CHAT_PUSH_REDIS_URL": REPO / "channels" / "push.py"}
# RASA_TRACKER_URL gives these parts of the example at once (contracts/settings.py).
TRACKER_PARTS = frozenset({"RASA_TRACKER_DIALECT", "RASA_TRACKER_HOST", "RASA_TRACKER_PORT",
                           "RASA_TRACKER_DB", "RASA_TRACKER_USER", "RASA_TRACKER_PASSWORD"})
EXAMPLE = REPO / "deploy" / "production.env.example"
RASA_SERVER = REPO / ".venv-rasa" / "lib" / "python3.10" / "site-packages" / "rasa" / "server.py"
SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|_KEY")


@functools.cache
def _documents() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, document) for path in sorted(MANIFESTS.glob("*.yaml"))
            if path.name != "kustomization.yaml"
            for document in yaml.safe_load_all(path.read_text()) if document]


def _kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in _documents() if doc["kind"] == kind}


def _containers() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, container) of every container, init containers included."""
    for _, doc in _documents():
        if doc["kind"] in WORKLOADS:
            pod = doc["spec"]["template"]["spec"]
            for container in pod.get("initContainers", []) + pod["containers"]:
                yield doc, container


def _own_containers() -> Iterator[tuple[str, dict[str, Any], int]]:
    """(workload, container, replicas) of every container running this repository's image."""
    for doc, container in _containers():
        if container["image"] == IMAGE:
            yield doc["metadata"]["name"], container, doc["spec"]["replicas"]


def _environment(container: dict[str, Any]) -> dict[str, str]:
    """What the container's process sees: its ConfigMap, its Secret, then its own env."""
    config_maps, secret_objects = _kind("ConfigMap"), _kind("Secret")
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            environment.update(config_maps[source["configMapRef"]["name"]]["data"])
        else:
            environment.update(secret_objects[source["secretRef"]["name"]]["stringData"])
    for variable in container.get("env", []):
        environment[variable["name"]] = variable.get("value", "<from the pod>")
    return environment


class _Recording(dict[str, str]):
    """An empty environment that notes every variable asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)


def _variables_read() -> set[str]:
    """Every variable our settings read: the contracts' groups, the production check and the
    backend's pydantic settings."""
    environ = _Recording()
    for group in vars(contract_settings).values():
        if isinstance(group, type) and dataclasses.is_dataclass(group):
            if hasattr(group, "from_environment"):
                group.from_environment(environ)
            elif hasattr(group, "load"):
                group.load({}, environ)
    deployment.problems(deployment.PROCESSES, environ)
    deployment.mode(environ)
    pydantic = {field.alias for model in (Settings, PortalSettings, SlackAppSettings,
                                          TeamsAppSettings)
                for field in model.model_fields.values() if field.alias}
    return environ.asked | pydantic


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_is_valid_against_the_kubernetes_schemas(version: str) -> None:
    documents = _documents()
    assert len(documents) >= 10
    for path, document in documents:
        try:
            kubernetes_schemas.validate(document, version, strict=True)
        except kubernetes_schemas.ValidationError as error:
            pytest.fail(f"{path.name}: {document['kind']} {document['metadata']['name']}: "
                        f"{error.caused_by.message} at {list(error.caused_by.path)}")


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    listed = sorted(kustomization["resources"])
    assert listed == sorted(p.name for p in MANIFESTS.glob("*.yaml")
                            if p.name != "kustomization.yaml")


def test_the_same_processes_as_make_run_scaled_each_started_by_scripts_start() -> None:
    """Procfile.scaled's processes, as many of each (HAProxy's job is the Services')."""
    wanted = collections.Counter(tuple(command) for name, (_, command) in _procfile().items()
                                 if name != "balancer")
    running: collections.Counter[tuple[str, ...]] = collections.Counter()
    for name, container, replicas in _own_containers():
        command = container["command"]
        assert container["workingDir"] == "/app", name
        if command == MIGRATE:
            assert name == "backend", "the migration runs before the backend starts"
            continue
        python, script, process = command
        assert script == "scripts/start.py" and process in COMMANDS, name
        assert python == PYTHON.get(process, ".venv/bin/python"), name
        running[tuple(command)] += replicas
    assert running == wanted


def test_rasa_runs_two_servers_with_lasting_inbox_names() -> None:
    rasa = _kind("StatefulSet")["rasa"]
    assert rasa["spec"]["replicas"] == 2
    (container,) = rasa["spec"]["template"]["spec"]["containers"]
    owner = next(v for v in container["env"] if v["name"] == "CHAT_INBOX_OWNER")
    assert owner["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"  # rasa-0, rasa-1
    environment = _environment(container)
    for name in SHARED_REDIS:
        assert environment[name].startswith("redis://"), name


def test_services_reach_the_ports_the_processes_listen_on() -> None:
    services = _kind("Service")
    for name, container, _ in _own_containers():
        if "ports" not in container:
            continue  # the migration
        environment = _environment(container)
        port = container["ports"][0]["containerPort"]
        listen = {"backend": "BACKEND_PORT", "rasa-action-server": "ACTION_SERVER_PORT",
                  "rasa": "RASA_PORT", "dispatcher": "DISPATCHER_PORT"}[name]
        assert environment[listen] == str(port), name
        if name in services:
            assert services[name]["spec"]["ports"][0]["port"] == port, name
    environment = _environment(next(c for n, c, _ in _own_containers() if n == "backend"))
    assert environment["BACKEND_URL"] == "http://backend:8000"
    assert environment["RASA_URL"] == "http://rasa:5005"
    assert environment["ACTION_SERVER_URL"] == "http://rasa-action-server:5055/webhook"
    for address in ("BACKEND_HOST", "ACTION_SERVER_HOST", "RASA_INTERFACE", "DISPATCHER_HOST"):
        assert environment[address] == "0.0.0.0", address  # probes come from the node


def test_every_variable_is_one_the_processes_read() -> None:
    read = _variables_read()
    for name, path in DIRECT_READS.items():
        assert f'"{name}"' in path.read_text(), (name, path)
    known = read | THIRD_PARTY_VARIABLES | set(DIRECT_READS) | {"POSTGRES_PASSWORD"}
    given = set()
    for _, container, _ in _own_containers():
        given |= set(_environment(container))
    assert not given - known, f"no process reads {sorted(given - known)}"
    example = {line.split("=", 1)[0] for line in EXAMPLE.read_text().splitlines()
               if line and not line.startswith("#")}
    assert not example - TRACKER_PARTS - given, (
        f"deploy/production.env.example's {sorted(example - TRACKER_PARTS - given)} missing")


def test_probes_ask_the_paths_the_processes_serve() -> None:
    served = {
        "backend": {route.path for route in organisations.routes
                    if isinstance(route, web.RouteDef) and route.method == "GET"},
        "rasa-action-server": set(OPEN_PATHS),  # everything else needs Rasa's token
        "dispatcher": {resource.canonical
                       for resource in health_app(cast(Any, None)).router.resources()},
        # Rasa's own "hello" route, which its chart probes (Rasa's environment, not this one).
        "rasa": {"/"} if '@app.get("/")' in RASA_SERVER.read_text() else set(),
    }
    for name, container, _ in _own_containers():
        if "ports" not in container:
            continue
        probes = [container[kind] for kind in ("startupProbe", "readinessProbe", "livenessProbe")
                  if kind in container]
        assert {"readinessProbe", "livenessProbe"} <= set(container), name
        for probe in probes:
            assert probe["httpGet"]["path"] in served[name], (name, probe)
            assert probe["httpGet"]["port"] == container["ports"][0]["name"], name


def test_every_container_requests_resources() -> None:
    for doc, container in _containers():
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), (
            doc["metadata"]["name"], container["name"])


def test_no_secret_outside_the_secret_and_its_placeholders_are_refused() -> None:
    (secret,) = _kind("Secret").values()
    for name, value in secret["stringData"].items():
        assert value == "" or deployment.PLACEHOLDER_MARK in value, name
    for config_map in _kind("ConfigMap").values():
        assert not [name for name in config_map["data"] if SECRET_NAME.search(name)]
    for doc, container in _containers():
        literal = [v["name"] for v in container.get("env", [])
                   if SECRET_NAME.search(v["name"]) and "valueFrom" not in v]
        assert not literal, (doc["metadata"]["name"], literal)
    for name, container, _ in _own_containers():
        if container["command"] == MIGRATE:
            continue
        process = container["command"][-1]  # scripts/start.py's names are the check's
        environment = _environment(container)
        credentials = REPO / environment["RASA_CREDENTIALS"]
        assert environment["SERVICE_MODE"] == "production", name
        refused = deployment.problems([process], environment, credentials)
        assert any(deployment.PLACEHOLDER_MARK in problem for problem in refused), name
        filled = {key: value.replace(deployment.PLACEHOLDER_MARK, secrets.token_hex(32))
                  for key, value in environment.items()}
        filled["ALLOW_OFFLINE_PAYMENTS"] = "true"  # no Stripe key in the example
        assert deployment.problems([process], filled, credentials) == [], name


def test_postgres_makes_the_databases_the_urls_name() -> None:
    """The tracker database as compose's init script makes it, and the URLs name both."""
    script = _kind("ConfigMap")["postgres-init"]["data"]["tracker.sql"]
    compose_script = (REPO / "deploy" / "postgres-init.sql").read_text()
    assert script.strip() in [line.strip() for line in compose_script.splitlines()]
    (secret,) = _kind("Secret").values()
    urls = secret["stringData"]
    assert urls["DATABASE_URL"].endswith("@postgres:5432/therapy")
    assert urls["RASA_TRACKER_URL"].endswith("@postgres:5432/therapy_tracker")
    assert "therapy_tracker" in script
