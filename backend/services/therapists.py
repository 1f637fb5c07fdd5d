"""Therapist search, public profiles and free slots.

Search runs in two steps. SQL filters on the denormalised masks of `therapists` (one covering
index) and orders by (matched issues, a lower bound of the first matching slot, id); the bound
comes from the weekly hour masks, ignoring bookings. Then, page by page, the exact next free
slots are computed from the availability windows and open bookings, and a candidate's exact
key can only be later than its bound, so the walk stops as soon as the next bound cannot beat
the current top page.
"""

from __future__ import annotations

import re
from bisect import insort
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, false, literal, or_, select
from sqlalchemy.orm import Session

from backend.db import Database
from backend.domain import coverage as coverage_rules
from backend.domain.enums import ACTIVE_BOOKING_STATUSES, Modality
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.slots import Window, is_slot_start, slot_starts
from backend.models import (
    Availability,
    Booking,
    Grant,
    Therapist,
    TherapistIssue,
    TherapistLanguage,
    TherapistTherapyType,
)
from backend.models.therapist import (
    GENDERS,
    HOUR_COLUMNS,
    ISSUES,
    LANGUAGES,
    LOCATIONS,
    MODALITY_BITS,
    THERAPY_TYPES,
)
from backend.services.actors import Actor
from backend.services.grants import seen_therapists
from backend.services.validation import identifier, whole_number
from backend.settings import Settings, get_settings

DEFAULT_LIMIT = 5
MAX_LIMIT = 20
NEXT_SLOTS = 3
MAX_LIST_LENGTH = 40
MAX_WORD_LENGTH = 100
MAX_SLOT_DAYS = 60
MAX_SLOTS = 500

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Parts of the day by the local hour a session starts: [first, last) hours.
DAY_PARTS = {"morning": (6, 12), "afternoon": (12, 17), "evening": (17, 22)}
MODALITIES = tuple(modality.value for modality in Modality)
FILTER_KEYS = ("issues", "days", "times", "after", "before", "modality", "location",
               "therapy_type", "gender", "language", "grant_id", "limit")
ALL_HOURS = (1 << 24) - 1
_DAY_SHIFT = 24  # the SQL bound packs (days ahead, hour bit) as days << 24 | bit
_NO_SLOT = 8 << _DAY_SHIFT

_ALIASES = {
    "issue": {"grief": "grief and loss", "bereavement": "grief and loss", "loss": "grief and loss",
              "work": "work and career", "career": "work and career", "divorce":
              "divorce and separation", "separation": "divorce and separation",
              "relationship issues": "relationships", "low mood": "depression",
              "panic": "panic attacks", "insomnia": "sleep problems"},
    "therapy type": {"cognitive behavioural therapy": "CBT", "cognitive behavioral therapy": "CBT",
                     "person centered": "person-centred", "psychotherapy": "psychodynamic",
                     "couples counselling": "couples therapy", "mindfulness": "mindfulness-based",
                     "cat": "cognitive analytic therapy"},
    "language": {"bsl": "British Sign Language", "sign language": "British Sign Language",
                 "persian": "Farsi", "chinese": "Mandarin", "castilian": "Spanish"},
    "gender": {"woman": "female", "women": "female", "man": "male", "men": "male",
               "nonbinary": "non-binary", "enby": "non-binary"},
    "modality": {"in person": "in_person", "face to face": "in_person", "online": "video",
                 "video call": "video", "telephone": "phone", "phone call": "phone"},
    "location": {},
    "time of day": {},
}
_DAY_WORDS = {
    **{name.lower(): (index,) for index, name in enumerate(DAY_NAMES)},
    **{name.lower()[:3]: (index,) for index, name in enumerate(DAY_NAMES)},
    "tues": (1,), "weds": (2,), "thur": (3,), "thurs": (3,),
    "weekday": (0, 1, 2, 3, 4), "weekend": (5, 6),
}


# ----------------------------------------------------------------------------- views

@dataclass(frozen=True)
class TherapistProfile:
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


@dataclass(frozen=True)
class Match:
    therapist: TherapistProfile
    reasons: list[str]
    next_slots: list[str]  # aware UTC ISO 8601


@dataclass(frozen=True)
class SearchResult:
    results: list[Match]
    filters: dict[str, object]  # the filters as understood, in canonical words


@dataclass(frozen=True)
class Vocabulary:
    issues: list[str]
    therapy_types: list[str]
    languages: list[str]
    genders: list[str]
    locations: list[str]
    modalities: list[str]
    days: list[str]
    times: list[str]


