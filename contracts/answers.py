"""The backend's answers as the bot and the channels read them: plain frozen dataclasses.

Plain Python (the Rasa server's environment has pydantic 1, the backend pydantic 2). Each class
names the schema of the backend's OpenAPI document it mirrors (`schema`); a test compares every
class with /openapi.json (field names, which are required, which may be null), so the two cannot
drift. `from_json` checks what it reads against the field types and raises ContractError, which
the client reports as a failing backend. Fields the backend adds later are ignored.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from typing import Any, ClassVar, Literal, TypeVar, Union

Coverage = Literal["first_relationship", "existing_relationship", "new_relationship"]
Modality = Literal["in_person", "video", "phone"]
Role = Literal["member", "admin"]
Access = Literal["invite_only", "all_members"]
AuthorisationStatus = Literal["active", "paused", "revoked"]
BookingStatus = Literal["requested", "confirmed", "declined", "completed", "cancelled"]
VoucherStatus = Literal["held", "released", "used"]
WatchStatus = Literal["waiting", "told", "stopped", "expired"]

A = TypeVar("A", bound="Answer")


class ContractError(ValueError):
    """An answer that does not have the shape the contract says."""


def is_required(field: dataclasses.Field[Any]) -> bool:
    """Whether `from_json` needs the field: no default, or marked {"required": True} (a field
    the backend always sends that answers built here may leave out)."""
    return bool(field.metadata.get("required")) or (
        field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING)


class Answer:
    """Base of the answer dataclasses: `from_json` reads and checks one."""

    schema: ClassVar[str]

    @classmethod
    def from_json(cls: type[A], body: Any) -> A:
        return _read(cls, body, cls.__name__)


def _read(cls: type[A], body: Any, where: str) -> A:
    if not isinstance(body, dict):
        raise ContractError(f"{where}: expected an object, got {type(body).__name__}")
    values: dict[str, Any] = {}
    for field, kind in _fields(cls):
        if field.name in body:
            values[field.name] = _value(kind, body[field.name], f"{where}.{field.name}")
        elif is_required(field):
            raise ContractError(f"{where}: missing {field.name!r}")
    return cls(**values)


_FIELDS: dict[type[Answer], tuple[tuple[dataclasses.Field[Any], Any], ...]] = {}


def _fields(cls: type[Answer]) -> tuple[tuple[dataclasses.Field[Any], Any], ...]:
    """The dataclass's fields with their types (the annotations are text until evaluated)."""
    if cls not in _FIELDS:
        hints = typing.get_type_hints(cls)
        _FIELDS[cls] = tuple((field, hints[field.name])
                             for field in dataclasses.fields(cls))  # type: ignore[arg-type]
    return _FIELDS[cls]


