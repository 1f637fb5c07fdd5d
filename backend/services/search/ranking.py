"""Therapist search: the best matches for the filters, with reasons and next free slots.

Search runs in two steps. Candidates come in (matched issues, a lower bound of the first
matching slot, id) order; the bound is the first weekly hour the filters allow at which the
therapist may start a session, ignoring bookings. They are read by walking
`therapist_search_hours` hour by hour from now (rows of one hour in id order, filtered on the
columns copied there), so a search reads a few hundred index entries, not the directory; past
WALK_HOURS hours the rest is ranked by one statement over `therapists` (the bound as a CASE),
which a rare combination of filters needs. Then, page by page, the exact next free slots are
computed from the availability windows and open bookings, and a candidate's exact key can only
be later than its bound, so the walk stops as soon as the next bound cannot beat the current
top page.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, case, false, literal, or_, select
from sqlalchemy.orm import Session

from backend.db import Database
from backend.domain import coverage as coverage_rules
from backend.domain import grants as grant_rules
from backend.domain.directory import ISSUES, LANGUAGES, THERAPY_TYPES
from backend.domain.errors import NotFound
from backend.models import Grant, Therapist, TherapistSearchHour
from backend.models.therapist import HOUR_COLUMNS, MODALITY_BITS
from backend.services import payers as member_payers
from backend.services.actors import Actor
from backend.services.grants import facts
from backend.services.policy import DEFAULT_POLICY, Policy
from backend.services.search.filters import ALL_HOURS, Query, parse_filters
from backend.services.search.profiles import profiles
from backend.services.search.reasons import Offer, reasons
from backend.services.search.slots import free, windows_and_taken
from contracts.answers import TherapistProfile

NEXT_SLOTS = 3
_DAY_SHIFT = 24  # the SQL bound packs (days ahead, hour bit) as days << 24 | bit
_NO_SLOT = 8 << _DAY_SHIFT

# Hours walked in `therapist_search_hours` before the rest is ranked by one statement: each
# costs at most one read of that hour's rows, a full ranking about a read of the directory.
WALK_HOURS = 12

_T = Therapist.__table__.c
_H = TherapistSearchHour.__table__.c
_HOURS = [getattr(_T, name) for name in HOUR_COLUMNS]


@dataclass(frozen=True)
class PaidBy:
    """The member's grant, or the all-members offer booking would join, that pays for a match."""

    offer_name: str
    grant_id: int | None
    authorisation_id: int | None  # an offer to join


@dataclass(frozen=True)
class Match:
    therapist: TherapistProfile
    reasons: list[str]
    next_slots: list[str]  # aware UTC ISO 8601
    paid_by: PaidBy | None = None  # None: no grant or offer of the member's pays


@dataclass(frozen=True)
class SearchResult:
    results: list[Match]
    filters: dict[str, object]  # the filters as understood, in canonical words
    # What each of the member's grants and offers that shaped the results pays for.
    paid_for: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Candidate:
    id: int
    matches: int
    bound: int
    offer: Offer


def search(db: Database, actor: Actor, filters: object, *,
           policy: Policy = DEFAULT_POLICY) -> SearchResult:
    """Therapists matching the filters, best first, with reasons and their next free slots.

    Only therapists with a free slot (matching the day/time filters) inside the booking
    horizon are listed: the list is for booking.
    """
    query = parse_filters(filters, session_minutes=policy.session_minutes)
    now = datetime.now(timezone.utc)
    with db.reader() as session:
        payers = _payers(session, actor, query.grant_id)
        paid = _paid_therapists(session, actor, query.grant_id, payers)
        ranked = _top(session, query, paid, now, policy)
        found = profiles(session, [candidate.id for candidate, _ in ranked])
    seen = payers.seen if payers is not None else frozenset()
    results = [
        Match(found[candidate.id],
              [*(["you have seen them before"] if candidate.id in seen else []),
               *reasons(query, candidate.offer)],
              [slot.isoformat() for slot in slots],
              _paid_by(payers, candidate.id))
        for candidate, slots in ranked
    ]
    paid_for = [] if payers is None else list(dict.fromkeys(
        coverage_rules.pays_for(name, coverage) for name, coverage, _ in payers.covers()))
    return SearchResult(results, query.canonical(), paid_for)