def vocabulary() -> Vocabulary:
    return Vocabulary(list(ISSUES), list(THERAPY_TYPES), list(LANGUAGES), list(GENDERS),
                      list(LOCATIONS), list(MODALITIES), list(DAY_NAMES), list(DAY_PARTS))


# ----------------------------------------------------------------------------- filters

@dataclass(frozen=True)
class Query:
    issues: tuple[str, ...] = ()
    therapy_types: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    genders: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    days: tuple[int, ...] = ()
    times: tuple[str, ...] = ()
    after: int | None = None  # minutes after local midnight
    before: int | None = None
    grant_id: int | None = None
    limit: int = DEFAULT_LIMIT
    day_hours: tuple[int, ...] = field(default=(ALL_HOURS,) * 7)  # allowed start hours per day

    @property
    def by_time(self) -> bool:
        return bool(self.days or self.times or self.after is not None
                    or self.before is not None)

    def allows(self, local: datetime) -> bool:
        return bool(self.day_hours[local.weekday()] >> local.hour & 1)

    def canonical(self) -> dict[str, object]:
        words = {
            "issues": list(self.issues), "days": [DAY_NAMES[d] for d in self.days],
            "times": list(self.times), "after": _clock(self.after), "before": _clock(self.before),
            "modality": list(self.modalities), "location": list(self.locations),
            "therapy_type": list(self.therapy_types), "gender": list(self.genders),
            "language": list(self.languages), "grant_id": self.grant_id,
        }
        return {key: value for key, value in words.items() if value} | {"limit": self.limit}


def parse_filters(filters: object, settings: Settings) -> Query:
    """Check and canonicalise a search request; every refusal says what would be valid."""
    if filters is None:
        filters = {}
    if not isinstance(filters, dict):
        raise InvalidInput("The search filters must be a JSON object.")
    unknown = sorted(str(key) for key in filters if key not in FILTER_KEYS)
    if unknown:
        raise InvalidInput(f"I don't know the filter '{unknown[0]}'. "
                           f"Filters: {', '.join(FILTER_KEYS)}.")
    given = {key: value for key, value in filters.items() if value not in (None, "", [])}
    modalities = _words(given.get("modality"), MODALITIES, "modality")
    locations = _words(given.get("location"), LOCATIONS, "location")
    if locations and not modalities:
        modalities = ("in_person",)
    if locations and "in_person" not in modalities:
        raise InvalidInput("A location applies only to in-person sessions: choose in_person, "
                           "or leave the location out.")
    after = _time_of_day(given.get("after"), "after")
    before = _time_of_day(given.get("before"), "before")
    if after is not None and before is not None and after >= before:
        raise InvalidInput("'after' must be earlier than 'before'.")
    days = _days(given.get("days"))
    times = _words(given.get("times"), tuple(DAY_PARTS), "time of day")
    query = Query(
        issues=_words(given.get("issues"), ISSUES, "issue"),
        therapy_types=_words(given.get("therapy_type"), THERAPY_TYPES, "therapy type"),
        languages=_words(given.get("language"), LANGUAGES, "language"),
        genders=_words(given.get("gender"), GENDERS, "gender"),
        modalities=modalities, locations=locations, days=days, times=times,
        after=after, before=before,
        grant_id=identifier(given["grant_id"], "grant id") if "grant_id" in given else None,
        limit=whole_number(given.get("limit", DEFAULT_LIMIT), "number of results",
                           maximum=MAX_LIMIT),
        day_hours=_day_hours(days, times, after, before, settings.session_minutes),
    )
    if query.by_time and not any(query.day_hours):
        raise InvalidInput("No session fits those days and times; try a wider time range.")
    return query


def _key(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word.lower())


@lru_cache
def _lookup(vocabulary: tuple[str, ...], what: str) -> dict[str, str]:
    table = {_key(value): value for value in vocabulary}
    table.update({_key(alias): value for alias, value in _ALIASES[what].items()})
    # Plurals and singulars ("panic attack", "evenings") find the same word.
    table.update({key.removesuffix("s"): value for key, value in list(table.items())
                  if key.removesuffix("s") not in table})
    return table


def _list(value: object, what: str) -> list[object]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_LIST_LENGTH:
        raise InvalidInput(f"Too many values for {what} (at most {MAX_LIST_LENGTH}).")
    return items


