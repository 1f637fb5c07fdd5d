"""The one client of the backend's HTTP API, used by the actions and the channels.

Every request carries the service credential and the chat identity it acts for (see
contracts/identity.py). Refusals come back as BackendError with the backend's `error.message`,
which is written for people; an unreachable, slow or failing backend (5xx, a refused credential,
an answer that is not the backend's error format) is BackendUnavailable. All requests of a process
share one connection pool (SESSION), closed at shutdown by `close_shared_session()`. Each call
the bot and the channels make has a typed method returning the answer dataclasses of
contracts/answers.py; an answer outside that contract is BackendUnavailable too. Nothing here
knows a domain rule.

Safe retries: a client made for one user message (`idempotency_scope`: the conversation, the
message's id and the action) sends every POST/PUT/PATCH/DELETE with an `Idempotency-Key` derived
from the scope and the call's place in the sequence, so a redelivered message sends the same keys
and the backend replays its first answers. A keyed call that times out, or that the backend says
is still running (409 in_progress), is asked again with its key until `write_patience_seconds`;
if the outcome is still unknown then, BackendOutcomeUnknown says so (never "nothing changed").
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from datetime import datetime
from typing import Any, TypeVar

import aiohttp

from contracts.answers import (
    UNAVAILABLE,
    Admin,
    Admins,
    Answer,
    Authorisation,
    Authorisations,
    Booking,
    Bookings,
    CancellationPreview,
    Card,
    CardOnFile,
    CardSetup,
    ContractError,
    Grant,
    Grants,
    Handoff,
    IdentityVerification,
    Invite,
    Invites,
    Me,
    MoreSessionsAsked,
    MoreSessionsRequests,
    NewAdmin,
    NewInvite,
    Notification,
    Notifications,
    Offer,
    Offers,
    Organisation,
    Payers,
    Policies,
    Quote,
    Redeemed,
    Registered,
    SearchResult,
    SlackDisconnected,
    Slots,
    SpendReport,
    TenantConnection,
    TherapistMatch,
    TherapistProfile,
    Vocabulary,
    Watch,
    Watches,
    WorkspaceConnection,
    WorkspaceToken,
)
from contracts.api import IDEMPOTENCY_KEY_HEADER, IN_PROGRESS_CODE
from contracts.http_session import SharedSession
from contracts.identity import ChatIdentity, bearer
from contracts.settings import BackendSettings

log = logging.getLogger(__name__)
A = TypeVar("A", bound=Answer)
__all__ = ["UNAVAILABLE", "BackendClient", "BackendError", "BackendUnavailable",
           "IdentityVerification", "close_shared_session"]

SESSION = SharedSession()


async def close_shared_session() -> None:
    await SESSION.close()


class BackendUnavailable(Exception):
    """The backend could not be reached, timed out, or failed on its side."""


class BackendOutcomeUnknown(BackendUnavailable):
    """A change was asked for and the backend did not say, in time, whether it was made."""


class BackendError(Exception):
    """The backend refused the request; `message` can be shown to the person as it is."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


# --- The client -----------------------------------------------------------------------------


MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RETRY_PAUSE_SECONDS = 0.5


def idempotency_key(scope: str, sequence: int, method: str, path: str) -> str:
    """The key of a scope's `sequence`-th change: the same for the same message, action and
    call, whichever process or delivery sends it."""
    return hashlib.sha256(f"{scope}\n{sequence}\n{method} {path}".encode()).hexdigest()