def _value(kind: Any, value: Any, where: str) -> Any:
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in arguments:
            return None
        (inner,) = [argument for argument in arguments if argument is not type(None)]
        return _value(inner, value, where)
    if origin is Literal:
        if value not in arguments:
            raise ContractError(f"{where}: {value!r} is not one of {arguments}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ContractError(f"{where}: expected a list")
        return [_value(arguments[0], item, f"{where}[{n}]") for n, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ContractError(f"{where}: expected an object")
        return {str(key): _value(arguments[1], item, f"{where}.{key}")
                for key, item in value.items()}
    if kind is Any:
        return value
    if isinstance(kind, type) and issubclass(kind, Answer):
        return _read(kind, value, where)
    if kind is datetime:
        if not isinstance(value, str):
            raise ContractError(f"{where}: expected a date-time text")
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ContractError(f"{where}: {value!r} is not a date-time") from None
    if kind is bool:
        if not isinstance(value, bool):
            raise ContractError(f"{where}: expected true or false")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ContractError(f"{where}: expected a whole number")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ContractError(f"{where}: expected text")
        return value
    raise TypeError(f"{where}: no reader for {kind!r}")  # a mistake in this module


# --- Members, grants and offers -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Grant(Answer):
    schema = "GrantView"
    id: int
    authorisation_id: int
    coverage: Coverage
    sessions_per_user: int
    sessions_remaining: int
    active: bool


@dataclasses.dataclass(frozen=True)
class Offer(Answer):
    """An all-members offer the member could join (they join it when they book)."""

    schema = "OfferView"
    authorisation_id: int
    name: str
    coverage: Coverage
    sessions_per_user: int


@dataclasses.dataclass(frozen=True)
class Me(Answer):
    schema = "Me"
    identity: str
    member_id: int | None
    organisation_id: int | None
    role: Role | None
    therapist_id: int | None
    grants: list[Grant]


@dataclasses.dataclass(frozen=True)
class Registered(Answer):
    schema = "Registered"
    organisation_id: int
    member_id: int
    role: Role


@dataclasses.dataclass(frozen=True)
class Redeemed(Answer):
    schema = "Redeemed"
    member_id: int
    organisation_id: int
    grant: Grant


@dataclasses.dataclass(frozen=True)
class Notification(Answer):
    schema = "NotificationView"
    id: int
    kind: str
    text: str
    created_at: datetime
    slots: dict[str, Any] = dataclasses.field(default_factory=dict)


UNAVAILABLE = "unavailable"
MEMBER_STATUSES = frozenset({"linked", "joined"})


@dataclasses.dataclass(frozen=True)
class IdentityVerification(Answer):
    """POST /identities/verify: who a Slack or Teams identity is in the backend."""

    schema = "IdentityView"
    status: str
    member_id: int | None = None
    organisation_id: int | None = None
    role: Role | None = None
    # For the person, when they are not (yet) a member: what they can do.
    message: str | None = None
    therapist_id: int | None = None
    # The identity asked about, echoed back: always sent, not part of what the answer says.
    identity: str = dataclasses.field(default="", compare=False, metadata={"required": True})

    @property
    def is_member(self) -> bool:
        return self.status in MEMBER_STATUSES


# --- Authorisations and invites -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Usage(Answer):
    """What an admin may see: counts and sums; figures about too few people are withheld."""

    schema = "Usage"
    places_taken: int
    sessions_booked: int | None
    sessions_used: int | None
    spend_minor: int | None
    withheld_reason: str | None


@dataclasses.dataclass(frozen=True)
class Authorisation(Answer):
    schema = "AuthorisationView"
    id: int
    name: str
    coverage: Coverage
    sessions_per_user: int
    user_limit: int | None
    access: Access
    status: AuthorisationStatus
    places_left: int | None
    usage: Usage


@dataclasses.dataclass(frozen=True)
class NewInvite(Answer):
    """A new invite: its code is shown once, with the text to paste into an email."""

    schema = "NewInvite"
    id: int
    code: str  # only its hash is kept
    authorisation_id: int
    email: str | None
    expires_at: datetime | None
    email_text: str


@dataclasses.dataclass(frozen=True)
class Organisation(Answer):
    """GET /organisation: the admin's organisation; a null window is the service's default."""

    schema = "OrganisationView"
    id: int
    name: str
    email_domain: str | None
    cancellation_window_hours: int | None
    admins: int
    members: int


@dataclasses.dataclass(frozen=True)
class Admin(Answer):
    schema = "AdminView"
    member_id: int
    name: str
    email: str | None
    is_admin: bool


@dataclasses.dataclass(frozen=True)
class Admins(Answer):
    schema = "Admins"
    admins: list[Admin]


@dataclasses.dataclass(frozen=True)
class NewAdmin(Answer):
    schema = "NewAdminAnswer"
    member_id: int


InviteState = Literal["open", "redeemed", "revoked", "expired"]


@dataclasses.dataclass(frozen=True)
class Invite(Answer):
    """An invite as admins see it: never its code, only the code's last characters."""

    schema = "InviteView"
    id: int
    authorisation_id: int
    code_hint: str
    email: str | None
    expires_at: datetime | None
    state: InviteState


# --- The directory --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TherapistProfile(Answer):
    schema = "TherapistProfile"
    id: int
    name: str
    gender: str
    bio: str
    languages: list[str]
    therapy_types: list[str]
    issues: list[str]
    modalities: list[str]
    location: str | None
    fee_minor: int
    currency: str


@dataclasses.dataclass(frozen=True)
class PaidBy(Answer):
    """The member's grant, or the all-members offer booking would join, that pays for a match."""

    schema = "PaidBy"
    offer_name: str
    grant_id: int | None
    authorisation_id: int | None


@dataclasses.dataclass(frozen=True)
class TherapistMatch(Answer):
    schema = "Match"
    therapist: TherapistProfile
    reasons: list[str]
    next_slots: list[str]  # date-times, as the backend's search gives them
    paid_by: PaidBy | None = None  # None: nothing of the member's pays for this therapist


@dataclasses.dataclass(frozen=True)
class SearchResult(Answer):
    schema = "SearchResult"
    results: list[TherapistMatch]
    filters: dict[str, Any]
    # What each grant or offer that shaped the results pays for, in the member's words.
    paid_for: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Slots(Answer):
    schema = "Slots"
    therapist_id: int
    slots: list[datetime]


@dataclasses.dataclass(frozen=True)
class Vocabulary(Answer):
    """The directory's words, to read what members type."""

    schema = "Vocabulary"
    issues: list[str]
    therapy_types: list[str]
    languages: list[str]
    genders: list[str]
    locations: list[str]
    modalities: list[str]
    days: list[str]
    times: list[str]


@dataclasses.dataclass(frozen=True)
class Watch(Answer):
    """A search on the waitlist: the member is told once when a time it matches is free."""

    schema = "Watch"
    id: int
    therapist_id: int | None
    therapist_name: str | None
    filters: dict[str, Any]  # the search's canonical filters
    status: WatchStatus
    expires_at: datetime


# --- Quotes and bookings --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Alternative(Answer):
    """What a member can do instead when the organisation would not pay."""

    schema = "Alternative"
    kind: str  # "other_therapist", "self_pay", "ask_admin"
    message: str
    therapist_ids: list[int] = dataclasses.field(default_factory=list)
    fee_minor: int | None = None
    currency: str | None = None


@dataclasses.dataclass(frozen=True)
class RefusedOffer(Answer):
    schema = "RefusedOffer"
    offer_name: str
    coverage: Coverage
    reason: str
    message: str


@dataclasses.dataclass(frozen=True)
class Quote(Answer):
    """POST /bookings/quote: who would pay for a session, or why nothing would."""

    schema = "Quote"
    therapist_id: int
    therapist_name: str
    starts_at: datetime
    modality: Modality
    bookable: bool
    paid_by_organisation: bool
    grant_id: int | None
    authorisation_id: int | None
    offer_name: str | None
    joins_offer: bool
    sessions_remaining_after: int | None
    reason: str | None
    message: str
    fee_minor: int
    currency: str
    refused: list[RefusedOffer]
    alternatives: list[Alternative]


@dataclasses.dataclass(frozen=True)
class Booking(Answer):
    schema = "BookingView"
    id: int
    therapist_id: int
    therapist_name: str
    starts_at: datetime
    ends_at: datetime
    modality: Modality
    status: BookingStatus
    paid_by_organisation: bool
    grant_id: int | None  # None for the therapist, who does not need the member's grants
    offer_name: str | None  # the authorisation that pays, in the member's views
    sessions_remaining_on_grant: int | None
    voucher_status: VoucherStatus | None
    rescheduled_from_id: int | None
    member_name: str | None  # only in the therapist's views


@dataclasses.dataclass(frozen=True)
class CancellationPreview(Answer):
    schema = "CancellationPreview"
    booking_id: int
    paid_by_organisation: bool
    late: bool
    session_returned: bool
    window_hours: int
    deadline: datetime
    can_reschedule: bool
    message: str


@dataclasses.dataclass(frozen=True)
class Handoff(Answer):
    schema = "HandoffView"
    id: int
    topic: str
    status: str
    urgent: bool
    risk_kind: str | None
    created_at: datetime
    # When the team answers, for the person who asked (STAFF_OFFICE_HOURS); "" when not known.
    expected_answer: str = ""


@dataclasses.dataclass(frozen=True)
class MoreSessionsAsked(Answer):
    """POST /me/more-sessions: the admins were told (or had been, this month), never who."""

    schema = "MoreSessionsAsked"
    admins_told: bool
    message: str


@dataclasses.dataclass(frozen=True)
class MoreSessionsRequests(Answer):
    """GET /organisation/more-sessions-requests: how many asked this month, never who."""

    schema = "MoreSessionsRequests"
    this_month: int


# --- The company card and spend -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Card(Answer):
    schema = "CardView"
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None


@dataclasses.dataclass(frozen=True)
class CardOnFile(Answer):
    schema = "Card"
    card: Card | None


@dataclasses.dataclass(frozen=True)
class CardSetup(Answer):
    schema = "CardSetupView"
    url: str
    message: str


@dataclasses.dataclass(frozen=True)
class Figures(Answer):
    """Per currency: sessions paid and their sum, refunds, and payments still owed at the end
    of the month they were asked for."""

    schema = "Figures"
    currency: str
    sessions_charged: int
    spend_minor: int
    sessions_refunded: int
    refunded_minor: int
    sessions_unpaid: int
    unpaid_minor: int


@dataclasses.dataclass(frozen=True)
class AuthorisationSpend(Answer):
    schema = "AuthorisationSpend"
    authorisation_id: int
    name: str
    figures: list[Figures] | None  # None: withheld, for the reason given
    withheld_reason: str | None


@dataclasses.dataclass(frozen=True)
class MonthSpend(Answer):
    schema = "MonthSpend"
    month: str  # "2025-03", by when the payment or refund happened (UTC)
    figures: list[Figures] | None
    withheld_reason: str | None


@dataclasses.dataclass(frozen=True)
class SpendReport(Answer):
    schema = "SpendReport"
    by_authorisation: list[AuthorisationSpend]
    by_month: list[MonthSpend]  # only the months with figures released


# --- Policies -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Policies(Answer):
    """GET /policies: the figures and wording the bot tells, and the words it reads with;
    GET /me/policies: the same in force for a member, their organisation named."""

    schema = "Policies"
    cancellation_window_hours: int  # the service's default, or the organisation's own
    therapist_confirmation_business_hours: int
    reporting_min_group: int
    coverage: dict[str, str]  # coverage -> the sentence that explains it
    day_parts: dict[str, list[int]]  # part of the day -> [first hour, last hour)
    day_words: dict[str, list[str]]
    day_part_words: dict[str, str]
    modality_words: dict[str, list[str]]
    organisation: str | None = None  # whose policies: None for the service's


# The wrappers of lists (`{"bookings": [...]}`): the client hands out the lists.


@dataclasses.dataclass(frozen=True)
class Grants(Answer):
    schema = "Grants"
    grants: list[Grant]


@dataclasses.dataclass(frozen=True)
class Offers(Answer):
    schema = "Offers"
    offers: list[Offer]


@dataclasses.dataclass(frozen=True)
class Bookings(Answer):
    schema = "Bookings"
    bookings: list[Booking]


@dataclasses.dataclass(frozen=True)
class Authorisations(Answer):
    schema = "Authorisations"
    authorisations: list[Authorisation]


@dataclasses.dataclass(frozen=True)
class Invites(Answer):
    schema = "Invites"
    invites: list[Invite]


@dataclasses.dataclass(frozen=True)
class Watches(Answer):
    schema = "Watches"
    watches: list[Watch]


@dataclasses.dataclass(frozen=True)
class Notifications(Answer):
    schema = "Notifications"
    notifications: list[Notification]


@dataclasses.dataclass(frozen=True)
class Payer(Answer):
    """One grant of the member's, or one all-members offer they may join."""

    schema = "Payer"
    grant_id: int | None
    authorisation_id: int | None  # the offer to join (None for a grant)
    offer_name: str
    coverage: Coverage
    joins_offer: bool
    sessions_left: int
    usable: bool
    pays_for: str
    reason: str | None  # why it can pay for nobody now
    message: str


@dataclasses.dataclass(frozen=True)
class Payers(Answer):
    """GET /me/payers: what can pay for a new session now, said when a booking starts."""

    schema = "PayersAnswer"
    can_pay: bool
    payers: list[Payer]
    reason: str | None
    message: str
    alternatives: list[Alternative]


# --- Slack workspaces ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class WorkspaceToken(Answer):
    """GET /slack/workspaces/{team_id}/token: what the Slack channel speaks in a workspace with."""

    schema = "WorkspaceToken"
    team_id: str
    bot_token: str = dataclasses.field(repr=False)  # never in a log line
    bot_user_id: str


@dataclasses.dataclass(frozen=True)
class SlackDisconnected(Answer):
    """POST /slack/workspaces/{team_id}/uninstall."""

    schema = "SlackDisconnected"
    team_id: str
    was_installed: bool


@dataclasses.dataclass(frozen=True)
class WorkspaceConnection(Answer):
    """POST /identities/connect-workspace: the Slack workspace or Teams tenant an admin
    connected, from inside it, to their organisation."""

    schema = "WorkspaceView"
    organisation_id: int
    channel: str
    workspace_id: str


# --- Teams tenants ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TenantConnection(Answer):
    """GET /teams/tenants/{tenant_id}: whether an organisation connected the tenant."""

    schema = "TenantConnection"
    tenant_id: str
    connected: bool


ANSWERS: tuple[type[Answer], ...] = (
    Grant, Offer, Me, Registered, Redeemed, Notification, IdentityVerification, Usage,
    Authorisation, Organisation, Admin, Admins, NewAdmin, NewInvite, Invite, TherapistProfile,
    TherapistMatch, SearchResult, Slots, Vocabulary, Alternative, RefusedOffer, Quote, Booking,
    CancellationPreview, Handoff, Card, CardOnFile, CardSetup, Figures, AuthorisationSpend,
    MonthSpend, SpendReport, Policies, Grants, Offers, Bookings, Authorisations, Invites,
    Notifications, PaidBy, Payer, Payers, MoreSessionsAsked, WorkspaceToken, SlackDisconnected,
    WorkspaceConnection, TenantConnection)