def _words(value: object, vocabulary: Sequence[str], what: str) -> tuple[str, ...]:
    table = _lookup(tuple(vocabulary), what)
    chosen: list[str] = []
    for item in _list(value, what):
        if not isinstance(item, str) or len(item) > MAX_WORD_LENGTH:
            raise InvalidInput(f"The {what} must be a word or a list of words, "
                               f"one of: {', '.join(vocabulary)}.")
        key = _key(item)
        word = table.get(key) or table.get(key.removesuffix("s"))
        if word is None:
            raise InvalidInput(f"I don't know the {what} '{item.strip()}'. "
                               f"Choose from: {', '.join(vocabulary)}.")
        if word not in chosen:
            chosen.append(word)
    return tuple(chosen)


def _days(value: object) -> tuple[int, ...]:
    days: set[int] = set()
    for item in _list(value, "days"):
        if isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 6:
            days.add(item)
        elif isinstance(item, str) and _key(item) in _DAY_WORDS:
            days.update(_DAY_WORDS[_key(item)])
        elif isinstance(item, str) and _key(item).removesuffix("s") in _DAY_WORDS:
            days.update(_DAY_WORDS[_key(item).removesuffix("s")])
        else:
            raise InvalidInput(f"I don't know the day '{item}'. Use day names ("
                               f"{', '.join(DAY_NAMES)}, weekdays, weekend) or numbers "
                               "0-6 with Monday as 0.")
    return tuple(sorted(days))


def _time_of_day(value: object, what: str) -> int | None:
    if value is None:
        return None
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip()) if isinstance(value, str) else None
    if not match or int(match[1]) > 24 or int(match[2]) > 59 or (
            int(match[1]) == 24 and int(match[2]) > 0):
        raise InvalidInput(f"'{what}' must be a time like 18:00 (24-hour clock).")
    return int(match[1]) * 60 + int(match[2])


def _day_hours(days: Iterable[int], times: Iterable[str], after: int | None,
               before: int | None, session_minutes: int) -> tuple[int, ...]:
    """Per weekday, the local start hours that satisfy the day and time filters."""
    parts = [DAY_PARTS[part] for part in times] or [(0, 24)]
    hours = 0
    for hour in range(24):
        start = hour * 60
        if not any(first <= hour < last for first, last in parts):
            continue
        if after is not None and start < after:
            continue
        if before is not None and start + session_minutes > before:
            continue
        hours |= 1 << hour
    chosen = set(days) or set(range(7))
    return tuple(hours if day in chosen else 0 for day in range(7))


def _clock(minutes: int | None) -> str | None:
    return None if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


# ----------------------------------------------------------------------------- search

_T = Therapist.__table__.c
_HOURS = [getattr(_T, name) for name in HOUR_COLUMNS]


@dataclass(frozen=True)
class _Candidate:
    id: int
    matches: int
    bound: int
    gender: str
    location: str | None
    issues_mask: int
    therapy_types_mask: int
    languages_mask: int
    modalities_mask: int
    hours: tuple[int, ...]


def search(db: Database, actor: Actor, filters: object) -> SearchResult:
    """Therapists matching the filters, best first, with reasons and their next free slots.

    Only therapists with a free slot (matching the day/time filters) inside the booking
    horizon are listed: the list is for booking.
    """
    settings = get_settings()
    query = parse_filters(filters, settings)
    now = datetime.now(timezone.utc)
    with db.reader() as session:
        conditions = _conditions(query)
        if query.grant_id is not None:
            conditions.append(_coverage_condition(session, actor, query.grant_id))
        ranked = _top(session, query, conditions, now, settings)
        profiles = _profiles(session, [candidate.id for candidate, _ in ranked])
    results = [
        Match(profiles[candidate.id], _reasons(query, candidate),
              [slot.isoformat() for slot in slots])
        for candidate, slots in ranked
    ]
    return SearchResult(results, query.canonical())


def _bit_set(column, mask: int) -> ColumnElement[bool]:
    return column.bitwise_and(mask) != 0


def _mask(values: Iterable[str], vocabulary: Sequence[str]) -> int:
    return sum(1 << vocabulary.index(value) for value in values)


def _conditions(query: Query) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for values, vocabulary, column in ((query.issues, ISSUES, _T.issues_mask),
                                       (query.therapy_types, THERAPY_TYPES,
                                        _T.therapy_types_mask),
                                       (query.languages, LANGUAGES, _T.languages_mask)):
        if values:
            conditions.append(_bit_set(column, _mask(values, vocabulary)))
    if query.genders:
        conditions.append(_T.gender.in_(query.genders))
    if query.modalities:
        options = []
        for modality in query.modalities:
            offered = _bit_set(_T.modalities_mask, MODALITY_BITS[modality])
            if modality == "in_person" and query.locations:
                offered = and_(offered, _T.location.in_(query.locations))
            options.append(offered)
        conditions.append(or_(*options))
    if query.by_time:
        conditions.append(or_(*(_bit_set(column, hours)
                                for column, hours in zip(_HOURS, query.day_hours, strict=True)
                                if hours)))
    return conditions


