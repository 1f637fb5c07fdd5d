"""The shapes of what callers send: path parameters, query strings and JSON bodies.

The edge checks JSON types and bounds ids (a wrong type is a 400 naming the field); the services
still check meaning (a known coverage, a free slot, a quota) and refuse with their own sentences.
Fields a service requires are optional here and listed as required in the document, so that a
caller without permission hears "not allowed" before "missing field", as before.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from backend.api.parsing import (
    Domain,
    Email,
    Id,
    Moment,
    PathId,
    QueryNumber,
    ShortText,
    Text,
    none_if_blank,
)
from backend.domain.enums import Access, BookingStatus, Coverage, Modality, RiskKind
from backend.services.handoffs import MAX_REFERENCE_LENGTH, MAX_TOPIC_LENGTH

Count = Annotated[int, Field(strict=True)]
Flag = Annotated[bool, Field(strict=True)]
Words = Text | list[Text]
Topic = Annotated[Text, StringConstraints(strip_whitespace=True, max_length=MAX_TOPIC_LENGTH),
                  AfterValidator(none_if_blank)]
Reference = Annotated[Text, StringConstraints(strip_whitespace=True,
                                              max_length=MAX_REFERENCE_LENGTH),
                      AfterValidator(none_if_blank)]


def _requires(*names: str) -> ConfigDict:
    return ConfigDict(json_schema_extra={"required": list(names)})


# --- path parameters -------------------------------------------------------------------------

class ById(BaseModel):
    id: PathId


class AuthorisationChange(BaseModel):
    id: PathId
    verb: Literal["pause", "resume", "revoke"]


class TherapistAnswer(BaseModel):
    id: PathId
    verb: Literal["confirm", "decline", "complete", "cancel", "waive"]


# --- query strings ---------------------------------------------------------------------------

class SlotsQuery(BaseModel):
    days: QueryNumber = Field(14, description="How many days ahead, from today.")


class MyBookingsQuery(BaseModel):
    upcoming: bool = Field(True, description="Only bookings still to come.")


class TherapistBookingsQuery(BaseModel):
    status: BookingStatus = BookingStatus.REQUESTED


# --- JSON bodies ------------------------------------------------------------------------------

class NewOrganisation(BaseModel):
    model_config = _requires("name", "admin_name", "admin_email")
    name: ShortText | None = Field(None, title="organisation name")
    admin_name: ShortText | None = Field(None, title="your name")
    admin_email: Email = Field(None, title="email address")
    email_domain: Domain = Field(None, title="email domain")


class NewAdmin(BaseModel):
    model_config = _requires("name", "email")
    name: ShortText | None = None
    email: Email = Field(None, title="email address")


class CancellationWindow(BaseModel):
    model_config = _requires("hours")
    hours: Count | None = Field(None, title="number of hours",
                                description="Cancelling later than this before a session uses it.")


class EmailDomain(BaseModel):
    model_config = _requires("email_domain")
    email_domain: Domain = Field(None, title="email domain",
                                 description="People with a verified address at it count as "
                                             "members (offers open to all members).")


class NewAuthorisation(BaseModel):
    model_config = _requires("coverage", "sessions_per_user", "user_limit")
    coverage: Coverage | None = None
    sessions_per_user: Count | None = Field(None, title="number of sessions per user")
    user_limit: Count | None = Field(None, title="number of users",
                                     description="null: unlimited")
    access: Access = Access.INVITE_ONLY
    name: ShortText | None = None


class TopUp(BaseModel):
    model_config = _requires("extra_sessions")
    extra_sessions: Count | None = Field(None, title="number of extra sessions")


class InviteRequest(BaseModel):
    email: Email = Field(None, title="email address",
                         description="Only this address may redeem it.")
    expires_in_days: Count | None = Field(None, title="number of days")


class Redeem(BaseModel):
    model_config = _requires("code")
    code: Text | None = Field(None, title="invite code", examples=["7KQ2M-X9D4R"])
    name: ShortText | None = None


class Join(BaseModel):
    model_config = _requires("authorisation_id")
    authorisation_id: Id | None = Field(None, title="offer id")


class SearchFilters(BaseModel):
    """The filters, each a word or a list of words of GET /therapists/vocabulary."""

    # Unknown filters are refused by the search service, which names the valid ones.
    model_config = ConfigDict(extra="allow")
    issues: Words | None = None
    therapy_type: Words | None = None
    language: Words | None = None
    gender: Words | None = None
    modality: Words | None = None
    location: Words | None = None
    days: Annotated[int, Field(strict=True)] | Text | list[Annotated[int, Field(strict=True)]
                                                           | Text] | None = Field(
        None, description="Day names, weekdays, weekend, or 0-6 with Monday as 0.")
    times: Words | None = Field(None, description="Parts of the day: morning, afternoon, …")
    after: Text | None = Field(None, examples=["17:00"])
    before: Text | None = Field(None, examples=["20:00"])
    grant_id: Id | None = Field(None, title="grant id")
    limit: Count | None = Field(None, title="number of results")

    def filters(self) -> dict[str, Any]:
        return {**self.model_dump(exclude_unset=True), **(self.model_extra or {})}


class WatchRequest(BaseModel):
    """A search to keep waiting: the search's filters, and perhaps one therapist."""

    filters: SearchFilters | None = None
    therapist_id: Id | None = Field(None, title="therapist id")


