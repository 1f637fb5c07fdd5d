"""Settings of the action server and the Rasa server: environment -> frozen dataclasses."""

from __future__ import annotations

import dataclasses

import pytest

from contracts import web_identity
from contracts.settings import (
    ActionSettings,
    BackendSettings,
    DevRestSettings,
    LockStoreSettings,
    SettingsError,
    SlackSettings,
    TeamsSettings,
    TrackerStoreSettings,
    WebChatSettings,
)

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def test_the_documented_defaults():
    backend = BackendSettings.from_environment({})
    assert (backend.base_url, backend.service_token) == ("http://127.0.0.1:8000",
                                                         "dev-service-token")
    assert (backend.timeout_seconds, backend.identity_timeout_seconds) == (10.0, 5.0)
    assert ActionSettings.from_environment({}).service_timezone == "Europe/London"
    assert DevRestSettings.from_environment({}).trust_sender is False
    web = WebChatSettings.from_environment({})
    assert web.tokens.is_development_secret and web.tokens.ttl_seconds == 300
    assert web.origins == {"http://127.0.0.1:8000", "http://localhost:8000"}


def test_values_from_the_environment_are_typed():
    backend = BackendSettings.from_environment({
        "BACKEND_URL": "http://backend:9000/", "BACKEND_SERVICE_TOKEN": "s3cret",
        "BACKEND_TIMEOUT_SECONDS": "2.5", "IDENTITY_TIMEOUT": "1"})
    assert backend == BackendSettings("http://backend:9000/", "s3cret", 2.5, 1.0)
    assert backend.base_url == "http://backend:9000"
    assert DevRestSettings.from_environment({"DEV_TRUST_SENDER": " Yes "}).trust_sender is True
    assert DevRestSettings.from_environment({"DEV_TRUST_SENDER": "false"}).trust_sender is False
    assert DevRestSettings.from_environment({"DEV_TRUST_SENDER": ""}).trust_sender is False


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        BackendSettings().url = "elsewhere"  # type: ignore[misc]


@pytest.mark.parametrize("environ, variable", [
    ({"BACKEND_TIMEOUT_SECONDS": "ten"}, "BACKEND_TIMEOUT_SECONDS"),
    ({"IDENTITY_TIMEOUT": "5s"}, "IDENTITY_TIMEOUT"),
])
def test_a_bad_number_names_the_variable(environ, variable):
    with pytest.raises(SettingsError, match=f"{variable} must be a number, not"):
        BackendSettings.from_environment(environ)


def test_other_bad_values_name_the_variable():
    with pytest.raises(SettingsError, match="DEV_TRUST_SENDER must be true or false"):
        DevRestSettings.from_environment({"DEV_TRUST_SENDER": "maybe"})
    with pytest.raises(SettingsError, match="WEB_IDENTITY_TTL_SECONDS must be a whole number"):
        WebChatSettings.from_environment({"WEB_IDENTITY_TTL_SECONDS": "1.5"})
    with pytest.raises(SettingsError, match="SLACK_DEDUPE_TTL_SECONDS"):
        SlackSettings.load(None, {"SLACK_DEDUPE_TTL_SECONDS": "an hour"})
    with pytest.raises(SettingsError, match=r"dedupe_ttl_seconds \(or SLACK_DEDUPE_TTL_SECONDS\)"):
        SlackSettings.load({"dedupe_ttl_seconds": "an hour"}, {})


def test_web_chat_settings_read_the_variables_the_backend_reads():
    web = WebChatSettings.from_environment({
        web_identity.SECRET_ENV: SECRET, web_identity.TTL_ENV: "60",
        web_identity.BASE_URL_ENV: "http://localhost:9000"})
    assert (web.tokens.secret, web.tokens.ttl_seconds, web.tokens.is_development_secret) == (
        SECRET, 60, False)
    assert web.origins == {"http://localhost:9000", "http://127.0.0.1:9000"}
    listed = WebChatSettings.from_environment({web_identity.ORIGINS_ENV: "https://a.example"})
    assert listed.origins == {"https://a.example"}


def test_slack_settings_from_credentials_then_environment():
    env = {"SLACK_SIGNING_SECRET": "env-secret", "SLACK_BOT_TOKEN": "xoxb-env",
           "SLACK_API_BASE_URL": "http://127.0.0.1:9/api"}
    settings = SlackSettings.load({"signing_secret": "yaml-secret"}, env)
    assert (settings.signing_secret, settings.bot_token, settings.api_base_url) == (
        "yaml-secret", "xoxb-env", "http://127.0.0.1:9/api/")
    assert settings.missing() == []
    # Each workspace's token comes from the backend: only the signing secret is required.
    assert SlackSettings.load(None, {}).missing() == ["SLACK_SIGNING_SECRET"]
    assert SlackSettings.load(None, {"SLACK_SIGNING_SECRET": "s"}).missing() == []
    assert SlackSettings.load(None, {}).api_base_url == "https://slack.com/api/"
    assert (SlackSettings.load(None, {}).dedupe_ttl_seconds,
            SlackSettings.load(None, {}).profile_cache_seconds,
            SlackSettings.load(None, {}).token_cache_seconds) == (3600, 600, 60)


