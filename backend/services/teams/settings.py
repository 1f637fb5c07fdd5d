"""Environment variables of "Connect Microsoft Teams" (documented defaults, README
"Configuration")."""

from __future__ import annotations

from urllib.parse import urlencode

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.web_identity import DEFAULT_BASE_URL

CALLBACK_PATH = "/teams/consent/callback"
# What the admin consents to: the bot's own permissions (a bot needs no Graph permission).
SCOPE = "https://api.botframework.com/.default"


class TeamsAppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    # The bot's app id (the same variable the Teams channel reads). Without it the portal offers
    # no "Connect Microsoft Teams".
    app_id: str = Field("", alias="TEAMS_APP_ID")
    login_url: str = Field("https://login.microsoftonline.com", alias="TEAMS_LOGIN_URL")
    state_minutes: int = Field(10, alias="TEAMS_CONSENT_STATE_MINUTES", gt=0, le=60)
    public_base_url: str = Field(DEFAULT_BASE_URL, alias="PUBLIC_BASE_URL")

    @property
    def enabled(self) -> bool:
        return bool(self.app_id)

    @property
    def redirect_uri(self) -> str:
        return self.public_base_url.rstrip("/") + CALLBACK_PATH

    def consent_url(self, state: str) -> str:
        """Microsoft's admin-consent endpoint for any work or school tenant ("organizations")."""
        query = urlencode({"client_id": self.app_id, "scope": SCOPE,
                           "redirect_uri": self.redirect_uri, "state": state})
        return f"{self.login_url.rstrip('/')}/organizations/v2.0/adminconsent?{query}"