class BackendClient:
    def __init__(self, identity: ChatIdentity, settings: BackendSettings | None = None, *,
                 timeout_seconds: float | None = None, session: SharedSession = SESSION,
                 idempotency_scope: str | None = None):
        self.identity = identity
        self.settings = settings or BackendSettings.from_environment()
        self._timeout = aiohttp.ClientTimeout(
            total=timeout_seconds or self.settings.timeout_seconds)
        self._session = session
        self._scope = idempotency_scope
        self._changes = 0  # the changes asked for so far in this scope

    def _headers(self) -> dict[str, str]:
        return {**bearer(self.settings.service_token), **self.identity.headers()}

    async def request(self, method: str, path: str, json: Any = None,
                      params: dict[str, str] | None = None) -> Any:
        if self._scope is None or method.upper() not in MUTATING:
            return await self._send(method, path, json, params, None)
        self._changes += 1
        key = idempotency_key(self._scope, self._changes, method.upper(), path)
        deadline = time.monotonic() + self.settings.write_patience_seconds
        maybe_done = False  # once a try may have reached the backend, only its answer tells
        while True:
            try:
                return await self._send(method, path, json, params, key)
            except (_TimedOut, _StillRunning) as unknown:
                maybe_done, reason = True, str(unknown)
            except BackendUnavailable as error:
                if not maybe_done:
                    raise
                reason = str(error)
            if time.monotonic() + RETRY_PAUSE_SECONDS >= deadline:
                raise BackendOutcomeUnknown(reason)
            log.info("backend %s %s: %s; asking again with the same key", method, path, reason)
            await asyncio.sleep(RETRY_PAUSE_SECONDS)

    async def _send(self, method: str, path: str, json: Any, params: dict[str, str] | None,
                    key: str | None) -> Any:
        url = f"{self.settings.base_url}{path}"
        headers = self._headers() | ({IDEMPOTENCY_KEY_HEADER: key} if key else {})
        try:
            async with self._session().request(method, url, json=json, params=params,
                                               headers=headers,
                                               timeout=self._timeout) as response:
                body = await _json_or_none(response)
                status = response.status
        except asyncio.TimeoutError as error:
            log.warning("backend %s %s timed out", method, path)
            if key:  # it may have been done: only asking again with the key tells
                raise _TimedOut("timed out") from None
            raise BackendUnavailable(str(error) or type(error).__name__) from None
        except aiohttp.ClientError as error:
            log.warning("backend %s %s unreachable: %r", method, path, error)
            if key and not isinstance(error, aiohttp.ClientConnectorError):
                raise _TimedOut(str(error) or type(error).__name__) from None
            raise BackendUnavailable(str(error) or type(error).__name__) from None
        if status < 400:
            return body
        refusal = body.get("error") if isinstance(body, dict) else None
        if status >= 500 or status == 401 or not isinstance(refusal, dict):
            log.error("backend %s %s failed with %s: %s", method, path, status, body)
            raise BackendUnavailable(f"status {status}")
        if key and status == 409 and refusal.get("code") == IN_PROGRESS_CODE:
            raise _StillRunning("still in progress")
        raise BackendError(status, str(refusal.get("code", "refused")),
                           str(refusal.get("message", "The request was refused.")))

    async def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, json: Any = None) -> Any:
        return await self.request("POST", path, json=json if json is not None else {})

    async def read(self, answer: type[A], method: str, path: str, json: Any = None,
                   params: dict[str, str] | None = None) -> A:
        """The request's answer as the contract's dataclass; an answer of another shape is the
        backend failing (BackendUnavailable), never a KeyError in the caller."""
        body = await self.request(method, path, json=json, params=params)
        try:
            return answer.from_json(body)
        except ContractError as error:
            log.error("backend %s %s answered outside the contract: %s", method, path, error)
            raise BackendUnavailable(f"answer outside the contract: {error}") from None

    # --- Who is asking ---

    async def verify_identity(self, name: str | None = None) -> IdentityVerification:
        """Ask who the (Slack or Teams) identity is, linking it to a member when its verified
        email allows."""
        body = {key: value for key, value in (("email", self.identity.verified_email),
                                              ("name", name)) if value}
        return await self.read(IdentityVerification, "POST", "/identities/verify", body)

    async def me(self) -> Me:
        return await self.read(Me, "GET", "/me")

    async def my_grants(self) -> list[Grant]:
        return (await self.read(Grants, "GET", "/me/grants")).grants

    async def my_offers(self) -> list[Offer]:
        """The all-members offers the member could join."""
        return (await self.read(Offers, "GET", "/me/offers")).offers

    async def notifications(self) -> list[Notification]:
        """The news waiting for this person; each is handed out once."""
        return (await self.read(Notifications, "GET", "/me/notifications")).notifications

    async def policies(self) -> Policies:
        return await self.read(Policies, "GET", "/policies")

    async def my_policies(self) -> Policies:
        """The policies in force for this member: their organisation's cancellation window."""
        return await self.read(Policies, "GET", "/me/policies")

    # --- The directory ---

    async def vocabulary(self) -> Vocabulary:
        return await self.read(Vocabulary, "GET", "/therapists/vocabulary")

    async def search_therapists(self, filters: dict[str, Any]) -> list[TherapistMatch]:
        return (await self.search(filters)).results

    async def search(self, filters: dict[str, Any]) -> SearchResult:
        """The matches, and what each of the member's grants or offers pays for."""
        return await self.read(SearchResult, "POST", "/therapists/search", filters)

    async def therapist(self, therapist_id: int) -> TherapistProfile:
        return await self.read(TherapistProfile, "GET", f"/therapists/{int(therapist_id)}")

    async def slots(self, therapist_id: int, days: int) -> list[datetime]:
        return (await self.read(Slots, "GET", f"/therapists/{int(therapist_id)}/slots",
                                params={"days": str(days)})).slots

    # --- Bookings ---

    async def quote(self, therapist_id: int, starts_at: datetime | str,
                    modality: str) -> Quote:
        return await self.read(Quote, "POST", "/bookings/quote", {
            "therapist_id": therapist_id, "starts_at": _iso(starts_at), "modality": modality})

    async def book(self, therapist_id: int, starts_at: datetime | str, modality: str, *,
                   self_pay: bool = False) -> Booking:
        """Book; the backend chooses what pays (a grant, or a place on an open offer), unless
        the member pays for it themselves."""
        return await self.read(Booking, "POST", "/bookings", {
            "therapist_id": therapist_id, "starts_at": _iso(starts_at), "modality": modality,
            **({"self_pay": True} if self_pay else {})})

    async def payers(self) -> Payers:
        """What can pay for a new session of the member's now, or why nothing can."""
        return await self.read(Payers, "GET", "/me/payers")

    async def ask_for_more_sessions(self) -> MoreSessionsAsked:
        """Tell the member's admins that someone would like more sessions (never who)."""
        return await self.read(MoreSessionsAsked, "POST", "/me/more-sessions")

    async def watch(self, filters: dict[str, Any], therapist_id: int | None = None) -> Watch:
        """Keep the search waiting: the member is told once when a time it matches is free."""
        return await self.read(Watch, "POST", "/me/watches",
                               {"filters": filters, "therapist_id": therapist_id})

    async def watches(self) -> list[Watch]:
        return (await self.read(Watches, "GET", "/me/watches")).watches

    async def stop_watching(self, watch_id: int) -> Watch:
        return await self.read(Watch, "POST", f"/me/watches/{int(watch_id)}/stop", {})

    async def bookings(self, *, upcoming: bool = True) -> list[Booking]:
        """The member's bookings still to come, or (upcoming=False) all of them."""
        params = None if upcoming else {"upcoming": "false"}
        return (await self.read(Bookings, "GET", "/me/bookings", params=params)).bookings

    async def cancellation(self, booking_id: int) -> CancellationPreview:
        """What cancelling this booking now would mean, in the backend's words."""
        return await self.read(CancellationPreview, "GET",
                               f"/bookings/{int(booking_id)}/cancellation")

    async def cancel(self, booking_id: int) -> Booking:
        return await self.read(Booking, "POST", f"/bookings/{int(booking_id)}/cancel", {})

    async def reschedule(self, booking_id: int, starts_at: datetime | str) -> Booking:
        return await self.read(Booking, "POST", f"/bookings/{int(booking_id)}/reschedule",
                               {"starts_at": _iso(starts_at)})

    # --- Admins ---

    async def register_organisation(self, name: str, admin_name: str,
                                    admin_email: str) -> Registered:
        return await self.read(Registered, "POST", "/organisations", {
            "name": name, "admin_name": admin_name, "admin_email": admin_email})

    async def organisation(self) -> Organisation:
        return await self.read(Organisation, "GET", "/organisation")

    async def admins(self) -> list[Admin]:
        return (await self.read(Admins, "GET", "/organisation/admins")).admins

    async def add_admin(self, name: str, email: str) -> NewAdmin:
        """Make someone an admin: a member with that email, or a new member."""
        return await self.read(NewAdmin, "POST", "/organisation/admins",
                               {"name": name, "email": email})

    async def remove_admin(self, member_id: int) -> Admin:
        """Take someone's admin role away (they stay a member); never the last admin's."""
        return await self.read(Admin, "POST", f"/organisation/admins/{int(member_id)}/remove", {})

    async def more_sessions_requests(self) -> MoreSessionsRequests:
        """How many people asked for more sessions this month (never who)."""
        return await self.read(MoreSessionsRequests, "GET",
                               "/organisation/more-sessions-requests")

    async def set_cancellation_window(self, hours: int) -> Organisation:
        return await self.read(Organisation, "POST", "/organisation/cancellation-window",
                               {"hours": hours})

    async def set_email_domain(self, email_domain: str) -> Organisation:
        return await self.read(Organisation, "POST", "/organisation/email-domain",
                               {"email_domain": email_domain})

    async def connect_workspace(self) -> WorkspaceConnection:
        """Connect the Slack workspace or Teams tenant the admin speaks from."""
        return await self.read(WorkspaceConnection, "POST", "/identities/connect-workspace", {})

    async def authorisations(self) -> list[Authorisation]:
        return (await self.read(Authorisations, "GET", "/authorisations")).authorisations

    async def create_authorisation(self, *, coverage: str, sessions_per_user: int,
                                   user_limit: int | None, access: str) -> Authorisation:
        return await self.read(Authorisation, "POST", "/authorisations", {
            "coverage": coverage, "sessions_per_user": sessions_per_user,
            "user_limit": user_limit, "access": access})

    async def change_authorisation(self, authorisation_id: int, verb: str) -> Authorisation:
        """`verb`: pause, resume or revoke."""
        return await self.read(Authorisation, "POST",
                               f"/authorisations/{int(authorisation_id)}/{verb}", {})

    async def top_up(self, authorisation_id: int, extra_sessions: int) -> Authorisation:
        """Give every place on the authorisation `extra_sessions` more sessions."""
        return await self.read(Authorisation, "POST",
                               f"/authorisations/{int(authorisation_id)}/top-up",
                               {"extra_sessions": extra_sessions})

    async def create_invite(self, authorisation_id: int, email: str | None = None,
                            expires_in_days: int | None = None) -> NewInvite:
        """`expires_in_days`: None for the backend's usual expiry (INVITE_TTL_DAYS)."""
        body: dict[str, Any] = {"email": email} if email else {}
        if expires_in_days is not None:
            body["expires_in_days"] = expires_in_days
        return await self.read(NewInvite, "POST",
                               f"/authorisations/{int(authorisation_id)}/invites", body)

    async def invites(self, authorisation_id: int) -> list[Invite]:
        """An authorisation's invites with their states (open, redeemed, revoked, expired)."""
        return (await self.read(Invites, "GET",
                                f"/authorisations/{int(authorisation_id)}/invites")).invites

    async def revoke_invite(self, invite_id: int) -> Invite:
        return await self.read(Invite, "POST", f"/invites/{int(invite_id)}/revoke", {})

    async def redeem_invite(self, code: str) -> Redeemed:
        return await self.read(Redeemed, "POST", "/invites/redeem", {"code": code})

    async def card(self) -> Card | None:
        """The organisation's card on file, or None."""
        return (await self.read(CardOnFile, "GET", "/organisation/card")).card

    async def card_setup(self) -> CardSetup:
        """A link to Stripe's secure page to add or change the card."""
        return await self.read(CardSetup, "POST", "/organisation/card/setup", {})

    async def spend(self) -> SpendReport:
        return await self.read(SpendReport, "GET", "/reports/spend")

    # --- Slack workspaces (the channel, speaking in the workspace) ---

    async def slack_token(self, team_id: str) -> WorkspaceToken:
        """The workspace's bot token; BackendError 404 when it has not installed the app."""
        return await self.read(WorkspaceToken, "GET", f"/slack/workspaces/{team_id}/token")

    async def slack_uninstalled(self, team_id: str, reason: str) -> SlackDisconnected:
        return await self.read(SlackDisconnected, "POST",
                               f"/slack/workspaces/{team_id}/uninstall", {"reason": reason})

    # --- Teams tenants (the channel, speaking in the tenant) ---

    async def teams_tenant(self, tenant_id: str) -> TenantConnection:
        """Whether an organisation connected the tenant ("Connect Microsoft Teams")."""
        return await self.read(TenantConnection, "GET", f"/teams/tenants/{tenant_id}")

    # --- People ---

    async def request_handoff(self, request: dict[str, Any]) -> Handoff:
        return await self.read(Handoff, "POST", "/handoffs", request)

    async def relay_to_staff(self, text: str) -> Handoff:
        """What the member wrote, to the person of the team who has their request."""
        return await self.read(Handoff, "POST", "/handoffs/current/messages", {"text": text})


def _iso(moment: datetime | str) -> str:
    return moment.isoformat() if isinstance(moment, datetime) else moment


class _TimedOut(Exception):
    """A keyed change whose answer did not come: it may or may not have been made."""


class _StillRunning(Exception):
    """The backend is still handling the first request with this key."""


async def _json_or_none(response: aiohttp.ClientResponse) -> Any:
    if response.content_type != "application/json":
        return None
    try:
        return await response.json()
    except (ValueError, aiohttp.ContentTypeError):
        return None