def _coverage_condition(session: Session, actor: Actor, grant_id: int) -> ColumnElement[bool]:
    """Only therapists the grant's coverage pays for, by the rules of domain.coverage."""
    grant = session.get(Grant, grant_id)
    if grant is None or actor.member_id is None or grant.member_id != actor.member_id:
        raise NotFound("You have no place on an offer with that id.")
    seen = seen_therapists(session, actor.member_id, excluding_grant=grant_id)
    coverage = grant.authorisation.coverage
    covered_seen = {tid for tid in seen if coverage_rules.covers_therapist(coverage, seen, tid)}
    # Every therapist outside `seen` is alike to the rules; ask about one that cannot exist.
    if coverage_rules.covers_therapist(coverage, seen, 0):
        return _T.id.not_in(seen - covered_seen)
    return _T.id.in_(covered_seen) if covered_seen else false()


def _phases(query: Query) -> list[tuple[list[ColumnElement[bool]], ColumnElement[int]]]:
    """Extra conditions and the matched-issues count, phase by phase, in ranking order.

    With several issues, therapists who help with all of them come first and need no count
    per row; the others (a larger set, ranked by a count) are read only if the first phase
    cannot fill the page.
    """
    if len(query.issues) < 2:
        return [([], literal(len(query.issues)))]
    wanted = _mask(query.issues, ISSUES)
    every = _T.issues_mask.bitwise_and(wanted) == wanted
    total = sum((case((_bit_set(_T.issues_mask, 1 << ISSUES.index(issue)), 1), else_=0)
                 for issue in query.issues), start=literal(0))
    return [([every], literal(len(query.issues))), ([~every], total)]


def _bound_expression(query: Query, local_now: datetime, horizon_days: int):
    """Days ahead and local hour of the first weekly hour the filters allow, ignoring
    bookings and session length: a lower bound of the first free slot."""
    first_hour = local_now.hour + (1 if (local_now.minute, local_now.second,
                                         local_now.microsecond) != (0, 0, 0) else 0)
    from_first = ALL_HOURS >> first_hour << first_hour
    whens = []
    for ahead in range(min(7, horizon_days) + 1):
        day = (local_now.weekday() + ahead) % 7
        hours = query.day_hours[day]
        if ahead == 0:
            hours &= from_first
        elif ahead == 7:
            hours &= ~from_first
        if hours:
            free = _HOURS[day].bitwise_and(hours)
            whens.append((free != 0, (ahead << _DAY_SHIFT) + free.bitwise_and(-free)))
    return case(*whens, else_=_NO_SLOT) if whens else literal(_NO_SLOT)


def _bound_time(bound: int, local_now: datetime) -> datetime:
    """The naive local wall-clock time a bound stands for (comparable with slots)."""
    if bound >= _NO_SLOT:
        return datetime.max
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    hour = (bound & ALL_HOURS).bit_length() - 1
    return midnight + timedelta(days=bound >> _DAY_SHIFT, hours=hour)


def _pages(session: Session, query: Query, conditions: list[ColumnElement[bool]],
           bound: ColumnElement[int]) -> Iterator[list[_Candidate]]:
    """Candidates in (matched issues desc, bound, id) order, a growing page at a time."""
    for extra, matches in _phases(query):
        statement = (
            select(_T.id, matches.label("matches"), bound, _T.gender, _T.location,
                   _T.issues_mask, _T.therapy_types_mask, _T.languages_mask, _T.modalities_mask,
                   *_HOURS)
            .where(*conditions, *extra)
            .order_by(matches.desc(), bound, _T.id)
        )
        offset, size = 0, query.limit + 5
        while True:
            rows = session.execute(statement.limit(size).offset(offset)).all()
            yield [_Candidate(*row[:9], hours=tuple(row[9:])) for row in rows]
            if len(rows) < size:
                break
            offset, size = offset + size, min(size * 2, 500)


