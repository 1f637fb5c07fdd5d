"""Environment variables of the Slack install (documented defaults, README "Configuration")."""

from __future__ import annotations

from functools import cached_property

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.services.slack.sealing import DEV_KEY, TokenSealer, parse_keys
from contracts.web_identity import DEFAULT_BASE_URL

# The bot scopes the app asks for (channels/manifests/slack-app-manifest.yml lists the same).
BOT_SCOPES = ("app_mentions:read", "chat:write", "im:history", "im:read", "im:write",
              "users:read", "users:read.email")
CALLBACK_PATH = "/portal/slack/callback"


class SlackAppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    # The app's OAuth credentials (api.slack.com -> the app -> Basic Information). Without a
    # client id the portal offers no "Add to Slack".
    client_id: str = Field("", alias="SLACK_CLIENT_ID")
    client_secret: str = Field("", alias="SLACK_CLIENT_SECRET")
    token_keys_text: str = Field(DEV_KEY, alias="SLACK_TOKEN_KEYS")
    authorize_url: str = Field("https://slack.com/oauth/v2/authorize",
                               alias="SLACK_OAUTH_AUTHORIZE_URL")
    api_base_url: str = Field("https://slack.com/api/", alias="SLACK_API_BASE_URL")
    state_minutes: int = Field(10, alias="SLACK_OAUTH_STATE_MINUTES", gt=0, le=60)
    timeout_seconds: float = Field(10, alias="SLACK_TIMEOUT_SECONDS", gt=0)
    public_base_url: str = Field(DEFAULT_BASE_URL, alias="PUBLIC_BASE_URL")

    @property
    def enabled(self) -> bool:
        return bool(self.client_id and self.client_secret)

    @property
    def redirect_uri(self) -> str:
        return self.public_base_url.rstrip("/") + CALLBACK_PATH

    @property
    def api_url(self) -> str:
        return self.api_base_url if self.api_base_url.endswith("/") else self.api_base_url + "/"

    @cached_property
    def sealer(self) -> TokenSealer:
        return TokenSealer(parse_keys(self.token_keys_text) or (DEV_KEY,))
