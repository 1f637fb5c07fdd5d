"""Settings of the action server and the Rasa server (the backend reads its own with pydantic).

Each group is a frozen dataclass whose field defaults are the documented defaults, defined here
once. `load` fills a group from the environment: field `api_base_url` of a group loaded with
prefix "SLACK_" reads SLACK_API_BASE_URL (or the variable named by `setting(env=...)`), converted
to the field's type (str, int, float, bool, tuple of str, optionally None). Values a channel's
credentials.yml section or endpoints.yml gives (`configured`, keyed by field name) win over the
environment, or lose to it with `configured_wins=False`. An empty value counts as not given; a
value that does not convert raises SettingsError naming the variable.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from contracts import web_identity
from contracts.web_identity import TokenConfig

S = TypeVar("S")
# Development defaults, public by nature: `make run` replaces them with per-checkout secrets
# (data/dev-secrets.env) and production mode refuses them (contracts/deployment.py).
DEV_SERVICE_TOKEN = "dev-service-token"
# Key of the backend's encrypted sign-in secrets (SSO client secrets, embed keys).
DEV_SIGNIN_ENCRYPTION_KEY = "dev-signin-encryption-key-change-me-outside-development"
# Key of the Slack workspaces' bot tokens in the backend's database (SLACK_TOKEN_KEYS).
DEV_SLACK_TOKEN_KEY = "dev-slack-token-key-change-me-outside-development"
LOOPBACK = "127.0.0.1"
# The backend also serves the portal: in development, people and programs use one address.
DEFAULT_BACKEND_URL = web_identity.DEFAULT_BASE_URL
DEFAULT_TIMEZONE = "Europe/London"
DEFAULT_RASA_PORT = 5005
DEFAULT_BACKEND_PORT = 8000
DEFAULT_DISPATCHER_PORT = 8010
# Where browsers reach the Rasa server's socket.io endpoint (the portal's widget connects there).
DEFAULT_RASA_SOCKET_URL = f"http://{LOOPBACK}:{DEFAULT_RASA_PORT}"
DEFAULT_RASA_SOCKET_PATH = "/socket.io"
# Our HTTP servers keep an idle connection longer than any client of ours pools one (aiohttp
# keeps them 15 s): a client then never sends on a connection the server has just closed (with
# Sanic's 5 s, Rasa's calls to the action server failed under load: "Cannot write to closing
# transport", the action's answer lost).
SERVER_KEEP_ALIVE_SECONDS = 75
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class SettingsError(ValueError):
    """A setting has a value of the wrong kind; the message names the variable."""


def setting(default: Any, *, env: str | tuple[str, ...] | None = None,
            choices: tuple[str, ...] | None = None) -> Any:
    """A field read from `env` (one name, or several tried in order) rather than from the
    prefixed field name; `choices` limits a text value (compared in lower case)."""
    return field(default=default, metadata={"env": env, "choices": choices})


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _variables(spec: dataclasses.Field[Any], prefix: str) -> tuple[str, ...]:
    names = spec.metadata.get("env") or f"{prefix}{spec.name.upper()}"
    return (names,) if isinstance(names, str) else tuple(names)


def _base_type(hint: Any) -> Any:
    """str for `str | None`, tuple for `tuple[str, ...]`, the type itself otherwise."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    return typing.get_origin(hint) or hint


def _convert(kind: Any, raw: Any, name: str, choices: tuple[str, ...] | None) -> Any:
    text = str(raw).strip()
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if text.lower() in TRUE_WORDS | FALSE_WORDS:
            return text.lower() in TRUE_WORDS
        raise SettingsError(f"{name} must be true or false, not {raw!r}.")
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            raise SettingsError(f"{name} must be a{'' if kind is float else ' whole'} number, "
                                f"not {raw!r}.") from None
    if kind is tuple:
        items = raw if isinstance(raw, (list, tuple)) else text.split(",")
        return tuple(str(item).strip() for item in items if str(item).strip())
    value = str(raw)
    if choices is not None:
        value = value.strip().lower()
        if value not in choices:
            raise SettingsError(f"{name} must be {' or '.join(map(repr, choices))}, "
                                f"not {raw!r}.")
    return value


def load(group: type[S], environ: Mapping[str, str] | None = None, *, prefix: str = "",
         configured: Mapping[str, Any] | None = None, configured_wins: bool = True) -> S:
    """The settings `group` (a frozen dataclass) from the environment and `configured`."""
    environ = os.environ if environ is None else environ
    configured = configured or {}
    hints = typing.get_type_hints(group)
    values: dict[str, Any] = {}
    for spec in dataclasses.fields(group):  # type: ignore[arg-type]
        variables = _variables(spec, prefix)
        from_environment = next(((name, environ[name]) for name in variables
                                 if _given(environ.get(name))), None)
        from_configured = ((f"{spec.name} (or {variables[0]})", configured[spec.name])
                           if _given(configured.get(spec.name)) else None)
        chosen = ((from_configured or from_environment) if configured_wins
                  else (from_environment or from_configured))
        if chosen is not None:
            name, raw = chosen
            values[spec.name] = _convert(_base_type(hints[spec.name]), raw, name,
                                         spec.metadata.get("choices"))
    return group(**values)


