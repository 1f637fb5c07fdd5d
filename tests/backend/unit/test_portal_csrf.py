"""The portal's CSRF tokens: bound to one browser's nonce, keyed by PORTAL_SESSION_SECRET."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backend.services.portal import PortalSettings
from backend.services.signin import tokens

SECRET = "a-portal-session-secret-of-enough-length"


def test_a_browser_s_token_matches_only_that_browser():
    key = PortalSettings(PORTAL_SESSION_SECRET=SECRET).csrf_key
    mine, theirs = tokens.new_token(), tokens.new_token()
    token = tokens.csrf_token(key, mine)

    assert tokens.csrf_matches(key, mine, token)
    assert not tokens.csrf_matches(key, theirs, token)
    assert not tokens.csrf_matches(key, mine, None)
    assert not tokens.csrf_matches(key, None, token)
    assert not tokens.csrf_matches(key, "not a nonce!", tokens.csrf_token(key, "not a nonce!"))


def test_the_configured_secret_keeps_tokens_across_restarts():
    nonce = tokens.new_token()
    token = tokens.csrf_token(PortalSettings(PORTAL_SESSION_SECRET=SECRET).csrf_key, nonce)
    assert tokens.csrf_matches(PortalSettings(PORTAL_SESSION_SECRET=SECRET).csrf_key, nonce, token)
    assert not tokens.csrf_matches(PortalSettings(PORTAL_SESSION_SECRET=SECRET.upper()).csrf_key,
                                   nonce, token)


def test_without_a_secret_each_start_has_its_own_random_key():
    assert PortalSettings().csrf_key != PortalSettings().csrf_key


def test_a_short_secret_is_refused():
    with pytest.raises(ValidationError, match="at least 32 characters"):
        PortalSettings(PORTAL_SESSION_SECRET="short")
