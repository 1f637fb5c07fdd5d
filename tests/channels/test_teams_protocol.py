"""Bot Framework protocol without Rasa: JWT checks against a local OpenID/JWKS stand-in, bot
tokens from a local token endpoint, activity parsing and reply rendering."""

from __future__ import annotations

import asyncio

import pytest

from channels import teams_protocol as tp
from contracts.http_session import SharedSession
from contracts.settings import TeamsSettings
from tests.channels.standins import BotFrameworkLogin, Signer, teams_activity

APP_ID = "app-id"
PASSWORD = "app-secret"
SERVICE_URL = "https://smba.example/teams/"
ISSUER = TeamsSettings().issuer


@pytest.fixture
async def login(aiohttp_server):
    login = BotFrameworkLogin(APP_ID, PASSWORD)
    server = await aiohttp_server(login.app)
    login.url = str(server.make_url("")).rstrip("/")
    return login


@pytest.fixture
async def http():
    session = SharedSession(10)
    yield session
    await session.close()


def _settings(login, **overrides) -> TeamsSettings:
    env = {"TEAMS_APP_ID": APP_ID, "TEAMS_APP_PASSWORD": PASSWORD,
           "TEAMS_OPENID_METADATA_URL": f"{login.url}/v1/.well-known/openidconfiguration",
           "TEAMS_TOKEN_URL": f"{login.url}/botframework.com/oauth2/v2.0/token",
           **overrides}
    return TeamsSettings.load(None, env)


def _keys(login, http, refresh: float = 0) -> tp.SigningKeys:
    return tp.SigningKeys(_settings(login).openid_metadata_url, http, min_refresh_seconds=refresh)


async def _verify(login, http, token: str | None, activity=None, keys=None, **settings):
    activity = activity or teams_activity(SERVICE_URL)
    header = None if token is None else f"Bearer {token}"
    return await tp.verify_activity(header, activity, keys or _keys(login, http),
                                    _settings(login, **settings))


async def test_a_valid_token_is_accepted(login, http):
    claims = await _verify(login, http, login.signer.token(audience=APP_ID,
                                                           service_url=SERVICE_URL))
    assert claims["aud"] == APP_ID and claims["serviceurl"] == SERVICE_URL


@pytest.mark.parametrize("case", ["forged", "expired", "wrong_audience", "wrong_issuer",
                                  "service_url_mismatch", "missing", "not_bearer", "garbage",
                                  "hs256", "not_endorsed", "no_expiry"])
async def test_bad_tokens_are_refused(login, http, case):
    signer = login.signer
    kwargs = {"audience": APP_ID, "service_url": SERVICE_URL}
    token: str | None
    activity = None
    if case == "forged":  # right key id, someone else's key
        token = Signer(kid=signer.kid).token(**kwargs)
    elif case == "expired":
        token = signer.token(lifetime=-3600, **kwargs)
    elif case == "wrong_audience":
        token = signer.token(audience="another-bot", service_url=SERVICE_URL)
    elif case == "wrong_issuer":
        token = signer.token(issuer="https://evil.example", **kwargs)
    elif case == "service_url_mismatch":
        token = signer.token(audience=APP_ID, service_url="https://attacker.example/")
    elif case == "missing":
        token = None
    elif case == "not_bearer":
        token = "x"
        activity = teams_activity(SERVICE_URL)
        with pytest.raises(tp.AuthError):
            await tp.verify_activity(f"Basic {token}", activity, _keys(login, http),
                                     _settings(login))
        return
    elif case == "garbage":
        token = "not.a.jwt"
    elif case == "hs256":
        import jwt
        token = jwt.encode({"iss": ISSUER, "aud": APP_ID, "exp": 2**31,
                            "serviceurl": SERVICE_URL}, "k" * 32, algorithm="HS256",
                           headers={"kid": signer.kid})
    elif case == "not_endorsed":
        token = signer.token(**kwargs)
        activity = {**teams_activity(SERVICE_URL), "channelId": "webchat"}
    else:  # no_expiry: pyjwt would accept it without the explicit requirement
        import jwt
        token = jwt.encode({"iss": ISSUER, "aud": APP_ID, "serviceurl": SERVICE_URL},
                           signer.private_key, algorithm="RS256", headers={"kid": signer.kid})
    with pytest.raises(tp.AuthError):
        await _verify(login, http, token, activity)


async def test_token_a_little_past_expiry_is_within_clock_skew(login, http):
    token = login.signer.token(audience=APP_ID, service_url=SERVICE_URL, lifetime=-60)
    await _verify(login, http, token)


async def test_keys_are_cached_and_refreshed_on_an_unknown_kid(login, http):
    keys = _keys(login, http, refresh=0)
    first = login.signer.token(audience=APP_ID, service_url=SERVICE_URL)
    for _ in range(3):
        await _verify(login, http, first, keys=keys)
    assert (keys.fetches, login.jwks_requests) == (1, 1)
    rotated = Signer()
    login.signers.append(rotated)  # Microsoft publishes a new key
    await _verify(login, http, rotated.token(audience=APP_ID, service_url=SERVICE_URL),
                  keys=keys)
    assert keys.fetches == 2
    # A key nobody publishes: one more look, then refused.
    with pytest.raises(tp.AuthError, match="unknown signing key"):
        await _verify(login, http, Signer().token(audience=APP_ID, service_url=SERVICE_URL),
                      keys=keys)
    assert keys.fetches == 3