# --- Every process that calls the backend ---------------------------------------------------


@dataclass(frozen=True)
class BackendSettings:
    """Where the backend is and the callers' shared credential (README "Configuration")."""

    url: str = setting(DEFAULT_BACKEND_URL, env="BACKEND_URL")
    service_token: str = setting(DEV_SERVICE_TOKEN, env="BACKEND_SERVICE_TOKEN")
    timeout_seconds: float = setting(10.0, env="BACKEND_TIMEOUT_SECONDS")
    # The channels' identity check runs before a message reaches the bot: it waits less.
    identity_timeout_seconds: float = setting(5.0, env="IDENTITY_TIMEOUT")
    # How long a change sent with an Idempotency-Key is asked again (same key) after a timeout
    # or an "in progress" answer before the person is told its outcome is not known yet: longer
    # than the backend's worst case (SQLite's 30 s lock wait, Stripe's bounded tries).
    write_patience_seconds: float = setting(90.0, env="BACKEND_WRITE_PATIENCE_SECONDS")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> BackendSettings:
        return load(cls, environ)

    @property
    def base_url(self) -> str:
        return self.url.rstrip("/")


# --- The action server ----------------------------------------------------------------------


@dataclass(frozen=True)
class ActionSettings:
    service_timezone: str = setting(DEFAULT_TIMEZONE, env="SERVICE_TIMEZONE")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ActionSettings:
        return load(cls, environ)


@dataclass(frozen=True)
class ActionServerSettings:
    """Where the action server listens and the secret Rasa sends with every call (endpoints.yml:
    `Authorization: Bearer ${ACTION_SERVER_TOKEN}`). Empty token: every /webhook call is refused."""

    host: str = setting(LOOPBACK, env="ACTION_SERVER_HOST")
    port: int = setting(5055, env="ACTION_SERVER_PORT")
    token: str = setting("", env="ACTION_SERVER_TOKEN")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ActionServerSettings:
        return load(cls, environ)

    @property
    def webhook_url(self) -> str:
        return f"http://{self.host}:{self.port}/webhook"


@dataclass(frozen=True)
class BackendServerSettings:
    """Where the backend listens (backend/settings.py reads the same variables), for
    scripts/start.py to tell the processes beside it where to find it."""

    host: str = setting(LOOPBACK, env="BACKEND_HOST")
    port: int = setting(DEFAULT_BACKEND_PORT, env="BACKEND_PORT")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> BackendServerSettings:
        return load(cls, environ)


@dataclass(frozen=True)
class DispatcherServerSettings:
    """Where the dispatcher serves its /health (backend/settings.py reads the same variables), for
    scripts/start.py to check that the port is free."""

    host: str = setting(LOOPBACK, env="DISPATCHER_HOST")
    port: int = setting(DEFAULT_DISPATCHER_PORT, env="DISPATCHER_PORT")

    @classmethod
    def from_environment(
            cls, environ: Mapping[str, str] | None = None) -> DispatcherServerSettings:
        return load(cls, environ)


# --- The Rasa server: how scripts/start.py starts it ------------------------------------------


@dataclass(frozen=True)
class RasaServerSettings:
    """`rasa run`'s options. The HTTP API (/conversations, /model ...) is on only with a token
    or a JWT secret; CORS only for the listed origins (socket.io checks its own origins,
    WEB_ALLOWED_ORIGINS)."""

    interface: str = setting(LOOPBACK, env="RASA_INTERFACE")
    port: int = setting(DEFAULT_RASA_PORT, env="RASA_PORT")
    model: str = setting("models", env="RASA_MODEL")
    endpoints: str = setting("endpoints.yml", env="RASA_ENDPOINTS")
    credentials: str = setting("credentials.yml", env="RASA_CREDENTIALS")
    api_token: str = setting("", env="RASA_API_TOKEN")
    jwt_secret: str = setting("", env="RASA_JWT_SECRET")
    jwt_method: str = setting("HS256", env="RASA_JWT_METHOD")
    cors_origins: tuple[str, ...] = setting((), env="RASA_CORS_ORIGINS")
    # Where Rasa calls the action server (endpoints.yml reads ${ACTION_SERVER_URL}).
    action_server_url: str = setting("", env="ACTION_SERVER_URL")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> RasaServerSettings:
        settings = load(cls, environ)
        if "*" in settings.cors_origins:
            raise SettingsError("RASA_CORS_ORIGINS must list origins (https://host); "
                                "a wildcard '*' is refused.")
        return settings

    @property
    def api_enabled(self) -> bool:
        return bool(self.api_token or self.jwt_secret)

    def arguments(self) -> list[str]:
        """`rasa run`'s command-line arguments for these settings."""
        arguments = ["--interface", self.interface, "--port", str(self.port),
                     "--model", self.model, "--endpoints", self.endpoints,
                     "--credentials", self.credentials]
        if self.api_enabled:
            arguments.append("--enable-api")
        if self.api_token:
            arguments += ["--auth-token", self.api_token]
        if self.jwt_secret:
            arguments += ["--jwt-secret", self.jwt_secret, "--jwt-method", self.jwt_method]
        if self.cors_origins:
            arguments += ["--cors", *self.cors_origins]
        return arguments


