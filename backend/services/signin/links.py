"""One-time email sign-in links: short-lived, single use, bound to the browser that asked.

Asking for a link always gets the same answer, whether the address is known or not (the mail
goes out in the background, and only to known addresses); asking is throttled per address and
per client. The database keeps the hashes of the link's token and of the asking browser's nonce
(an HttpOnly cookie), so a leaked table, a forwarded mail or a mail scanner cannot sign anyone in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast
from urllib.parse import urlencode

from sqlalchemy import CursorResult, func, select, update

from backend.db import Database
from backend.domain.errors import InvalidInput, PermissionDenied, TooManyAttempts
from backend.models import SignInLink
from backend.models.base import utcnow
from backend.services.signin import principals, sessions, tokens
from backend.services.signin.principals import Account, Kind
from backend.services.signin.settings import PortalSettings

LINK_PATH = "/portal/sign-in"
MAX_CLIENT_CHARS = 64


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


@dataclass(frozen=True)
class Asked:
    """The answer to everyone who asks (`mail` is None for an unknown address)."""

    message: str
    mail: Mail | None


def _answer(settings: PortalSettings) -> str:
    return (f"If this address can sign in here, a sign-in link is on its way. It works once, "
            f"for {settings.link_minutes} minutes, and only in this browser.")


def _throttle(session, settings: PortalSettings, email: str, client: str, now: datetime) -> None:
    since = now - timedelta(minutes=settings.throttle_minutes)
    for column, value, limit in ((SignInLink.email, email, settings.links_per_address),
                                 (SignInLink.client, client, settings.links_per_client)):
        asked = session.scalar(select(func.count(SignInLink.id)).where(
            column == value, SignInLink.created_at >= since))
        if asked >= limit:
            raise TooManyAttempts(f"Too many sign-in links were asked for; try again in "
                                  f"{settings.throttle_minutes} minutes.", code="throttled")


def _mail(settings: PortalSettings, account: Account, token: str) -> Mail:
    link = f"{settings.public_base_url.rstrip('/')}{LINK_PATH}?{urlencode({'token': token})}"
    text = (f"Hello,\n\nSomeone (we hope you) asked to sign in to the therapy sessions portal "
            f"with this address. Open this link in the same browser to sign in:\n\n{link}\n\n"
            f"It works once, for {settings.link_minutes} minutes. If you did not ask for it, "
            f"ignore this mail: nobody can use the link without your browser.\n")
    return Mail(account.email or "", "Your sign-in link", text)


def ask(db: Database, settings: PortalSettings, email: object, kind: object,
        browser_nonce: str | None, client: str, now: datetime | None = None) -> Asked:
    """Record a link for this browser and, for a known address, the mail that carries it."""
    address = principals.normalise_email(email)
    wanted = principals.sign_in_kind(kind)
    if not tokens.well_formed(browser_nonce):
        raise InvalidInput("Your browser must accept cookies to sign in; reload the page.",
                           code="no_browser_cookie")
    assert browser_nonce is not None
    now = now or utcnow()
    client = client[:MAX_CLIENT_CHARS] or "unknown"
    token = tokens.new_token()
    with db.transaction() as session:
        _throttle(session, settings, address, client, now)
        session.add(SignInLink(token_hash=tokens.digest(token),
                               browser_hash=tokens.digest(browser_nonce), email=address,
                               kind=wanted.value, client=client, created_at=now,
                               expires_at=now + timedelta(minutes=settings.link_minutes)))
        account = principals.account_for_email(session, address, wanted, settings.staff_emails)
    mail = None if account is None else _mail(settings, account, token)
    return Asked(_answer(settings), mail)


REFUSALS = {
    "link_unknown": "This sign-in link is not valid. Ask for a new one.",
    "link_used": "This sign-in link has already been used. Ask for a new one.",
    "link_expired": "This sign-in link has expired. Ask for a new one.",
    "link_other_browser": "Open the sign-in link in the browser where you asked for it, or ask "
                          "for a new link here.",
    "no_account": "There is no account for this address any more.",
}


def _refuse(code: str) -> PermissionDenied:
    return PermissionDenied(REFUSALS[code], code=code)


def redeem(db: Database, settings: PortalSettings, token: object, browser_nonce: str | None,
           now: datetime | None = None) -> sessions.Started:
    """Use a link once, in the browser that asked for it, and open a session."""
    if not tokens.well_formed(token):
        raise _refuse("link_unknown")
    assert isinstance(token, str)
    now = now or utcnow()
    token_hash = tokens.digest(token)
    browser_hash = tokens.digest(browser_nonce) if browser_nonce and tokens.well_formed(
        browser_nonce) else ""
    with db.transaction() as session:
        # One statement decides: of two concurrent uses, exactly one finds it unused.
        used = cast(CursorResult, session.execute(
            update(SignInLink)
            .where(SignInLink.token_hash == token_hash, SignInLink.used_at.is_(None),
                   SignInLink.expires_at > now, SignInLink.browser_hash == browser_hash)
            .values(used_at=now))).rowcount
        link = session.scalar(select(SignInLink).where(SignInLink.token_hash == token_hash))
        if not used:
            if link is None:
                raise _refuse("link_unknown")
            if link.used_at is not None:
                raise _refuse("link_used")
            if link.expires_at <= now:
                raise _refuse("link_expired")
            raise _refuse("link_other_browser")  # not spent: the right browser still can
        assert link is not None
        account = principals.account_for_email(session, link.email, Kind(link.kind),
                                               settings.staff_emails)
        if account is None:
            raise _refuse("no_account")
        return sessions.start(session, settings, account, "email", now)
