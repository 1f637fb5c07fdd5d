"""The portal's session cookie key: its own secret, never derived from a public default."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backend.services import portal
from backend.services.portal import SESSION_AUDIENCE, PortalSettings
from contracts import web_identity
from contracts.web_identity import TokenConfig

SECRET = "a-portal-session-secret-of-enough-length"


def test_a_cookie_signed_with_the_public_default_is_refused():
    forged = web_identity.sign_claims(
        TokenConfig(web_identity.DEV_SECRET).derived_key(SESSION_AUDIENCE), SESSION_AUDIENCE,
        "1", 3600)
    assert portal.member_of_session(PortalSettings(), forged) is None
    assert portal.member_of_session(PortalSettings(PORTAL_SESSION_SECRET=SECRET), forged) is None


def test_the_configured_secret_keeps_sessions_across_restarts():
    cookie = portal.session_cookie(PortalSettings(PORTAL_SESSION_SECRET=SECRET), 7)
    assert portal.member_of_session(PortalSettings(PORTAL_SESSION_SECRET=SECRET), cookie) == 7
    assert portal.member_of_session(
        PortalSettings(PORTAL_SESSION_SECRET=SECRET.upper()), cookie) is None


def test_without_a_secret_each_start_has_its_own_random_key():
    first = PortalSettings()
    cookie = portal.session_cookie(first, 7)
    assert portal.member_of_session(first, cookie) == 7
    assert portal.member_of_session(PortalSettings(), cookie) is None


def test_a_short_secret_is_refused():
    with pytest.raises(ValidationError, match="at least 32 characters"):
        PortalSettings(PORTAL_SESSION_SECRET="short")