# --- The Rasa server: channels and tracker store ---------------------------------------------


@dataclass(frozen=True)
class SlackSettings:
    """credentials.yml (`channels.slack.SlackInput`) wins over SLACK_* variables."""

    signing_secret: str = ""
    # Optional: the token of workspaces the backend has no installation for (one workspace).
    bot_token: str = ""
    api_base_url: str = "https://slack.com/api/"
    dedupe_redis_url: str | None = None
    dedupe_ttl_seconds: float = 3600
    profile_cache_seconds: float = 600
    # How long a workspace's token from the backend is used before asking again.
    token_cache_seconds: float = 60

    @classmethod
    def load(cls, credentials: Mapping[str, Any] | None,
             environ: Mapping[str, str] | None = None) -> SlackSettings:
        settings = load(cls, environ, prefix="SLACK_", configured=credentials)
        if settings.api_base_url.endswith("/"):
            return settings
        return dataclasses.replace(settings, api_base_url=settings.api_base_url + "/")

    def missing(self) -> list[str]:
        """Each workspace's token comes from the backend; SLACK_BOT_TOKEN is optional."""
        return [] if self.signing_secret else ["SLACK_SIGNING_SECRET"]


TEAMS_TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
TEAMS_MULTI_TENANT = "botframework.com"


@dataclass(frozen=True)
class TeamsSettings:
    """credentials.yml (`channels.teams.TeamsInput`) wins over TEAMS_* variables."""

    app_id: str = ""
    app_password: str = ""
    app_tenant_id: str | None = None
    # Empty: the tenant's endpoint (or the multi-tenant one), see `load`.
    token_url: str = ""
    openid_metadata_url: str = "https://login.botframework.com/v1/.well-known/openidconfiguration"
    issuer: str = "https://api.botframework.com"
    # The operator's restriction, on top of the tenants organisations connected (empty: none).
    allowed_tenants: tuple[str, ...] = ()
    buttons: str = setting("card", choices=("card", "suggested"))
    # How long the backend's answer "is this tenant connected?" is used before asking again.
    tenant_cache_seconds: float = 60
    key_refresh_seconds: float = 60
    keys_cache_seconds: float = 24 * 3600

    @classmethod
    def load(cls, credentials: Mapping[str, Any] | None,
             environ: Mapping[str, str] | None = None) -> TeamsSettings:
        settings = load(cls, environ, prefix="TEAMS_", configured=credentials)
        if settings.token_url:
            return settings
        tenant = settings.app_tenant_id or TEAMS_MULTI_TENANT
        return dataclasses.replace(settings, token_url=TEAMS_TOKEN_URL.format(tenant=tenant))

    def missing(self) -> list[str]:
        return [name for name, value in (("TEAMS_APP_ID", self.app_id),
                                         ("TEAMS_APP_PASSWORD", self.app_password)) if not value]

    def tenant_allowed(self, tenant_id: str | None) -> bool:
        return not self.allowed_tenants or tenant_id in self.allowed_tenants


@dataclass(frozen=True)
class WebChatSettings:
    """The widget's channel; the backend reads the same variables (backend/services/portal.py)."""

    identity_secret: str = setting(web_identity.DEV_SECRET, env=web_identity.SECRET_ENV)
    identity_ttl_seconds: int = setting(web_identity.DEFAULT_TTL_SECONDS,
                                        env=web_identity.TTL_ENV)
    allowed_origins: str = setting("", env=web_identity.ORIGINS_ENV)
    public_base_url: str = setting(web_identity.DEFAULT_BASE_URL, env=web_identity.BASE_URL_ENV)
    # How often the channel asks whether the portal sessions of its open sockets still hold.
    session_check_seconds: float = setting(15.0, env="WEB_SESSION_CHECK_SECONDS")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> WebChatSettings:
        return load(cls, environ)

    @property
    def tokens(self) -> TokenConfig:
        return TokenConfig(self.identity_secret, self.identity_ttl_seconds)

    @property
    def origins(self) -> frozenset[str]:
        return web_identity.parse_origins(self.allowed_origins, self.public_base_url)