def _payers(session: Session, actor: Actor, grant_id: int | None
            ) -> member_payers.MemberPayers | None:
    """The member's grants and offers that shape the search (none for a named grant or a
    visitor who is not a member)."""
    if grant_id is not None or actor.member_id is None:
        return None
    return member_payers.read(session, actor)


def _paid_by(payers: member_payers.MemberPayers | None, therapist_id: int) -> PaidBy | None:
    paying = None if payers is None else payers.paying(therapist_id)
    if isinstance(paying, grant_rules.GrantFacts):
        return PaidBy(paying.offer_name, paying.id, None)
    if isinstance(paying, grant_rules.OfferFacts):
        return PaidBy(paying.name, None, paying.id)
    return None


def _bit_set(column, mask: int) -> ColumnElement[bool]:
    return column.bitwise_and(mask) != 0


def _mask(values: Iterable[str], vocabulary: Sequence[str]) -> int:
    return sum(1 << vocabulary.index(value) for value in values)


def _conditions(query: Query, paid: list[coverage_rules.Covered] | None, columns: Any,
                id_column: Any) -> list[ColumnElement[bool]]:
    """The filters but days and times, on `therapists` or `therapist_search_hours` (`columns`:
    either table's columns, which share these names)."""
    conditions: list[ColumnElement[bool]] = []
    for values, vocabulary, column in ((query.issues, ISSUES, columns.issues_mask),
                                       (query.therapy_types, THERAPY_TYPES,
                                        columns.therapy_types_mask),
                                       (query.languages, LANGUAGES, columns.languages_mask)):
        if values:
            conditions.append(_bit_set(column, _mask(values, vocabulary)))
    if query.genders:
        conditions.append(columns.gender.in_(query.genders))
    if query.modalities:
        options = []
        for modality in query.modalities:
            offered = _bit_set(columns.modalities_mask, MODALITY_BITS[modality])
            if modality == "in_person" and query.locations:
                offered = and_(offered, columns.location.in_(query.locations))
            options.append(offered)
        conditions.append(or_(*options))
    if paid is not None:
        conditions.append(or_(*(_covered(therapists, id_column) for therapists in paid)))
    return conditions


def _time_condition(query: Query) -> list[ColumnElement[bool]]:
    """The days and times on `therapists` (the walk reads only the hours they allow)."""
    conditions: list[ColumnElement[bool]] = []
    if query.by_time:
        conditions.append(or_(*(_bit_set(column, hours)
                                for column, hours in zip(_HOURS, query.day_hours, strict=True)
                                if hours)))
    return conditions


def _paid_therapists(session: Session, actor: Actor, grant_id: int | None,
                     payers: member_payers.MemberPayers | None
                     ) -> list[coverage_rules.Covered] | None:
    """The therapists the named grant pays for; with none named, those one of the member's
    grants open for bookings, or an all-members offer they may join, pays for (booking then
    picks it). None when nothing can pay: a search for self-pay lists every therapist."""
    if grant_id is not None:
        grant = session.get(Grant, grant_id)
        if grant is None or actor.member_id is None or grant.member_id != actor.member_id:
            raise NotFound("You have no place on an offer with that id.")
        known = facts(session, grant)
        return [coverage_rules.covered(known.coverage, known.seen)]
    covers = [] if payers is None else payers.covers()
    if not covers:
        return None
    return [therapists for _, _, therapists in covers]


def _covered(therapists: coverage_rules.Covered, id_column: Any) -> ColumnElement[bool]:
    """The therapists of domain.coverage's answer, as SQL."""
    if therapists.only is not None:
        return id_column.in_(therapists.only) if therapists.only else false()
    return id_column.not_in(therapists.excluded)