class NewBooking(BaseModel):
    model_config = _requires("therapist_id", "starts_at", "modality")
    therapist_id: Id | None = Field(None, title="therapist id")
    starts_at: Moment | None = None
    modality: Modality | None = None
    grant_id: Id | None = Field(None, title="grant id")
    self_pay: Flag = False


class QuoteRequest(BaseModel):
    model_config = _requires("therapist_id", "starts_at", "modality")
    therapist_id: Id | None = Field(None, title="therapist id")
    starts_at: Moment | None = None
    modality: Modality | None = None


class Reschedule(BaseModel):
    model_config = _requires("starts_at")
    starts_at: Moment | None = None


class IdentityCheck(BaseModel):
    email: Email = Field(None, title="email address")
    name: ShortText | None = None


class HandoffRequest(BaseModel):
    model_config = _requires("topic")
    topic: Topic | None = None
    message: Text = ""
    # Crisis answers recorded by the Rasa server (bot/crisis_alerts.py), and a person after one.
    risk_kind: RiskKind | None = Field(None, title="kind of risk")
    reference: Reference | None = Field(None, description="The same reference is recorded once.")
    occurred_at: Moment | None = None


class HandoffMessage(BaseModel):
    model_config = _requires("text")
    text: Text | None = None


class DevLogin(BaseModel):
    model_config = _requires("member_id")
    member_id: Id | None = Field(None, title="member id")


class EmailSignIn(BaseModel):
    model_config = _requires("email")
    email: Text | None = Field(None, max_length=400, examples=["chloe@example.com"])
    kind: Literal["member", "therapist", "staff"] | None = Field(
        None, description="Who to sign in as (default: member; admins sign in as members).")


class SignInLinkQuery(BaseModel):
    token: Text | None = Field(None, max_length=200)


class EmbedIdentity(BaseModel):
    model_config = _requires("organisation_id", "token")
    organisation_id: Id | None = Field(None, title="organisation id")
    token: Text | None = Field(None, max_length=4096,
                               description="The employee's identity, signed by the intranet "
                                           "(HS256, the organisation's embed key).")


class SsoStart(BaseModel):
    email: Text | None = Field(None, max_length=400, description="The work email address.")


class SsoCallback(BaseModel):
    # Providers' codes and states are URL-safe ASCII (Entra ID's run to ~1,500 characters,
    # Google's contain "/"); the limits keep the request line within the server's 8 KB.
    code: str | None = Field(None, max_length=2048, pattern=r"^[A-Za-z0-9._~/+=-]+$")
    state: str | None = Field(None, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
    error: str | None = Field(None, max_length=64, pattern=r"^[a-z_]+$")


class SlackCallback(SsoCallback):
    """Slack's install sends the browser back with the same three parameters; `again` marks the
    same request repeated from our own page (see routes/slack.py)."""

    again: Literal["1"] | None = None


class SlackTeam(BaseModel):
    # Workspace ids: T… (or E… for an Enterprise Grid organisation).
    team_id: Annotated[str, Field(pattern=r"^[TE][A-Z0-9]{1,40}$")]


class SlackDisconnect(BaseModel):
    """The portal's "Disconnect Slack": the workspace the admin saw connected."""

    team_id: Annotated[str, Field(pattern=r"^[TE][A-Z0-9]{1,40}$")]


class SlackUninstall(BaseModel):
    reason: Literal["app_uninstalled", "tokens_revoked"]


# Microsoft's error_description is ASCII (an AADSTS code, a sentence, trace and correlation ids, a
# timestamp: ~300 characters); ASCII and bounded, it keeps the request line within 8 KB.
ErrorDescription = Annotated[str, StringConstraints(max_length=600,
                                                   pattern=r"^[\x20-\x7E\t\r\n]*$")]


class TeamsConsentCallback(BaseModel):
    """Microsoft's admin consent sends the browser back with `admin_consent=True&tenant=...` (and
    the scope) or `error=...&error_description=...`, both with the state; `again` as Slack's."""

    tenant: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9.-]+$")
    admin_consent: str | None = Field(None, max_length=8, pattern=r"^[A-Za-z]+$")
    state: str | None = Field(None, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
    error: str | None = Field(None, max_length=64, pattern=r"^[a-z_]+$")
    error_description: ErrorDescription | None = None
    again: Literal["1"] | None = None


class TeamsSignInCallback(SsoCallback):
    """Microsoft's sign-in (after the consent) sends the browser back with `code` and the state,
    or `error=...&error_description=...`; `again` as Slack's."""

    error_description: ErrorDescription | None = None
    again: Literal["1"] | None = None


class TeamsTenant(BaseModel):
    # Microsoft's tenant ids are GUIDs; development set-ups name theirs freely.
    tenant_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9.-]{1,64}$")]


class TeamsDisconnect(BaseModel):
    """The portal's "Disconnect" of Microsoft Teams: the tenant the admin saw connected."""

    tenant_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9.-]{1,64}$")]


class WebSessionId(BaseModel):
    id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


class CardPage(BaseModel):
    session: str = Field("", description="The offline card page's session id.")


class CardSetupResult(BaseModel):
    result: str | None = Field(None, description="`saved` when the card page saved a card.")
