"""Development or production mode, and the one check every process runs before it starts.

SERVICE_MODE=production makes the backend (`python -m backend serve`), the action server
(bot/action_server.py) and the Rasa server (scripts/start.py rasa) refuse to start while any
demo setting is on or any secret is missing, a public default, a placeholder or short; the
refusal lists every problem at once with its fix. Development mode (the default, `make run`)
starts anyway: `make run` gives it per-checkout random secrets (`write_dev_secrets`).

    python -m contracts.deployment check [--process backend|actions|rasa ...]
    python -m contracts.deployment dev-secrets data/dev-secrets.env
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from contracts import web_identity
from contracts.settings import (
    DEV_SERVICE_TOKEN,
    DEV_SIGNIN_ENCRYPTION_KEY,
    DEV_SLACK_TOKEN_KEY,
    FALSE_WORDS,
    TRUE_WORDS,
    SettingsError,
)

MODE_ENV = "SERVICE_MODE"
DEVELOPMENT, PRODUCTION = "development", "production"
PROCESSES = ("backend", "actions", "rasa", "dispatcher")
LABELS = {"backend": "backend", "actions": "action server", "rasa": "Rasa server",
          "dispatcher": "dispatcher"}
MIN_SECRET_LENGTH = 32
DEV_REST_CHANNEL = "channels.dev_rest.DevRestInput"
HOW_TO_FIX = "See deploy/production.env.example and README \"Deploying\"."
# Values of deploy/production.env.example that must be replaced.
PLACEHOLDER_MARK = "replace-me"
KNOWN_DEFAULTS = frozenset({DEV_SERVICE_TOKEN, web_identity.DEV_SECRET,
                            DEV_SIGNIN_ENCRYPTION_KEY, DEV_SLACK_TOKEN_KEY})
GENERATE = "generate one with `openssl rand -hex 32`"


@dataclass(frozen=True)
class Secret:
    variable: str
    processes: tuple[str, ...]
    meaning: str
    required: bool = True  # optional secrets are checked only when given


SECRETS = (
    Secret("BACKEND_SERVICE_TOKEN", PROCESSES, "the backend's credential for its callers"),
    Secret("ACTION_SERVER_TOKEN", ("actions", "rasa"), "what Rasa sends the action server"),
    Secret(web_identity.SECRET_ENV, ("backend", "rasa"), "the widget's identity-token key"),
    Secret("PORTAL_SESSION_SECRET", ("backend",), "the key of the portal's CSRF tokens"),
    Secret("SIGNIN_ENCRYPTION_KEY", ("backend",),
           "the key that encrypts organisations' SSO client secrets and embed keys"),
    Secret("RASA_API_TOKEN", ("rasa",), "Rasa's HTTP API token", required=False),
    Secret("RASA_API_TOKEN", ("dispatcher",), "Rasa's HTTP API token, for the pushes"),
    Secret("RASA_JWT_SECRET", ("rasa",), "Rasa's HTTP API JWT key", required=False),
)
DEV_SECRETS = ("BACKEND_SERVICE_TOKEN", "ACTION_SERVER_TOKEN", web_identity.SECRET_ENV,
               "PORTAL_SESSION_SECRET", "SIGNIN_ENCRYPTION_KEY", "RASA_API_TOKEN",
               "SLACK_TOKEN_KEYS")
SLACK_KEYS = Secret("SLACK_TOKEN_KEYS", ("backend",),
                    "the keys that encrypt the Slack workspaces' bot tokens (comma-separated, "
                    "the first encrypts)")


def _flag(environ: Mapping[str, str], name: str) -> bool:
    value = environ.get(name, "").strip().lower()
    if value and value not in TRUE_WORDS | FALSE_WORDS:
        raise SettingsError(f"{name} must be true or false, not {environ[name]!r}.")
    return value in TRUE_WORDS


def mode(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    value = environ.get(MODE_ENV, "").strip().lower() or DEVELOPMENT
    if value not in (DEVELOPMENT, PRODUCTION):
        raise SettingsError(f"{MODE_ENV} must be '{DEVELOPMENT}' or '{PRODUCTION}', "
                            f"not {environ[MODE_ENV]!r}.")
    return value


def _secret_problem(secret: Secret, value: str) -> str | None:
    name = secret.variable
    if not value:
        return f"{name} is not set ({secret.meaning}): {GENERATE}." if secret.required else None
    if value in KNOWN_DEFAULTS:
        return f"{name} is the public development default: {GENERATE}."
    if PLACEHOLDER_MARK in value:
        return f"{name} is still the example's placeholder: {GENERATE}."
    if len(value) < MIN_SECRET_LENGTH:
        return (f"{name} is {len(value)} characters, fewer than {MIN_SECRET_LENGTH}: "
                f"{GENERATE}.")
    return None


def _credential_channels(credentials: Path) -> list[str]:
    from ruamel.yaml import YAML  # in both environments (Rasa's and rasa-sdk's dependency)

    return list(YAML(typ="safe").load(credentials.read_text()) or {})


def _backend_problems(environ: Mapping[str, str]) -> Iterable[str]:
    if _flag(environ, "PORTAL_DEV_LOGIN"):
        yield ("PORTAL_DEV_LOGIN is on (anyone could sign in to the portal as any member): "
               "unset it or set it to false.")
    if not environ.get("SMTP_HOST", "").strip():
        yield ("SMTP_HOST is not set, so sign-in links would only be written to the backend's "
               "log: set SMTP_HOST, SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD and SMTP_FROM.")
    if not environ.get("STRIPE_API_KEY", "").strip():
        if not _flag(environ, "ALLOW_OFFLINE_PAYMENTS"):
            yield ("STRIPE_API_KEY is not set, so charges would only be recorded offline: set "
                   "the Stripe key, or ALLOW_OFFLINE_PAYMENTS=true to run without card payments.")
    elif not environ.get("STRIPE_WEBHOOK_SECRET", "").strip():
        yield ("STRIPE_WEBHOOK_SECRET is not set, so Stripe's events would be refused: set the "
               "webhook endpoint's signing secret (whsec_...).")


def _slack_problems(environ: Mapping[str, str]) -> Iterable[str]:
    """With Slack installs on (SLACK_CLIENT_ID), the client secret and a key of each's own."""
    installs = bool(environ.get("SLACK_CLIENT_ID", "").strip())
    if installs and not environ.get("SLACK_CLIENT_SECRET", "").strip():
        yield ("SLACK_CLIENT_SECRET is not set, so no workspace could install the app: copy "
               "it from the Slack app's Basic Information.")
    keys = [key.strip() for key in environ.get(SLACK_KEYS.variable, "").split(",")]
    given = [key for key in keys if key]
    if not given and installs:
        yield f"{SLACK_KEYS.variable} is not set ({SLACK_KEYS.meaning}): {GENERATE}."
    for key in given:
        problem = _secret_problem(SLACK_KEYS, key)
        if problem:
            yield problem


