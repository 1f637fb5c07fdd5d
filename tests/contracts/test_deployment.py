"""The production check every process runs (contracts/deployment.py) and Rasa's options."""

from __future__ import annotations

import secrets

import pytest

from contracts import deployment
from contracts.settings import RasaServerSettings, SettingsError


def strong() -> str:
    return secrets.token_hex(32)


def complete() -> dict[str, str]:
    return {"SERVICE_MODE": "production", "BACKEND_SERVICE_TOKEN": strong(),
            "ACTION_SERVER_TOKEN": strong(), "WEB_IDENTITY_SECRET": strong(),
            "PORTAL_SESSION_SECRET": strong(), "SIGNIN_ENCRYPTION_KEY": strong(),
            "RASA_API_TOKEN": strong(), "SMTP_HOST": "smtp.example.com",
            "STRIPE_API_KEY": "sk_live_x",
            "STRIPE_WEBHOOK_SECRET": "whsec_x"}


def test_a_complete_production_environment_has_no_problems():
    assert deployment.problems(deployment.PROCESSES, complete()) == []


@pytest.mark.parametrize(("change", "expected"), [
    ({"BACKEND_SERVICE_TOKEN": ""}, "BACKEND_SERVICE_TOKEN is not set"),
    ({"BACKEND_SERVICE_TOKEN": "dev-service-token"}, "BACKEND_SERVICE_TOKEN is the public"),
    ({"ACTION_SERVER_TOKEN": "x" * 31}, "ACTION_SERVER_TOKEN is 31 characters, fewer than 32"),
    ({"WEB_IDENTITY_SECRET": "dev-web-identity-secret-change-me-outside-development"},
     "WEB_IDENTITY_SECRET is the public development default"),
    ({"PORTAL_SESSION_SECRET": "replace-me"}, "PORTAL_SESSION_SECRET is still the example"),
    ({"RASA_API_TOKEN": "short"}, "RASA_API_TOKEN is 5 characters"),
    ({"DATABASE_URL": "postgresql://u:replace-me@db/x"}, "DATABASE_URL still holds"),
    ({"PORTAL_DEV_LOGIN": "true"}, "PORTAL_DEV_LOGIN is on"),
    ({"SIGNIN_ENCRYPTION_KEY": "dev-signin-encryption-key-change-me-outside-development"},
     "SIGNIN_ENCRYPTION_KEY is the public development default"),
    ({"SMTP_HOST": ""}, "SMTP_HOST is not set"),
    ({"DEV_TRUST_SENDER": "yes"}, "DEV_TRUST_SENDER is on"),
    ({"STRIPE_API_KEY": ""}, "STRIPE_API_KEY is not set"),
    ({"STRIPE_WEBHOOK_SECRET": ""}, "STRIPE_WEBHOOK_SECRET is not set"),
])
def test_each_bad_setting_is_named_with_its_fix(change, expected):
    found = deployment.problems(deployment.PROCESSES, {**complete(), **change})
    assert len(found) == 1 and found[0].startswith(expected), found


