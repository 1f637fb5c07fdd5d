"""The waitlist (backend/domain/waitlist.py): a member's searches kept waiting, and the scan the
dispatcher runs with its other scheduled events, which tells a member once when a time their
search matches is free.

A scan runs each waiting search as the member would (the therapist search, with what their
grants pay for), or, for one therapist, that therapist's free times on the days and hours asked.
Telling and ending a watch is one guarded `UPDATE … WHERE status = 'waiting'` with the
notification in its transaction, so dispatchers scanning at once tell a member once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.db import Database, changed_rows
from backend.domain import waitlist as rules
from backend.domain.enums import WatchStatus
from backend.domain.errors import Conflict, NotFound
from backend.models import Member, Therapist, Watch
from backend.models.base import utcnow
from backend.services import audit, spelling
from backend.services.actors import Actor, require_member
from backend.services.outbox import events
from backend.services.policy import DEFAULT_POLICY, Policy
from backend.services.search import ranking
from backend.services.search import slots as slot_search
from backend.services.search.filters import Query, parse_filters
from backend.services.validation import identifier
from contracts import answers

# Watches looked at per scan, oldest first (a scan runs every DISPATCHER_SCHEDULE_SECONDS).
SCAN_LIMIT = 500


def watch(db: Database, actor: Actor, filters: object, therapist_id: object = None, *,
          now: datetime | None = None, policy: Policy = DEFAULT_POLICY) -> answers.Watch:
    """Keep the member's search waiting until a time it matches is free."""
    organisation_id = require_member(actor)
    query = parse_filters(filters, session_minutes=policy.session_minutes)
    therapist = None if therapist_id is None else identifier(therapist_id, "therapist id")
    now = now or utcnow()
    with db.transaction() as session:
        if therapist is not None:
            slot_search.require_therapist(session, therapist)
        # One member's watches are counted one request at a time (rows that only refer to
        # the member go on meanwhile: FOR NO KEY UPDATE).
        session.execute(select(Member.id).where(Member.id == actor.member_id)
                        .with_for_update(key_share=True))
        if (session.scalar(select(func.count(Watch.id)).where(
                Watch.member_id == actor.member_id,
                Watch.status == WatchStatus.WAITING)) or 0) >= rules.MAX_WAITING:
            raise Conflict(rules.TOO_MANY, code="too_many_watches")
        row = Watch(organisation_id=organisation_id, member_id=actor.member_id,
                    therapist_id=therapist, filters=_kept(query), created_at=now,
                    expires_at=rules.expires_at(now, policy.booking_horizon_days))
        session.add(row)
        session.flush()
        # What was searched for stays out of the audit log (issues are health data).
        audit.record(session, actor, "watch.created", "watch", row.id,
                     organisation_id=organisation_id)
        return _view(session, row)


def waiting(db: Database, actor: Actor) -> list[answers.Watch]:
    """The member's searches still waiting, oldest first."""
    require_member(actor)
    with db.reader() as session:
        rows = session.scalars(select(Watch).where(
            Watch.member_id == actor.member_id, Watch.status == WatchStatus.WAITING)
            .order_by(Watch.id)).all()
        return [_view(session, row) for row in rows]


def stop(db: Database, actor: Actor, watch_id: object,
         now: datetime | None = None) -> answers.Watch:
    require_member(actor)
    watch_id = identifier(watch_id, "watch id")
    with db.transaction() as session:
        row = session.get(Watch, watch_id)
        if row is None or row.member_id != actor.member_id:
            raise NotFound("I can't find a search of yours with that id.")
        if not rules.can_stop(row.status) or not _end(session, row.id, WatchStatus.STOPPED,
                                                      now or utcnow()):
            raise Conflict(rules.NOT_WAITING, code="watch_ended")
        audit.record(session, actor, "watch.stopped", "watch", row.id,
                     organisation_id=row.organisation_id)
        session.refresh(row)
        return _view(session, row)


