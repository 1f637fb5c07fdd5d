"""The therapist directory: profiles, what they offer, and weekly availability.

The normalised tables (issues, therapy types, languages, availability) are the truth. Each
therapist row also carries a denormalised copy for search: one bitmask per list, a modality
mask, and per weekday a mask of the local hours at which a session may start. The search
also keeps one `therapist_search_hours` row per weekly start hour, with copies of the
filtered columns, so it can walk the directory in first-free-hour order. Both are kept in
step by `refresh_search_data`, which runs after every ORM flush that touches a profile; bulk
Core inserts compute the same values with `search_columns` and `search_hour_rows`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import chain

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Connection,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    bindparam,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from backend.domain.directory import ISSUES, LANGUAGES, THERAPY_TYPES
from backend.models.base import Base, UTCDateTime, utcnow

# Bits of `modalities_mask`, in the order of backend.domain.enums.Modality.
MODALITY_BITS = {"in_person": 1, "video": 2, "phone": 4}
# `hours_<day>` columns, Monday first (weekday 0 as in `Availability`).
HOUR_COLUMNS: tuple[str, ...] = tuple(
    f"hours_{day}" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
)


class Therapist(Base):
    __tablename__ = "therapists"
    __table_args__ = (
        # Covers every search predicate, so a search reads this index and never the wide rows.
        Index("ix_therapists_search", "gender", "modalities_mask", "languages_mask",
              "issues_mask", "therapy_types_mask", "location", *HOUR_COLUMNS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Where the therapist's sign-in links go (the therapist inbox); None: no web sign-in.
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    gender: Mapped[str] = mapped_column(String(32), index=True)
    bio: Mapped[str] = mapped_column(Text, default="")
    fee_minor: Mapped[int]  # per session, in minor units of `currency`
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    # In-person sessions happen here; None when the therapist works only remotely.
    location: Mapped[str | None] = mapped_column(String(120), index=True)
    offers_in_person: Mapped[bool] = mapped_column(default=False)
    offers_video: Mapped[bool] = mapped_column(default=True)
    offers_phone: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Denormalised search data (see the module docstring); never written by hand.
    issues_mask: Mapped[int] = mapped_column(BigInteger, default=0)
    therapy_types_mask: Mapped[int] = mapped_column(BigInteger, default=0)
    languages_mask: Mapped[int] = mapped_column(BigInteger, default=0)
    modalities_mask: Mapped[int] = mapped_column(default=0)
    # Bit h: a session may start at local hour h on that weekday (a window is open at h:00).
    hours_mon: Mapped[int] = mapped_column(default=0)
    hours_tue: Mapped[int] = mapped_column(default=0)
    hours_wed: Mapped[int] = mapped_column(default=0)
    hours_thu: Mapped[int] = mapped_column(default=0)
    hours_fri: Mapped[int] = mapped_column(default=0)
    hours_sat: Mapped[int] = mapped_column(default=0)
    hours_sun: Mapped[int] = mapped_column(default=0)

    issues: Mapped[list[TherapistIssue]] = relationship(cascade="all, delete-orphan")
    therapy_types: Mapped[list[TherapistTherapyType]] = relationship(
        cascade="all, delete-orphan"
    )
    languages: Mapped[list[TherapistLanguage]] = relationship(cascade="all, delete-orphan")
    availability: Mapped[list[Availability]] = relationship(cascade="all, delete-orphan")


class TherapistSearchHour(Base):
    """Denormalised (see the module docstring): a weekly hour at which the therapist may start
    a session, with the columns search filters on, so the rows of one hour, in id order, are
    read from this table's key alone."""

    __tablename__ = "therapist_search_hours"
    __table_args__ = (
        # The walk reads one hour's rows in id order, filters included, from this index alone.
        Index("ix_therapist_search_hours_walk", "slot", "therapist_id", "gender", "location",
              "issues_mask", "therapy_types_mask", "languages_mask", "modalities_mask"),
    )

    slot: Mapped[int] = mapped_column(primary_key=True)  # weekday * 24 + local hour
    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("therapists.id", ondelete="CASCADE"), primary_key=True)
    gender: Mapped[str] = mapped_column(String(32))
    location: Mapped[str | None] = mapped_column(String(120))
    issues_mask: Mapped[int] = mapped_column(BigInteger)
    therapy_types_mask: Mapped[int] = mapped_column(BigInteger)
    languages_mask: Mapped[int] = mapped_column(BigInteger)
    modalities_mask: Mapped[int]


SEARCH_HOUR_COPIES = ("gender", "location", "issues_mask", "therapy_types_mask",
                      "languages_mask", "modalities_mask")


class TherapistIssue(Base):
    __tablename__ = "therapist_issues"

    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id"), primary_key=True)
    issue: Mapped[str] = mapped_column(String(64), primary_key=True)


class TherapistTherapyType(Base):
    __tablename__ = "therapist_therapy_types"

    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id"), primary_key=True)
    therapy_type: Mapped[str] = mapped_column(String(64), primary_key=True)


class TherapistLanguage(Base):
    __tablename__ = "therapist_languages"

    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id"), primary_key=True)
    language: Mapped[str] = mapped_column(String(64), primary_key=True)


class Availability(Base):
    """A weekly window in the service's time zone, e.g. Tuesdays 17:00-20:00."""

    __tablename__ = "availability"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("start_minute < end_minute", name="window_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id"), index=True)
    weekday: Mapped[int]  # Monday is 0
    start_minute: Mapped[int]  # minutes after local midnight
    end_minute: Mapped[int]