@pytest.mark.parametrize(("change", "expected"), [
    ({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s"}, "SLACK_TOKEN_KEYS is not set"),
    ({"SLACK_CLIENT_ID": "1.2", "SLACK_TOKEN_KEYS": "k" * 40}, "SLACK_CLIENT_SECRET is not set"),
    ({"SLACK_TOKEN_KEYS": f"{'n' * 40},short"}, "SLACK_TOKEN_KEYS is 5 characters"),
    ({"SLACK_TOKEN_KEYS": "dev-slack-token-key-change-me-outside-development"},
     "SLACK_TOKEN_KEYS is the public development default"),
])
def test_slack_installs_need_their_secret_and_strong_token_keys(change, expected):
    found = deployment.problems(["backend"], {**complete(), **change})
    assert len(found) == 1 and expected in found[0], found
    rotated = {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s",
               "SLACK_TOKEN_KEYS": f"{strong()},{strong()}"}
    assert deployment.problems(["backend"], {**complete(), **rotated}) == []


def test_offline_payments_only_when_explicitly_allowed():
    offline = {**complete(), "STRIPE_API_KEY": "", "STRIPE_WEBHOOK_SECRET": ""}
    assert deployment.problems(["backend"], offline)
    assert deployment.problems(["backend"], {**offline, "ALLOW_OFFLINE_PAYMENTS": "true"}) == []


def test_every_problem_is_listed_at_once_and_only_for_the_processes_concerned():
    bare = {"SERVICE_MODE": "production", "PORTAL_DEV_LOGIN": "true", "DEV_TRUST_SENDER": "true"}
    actions = deployment.problems(["actions"], bare)
    assert [problem.split()[0] for problem in actions] == ["BACKEND_SERVICE_TOKEN",
                                                          "ACTION_SERVER_TOKEN"]
    backend = " ".join(deployment.problems(["backend"], bare))
    assert all(name in backend for name in ("BACKEND_SERVICE_TOKEN", "WEB_IDENTITY_SECRET",
                                            "PORTAL_SESSION_SECRET", "PORTAL_DEV_LOGIN",
                                            "SIGNIN_ENCRYPTION_KEY", "SMTP_HOST",
                                            "STRIPE_API_KEY"))
    assert "DEV_TRUST_SENDER" not in backend and "ACTION_SERVER_TOKEN" not in backend


def test_the_dev_rest_channel_is_refused_in_the_credentials(tmp_path):
    credentials = tmp_path / "credentials.yml"
    credentials.write_text("channels.dev_rest.DevRestInput:\nchannels.slack.SlackInput:\n")
    found = deployment.problems(["rasa"], complete(), credentials)
    assert len(found) == 1 and "channels.dev_rest.DevRestInput" in found[0]
    assert deployment.problems(["rasa"], complete(), deployment_credentials()) == []


def deployment_credentials():
    from tests.stack import REPO

    return REPO / "deploy" / "credentials.yml"


def test_development_mode_starts_anyway_and_production_exits_with_the_list(capsys):
    deployment.require_safe_start("backend", {"PORTAL_DEV_LOGIN": "true"})
    with pytest.raises(SystemExit) as stopped:
        deployment.require_safe_start("backend", {"SERVICE_MODE": "production"})
    assert stopped.value.code == 2
    message = capsys.readouterr().err
    assert message.startswith("Refusing to start the backend in production mode")
    assert "BACKEND_SERVICE_TOKEN is not set" in message and "README" in message
    with pytest.raises(SystemExit):
        deployment.require_safe_start("backend", {"SERVICE_MODE": "staging"})
    assert "SERVICE_MODE must be 'development' or 'production'" in capsys.readouterr().err


def test_dev_secrets_are_random_private_and_kept(tmp_path):
    path = tmp_path / "data" / "dev-secrets.env"
    assert deployment.write_dev_secrets(path)
    assert path.stat().st_mode & 0o777 == 0o600
    values = dict(line.split("=", 1) for line in path.read_text().splitlines()
                  if not line.startswith("#"))
    assert set(values) == set(deployment.DEV_SECRETS)
    assert len(set(values.values())) == len(values)
    assert deployment.problems(deployment.PROCESSES,
                               {**complete(), **values}) == []  # strong enough for production
    first = path.read_text()
    assert not deployment.write_dev_secrets(path) and path.read_text() == first
    other = tmp_path / "other.env"
    deployment.write_dev_secrets(other)
    assert other.read_text() != first


def test_rasa_api_is_off_unless_a_token_or_jwt_secret_is_given():
    plain = RasaServerSettings.from_environment({}).arguments()
    assert "--enable-api" not in plain and "--cors" not in plain
    assert plain[:4] == ["--interface", "127.0.0.1", "--port", "5005"]
    token = RasaServerSettings.from_environment({"RASA_API_TOKEN": "t" * 32}).arguments()
    assert token[token.index("--enable-api") + 1:][:2] == ["--auth-token", "t" * 32]
    jwt = RasaServerSettings.from_environment({"RASA_JWT_SECRET": "j" * 32}).arguments()
    assert "--enable-api" in jwt and jwt[jwt.index("--jwt-secret") + 1] == "j" * 32
    cors = RasaServerSettings.from_environment(
        {"RASA_CORS_ORIGINS": "https://a.example, https://b.example"}).arguments()
    assert cors[cors.index("--cors") + 1:] == ["https://a.example", "https://b.example"]
    with pytest.raises(SettingsError, match="wildcard"):
        RasaServerSettings.from_environment({"RASA_CORS_ORIGINS": "*"})


def test_the_dispatcher_needs_rasas_token_and_refuses_a_test_clock():
    found = deployment.problems(["dispatcher"], {**complete(), "RASA_API_TOKEN": "",
                                                 "DEV_CLOCK_FILE": "/tmp/now"})
    assert any(problem.startswith("RASA_API_TOKEN is not set") for problem in found)
    assert any(problem.startswith("DEV_CLOCK_FILE is set") for problem in found)
    assert any(problem.startswith("DEV_CLOCK_FILE is set")
               for problem in deployment.problems(["backend"], {**complete(),
                                                                "DEV_CLOCK_FILE": "/tmp/now"}))


def test_an_older_dev_secrets_file_gets_the_secrets_it_lacks(tmp_path):
    path = tmp_path / "dev-secrets.env"
    path.write_text("# old\nBACKEND_SERVICE_TOKEN=kept\n")
    path.chmod(0o600)
    assert deployment.write_dev_secrets(path) is False
    values = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    assert values["BACKEND_SERVICE_TOKEN"] == "kept"
    assert set(deployment.DEV_SECRETS) <= set(values) and len(values["RASA_API_TOKEN"]) == 64