def _phases(query: Query, columns: Any) -> list[tuple[list[ColumnElement[bool]], int]]:
    """Extra conditions and the matched-issues count, phase by phase, in ranking order.

    With several issues, therapists who help with all of them come first, then those who help
    with one fewer, and so on; a later phase is read only if the earlier ones cannot fill the
    page.
    """
    if len(query.issues) < 2:
        return [([], len(query.issues))]
    total = sum((case((_bit_set(columns.issues_mask, 1 << ISSUES.index(issue)), 1), else_=0)
                 for issue in query.issues), start=literal(0))
    wanted = _mask(query.issues, ISSUES)
    every = columns.issues_mask.bitwise_and(wanted) == wanted
    return [([every], len(query.issues)),
            *(([total == count], count) for count in range(len(query.issues) - 1, 0, -1))]


def _allowed_hours(query: Query, local_now: datetime, horizon_days: int
                   ) -> list[tuple[int, int, int]]:
    """(days ahead, weekday, mask of local start hours) the filters allow from now on, in
    time order, up to a week ahead (the hours of today before now come back on day 7)."""
    first_hour = local_now.hour + (1 if (local_now.minute, local_now.second,
                                         local_now.microsecond) != (0, 0, 0) else 0)
    from_first = ALL_HOURS >> first_hour << first_hour
    allowed = []
    for ahead in range(min(7, horizon_days) + 1):
        day = (local_now.weekday() + ahead) % 7
        hours = query.day_hours[day]
        if ahead == 0:
            hours &= from_first
        elif ahead == 7:
            hours &= ~from_first
        if hours:
            allowed.append((ahead, day, hours))
    return allowed


def _bound_expression(query: Query, local_now: datetime, horizon_days: int):
    """Days ahead and local hour of the first weekly hour the filters allow, ignoring
    bookings and session length: a lower bound of the first free slot."""
    whens = []
    for ahead, day, hours in _allowed_hours(query, local_now, horizon_days):
        free_hours = _HOURS[day].bitwise_and(hours)
        whens.append((free_hours != 0,
                      (ahead << _DAY_SHIFT) + free_hours.bitwise_and(-free_hours)))
    return case(*whens, else_=_NO_SLOT) if whens else literal(_NO_SLOT)


def _walk_hours(query: Query, local_now: datetime, horizon_days: int
                ) -> Iterator[tuple[int, int]]:
    """(slot of `therapist_search_hours`, bound) of every hour `_bound_expression` can give,
    in bound order."""
    for ahead, day, hours in _allowed_hours(query, local_now, horizon_days):
        for hour in range(24):
            if hours >> hour & 1:
                yield day * 24 + hour, (ahead << _DAY_SHIFT) + (1 << hour)


def _bound_time(bound: int, local_now: datetime) -> datetime:
    """The naive local wall-clock time a bound stands for (comparable with slots)."""
    if bound >= _NO_SLOT:
        return datetime.max
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    hour = (bound & ALL_HOURS).bit_length() - 1
    return midnight + timedelta(days=bound >> _DAY_SHIFT, hours=hour)


_OFFER_COLUMNS = (_T.gender, _T.location, _T.issues_mask, _T.therapy_types_mask,
                  _T.languages_mask, _T.modalities_mask, *_HOURS)


def _candidate(therapist_id: int, matches: int, bound: int, offer: Sequence[Any]) -> _Candidate:
    """`offer`: the values of _OFFER_COLUMNS."""
    return _Candidate(therapist_id, matches, bound, Offer(
        gender=offer[0], location=offer[1], issues_mask=offer[2], therapy_types_mask=offer[3],
        languages_mask=offer[4], modalities_mask=offer[5], hours=tuple(offer[6:])))