def tell_matches(db: Database, now: datetime, policy: Policy = DEFAULT_POLICY) -> int:
    """End the watches that ran out (telling their members), then tell each member whose
    search matches a free time now; how many were told."""
    told = _expire(db, now, policy)
    with db.reader() as session:
        due = session.execute(
            select(Watch.id, Watch.organisation_id, Watch.member_id, Watch.therapist_id,
                   Watch.filters, Member.role)
            .join(Member, Member.id == Watch.member_id)
            .where(Watch.status == WatchStatus.WAITING, Watch.expires_at > now)
            .order_by(Watch.id).limit(SCAN_LIMIT)).all()
    for watch_id, organisation_id, member_id, therapist_id, filters, role in due:
        member = Actor("waitlist", str(member_id), member_id=member_id,
                       organisation_id=organisation_id, role=role)
        times = _free_times(db, member, therapist_id, filters, now, policy)
        if times:
            told += _tell(db, watch_id, organisation_id, member_id, times, now, policy)
    return told


def _free_times(db: Database, member: Actor, therapist_id: int | None, filters: dict[str, Any],
                now: datetime, policy: Policy) -> list[tuple[int, datetime]]:
    """Up to TIMES_TOLD free times the search matches: (therapist, start). The search reads
    the clock itself; one therapist's times start from the scan's `now`."""
    if therapist_id is None:
        found = ranking.search(db, member, {**filters, "limit": rules.TIMES_TOLD}, policy=policy)
        return [(match.therapist.id, datetime.fromisoformat(match.next_slots[0]))
                for match in found.results if match.next_slots]
    query = parse_filters(filters, session_minutes=policy.session_minutes)
    with db.reader() as session:
        return [(therapist_id, slot) for slot in slot_search.bookable(
            session, therapist_id, now, policy,
            allows=query.allows if query.by_time else None, limit=rules.TIMES_TOLD)]


def _tell(db: Database, watch_id: int, organisation_id: int, member_id: int,
          times: list[tuple[int, datetime]], now: datetime, policy: Policy) -> int:
    with db.transaction() as session:
        if not _end(session, watch_id, WatchStatus.TOLD, now):
            return 0  # stopped meanwhile, or told by another dispatcher
        therapists = {t.id: t for t in session.scalars(
            select(Therapist).where(Therapist.id.in_({tid for tid, _ in times})))}
        return int(events.waitlist_match(
            session, organisation_id, member_id, watch_id,
            [(therapists[tid], slot) for tid, slot in times], policy=policy))


def _expire(db: Database, now: datetime, policy: Policy) -> int:
    told = 0
    with db.transaction() as session:
        ran_out = session.execute(
            select(Watch.id, Watch.organisation_id, Watch.member_id)
            .where(Watch.status == WatchStatus.WAITING, Watch.expires_at <= now)
            .order_by(Watch.id).limit(SCAN_LIMIT)).all()
        for watch_id, organisation_id, member_id in ran_out:
            if _end(session, watch_id, WatchStatus.EXPIRED, now):
                told += events.waitlist_expired(session, organisation_id, member_id, watch_id,
                                                policy.booking_horizon_days)
    return told


def _end(session: Session, watch_id: int, status: WatchStatus, now: datetime) -> bool:
    """waiting -> `status`; False when the watch was no longer waiting."""
    return changed_rows(session, update(Watch).where(
        Watch.id == watch_id, Watch.status == WatchStatus.WAITING)
        .values(status=status, ended_at=now)) == 1


def _kept(query: Query) -> dict[str, Any]:
    """The filters a scan searches with: the canonical ones, without the page size."""
    return {key: value for key, value in query.canonical().items() if key != "limit"}


def _view(session: Session, row: Watch) -> answers.Watch:
    therapist = None if row.therapist_id is None else session.get(Therapist, row.therapist_id)
    return answers.Watch(id=row.id, therapist_id=row.therapist_id,
                         therapist_name=None if therapist is None else therapist.name,
                         filters=dict(row.filters), status=spelling.watch_status(row.status),
                         expires_at=row.expires_at)
