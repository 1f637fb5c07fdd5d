"""Checks every booking request passes: a start time in words the backend reads, inside the
horizon and no sooner than the therapist is expected to have confirmed it, at a free slot of a
therapist who offers the modality."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain.directory import MODALITY_WORDS
from backend.domain.enums import ACTIVE_BOOKING_STATUSES, Modality
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.models import Booking, Therapist
from backend.services.bookings.lifecycle import SLOT_TAKEN
from backend.services.policy import Policy
from backend.services.search import is_free_slot

MAX_TIME_TEXT = 64


def moment(value: object) -> datetime:
    """An aware UTC datetime from an ISO 8601 string with an offset (or an aware datetime)."""
    example = "Please give the start time with its offset, e.g. 2026-03-03T18:00:00+00:00."
    if isinstance(value, str):
        raw = value.strip()
        if len(raw) > MAX_TIME_TEXT:
            raise InvalidInput(example)
        if raw[-1:] in ("Z", "z"):
            raw = raw[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise InvalidInput(example) from None
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidInput(example)
    return value.astimezone(timezone.utc)


def bookable_time(moment: datetime, now: datetime, policy: Policy) -> None:
    horizon = policy.booking_horizon_days
    if moment <= now:
        raise InvalidInput("That time has already passed. Please pick a slot in the future.",
                           code="in_the_past")
    if moment > now + timedelta(days=horizon):
        raise InvalidInput(f"Sessions can be booked up to {horizon} days ahead. Please pick an "
                           "earlier slot.", code="beyond_horizon")
    policy.check_new_booking_start(moment, now)


def therapist(session: Session, therapist_id: int) -> Therapist:
    found = session.get(Therapist, therapist_id)
    if found is None:
        raise NotFound("There is no therapist with that id.")
    return found


def free_slot(session: Session, therapist: Therapist, moment: datetime, policy: Policy) -> None:
    if is_free_slot(session, therapist.id, moment, policy=policy):
        return
    taken = session.scalar(
        select(Booking.id).where(Booking.therapist_id == therapist.id,
                                 Booking.starts_at == moment,
                                 Booking.status.in_(ACTIVE_BOOKING_STATUSES))
    ) is not None
    if taken:
        raise Conflict(SLOT_TAKEN, code="slot_taken")
    raise InvalidInput(f"{therapist.name} has no session starting at that time. Please pick one "
                       "of their free slots.", code="not_a_slot")


def offered_modality(therapist: Therapist, modality: Modality) -> None:
    offered = {
        Modality.IN_PERSON: therapist.offers_in_person,
        Modality.VIDEO: therapist.offers_video,
        Modality.PHONE: therapist.offers_phone,
    }
    if not offered[modality]:
        ways = [MODALITY_WORDS[way] for way, yes in offered.items() if yes]
        raise InvalidInput(f"{therapist.name} doesn't offer {MODALITY_WORDS[modality]} "
                           f"sessions; they offer {' or '.join(ways) or 'no sessions'} at the "
                           "moment.", code="modality_not_offered")