def _pages(session: Session, query: Query, paid: list[coverage_rules.Covered] | None,
           local_now: datetime, horizon_days: int, *, walk_hours: int | None = None
           ) -> Iterator[list[_Candidate]]:
    """Candidates in (matched issues desc, bound, id) order, a page at a time: per phase, the
    first `walk_hours` allowed hours walked in `therapist_search_hours`, then the rest ranked
    in one statement."""
    walk_conditions = _conditions(query, paid, _H, _H.therapist_id)
    size = query.limit + 5
    hours = list(_walk_hours(query, local_now, horizon_days))
    walked = hours[:WALK_HOURS if walk_hours is None else walk_hours]
    # Every therapist the day and time filters let through has an allowed hour within a week.
    rest = walked != hours or not (query.by_time and horizon_days >= 7)
    for count, (walk_extra, matches) in enumerate(_phases(query, _H)):
        statement = (select(_H.therapist_id)
                     .where(_H.slot == bindparam("slot"), _H.therapist_id > bindparam("after"),
                            *walk_conditions, *walk_extra)
                     .order_by(_H.therapist_id).limit(size))
        seen: set[int] = set()
        for slot, hour_bound in walked:
            after = 0
            while True:
                ids = session.scalars(statement, {"slot": slot, "after": after}).all()
                new = [tid for tid in ids if tid not in seen]
                seen.update(new)
                if new:
                    offers = {row[0]: row[1:] for row in session.execute(
                        select(_T.id, *_OFFER_COLUMNS).where(_T.id.in_(new)))}
                    yield [_candidate(tid, matches, hour_bound, offers[tid]) for tid in new]
                if len(ids) < size:
                    break
                after = ids[-1]
        if rest:  # the later hours, and therapists with none the filters allow (_NO_SLOT)
            bound = _bound_expression(query, local_now, horizon_days).label("bound")
            scan_extra, _ = _phases(query, _T)[count]
            after_walk = [bound > walked[-1][1]] if walked else []
            yield from _scan(session, query,
                             [*_conditions(query, paid, _T, _T.id), *_time_condition(query),
                              *scan_extra, *after_walk], matches, bound)


def _scan(session: Session, query: Query, conditions: list[ColumnElement[bool]], matches: int,
          bound: ColumnElement[int]) -> Iterator[list[_Candidate]]:
    """Candidates matching `conditions`, ranked by one statement in (bound, id) order, a
    growing page at a time."""
    statement = (select(_T.id, bound, *_OFFER_COLUMNS).where(*conditions)
                 .order_by(bound, _T.id))
    offset, size = 0, query.limit + 5
    while True:
        rows = session.execute(statement.limit(size).offset(offset)).all()
        yield [_candidate(row[0], matches, row[1], row[2:]) for row in rows]
        if len(rows) < size:
            break
        offset, size = offset + size, min(size * 2, 500)


def _top(session: Session, query: Query, paid: list[coverage_rules.Covered] | None,
         now: datetime, policy: Policy) -> list[tuple[_Candidate, list[datetime]]]:
    """The best `query.limit` candidates by their exact key (first free slot no sooner than a
    new booking may start), walking the candidates in lower-bound order and stopping once no
    later one can enter the page."""
    start = policy.earliest_new_booking(now)
    local_now = start.astimezone(policy.zone)
    end = now + timedelta(days=policy.booking_horizon_days)
    best: list[tuple[tuple, _Candidate, list[datetime]]] = []
    for page in _pages(session, query, paid, local_now, policy.booking_horizon_days):
        windows, taken = windows_and_taken(session, [c.id for c in page], start, end)
        for candidate in page:
            lower = (-candidate.matches, _bound_time(candidate.bound, local_now), candidate.id)
            if len(best) == query.limit and lower >= best[-1][0]:
                return [(c, slots) for _, c, slots in best]
            slots = free(windows.get(candidate.id, []), taken.get(candidate.id, set()),
                         start=start, end=end, policy=policy, allows=query.allows,
                         limit=NEXT_SLOTS)
            if slots:
                first = slots[0].astimezone(policy.zone).replace(tzinfo=None)
                insort(best, ((-candidate.matches, first, candidate.id), candidate, slots),
                       key=lambda entry: entry[0])
                del best[query.limit:]
    return [(c, slots) for _, c, slots in best]