def _clock_problems(environ: Mapping[str, str]) -> Iterable[str]:
    if environ.get("DEV_CLOCK_FILE", "").strip():
        yield ("DEV_CLOCK_FILE is set (the time would be read from a file, for tests): unset "
               "it.")


def _rasa_problems(environ: Mapping[str, str], credentials: Path | None) -> Iterable[str]:
    if _flag(environ, "DEV_TRUST_SENDER"):
        yield ("DEV_TRUST_SENDER is on (the dev channel would trust any sender id as an "
               "identity): unset it or set it to false.")
    if credentials is not None and DEV_REST_CHANNEL in _credential_channels(credentials):
        yield (f"{credentials} opens the development channel {DEV_REST_CHANNEL}: use "
               "deploy/credentials.yml (RASA_CREDENTIALS) or remove that section.")


PROCESS_CHECKS: dict[str, Callable[[Mapping[str, str], Path | None], Iterable[str]]] = {
    "backend": lambda environ, _credentials: [*_backend_problems(environ),
                                              *_slack_problems(environ),
                                              *_clock_problems(environ)],
    "dispatcher": lambda environ, _credentials: _clock_problems(environ),
    "actions": lambda environ, _credentials: (),
    "rasa": _rasa_problems,
}


def problems(processes: Iterable[str], environ: Mapping[str, str] | None = None,
             credentials: Path | None = None) -> list[str]:
    """What keeps these processes from starting in production, each with its fix."""
    environ = os.environ if environ is None else environ
    chosen = tuple(processes)
    unknown = set(chosen) - set(PROCESSES)
    if unknown:
        raise ValueError(f"unknown process {sorted(unknown)}; known: {PROCESSES}")
    found = list(dict.fromkeys(
        problem for secret in SECRETS if set(secret.processes) & set(chosen)
        if (problem := _secret_problem(secret, environ.get(secret.variable, "").strip()))))
    secret_names = {secret.variable for secret in SECRETS}
    found += [f"{name} still holds the example's placeholder {PLACEHOLDER_MARK!r}: set the real "
              "value." for name, value in sorted(environ.items())
              if PLACEHOLDER_MARK in value and name not in secret_names]
    for process in PROCESSES:
        if process in chosen:
            found += [problem for problem in PROCESS_CHECKS[process](environ, credentials)
                      if problem not in found]
    return found


def refusal(what: str, found: list[str]) -> str:
    lines = [f"Refusing to start the {what} in production mode ({MODE_ENV}=production):"]
    lines += [f"  - {problem}" for problem in found]
    lines.append(HOW_TO_FIX)
    return "\n".join(lines)


def require_safe_start(process: str, environ: Mapping[str, str] | None = None,
                       credentials: Path | None = None) -> None:
    """Exit with status 2 and the list of problems if production mode finds any."""
    try:
        if mode(environ) != PRODUCTION:
            return
        found = problems([process], environ, credentials)
    except SettingsError as error:
        print(f"Refusing to start the {LABELS[process]}: {error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    if found:
        print(refusal(LABELS[process], found), file=sys.stderr, flush=True)
        raise SystemExit(2)


def write_dev_secrets(path: Path) -> bool:
    """Create `path` (mode 0600) with a random value per development secret; when it exists,
    add only the secrets it lacks (a newer checkout needs one more)."""
    if path.exists():
        known = {line.split("=", 1)[0] for line in path.read_text().splitlines() if "=" in line}
        missing = [name for name in DEV_SECRETS if name not in known]
        if missing:
            with path.open("a") as file:
                file.write("".join(f"{name}={secrets.token_hex(32)}\n" for name in missing))
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Development secrets of this checkout, made by `make run` (scripts/run.sh)."]
    lines += [f"{name}={secrets.token_hex(32)}" for name in DEV_SECRETS]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write("\n".join(lines) + "\n")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="list what keeps production mode from starting")
    check.add_argument("--process", action="append", choices=PROCESSES,
                       help="check this process only (repeatable; default: all of them)")
    check.add_argument("--credentials", type=Path, help="Rasa's credentials file")
    dev = commands.add_parser("dev-secrets", help="create a development secrets file")
    dev.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    if args.command == "dev-secrets":
        created = write_dev_secrets(args.path)
        print(f"==> run: {'created' if created else 'using'} development secrets {args.path}")
        return 0
    found = problems(args.process or PROCESSES, credentials=args.credentials)
    if found:
        print(refusal("service", found), file=sys.stderr)
        return 2
    print("The production settings are complete.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