def test_teams_settings_single_and_multi_tenant_token_urls():
    base = {"TEAMS_APP_ID": "a", "TEAMS_APP_PASSWORD": "p"}
    multi = TeamsSettings.load(None, base)
    assert multi.token_url == ("https://login.microsoftonline.com/botframework.com/oauth2/v2.0/"
                               "token")
    assert multi.openid_metadata_url == ("https://login.botframework.com/v1/.well-known/"
                                         "openidconfiguration")
    single = TeamsSettings.load(None, {**base, "TEAMS_APP_TENANT_ID": "contoso-id"})
    assert single.token_url == "https://login.microsoftonline.com/contoso-id/oauth2/v2.0/token"
    limited = TeamsSettings.load({"allowed_tenants": "t1, t2"}, base)
    assert limited.allowed_tenants == ("t1", "t2")
    assert limited.tenant_allowed("t2") and not limited.tenant_allowed("t3")
    assert multi.tenant_allowed("anything")
    assert TeamsSettings.load(None, {}).missing() == ["TEAMS_APP_ID", "TEAMS_APP_PASSWORD"]
    assert TeamsSettings.load(None, {**base, "TEAMS_BUTTONS": "Suggested"}).buttons == "suggested"
    with pytest.raises(SettingsError, match="TEAMS_BUTTONS must be 'card' or 'suggested'"):
        TeamsSettings.load(None, {**base, "TEAMS_BUTTONS": "carousel"})


def test_tracker_store_environment_wins_over_endpoints_yml():
    assert TrackerStoreSettings.load({}, {}).store_arguments() == {
        "dialect": "sqlite", "db": "data/rasa-tracker.sqlite3"}
    configured = {"dialect": "sqlite", "db": "/tmp/tracker.sqlite3", "host": None}
    assert TrackerStoreSettings.load(configured, {}).store_arguments() == {
        "dialect": "sqlite", "db": "/tmp/tracker.sqlite3"}
    shared = TrackerStoreSettings.load(configured, {
        "RASA_TRACKER_DIALECT": "postgresql", "RASA_TRACKER_DB": "", "RASA_TRACKER_HOST": "db",
        "RASA_TRACKER_PORT": "5432", "RASA_TRACKER_USER": "rasa"})
    assert shared.store_arguments() == {"dialect": "postgresql", "db": "/tmp/tracker.sqlite3",
                                        "host": "db", "port": 5432, "username": "rasa"}
    assert TrackerStoreSettings.load({}, {"RASA_TRACKER_DIALECT": "postgresql"}).db == "rasa"
    with pytest.raises(SettingsError, match="RASA_TRACKER_PORT"):
        TrackerStoreSettings.load({}, {"RASA_TRACKER_PORT": "fivefour"})


def test_tracker_store_from_one_url():
    configured = {"dialect": "sqlite", "db": "data/rasa-tracker.sqlite3"}
    shared = TrackerStoreSettings.load(configured, {
        "RASA_TRACKER_URL": "postgresql+psycopg://rasa:p%40ss@db.internal:6543/tracker"})
    assert shared.store_arguments() == {"dialect": "postgresql", "db": "tracker",
                                        "host": "db.internal", "port": 6543,
                                        "username": "rasa", "password": "p@ss"}
    without_port = TrackerStoreSettings.load({}, {"RASA_TRACKER_URL": "postgresql://db/rasa"})
    assert without_port.store_arguments() == {"dialect": "postgresql", "db": "rasa",
                                              "host": "db"}
    for broken in ("postgresql://db", "not a url", "postgresql:///rasa"):
        with pytest.raises(SettingsError, match="RASA_TRACKER_URL"):
            TrackerStoreSettings.load({}, {"RASA_TRACKER_URL": broken})


def test_lock_store_in_process_unless_a_redis_url_is_given():
    assert LockStoreSettings.load({}, {}).redis_url is None
    shared = LockStoreSettings.load({}, {"RASA_LOCK_STORE_URL": "redis://cache:6379/1",
                                         "RASA_LOCK_STORE_PREFIX": "blue"})
    assert (shared.redis_url, shared.key_prefix) == ("redis://cache:6379/1", "blue")
    assert LockStoreSettings.load({"key_prefix": "green"}, {}).key_prefix == "green"
