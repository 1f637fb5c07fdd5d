"""Microsoft Teams over the Bot Framework protocol: activities signed with a test key whose
OpenID metadata and JWKS a local server publishes, posted to the running Rasa server; replies
arrive at a local serviceUrl with a bot token from a local token endpoint."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from channels.teams_protocol import PAYLOAD_KEY
from tests.channels.conftest import DEMO_TENANT, TEAMS_APP_ID
from tests.channels.standins import Signer, teams_activity, wait_for


def _ours(metadata: dict) -> dict:
    """The channel's metadata, without what Rasa adds itself (model_id, assistant_id)."""
    return {key: value for key, value in metadata.items()
            if key not in {"model_id", "assistant_id"}}


pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _post(world, activity: dict, token: str | None):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(world.teams_webhook, data=json.dumps(activity).encode(),
                                     method="POST", headers=headers)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, time.monotonic() - started


def _member(world, aad: str, name: str) -> None:
    email = f"{name.split()[0].lower()}@northwind.example"
    world.connector.members[f"29:{aad}"] = {"id": f"29:{aad}", "name": name,
                                            "aadObjectId": aad, "email": email,
                                            "userPrincipalName": email, "tenantId": DEMO_TENANT}


def _activity(world, aad: str, **kwargs) -> dict:
    return teams_activity(world.connector_url, tenant=DEMO_TENANT, aad=aad, app_id=TEAMS_APP_ID,
                          **kwargs)


def _token(world, **overrides) -> str:
    options = {"audience": TEAMS_APP_ID, "service_url": world.connector_url, **overrides}
    return world.login.signer.token(**options)


def _replies(world, conversation: str, count: int, timeout: float = 60):
    return wait_for(lambda: (found := world.connector.replies_to(conversation))
                    and len(found) >= count and found, timeout)


def test_signed_activity_is_answered_with_an_adaptive_card_and_a_click_continues(channel_world):
    # The world is shared: earlier tests (a Rasa restart among them) may have fetched tokens.
    tokens_before = len(channel_world.login.tokens_issued)
    _member(channel_world, "aad-ben", "Ben Okafor")
    activity = _activity(channel_world, "aad-ben", text="<at>Therapy bot</at> hello")
    status, elapsed = _post(channel_world, activity, _token(channel_world))
    assert status == 200 and elapsed < 3
    [greeting] = _replies(channel_world, activity["conversation"]["id"], 1)
    assert greeting["replyToId"] == activity["id"]
    assert greeting["recipient"]["aadObjectId"] == "aad-ben"
    card = greeting["attachments"][0]["content"]
    assert card["body"][0]["text"].startswith("Hello!")
    payloads = [action["data"][PAYLOAD_KEY] for action in card["actions"]]
    assert "/find_therapist" in payloads
    click = _activity(channel_world, "aad-ben", text="",
                      conversation=activity["conversation"]["id"],
                      value={PAYLOAD_KEY: "/ask_remaining_sessions"})
    assert _post(channel_world, click, _token(channel_world))[0] == 200
    answer = _replies(channel_world, activity["conversation"]["id"], 2)[1]
    assert "7" in (answer.get("text") or json.dumps(answer.get("attachments"))), answer
    tracker = channel_world.stack.tracker(f"teams:{DEMO_TENANT}:aad-ben")
    metadata = [e["metadata"] for e in tracker["events"] if e["event"] == "user"][-1]
    ours = _ours(metadata)
    # Kept for the dispatcher's proactive messages to this person (issue 12).
    reference = ours.pop("teams_reference")
    assert reference["conversation"]["id"] == activity["conversation"]["id"]
    assert ours == {"identity": f"teams:{DEMO_TENANT}:aad-ben",
                    "verified_email": "ben@northwind.example"}
    # Replies were authorised with tokens from the token endpoint, fetched once and reused.
    assert channel_world.connector.unauthorised == 0
    assert len(channel_world.login.tokens_issued) - tokens_before <= 1


@pytest.mark.parametrize("case", ["unsigned", "forged", "expired", "wrong_audience",
                                  "wrong_issuer", "service_url_mismatch"])
def test_unverifiable_activities_get_401_and_reach_no_conversation(channel_world, case):
    _member(channel_world, f"aad-{case}", "Mallory Mal")
    activity = _activity(channel_world, f"aad-{case}", text="hello")
    token = {
        "unsigned": None,
        "forged": Signer(kid=channel_world.login.signer.kid).token(
            audience=TEAMS_APP_ID, service_url=channel_world.connector_url),
        "expired": _token(channel_world, lifetime=-3600),
        "wrong_audience": _token(channel_world, audience="some-other-bot"),
        "wrong_issuer": _token(channel_world, issuer="https://sts.attacker.example/"),
        "service_url_mismatch": _token(channel_world, service_url="https://attacker.example/"),
    }[case]
    status, _ = _post(channel_world, activity, token)
    assert status == 401
    time.sleep(3)
    assert channel_world.connector.replies_to(activity["conversation"]["id"]) == []
    trackers = channel_world.stack.tracker(f"teams:{DEMO_TENANT}:aad-{case}")
    assert [e for e in trackers["events"] if e["event"] == "user"] == []


def test_a_rotated_signing_key_is_fetched_when_first_seen(channel_world):
    rotated = Signer()
    channel_world.login.signers.append(rotated)
    _member(channel_world, "aad-dan", "Dan Kowalski")
    activity = _activity(channel_world, "aad-dan", text="hello")
    token = rotated.token(audience=TEAMS_APP_ID, service_url=channel_world.connector_url)
    before = channel_world.login.jwks_requests
    assert _post(channel_world, activity, token)[0] == 200
    _replies(channel_world, activity["conversation"]["id"], 1)
    assert channel_world.login.jwks_requests == before + 1