def _top(session: Session, query: Query, conditions: list[ColumnElement[bool]], now: datetime,
         settings: Settings) -> list[tuple[_Candidate, list[datetime]]]:
    """The best `query.limit` candidates by their exact key (first free slot), walking the
    candidates in lower-bound order and stopping once no later one can enter the page."""
    zone = _zone(settings.timezone)
    local_now = now.astimezone(zone)
    bound = _bound_expression(query, local_now, settings.booking_horizon_days).label("bound")
    end = now + timedelta(days=settings.booking_horizon_days)
    best: list[tuple[tuple, _Candidate, list[datetime]]] = []
    for page in _pages(session, query, conditions, bound):
        windows, taken = _windows_and_taken(session, [c.id for c in page], now, end)
        for candidate in page:
            lower = (-candidate.matches, _bound_time(candidate.bound, local_now), candidate.id)
            if len(best) == query.limit and lower >= best[-1][0]:
                return [(c, slots) for _, c, slots in best]
            slots = _free(windows.get(candidate.id, []), taken.get(candidate.id, set()),
                          start=now, end=end, settings=settings, allows=query.allows,
                          limit=NEXT_SLOTS)
            if slots:
                first = slots[0].astimezone(zone).replace(tzinfo=None)
                insort(best, ((-candidate.matches, first, candidate.id), candidate, slots),
                       key=lambda entry: entry[0])
                del best[query.limit:]
    return [(c, slots) for _, c, slots in best]


# ----------------------------------------------------------------------------- slots

@lru_cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _windows_and_taken(session: Session, therapist_ids: Sequence[int], start: datetime,
                       end: datetime) -> tuple[dict[int, list[Window]], dict[int, set[datetime]]]:
    windows: dict[int, list[Window]] = {}
    taken: dict[int, set[datetime]] = {}
    if not therapist_ids:
        return windows, taken
    for tid, weekday, first, last in session.execute(
            select(Availability.therapist_id, Availability.weekday, Availability.start_minute,
                   Availability.end_minute).where(Availability.therapist_id.in_(therapist_ids))):
        windows.setdefault(tid, []).append(Window(weekday, first, last))
    for tid, starts_at in session.execute(
            select(Booking.therapist_id, Booking.starts_at).where(
                Booking.therapist_id.in_(therapist_ids),
                Booking.status.in_(ACTIVE_BOOKING_STATUSES),
                Booking.starts_at >= start, Booking.starts_at < end)):
        taken.setdefault(tid, set()).add(starts_at)
    return windows, taken


def _free(windows: Sequence[Window], taken: set[datetime], *, start: datetime, end: datetime,
          settings: Settings, allows: Callable[[datetime], bool] | None = None,
          limit: int) -> list[datetime]:
    """The first `limit` untaken slot starts in [start, end) that `allows` accepts."""
    zone = _zone(settings.timezone)
    found: list[datetime] = []
    if not windows:
        return found
    for moment in slot_starts(windows, start=start, end=end, zone=zone,
                              session_minutes=settings.session_minutes):
        if moment in taken or (allows is not None and not allows(moment.astimezone(zone))):
            continue
        found.append(moment)
        if len(found) == limit:
            break
    return found


def free_slots(db: Database, actor: Actor, therapist_id: int, *, start: datetime | None = None,
               days: int = 14, limit: int = 100) -> list[datetime]:
    """The therapist's free slot starts from `start` (default now) for `days` days, never
    past the booking horizon, as aware UTC datetimes."""
    settings = get_settings()
    therapist_id = identifier(therapist_id, "therapist id")
    days = whole_number(days, "number of days", maximum=MAX_SLOT_DAYS)
    limit = whole_number(limit, "number of slots", maximum=MAX_SLOTS)
    if start is not None and (not isinstance(start, datetime) or start.tzinfo is None):
        raise InvalidInput("The start must be a date and time with a time zone.")
    now = datetime.now(timezone.utc)
    begin = max(start or now, now)
    end = min(begin + timedelta(days=days), now + timedelta(days=settings.booking_horizon_days))
    with db.reader() as session:
        _require_therapist(session, therapist_id)
        windows, taken = _windows_and_taken(session, [therapist_id], begin, end)
    return _free(windows.get(therapist_id, []), taken.get(therapist_id, set()), start=begin,
                 end=end, settings=settings, limit=limit)


