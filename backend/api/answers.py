"""The shapes of the backend's answers that routes put together; the rest are the services'
own dataclasses or, where the bot and the channels read them too, the contract's
(contracts/answers.py: Booking, Authorisation, …), which pydantic describes as they are.

The error answer is the contract every process reads (contracts/api.py).
"""

from __future__ import annotations

from pydantic import BaseModel

from backend.domain.enums import Role
from backend.services.portal import PortalUser
from contracts.answers import Grant
from contracts.api import ErrorAnswer

__all__ = ["ErrorAnswer"]


class Health(BaseModel):
    status: str


class Registered(BaseModel):
    organisation_id: int
    member_id: int
    role: Role


class Redeemed(BaseModel):
    member_id: int
    organisation_id: int
    grant: Grant


class WebhookReceived(BaseModel):
    received: bool
    outcome: str


class ChatSocket(BaseModel):
    socket_url: str
    socket_path: str


class SignedInPerson(BaseModel):
    kind: str  # member, admin, therapist, staff
    name: str
    email: str | None


class PortalSessionAnswer(BaseModel):
    signed_in: bool
    person: SignedInPerson | None
    # The member view (members and admins only): the widget acts for this member.
    user: PortalUser | None
    dev_login: bool
    sign_in_choices: list[PortalUser]
    # Sent back in X-CSRF-Token with every state-changing call of this browser.
    csrf_token: str
    chat: ChatSocket


class SlackInstallStart(BaseModel):
    authorize_url: str


class TeamsConsentStart(BaseModel):
    consent_url: str


class PortalSignIn(BaseModel):
    signed_in: bool
    user: PortalUser | None


class SignInLinkAsked(BaseModel):
    message: str


class EmbedChatToken(BaseModel):
    token: str
    identity: str
    expires_in: int
    chat: ChatSocket


class WebSessionState(BaseModel):
    active: bool
