"""The single-use `state` of an install flow an admin starts on the portal ("Add to Slack",
"Connect Microsoft Teams"), shared by those flows.

`start` makes a random state, stores only its hash, bound to the signed-in admin and their
organisation, valid for a few minutes. `claim` takes it once, for the same signed-in admin, when
the platform sends the browser back: a state not made here, another admin's, used already or
expired is refused, saying which. Each flow keeps its states in a table of its own
(backend/models/install_states.py) and names itself in the refusals (`Flow`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from backend.db import Database
from backend.domain.errors import PermissionDenied
from backend.models.install_states import InstallStateColumns
from backend.services.signin import tokens
from backend.services.signin.principals import Kind, Principal


@dataclass(frozen=True)
class Flow:
    """One install flow: where its states are kept and how it names itself to the admin."""

    table: type[InstallStateColumns]
    connects: str  # "connect Slack"
    link: str      # "This Slack install link"
    button: str    # "Add to Slack"
    code: str      # "slack_state_refused"


@dataclass(frozen=True)
class Claim:
    """A state taken by the admin who started it: whose install this is."""

    organisation_id: int
    member_id: int
    state_id: int | None = None  # the row taken (a flow with columns of its own reads them)


def admin_of(flow: Flow, principal: Principal | None) -> Claim:
    if (principal is None or principal.kind is not Kind.ADMIN or principal.member_id is None
            or principal.organisation_id is None):
        raise PermissionDenied(f"Only a signed-in admin of an organisation can {flow.connects}.",
                               code="not_admin")
    return Claim(principal.organisation_id, principal.member_id)


def refused(flow: Flow, why: str) -> PermissionDenied:
    return PermissionDenied(f"{flow.link} is not valid any more ({why}). Start again from the "
                            f"portal with \"{flow.button}\".", code=flow.code)


def start(db: Database, flow: Flow, principal: Principal | None, now: datetime,
          minutes: int, state: str | None = None, **columns: str) -> str:
    """A new state for this admin's install (or `state`, made by the caller); the caller puts it
    in the platform's URL. `columns`: the flow's own columns, kept with it."""
    admin = admin_of(flow, principal)
    state = state or tokens.new_token()
    with db.transaction() as session:
        session.add(flow.table(state_hash=tokens.digest(state),  # type: ignore[call-arg]
                               member_id=admin.member_id, organisation_id=admin.organisation_id,
                               created_at=now, expires_at=now + timedelta(minutes=minutes),
                               **columns))
    return state


def claim(db: Database, flow: Flow, state: object, principal: Principal | None,
          now: datetime) -> Claim:
    """Take the state (once) for the signed-in admin who started the install."""
    admin = admin_of(flow, principal)
    if not tokens.well_formed(state):
        raise refused(flow, "it was not made here")
    assert isinstance(state, str)
    table = flow.table
    with db.transaction() as session:
        row = session.scalar(select(table).where(table.state_hash == tokens.digest(state)))
        if row is None:
            raise refused(flow, "it was not made here")
        if (row.member_id, row.organisation_id) != (admin.member_id, admin.organisation_id):
            raise refused(flow, "another admin started it")
        if row.used_at is not None:
            raise refused(flow, "it has been used already")
        if row.expires_at <= now:
            raise refused(flow, "it has expired")
        taken = session.execute(update(table).where(table.id == row.id,
                                                    table.used_at.is_(None))
                                .values(used_at=now))
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise refused(flow, "it has been used already")
        state_id = row.id
    return Claim(admin.organisation_id, admin.member_id, state_id)