def is_free_slot(session: Session, therapist_id: int, starts_at: datetime) -> bool:
    """For other services, inside their own transaction: can `starts_at` be booked now?
    (It is a slot start in the therapist's windows, in the future, inside the booking
    horizon, and no open booking holds it.)"""
    settings = get_settings()
    if starts_at.tzinfo is None:
        return False
    now = datetime.now(timezone.utc)
    if not now < starts_at <= now + timedelta(days=settings.booking_horizon_days):
        return False
    windows, taken = _windows_and_taken(session, [therapist_id], starts_at,
                                        starts_at + timedelta(seconds=1))
    return starts_at not in taken.get(therapist_id, set()) and is_slot_start(
        windows.get(therapist_id, []), starts_at, zone=_zone(settings.timezone),
        session_minutes=settings.session_minutes)


# ----------------------------------------------------------------------------- profiles

def profile(db: Database, actor: Actor, therapist_id: int) -> TherapistProfile:
    therapist_id = identifier(therapist_id, "therapist id")
    with db.reader() as session:
        _require_therapist(session, therapist_id)
        return _profiles(session, [therapist_id])[therapist_id]


def _require_therapist(session: Session, therapist_id: int) -> None:
    if session.scalar(select(_T.id).where(_T.id == therapist_id)) is None:
        raise NotFound("I can't find a therapist with that id.")


def _profiles(session: Session, ids: Sequence[int]) -> dict[int, TherapistProfile]:
    if not ids:
        return {}
    lists: dict[int, dict[str, list[str]]] = {
        tid: {"issues": [], "therapy_types": [], "languages": []} for tid in ids}
    for key, column, order in (("issues", TherapistIssue.issue, ISSUES),
                               ("therapy_types", TherapistTherapyType.therapy_type,
                                THERAPY_TYPES),
                               ("languages", TherapistLanguage.language, LANGUAGES)):
        parent = column.class_.therapist_id
        for tid, value in session.execute(select(parent, column).where(parent.in_(ids))):
            lists[tid][key].append(value)
        for values in lists.values():
            values[key].sort(key=order.index)
    rows = session.execute(
        select(_T.id, _T.name, _T.gender, _T.bio, _T.location, _T.fee_minor, _T.currency,
               _T.offers_in_person, _T.offers_video, _T.offers_phone).where(_T.id.in_(ids)))
    profiles = {}
    for row in rows:
        modalities = [name for name, offered in zip(
            MODALITIES, (row.offers_in_person, row.offers_video, row.offers_phone),
            strict=True) if offered]
        profiles[row.id] = TherapistProfile(
            id=row.id, name=row.name, gender=row.gender, bio=row.bio, modalities=modalities,
            location=row.location if row.offers_in_person else None, fee_minor=row.fee_minor,
            currency=row.currency, **lists[row.id])
    return profiles


# ----------------------------------------------------------------------------- reasons

def _and(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _chosen(values: Sequence[str], vocabulary: Sequence[str], mask: int) -> list[str]:
    return [value for value in values if mask >> vocabulary.index(value) & 1]


def _reasons(query: Query, candidate: _Candidate) -> list[str]:
    reasons = []
    issues = _chosen(query.issues, ISSUES, candidate.issues_mask)
    if issues:
        reasons.append(f"helps with {_and(issues)}")
    types = _chosen(query.therapy_types, THERAPY_TYPES, candidate.therapy_types_mask)
    if types:
        reasons.append(f"offers {_and(types)}")
    languages = _chosen(query.languages, LANGUAGES, candidate.languages_mask)
    if languages:
        reasons.append(f"speaks {_and(languages)}")
    if query.genders:
        reasons.append(f"{candidate.gender} therapist")
    for modality in _chosen(MODALITIES, MODALITIES, candidate.modalities_mask):
        if modality not in query.modalities:
            continue
        reasons.append(f"sees people in person in {candidate.location}"
                       if modality == "in_person" else f"{modality} sessions")
    if query.by_time:
        reasons.append(_availability_reason(query, candidate))
    return reasons


def _availability_reason(query: Query, candidate: _Candidate) -> str:
    free = [hours & allowed for hours, allowed in zip(candidate.hours, query.day_hours,
                                                      strict=True)]
    days = [DAY_NAMES[day] for day in query.days if free[day]]
    parts = [part for part in query.times
             if any(hours >> hour & 1 for hours in free for hour in range(*DAY_PARTS[part]))]
    clock = "".join(f" {word} {_clock(minutes)}" for word, minutes in
                    (("after", query.after), ("before", query.before)) if minutes is not None)
    if parts:
        return f"has {_and(days) + ' ' if days else ''}{_and([p + 's' for p in parts])} free{clock}"
    if days:
        return f"is free on {_and([day + 's' for day in days])}{clock}"
    return f"is free{clock}"