@dataclass(frozen=True)
class DevRestSettings:
    # Development on one machine only: trust the sender id as the identity `dev:<sender>`.
    trust_sender: bool = setting(False, env="DEV_TRUST_SENDER")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> DevRestSettings:
        return load(cls, environ)


@dataclass(frozen=True)
class ChatLimitSettings:
    """What every channel accepts before the bot runs (README "Configuration"): a message's
    length, a request's size and a chat identity's turns a minute. Messages that suggest a risk
    to someone's safety are never held back by them (channels/admission.py)."""

    max_message_chars: int = setting(2000, env="CHAT_MAX_MESSAGE_CHARS")
    max_request_bytes: int = setting(262_144, env="CHAT_MAX_REQUEST_BYTES")
    turns_per_minute: int = setting(30, env="CHAT_TURNS_PER_MINUTE")
    # Shares the turn counts between Rasa servers; without it each server counts alone.
    redis_url: str | None = setting(None, env="CHAT_LIMITS_REDIS_URL")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ChatLimitSettings:
        return load(cls, environ)


@dataclass(frozen=True)
class InboxSettings:
    """The webhook channels' durable inbox (channels/inbox.py)."""

    # Shared by every Rasa server; without it, a SQLite file on this machine (`path`).
    redis_url: str | None = None
    path: str | None = None  # None: data/chat-inbox.sqlite3
    # A message in hand longer than this is taken over by the next sweep of any server.
    lease_seconds: float = 300.0
    sweep_seconds: float = 30.0
    # This server's name in the inbox, the same across its restarts; None: host name:RASA_PORT.
    owner: str | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> InboxSettings:
        return load(cls, environ, prefix="CHAT_INBOX_")


TRACKER_SQLITE_FILE = "data/rasa-tracker.sqlite3"


@dataclass(frozen=True)
class TrackerStoreSettings:
    """RASA_TRACKER_* variables win over endpoints.yml (which cannot give a variable a
    default); with neither, the SQLite file TRACKER_SQLITE_FILE."""

    # RASA_TRACKER_URL (postgresql://user:password@host:5432/db) gives the parts below at once.
    url: str | None = None
    dialect: str = "sqlite"
    db: str | None = None  # TRACKER_SQLITE_FILE for SQLite, "rasa" for a server
    host: str | None = None
    port: int | None = None
    username: str | None = setting(None, env=("RASA_TRACKER_USERNAME", "RASA_TRACKER_USER"))
    password: str | None = None
    login_db: str | None = None

    @classmethod
    def load(cls, configured: Mapping[str, Any],
             environ: Mapping[str, str] | None = None) -> TrackerStoreSettings:
        settings = load(cls, environ, prefix="RASA_TRACKER_", configured=configured,
                        configured_wins=False)
        if settings.url:
            settings = dataclasses.replace(settings, **_database_url_parts(settings.url))
        if settings.db:
            return settings
        return dataclasses.replace(
            settings, db=TRACKER_SQLITE_FILE if settings.dialect == "sqlite" else "rasa")

    def store_arguments(self) -> dict[str, Any]:
        """SQLTrackerStore's keyword arguments (those that are set)."""
        return {key: value for key, value in dataclasses.asdict(self).items()
                if value is not None and key != "url"}


def _database_url_parts(url: str) -> dict[str, Any]:
    """dialect, host, port, db, username and password of a database URL (a driver named after
    `+` is dropped: Rasa's tracker store picks its own)."""
    parts = urlsplit(url)
    dialect = parts.scheme.split("+", 1)[0]
    database = parts.path.lstrip("/")
    if not dialect or not parts.hostname or not database:
        raise SettingsError(f"RASA_TRACKER_URL must look like postgresql://user@host:5432/db, "
                            f"not {url!r}.")
    given = {"dialect": dialect, "host": parts.hostname, "port": parts.port, "db": database,
             "username": unquote(parts.username) if parts.username else None,
             "password": unquote(parts.password) if parts.password else None}
    return {key: value for key, value in given.items() if value is not None}


@dataclass(frozen=True)
class LockStoreSettings:
    """Where Rasa servers take a conversation's lock (bot/lock_store.py): in the process by
    default (one Rasa server); a Redis URL (`redis://host:6379/1`, `rediss://` for TLS) when
    several Rasa servers share conversations, so that two turns of one conversation never run at
    once on two servers."""

    redis_url: str | None = setting(None, env="RASA_LOCK_STORE_URL")
    key_prefix: str = setting("therapy", env="RASA_LOCK_STORE_PREFIX")

    @classmethod
    def load(cls, configured: Mapping[str, Any],
             environ: Mapping[str, str] | None = None) -> LockStoreSettings:
        return load(cls, environ, configured=configured, configured_wins=False)