def mask_of(values: Iterable[str], vocabulary: Sequence[str], what: str) -> int:
    mask = 0
    for value in values:
        try:
            mask |= 1 << vocabulary.index(value)
        except ValueError:
            raise ValueError(f"unknown {what} {value!r}; add it to the vocabulary first") from None
    return mask


def window_hours(start_minute: int, end_minute: int) -> int:
    """Hours h with start <= h:00 < end: every hour a session could start in the window,
    whatever the session length (the slot rules then check that the session fits)."""
    first = -(-start_minute // 60)
    last = min(23, (end_minute - 1) // 60)
    return sum(1 << hour for hour in range(first, last + 1))


def search_columns(*, issues: Iterable[str], therapy_types: Iterable[str],
                   languages: Iterable[str], in_person: bool, video: bool, phone: bool,
                   windows: Iterable[tuple[int, int, int]]) -> dict[str, int]:
    """The denormalised search values of one profile; windows are (weekday, start, end)."""
    hours = [0] * 7
    for weekday, start_minute, end_minute in windows:
        hours[weekday] |= window_hours(start_minute, end_minute)
    modalities = ((MODALITY_BITS["in_person"] if in_person else 0)
                  | (MODALITY_BITS["video"] if video else 0)
                  | (MODALITY_BITS["phone"] if phone else 0))
    return {
        "issues_mask": mask_of(issues, ISSUES, "issue"),
        "therapy_types_mask": mask_of(therapy_types, THERAPY_TYPES, "therapy type"),
        "languages_mask": mask_of(languages, LANGUAGES, "language"),
        "modalities_mask": modalities,
        **dict(zip(HOUR_COLUMNS, hours, strict=True)),
    }


def search_hour_rows(therapist_id: int, values: dict[str, object]) -> list[dict[str, object]]:
    """The `therapist_search_hours` rows of one therapist, from its therapists-row values."""
    copies = {name: values[name] for name in SEARCH_HOUR_COPIES}
    return [{"slot": day * 24 + hour, "therapist_id": therapist_id, **copies}
            for day, name in enumerate(HOUR_COLUMNS)
            for hour in range(24) if int(values[name]) >> hour & 1]  # type: ignore[call-overload]


def refresh_search_data(connection: Connection, therapist_ids: Iterable[int]) -> None:
    """Recompute the denormalised search data of these therapists from the normalised rows."""
    ids = sorted(set(therapist_ids))
    if not ids:
        return
    lists: dict[int, dict[str, list]] = {
        tid: {"issues": [], "therapy_types": [], "languages": [], "windows": []} for tid in ids
    }
    for key, column in (("issues", TherapistIssue.issue),
                        ("therapy_types", TherapistTherapyType.therapy_type),
                        ("languages", TherapistLanguage.language)):
        parent = column.class_.therapist_id
        for tid, value in connection.execute(select(parent, column).where(parent.in_(ids))):
            lists[tid][key].append(value)
    for tid, *window in connection.execute(
            select(Availability.therapist_id, Availability.weekday, Availability.start_minute,
                   Availability.end_minute).where(Availability.therapist_id.in_(ids))):
        lists[tid]["windows"].append(tuple(window))
    rows = connection.execute(
        select(Therapist.id, Therapist.offers_in_person, Therapist.offers_video,
               Therapist.offers_phone, Therapist.gender, Therapist.location)
        .where(Therapist.id.in_(ids))).all()
    values = [
        {"tid": tid, **search_columns(in_person=in_person, video=video, phone=phone, **lists[tid])}
        for tid, in_person, video, phone, _, _ in rows
    ]
    connection.execute(delete(TherapistSearchHour)
                       .where(TherapistSearchHour.therapist_id.in_(ids)))
    hour_rows = [row for value, (*_, gender, location) in zip(values, rows, strict=True)
                 for row in search_hour_rows(value["tid"],
                                             {**value, "gender": gender, "location": location})]
    if hour_rows:
        connection.execute(insert(TherapistSearchHour), hour_rows)
    if values:
        table = Therapist.__table__
        if not isinstance(table, Table):
            raise TypeError("Therapist is mapped to a table")
        connection.execute(
            update(table).where(table.c.id == bindparam("tid"))
            .values({name: bindparam(name) for name in values[0] if name != "tid"}),
            values,
        )


_PROFILE_PARTS = (TherapistIssue, TherapistTherapyType, TherapistLanguage, Availability)
_TOUCHED = "therapist_search_touched"


@event.listens_for(Session, "before_flush")
def _note_profile_writes(session: Session, _context, _instances) -> None:
    touched = session.info.setdefault(_TOUCHED, [])
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, (Therapist, *_PROFILE_PARTS)):
            touched.append(obj)


@event.listens_for(Session, "after_flush_postexec")
def _refresh_touched_profiles(session: Session, _context) -> None:
    touched = session.info.pop(_TOUCHED, [])
    ids = {obj.id if isinstance(obj, Therapist) else obj.therapist_id for obj in touched}
    ids.discard(None)
    if not ids:
        return
    refresh_search_data(session.connection(), ids)
    for obj in touched:
        if isinstance(obj, Therapist) and obj in session and obj not in session.deleted:
            session.expire(obj, ["issues_mask", "therapy_types_mask", "languages_mask",
                                 "modalities_mask", *HOUR_COLUMNS])
