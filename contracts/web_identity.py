"""Who speaks in the website widget, and from which pages it may be opened.

The backend issues a short-lived identity token (a JWT, HS256, signed with WEB_IDENTITY_SECRET)
to a signed-in portal user; the widget presents it when it connects to the Rasa server, whose
channel (channels/webchat.py) verifies it here. The token names the chat identity
`web:<member id>`, the organisation, the email the portal verified and the portal session
(`sid`), which the channel re-checks with the backend so that signing out closes the chat. A
visitor without a token is anonymous: the channel gives them a server-generated id and a token to
resume that id after a page reload, never an id the browser chose.

The backend issues, the Rasa server verifies; the variables are read by each process's settings
(backend/services/portal.py, contracts/settings.py), never here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import jwt

from contracts import identity as chat_identity

ALGORITHM = "HS256"
ISSUER = "therapy-portal"
AUDIENCE = "therapy-webchat"
ANONYMOUS_AUDIENCE = "therapy-webchat-anonymous"
IDENTITY_CHANNEL = chat_identity.WEB
ANONYMOUS_PREFIX = "web-anon:"

SECRET_ENV = "WEB_IDENTITY_SECRET"
TTL_ENV = "WEB_IDENTITY_TTL_SECONDS"
ORIGINS_ENV = "WEB_ALLOWED_ORIGINS"
BASE_URL_ENV = "PUBLIC_BASE_URL"

# Development default only (like BACKEND_SERVICE_TOKEN's): backend and Rasa agree out of the box.
DEV_SECRET = "dev-web-identity-secret-change-me-outside-development"
MIN_SECRET_LENGTH = 32
DEFAULT_TTL_SECONDS = 300
ANONYMOUS_TTL_SECONDS = 24 * 3600
LEEWAY_SECONDS = 10
DEFAULT_BASE_URL = "http://127.0.0.1:8000"

_ANONYMOUS_SUBJECT = re.compile(r"web-anon:[0-9a-f]{32}")
_LOOPBACK_TWINS = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidWebToken(Exception):
    """A token that is missing, forged, expired, or meant for something else."""


@dataclass(frozen=True)
class WebIdentity:
    member_id: int
    organisation_id: int
    verified_email: str | None
    # The portal session the token was issued in; the channel asks the backend whether it still
    # holds (sign-out closes the chat). None for tokens not tied to a portal session.
    session_id: str | None = None

    @property
    def chat_identity(self) -> chat_identity.ChatIdentity:
        return chat_identity.web(self.member_id, self.verified_email)

    @property
    def identity(self) -> str:
        return str(self.chat_identity)

    def metadata(self) -> dict[str, Any]:
        """The message metadata the actions read the identity from."""
        return self.chat_identity.metadata()


@dataclass(frozen=True)
class TokenConfig:
    secret: str
    ttl_seconds: int = DEFAULT_TTL_SECONDS

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"{SECRET_ENV} must be at least {MIN_SECRET_LENGTH} characters.")
        if self.ttl_seconds <= 0:
            raise ValueError(f"{TTL_ENV} must be a positive number of seconds.")

    @property
    def is_development_secret(self) -> bool:
        return self.secret == DEV_SECRET

    def derived_key(self, purpose: str) -> str:
        """A separate key for another use of the same secret (e.g. the portal's session cookie),
        so that a token made for one purpose can never be replayed as another."""
        return hmac.new(self.secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def sign_claims(key: str, audience: str, subject: str, ttl_seconds: int,
                extra: Mapping[str, Any] | None = None, now: datetime | None = None) -> str:
    issued = _now(now)
    claims = {
        "iss": ISSUER, "aud": audience, "sub": subject,
        "iat": issued, "nbf": issued, "exp": issued + timedelta(seconds=ttl_seconds),
        "jti": uuid.uuid4().hex, **(extra or {}),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def read_claims(key: str, audience: str, token: object) -> dict[str, Any]:
    """The verified claims, or InvalidWebToken (bad signature, expired, other audience...)."""
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise InvalidWebToken("no token")
    try:
        return jwt.decode(
            token, key, algorithms=[ALGORITHM], audience=audience, issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidWebToken(str(error)) from None


def issue_identity_token(config: TokenConfig, identity: WebIdentity,
                         now: datetime | None = None) -> str:
    return sign_claims(config.secret, AUDIENCE, identity.identity, config.ttl_seconds,
                       {"org": identity.organisation_id, "email": identity.verified_email,
                        "sid": identity.session_id}, now)


def verify_identity_token(config: TokenConfig, token: object) -> WebIdentity:
    claims = read_claims(config.secret, AUDIENCE, token)
    member_id = chat_identity.web_member_id(str(claims["sub"]))
    organisation_id = claims.get("org")
    email = claims.get("email")
    if member_id is None or not isinstance(organisation_id, int) or isinstance(organisation_id,
                                                                               bool):
        raise InvalidWebToken("malformed identity claims")
    if email is not None and not isinstance(email, str):
        raise InvalidWebToken("malformed email claim")
    session_id = claims.get("sid")
    if session_id is not None and not isinstance(session_id, str):
        raise InvalidWebToken("malformed session claim")
    return WebIdentity(member_id, organisation_id, email or None, session_id or None)


def new_anonymous_sender() -> str:
    return f"{ANONYMOUS_PREFIX}{secrets.token_hex(16)}"


def issue_anonymous_token(config: TokenConfig, sender_id: str,
                          now: datetime | None = None) -> str:
    """Lets the same browser tab resume its anonymous conversation after a reload."""
    return sign_claims(config.secret, ANONYMOUS_AUDIENCE, sender_id, ANONYMOUS_TTL_SECONDS,
                       now=now)


def verify_anonymous_token(config: TokenConfig, token: object) -> str:
    subject = str(read_claims(config.secret, ANONYMOUS_AUDIENCE, token)["sub"])
    if not _ANONYMOUS_SUBJECT.fullmatch(subject):
        raise InvalidWebToken("malformed anonymous subject")
    return subject


# --- Origins -------------------------------------------------------------------------------


def normalise_origin(value: object) -> str | None:
    """"scheme://host[:port]" in lower case without a default port; None if not an origin."""
    if not isinstance(value, str) or not value.strip() or value.strip() == "null":
        return None
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url.strip())
    return normalise_origin(f"{parts.scheme}://{parts.netloc}")


def default_origins(base_url: str = DEFAULT_BASE_URL) -> frozenset[str]:
    """The backend's own origin; on a loopback host also its twin (localhost <-> 127.0.0.1)."""
    origin = _origin_of(base_url)
    if origin is None:
        raise ValueError(f"{BASE_URL_ENV}={base_url!r} is not an http(s) address.")
    origins = {origin}
    host = urlsplit(origin).hostname or ""
    if host in _LOOPBACK_TWINS:
        origins.add(origin.replace(host, _LOOPBACK_TWINS[host], 1))
    return frozenset(origins)


def parse_origins(value: str | None, base_url: str = DEFAULT_BASE_URL) -> frozenset[str]:
    """WEB_ALLOWED_ORIGINS: origins separated by commas or spaces; empty means the default."""
    items = [item for item in re.split(r"[\s,]+", value or "") if item]
    if not items:
        return default_origins(base_url)
    origins = set()
    for item in items:
        origin = normalise_origin(item)
        if origin is None:
            raise ValueError(f"{ORIGINS_ENV}: {item!r} is not an origin such as "
                             "https://portal.example.com (wildcards are not accepted).")
        origins.add(origin)
    return frozenset(origins)


def origin_allowed(origin: object, allowed: Iterable[str]) -> bool:
    """A missing or opaque ("null") origin is refused: the widget always runs in a page."""
    normalised = normalise_origin(origin)
    return normalised is not None and normalised in set(allowed)