async def test_unknown_kids_do_not_hammer_the_metadata_endpoint(login, http):
    keys = _keys(login, http, refresh=60)
    await _verify(login, http, login.signer.token(audience=APP_ID, service_url=SERVICE_URL),
                  keys=keys)
    for _ in range(5):
        with pytest.raises(tp.AuthError):
            await _verify(login, http, Signer().token(audience=APP_ID, service_url=SERVICE_URL),
                          keys=keys)
    assert keys.fetches == 1


async def test_concurrent_first_requests_fetch_the_keys_once(login, http):
    keys = _keys(login, http, refresh=60)
    token = login.signer.token(audience=APP_ID, service_url=SERVICE_URL)
    await asyncio.gather(*(_verify(login, http, token, keys=keys) for _ in range(10)))
    assert login.metadata_requests == 1


async def test_bot_token_is_fetched_once_and_renewed_when_expired(login, http):
    now = [1000.0]
    provider = tp.TokenProvider(_settings(login), http, clock=lambda: now[0])
    tokens = await asyncio.gather(*(provider.token() for _ in range(5)))
    assert set(tokens) == {"bot-token-1"} and provider.fetches == 1
    now[0] += 3600 - 301
    assert await provider.token() == "bot-token-1"
    now[0] += 2
    assert await provider.token() == "bot-token-2"
    provider.forget()
    assert await provider.token() == "bot-token-3"


async def test_wrong_password_is_a_clear_error(login, http):
    provider = tp.TokenProvider(_settings(login, TEAMS_APP_PASSWORD="wrong"), http)
    with pytest.raises(RuntimeError, match="invalid_client"):
        await provider.token()


def test_parse_message_strips_mentions_and_reads_card_clicks():
    activity = teams_activity(SERVICE_URL, text="<at>Therapy bot</at> book &amp; pay",
                              tenant="t1", aad="o1")
    parsed = tp.parse_activity(activity)
    assert (parsed.text, str(parsed.identity(None))) == ("book & pay", "teams:t1:o1")
    click = teams_activity(SERVICE_URL, text="", value={tp.PAYLOAD_KEY: "/choose_slot"})
    assert tp.parse_activity(click).text == "/choose_slot"
    assert isinstance(tp.parse_activity({**activity, "type": "conversationUpdate"}), tp.Ignored)
    no_aad = {**activity, "from": {"id": "29:x"}}
    assert isinstance(tp.parse_activity(no_aad), tp.Ignored)


@pytest.mark.parametrize("scope,shared", [("personal", False), ("channel", True),
                                          ("groupChat", True), (None, True)])
def test_only_the_personal_scope_is_private(scope, shared):
    activity = teams_activity(SERVICE_URL, text="hi")
    activity["conversation"]["conversationType"] = scope
    assert tp.parse_activity(activity).shared is shared


def test_reply_url_and_member_email():
    activity = teams_activity("https://smba.example/amer/", conversation="a:1;messageid=2")
    activity["id"] = "act 1"
    assert tp.reply_url(activity) == ("https://smba.example/amer/v3/conversations/"
                                      "a%3A1%3Bmessageid%3D2/activities/act%201")
    assert tp.member_url(activity).endswith("/members/29%3Aaad-1")
    assert tp.member_email({"aadObjectId": "o1", "email": "A@B.example", "name": "A"}, "o1") == (
        "a@b.example", "A")
    assert tp.member_email({"aadObjectId": "o2", "email": "a@b.example"}, "o1") == (None, None)
    assert tp.member_email({"aadObjectId": "o1", "userPrincipalName": "a@b.example"}, "o1")[0]


def test_render_buttons_as_adaptive_card_or_suggested_actions():
    incoming = teams_activity(SERVICE_URL)
    message = {"text": "Pick a slot", "buttons": [{"title": "Mon 9:00", "payload": "/pick_1"}]}
    [card] = tp.render_replies(message, incoming, "card")
    assert card["replyToId"] == incoming["id"]
    assert card["from"] == incoming["recipient"] and card["recipient"] == incoming["from"]
    content = card["attachments"][0]["content"]
    assert card["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert content["body"][0]["text"] == "Pick a slot"
    assert content["actions"] == [{"type": "Action.Submit", "title": "Mon 9:00",
                                   "data": {tp.PAYLOAD_KEY: "/pick_1"}}]
    [suggested] = tp.render_replies(message, incoming, "suggested")
    assert suggested["text"] == "Pick a slot"
    assert suggested["suggestedActions"]["actions"] == [
        {"type": "imBack", "title": "Mon 9:00", "value": "/pick_1"}]
    [plain] = tp.render_replies({"text": "hi"}, incoming)
    assert (plain["text"], plain.get("attachments")) == ("hi", None)
    assert tp.render_replies({}, incoming) == []
