"""Authorisations: created, listed with usage, paused, resumed, revoked and topped up by admins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from backend.db import Database
from backend.domain import coverage as coverage_rules
from backend.domain.confidentiality import Cell, withheld_reason
from backend.domain.enums import Access, AuthorisationStatus, Coverage
from backend.domain.errors import Conflict, InvalidInput
from backend.models import Authorisation
from backend.services import audit, reports, spelling
from backend.services.actors import Actor, owned_by, require_admin
from backend.services.policy import DEFAULT_POLICY, Policy
from backend.services.validation import in_range, required
from contracts import answers

MAX_SESSIONS_PER_USER = 100
MAX_USER_LIMIT = 100_000


def create(db: Database, actor: Actor, *, coverage: Coverage | None,
           sessions_per_user: int | None, user_limit: int | None,
           access: Access = Access.INVITE_ONLY, name: str | None = None,
           policy: Policy = DEFAULT_POLICY) -> answers.Authorisation:
    """A new authorisation; `user_limit` None is unlimited places."""
    organisation_id = require_admin(actor)
    coverage = required(coverage, "coverage")
    sessions = in_range(required(sessions_per_user, "number of sessions per user"),
                        "number of sessions per user", maximum=MAX_SESSIONS_PER_USER)
    limit = None if user_limit is None else in_range(user_limit, "number of users",
                                                     maximum=MAX_USER_LIMIT)
    label = name or _default_name(coverage, sessions, limit)
    with db.transaction() as session:
        authorisation = Authorisation(
            organisation_id=organisation_id, name=label, coverage=coverage,
            sessions_per_user=sessions, user_limit=limit, access=access,
            created_by_member_id=actor.member_id,
        )
        session.add(authorisation)
        session.flush()
        audit.record(session, actor, "authorisation.created", "authorisation", authorisation.id,
                     organisation_id=organisation_id, coverage=coverage.value,
                     sessions_per_user=sessions, user_limit=limit, access=access.value)
        return _view(session, authorisation, policy)


def _default_name(coverage: Coverage, sessions: int, limit: int | None) -> str:
    users = "unlimited users" if limit is None else f"{limit} users"
    return f"{sessions} sessions, {users}, {coverage_rules.label(coverage)}"


def list_for_admin(db: Database, actor: Actor, *, policy: Policy = DEFAULT_POLICY,
                   now: datetime | None = None) -> list[answers.Authorisation]:
    organisation_id = require_admin(actor)
    with db.reader() as session:
        rows = session.scalars(
            select(Authorisation)
            .where(Authorisation.organisation_id == organisation_id)
            .order_by(Authorisation.id)
        ).all()
        return _views(session, rows, policy, now)


def get(db: Database, actor: Actor, authorisation_id: int, *,
        policy: Policy = DEFAULT_POLICY, now: datetime | None = None) -> answers.Authorisation:
    organisation_id = require_admin(actor)
    with db.reader() as session:
        authorisation = owned_by(session, Authorisation, authorisation_id, organisation_id,
                                        "authorisation")
        return _view(session, authorisation, policy, now)


_TRANSITIONS = {
    "pause": ({AuthorisationStatus.ACTIVE}, AuthorisationStatus.PAUSED),
    "resume": ({AuthorisationStatus.PAUSED}, AuthorisationStatus.ACTIVE),
    "revoke": ({AuthorisationStatus.ACTIVE, AuthorisationStatus.PAUSED},
               AuthorisationStatus.REVOKED),
}


def change_status(db: Database, actor: Actor, authorisation_id: int,
                  verb: str, *, policy: Policy = DEFAULT_POLICY) -> answers.Authorisation:
    """Pause (no new places or bookings), resume, or revoke (for good)."""
    organisation_id = require_admin(actor)
    if verb not in _TRANSITIONS:
        raise InvalidInput("The action must be pause, resume or revoke.")
    allowed_from, target = _TRANSITIONS[verb]
    with db.transaction() as session:
        authorisation = owned_by(session, Authorisation, authorisation_id, organisation_id,
                                        "authorisation")
        if authorisation.status not in allowed_from:
            raise Conflict(
                f"This authorisation is {authorisation.status.value}; it cannot be {verb}d."
            )
        authorisation.status = target
        audit.record(session, actor, f"authorisation.{target.value}", "authorisation",
                     authorisation.id, organisation_id=organisation_id)
        return _view(session, authorisation, policy)


def top_up(db: Database, actor: Actor, authorisation_id: int,
           extra_sessions: int | None, *, policy: Policy = DEFAULT_POLICY) -> answers.Authorisation:
    """Give every place on the authorisation more sessions."""
    organisation_id = require_admin(actor)
    extra = in_range(required(extra_sessions, "number of extra sessions"),
                     "number of extra sessions", maximum=MAX_SESSIONS_PER_USER)
    with db.transaction() as session:
        authorisation = owned_by(session, Authorisation, authorisation_id, organisation_id,
                                        "authorisation")
        if authorisation.status is AuthorisationStatus.REVOKED:
            raise Conflict("This authorisation is revoked; create a new one instead.")
        authorisation.sessions_per_user += extra
        audit.record(session, actor, "authorisation.topped_up", "authorisation",
                     authorisation.id, organisation_id=organisation_id, extra_sessions=extra)
        return _view(session, authorisation, policy)


def _view(session, authorisation: Authorisation, policy: Policy,
          now: datetime | None = None) -> answers.Authorisation:
    return _views(session, [authorisation], policy, now)[0]


def _views(session, authorisations: Sequence[Authorisation], policy: Policy,
           now: datetime | None = None) -> list[answers.Authorisation]:
    if not authorisations:
        return []
    cells = reports.released(session, authorisations[0].organisation_id, policy, now,
                             authorisation_ids=[row.id for row in authorisations])
    return [
        answers.Authorisation(
            id=authorisation.id,
            name=authorisation.name,
            coverage=spelling.coverage(authorisation.coverage),
            sessions_per_user=authorisation.sessions_per_user,
            user_limit=authorisation.user_limit,
            access=spelling.access(authorisation.access),
            status=spelling.authorisation_status(authorisation.status),
            places_left=authorisation.places_left,
            usage=_usage(authorisation,
                         [cell for cell in cells if cell.authorisation_id == authorisation.id],
                         policy.reporting_min_group),
        )
        for authorisation in authorisations
    ]


def _usage(authorisation: Authorisation, cells: list[Cell], minimum_group: int) -> answers.Usage:
    """Sums of the released cells only (backend/domain/confidentiality.py)."""
    places = authorisation.grants_count
    if not cells:
        return answers.Usage(places, None, None, None,
                             withheld_reason(minimum_group, figures="Session and spend figures"))
    return answers.Usage(
        places,
        sum(cell.count for cell in cells if cell.figure == reports.SESSIONS_BOOKED),
        sum(cell.count for cell in cells if cell.figure == reports.SESSIONS_USED),
        sum(cell.total for cell in cells
            if isinstance(cell.figure, tuple) and cell.figure[0] == reports.CHARGED),
        None,
    )
