"""Environment variables of the portal's sign-in (documented defaults, see README)."""

from __future__ import annotations

import secrets
from functools import cached_property

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.services.signin.sealing import DEV_KEY, Sealer
from contracts import web_identity
from contracts.settings import DEFAULT_RASA_SOCKET_PATH, DEFAULT_RASA_SOCKET_URL
from contracts.web_identity import TokenConfig

CALENDAR_PURPOSE = "calendar-links"
CSRF_PURPOSE = "therapy-portal-csrf"


class PortalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    # Development only: anyone may sign in as any member (refused in production mode).
    dev_login: bool = Field(False, alias="PORTAL_DEV_LOGIN")
    session_hours: int = Field(8, alias="PORTAL_SESSION_HOURS", gt=0, le=24 * 30)
    # The key of the CSRF tokens. Unset: a random key per start (a page reload gets a new one).
    session_secret: str = Field("", alias="PORTAL_SESSION_SECRET")
    identity_secret: str = Field(web_identity.DEV_SECRET, alias=web_identity.SECRET_ENV)
    identity_ttl_seconds: int = Field(web_identity.DEFAULT_TTL_SECONDS,
                                      alias=web_identity.TTL_ENV, gt=0, le=3600)
    allowed_origins_text: str = Field("", alias=web_identity.ORIGINS_ENV)
    public_base_url: str = Field(web_identity.DEFAULT_BASE_URL, alias=web_identity.BASE_URL_ENV)
    # Where browsers reach the Rasa server's socket.io endpoint (the widget connects there).
    rasa_socket_url: str = Field(DEFAULT_RASA_SOCKET_URL, alias="RASA_SOCKET_URL")
    rasa_socket_path: str = Field(DEFAULT_RASA_SOCKET_PATH, alias="RASA_SOCKET_PATH")

    # Email sign-in links.
    link_minutes: int = Field(15, alias="SIGNIN_LINK_MINUTES", gt=0, le=24 * 60)
    links_per_address: int = Field(3, alias="SIGNIN_LINKS_PER_ADDRESS", gt=0)
    links_per_client: int = Field(10, alias="SIGNIN_LINKS_PER_CLIENT", gt=0)
    throttle_minutes: int = Field(15, alias="SIGNIN_THROTTLE_MINUTES", gt=0)
    # The service's own team: these addresses may sign in as staff (comma or space separated).
    staff_emails_text: str = Field("", alias="STAFF_EMAILS")

    # Outgoing mail. No SMTP_HOST: development only, the mail is written to the backend's log.
    smtp_host: str = Field("", alias="SMTP_HOST")
    smtp_port: int = Field(587, alias="SMTP_PORT", gt=0, lt=65536)
    smtp_username: str = Field("", alias="SMTP_USERNAME")
    smtp_password: str = Field("", alias="SMTP_PASSWORD")
    smtp_starttls: bool = Field(True, alias="SMTP_STARTTLS")
    smtp_from: str = Field("Therapy sessions <no-reply@localhost>", alias="SMTP_FROM")
    smtp_timeout_seconds: float = Field(20, alias="SMTP_TIMEOUT_SECONDS", gt=0)

    # Encrypts the organisations' SSO client secrets and embed keys in the database.
    encryption_key: str = Field(DEV_KEY, alias="SIGNIN_ENCRYPTION_KEY", min_length=32)
    # Single sign-on: how long a person may take at their provider; its HTTP timeout.
    sso_login_minutes: int = Field(10, alias="SSO_LOGIN_MINUTES", gt=0, le=60)
    sso_timeout_seconds: float = Field(10, alias="SSO_TIMEOUT_SECONDS", gt=0)
    # Intranet embed: the longest lifetime accepted for an organisation's identity token, and
    # how long a rotated-out key keeps working.
    embed_token_max_minutes: int = Field(60, alias="EMBED_TOKEN_MAX_MINUTES", gt=0, le=24 * 60)
    embed_rotation_grace_hours: int = Field(24, alias="EMBED_ROTATION_GRACE_HOURS", ge=0)

    @field_validator("session_secret")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if value and len(value) < web_identity.MIN_SECRET_LENGTH:
            raise ValueError(f"PORTAL_SESSION_SECRET must be at least "
                             f"{web_identity.MIN_SECRET_LENGTH} characters.")
        return value

    @cached_property
    def _keys(self) -> TokenConfig:
        # Unset (development without `make run`): a random key per start.
        return TokenConfig(self.session_secret or secrets.token_hex(32))

    @cached_property
    def csrf_key(self) -> str:
        return self._keys.derived_key(CSRF_PURPOSE)

    @cached_property
    def calendar_key(self) -> str:
        """Signs the links to confirmed bookings' calendar files."""
        return self._keys.derived_key(CALENDAR_PURPOSE)

    @cached_property
    def tokens(self) -> TokenConfig:
        return TokenConfig(self.identity_secret, self.identity_ttl_seconds)

    @cached_property
    def allowed_origins(self) -> frozenset[str]:
        return web_identity.parse_origins(self.allowed_origins_text, self.public_base_url)

    @cached_property
    def staff_emails(self) -> frozenset[str]:
        return frozenset(item.strip().lower()
                         for item in self.staff_emails_text.replace(",", " ").split() if item)

    @cached_property
    def sealer(self) -> Sealer:
        return Sealer(self.encryption_key)

    @property
    def secure_cookies(self) -> bool:
        return self.public_base_url.startswith("https://")
