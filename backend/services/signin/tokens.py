"""Random tokens, the hashes stored in their place, and the CSRF token of a browser."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32
MAX_TOKEN_CHARS = 128


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256 (tokens are random, so no salt needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: object) -> bool:
    return (isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_CHARS
            and all(char.isalnum() or char in "-_" for char in token))


def csrf_token(key: str, browser_nonce: str) -> str:
    """The token a page of this browser sends with each state-changing call."""
    return hmac.new(key.encode(), f"csrf:{browser_nonce}".encode(), hashlib.sha256).hexdigest()


def csrf_matches(key: str, browser_nonce: str | None, presented: str | None) -> bool:
    if not browser_nonce or not presented or not well_formed(browser_nonce):
        return False
    return hmac.compare_digest(csrf_token(key, browser_nonce), presented)
