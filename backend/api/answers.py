"""The shapes of the backend's answers that routes put together; the rest are the services'
own dataclasses (BookingView, AuthorisationView, …), which pydantic describes as they are.

The error answer is the contract every process reads (contracts/api.py).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from backend.domain.enums import Role
from backend.services.authorisations import AuthorisationView
from backend.services.bookings.views import BookingView
from backend.services.grants import GrantView, OfferView
from backend.services.invites import InviteView
from backend.services.notifications import NotificationView
from backend.services.organisations import AdminView
from backend.services.payments.cards import CardView
from backend.services.portal import PortalUser
from backend.services.search.filters import Vocabulary
from contracts.api import ErrorAnswer

__all__ = ["ErrorAnswer", "Vocabulary"]


class Health(BaseModel):
    status: str


class Me(BaseModel):
    identity: str
    member_id: int | None
    organisation_id: int | None
    role: Role | None
    therapist_id: int | None
    grants: list[GrantView]


class Registered(BaseModel):
    organisation_id: int
    member_id: int
    role: Role


class Admins(BaseModel):
    admins: list[AdminView]


class NewAdminAnswer(BaseModel):
    member_id: int


class Redeemed(BaseModel):
    member_id: int
    organisation_id: int
    grant: GrantView


class Grants(BaseModel):
    grants: list[GrantView]


class Offers(BaseModel):
    offers: list[OfferView]


class Invites(BaseModel):
    invites: list[InviteView]


class Slots(BaseModel):
    therapist_id: int
    slots: list[datetime]


class Bookings(BaseModel):
    bookings: list[BookingView]


class Card(BaseModel):
    card: CardView | None


class Notifications(BaseModel):
    notifications: list[NotificationView]


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


class SlackDisconnected(BaseModel):
    team_id: str
    was_installed: bool


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



class Authorisations(BaseModel):
    authorisations: list[AuthorisationView]
