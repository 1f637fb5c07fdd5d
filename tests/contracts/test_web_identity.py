"""Identity tokens of the website widget and the origins allowed to open it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt
import pytest

from contracts import web_identity as wi
from contracts.web_identity import InvalidWebToken, TokenConfig, WebIdentity

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
CONFIG = TokenConfig(SECRET, ttl_seconds=120)
CHLOE = WebIdentity(member_id=42, organisation_id=7, verified_email="chloe@northwind.example")


def test_a_valid_token_gives_back_the_identity_and_its_metadata():
    token = wi.issue_identity_token(CONFIG, CHLOE)

    identity = wi.verify_identity_token(CONFIG, token)

    assert identity == CHLOE
    assert identity.identity == "web:42"
    assert identity.metadata() == {"identity": "web:42",
                                   "verified_email": "chloe@northwind.example"}


def test_the_token_carries_issuer_audience_subject_and_a_short_expiry():
    claims = jwt.decode(wi.issue_identity_token(CONFIG, CHLOE), SECRET, algorithms=["HS256"],
                        audience=wi.AUDIENCE)

    assert claims["iss"] == wi.ISSUER
    assert claims["sub"] == "web:42"
    assert claims["org"] == 7
    assert claims["email"] == "chloe@northwind.example"
    assert claims["exp"] - claims["iat"] == 120


def test_without_a_verified_email_the_metadata_has_only_the_identity():
    identity = WebIdentity(5, 1, None)
    token = wi.issue_identity_token(CONFIG, identity)

    assert wi.verify_identity_token(CONFIG, token).metadata() == {"identity": "web:5"}


def test_an_expired_token_is_refused():
    issued = datetime.now(timezone.utc) - timedelta(seconds=120 + wi.LEEWAY_SECONDS + 5)
    token = wi.issue_identity_token(CONFIG, CHLOE, now=issued)

    with pytest.raises(InvalidWebToken, match="expired"):
        wi.verify_identity_token(CONFIG, token)


def test_a_token_signed_with_another_secret_is_refused():
    forger = TokenConfig("someone-else-s-secret-of-enough-length-xx")
    token = wi.issue_identity_token(forger, CHLOE)

    with pytest.raises(InvalidWebToken, match="Signature"):
        wi.verify_identity_token(CONFIG, token)


def test_a_tampered_token_is_refused():
    token = wi.issue_identity_token(CONFIG, WebIdentity(1, 7, "ben@northwind.example"))
    header, _, signature = token.split(".")
    other_payload = wi.issue_identity_token(CONFIG, CHLOE).split(".")[1]

    with pytest.raises(InvalidWebToken):
        wi.verify_identity_token(CONFIG, f"{header}.{other_payload}.{signature}")


def test_an_unsigned_token_is_refused():
    now = datetime.now(timezone.utc)
    token = jwt.encode({"iss": wi.ISSUER, "aud": wi.AUDIENCE, "sub": "web:42", "org": 7,
                        "iat": now, "exp": now + timedelta(minutes=5)}, None, algorithm="none")

    with pytest.raises(InvalidWebToken):
        wi.verify_identity_token(CONFIG, token)


@pytest.mark.parametrize("audience", ["someone-else", wi.ANONYMOUS_AUDIENCE,
                                      "therapy-portal-session"])
def test_a_token_for_another_audience_is_refused(audience):
    token = wi.sign_claims(SECRET, audience, "web:42", 60, {"org": 7})

    with pytest.raises(InvalidWebToken, match=r"(?i)audience"):
        wi.verify_identity_token(CONFIG, token)


def test_a_token_from_another_issuer_is_refused():
    now = datetime.now(timezone.utc)
    token = jwt.encode({"iss": "elsewhere", "aud": wi.AUDIENCE, "sub": "web:42", "org": 7,
                        "iat": now, "exp": now + timedelta(minutes=5)}, SECRET, algorithm="HS256")

    with pytest.raises(InvalidWebToken, match=r"(?i)issuer"):
        wi.verify_identity_token(CONFIG, token)


@pytest.mark.parametrize("subject, organisation", [
    ("slack:T1:U1", 7), ("web:", 7), ("web:12abc", 7), ("web:42", "7"), ("web:42", True),
    ("web:42", None),
])
def test_malformed_identity_claims_are_refused(subject, organisation):
    token = wi.sign_claims(SECRET, wi.AUDIENCE, subject, 60, {"org": organisation})

    with pytest.raises(InvalidWebToken, match="malformed"):
        wi.verify_identity_token(CONFIG, token)


@pytest.mark.parametrize("token", [None, "", 42, "not.a.jwt", "x" * 5000])
def test_missing_or_garbage_tokens_are_refused(token):
    with pytest.raises(InvalidWebToken):
        wi.verify_identity_token(CONFIG, token)


def test_anonymous_visitors_get_a_server_made_id_they_can_resume_but_not_choose():
    sender = wi.new_anonymous_sender()
    token = wi.issue_anonymous_token(CONFIG, sender)

    assert sender.startswith("web-anon:") and len(sender) == len("web-anon:") + 32
    assert wi.new_anonymous_sender() != sender
    assert wi.verify_anonymous_token(CONFIG, token) == sender
    # A visitor token is no identity, and an identity token no visitor token.
    with pytest.raises(InvalidWebToken):
        wi.verify_identity_token(CONFIG, token)
    with pytest.raises(InvalidWebToken):
        wi.verify_anonymous_token(CONFIG, wi.issue_identity_token(CONFIG, CHLOE))
    # A chosen id, even signed correctly, is not an anonymous id.
    with pytest.raises(InvalidWebToken, match="malformed"):
        wi.verify_anonymous_token(CONFIG, wi.issue_anonymous_token(CONFIG, "web:42"))


def test_secrets_must_be_long_and_lifetimes_positive():
    with pytest.raises(ValueError, match="at least 32"):
        TokenConfig("short")
    with pytest.raises(ValueError, match="positive"):
        TokenConfig(SECRET, ttl_seconds=0)


def test_derived_keys_differ_by_purpose_and_from_the_secret():
    assert CONFIG.derived_key("a") != CONFIG.derived_key("b")
    assert CONFIG.derived_key("a") != SECRET


# --- Origins -------------------------------------------------------------------------------


def test_the_default_is_the_backend_s_own_origin_and_its_loopback_twin():
    assert wi.parse_origins(None) == {"http://127.0.0.1:8000", "http://localhost:8000"}
    assert wi.parse_origins("", "https://portal.example.com/") == {"https://portal.example.com"}


def test_configured_origins_are_normalised():
    origins = wi.parse_origins("HTTPS://Portal.Example.com:443/, http://127.0.0.1:8000 "
                               "http://[::1]:8080")

    assert origins == {"https://portal.example.com", "http://127.0.0.1:8000", "http://[::1]:8080"}


@pytest.mark.parametrize("value", ["*", "portal.example.com", "ftp://portal.example.com",
                                   "https://portal.example.com/path", "https://user@x.example",
                                   "http://x.example:99999"])
def test_invalid_configured_origins_are_rejected(value):
    with pytest.raises(ValueError, match="WEB_ALLOWED_ORIGINS"):
        wi.parse_origins(value)


@pytest.mark.parametrize("origin, allowed", [
    ("https://portal.example.com", True),
    ("https://PORTAL.example.com:443", True),
    ("https://portal.example.com/", True),
    ("http://portal.example.com", False),         # other scheme
    ("https://portal.example.com:8443", False),   # other port
    ("https://evil.portal.example.com", False),   # other host
    ("https://portal.example.com.evil.net", False),
    ("null", False),                              # sandboxed iframe, file://
    ("", False),
    (None, False),
])
def test_origin_checks(origin, allowed):
    assert wi.origin_allowed(origin, wi.parse_origins("https://portal.example.com")) is allowed
