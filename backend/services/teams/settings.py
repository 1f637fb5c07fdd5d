"""Environment variables of "Connect Microsoft Teams" (documented defaults, README
"Configuration"), and Microsoft's addresses the flow uses (identity platform v2.0, work and
school accounts: the `organizations` authority)."""

from __future__ import annotations

from urllib.parse import urlencode

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.web_identity import DEFAULT_BASE_URL

CALLBACK_PATH = "/teams/consent/callback"
SIGN_IN_CALLBACK_PATH = "/teams/sign-in/callback"
# What the admin consents to: the bot's own permissions (a bot needs no Graph permission).
SCOPE = "https://api.botframework.com/.default"
# What the admin's sign-in asks for: an ID token naming them and their tenant (`tid`).
SIGN_IN_SCOPE = "openid profile"


class TeamsAppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    # The bot's app id and secret (the same variables the Teams channel reads): the admin's
    # sign-in with Microsoft is this app's. Without them the portal offers no "Connect Microsoft
    # Teams".
    app_id: str = Field("", alias="TEAMS_APP_ID")
    app_password: str = Field("", alias="TEAMS_APP_PASSWORD")
    login_url: str = Field("https://login.microsoftonline.com", alias="TEAMS_LOGIN_URL")
    state_minutes: int = Field(10, alias="TEAMS_CONSENT_STATE_MINUTES", gt=0, le=60)
    timeout_seconds: float = Field(10, alias="TEAMS_LOGIN_TIMEOUT_SECONDS", gt=0)
    public_base_url: str = Field(DEFAULT_BASE_URL, alias="PUBLIC_BASE_URL")

    @property
    def enabled(self) -> bool:
        return bool(self.app_id and self.app_password)

    @property
    def _login(self) -> str:
        return self.login_url.rstrip("/")

    @property
    def redirect_uri(self) -> str:
        return self.public_base_url.rstrip("/") + CALLBACK_PATH

    @property
    def sign_in_redirect_uri(self) -> str:
        return self.public_base_url.rstrip("/") + SIGN_IN_CALLBACK_PATH

    def consent_url(self, state: str) -> str:
        """Microsoft's admin-consent endpoint for any work or school tenant ("organizations")."""
        query = urlencode({"client_id": self.app_id, "scope": SCOPE,
                           "redirect_uri": self.redirect_uri, "state": state})
        return f"{self._login}/organizations/v2.0/adminconsent?{query}"

    @property
    def authorize_endpoint(self) -> str:
        return f"{self._login}/organizations/oauth2/v2.0/authorize"

    @property
    def token_endpoint(self) -> str:
        return f"{self._login}/organizations/oauth2/v2.0/token"

    @property
    def jwks_uri(self) -> str:
        """The signing keys of every work and school tenant (the `organizations` discovery
        document's `jwks_uri`)."""
        return f"{self._login}/organizations/discovery/v2.0/keys"

    @property
    def issuer(self) -> str:
        """The `organizations` discovery document's issuer: a template, `{tenantid}` being the
        tenant that signed the admin in (the ID token's `tid`)."""
        return f"{self._login}/{{tenantid}}/v2.0"
