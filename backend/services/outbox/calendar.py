"""The calendar file of a confirmed booking (.ics, RFC 5545 through `icalendar`).

Titled neutrally "Private appointment", so a shared work calendar shows nothing more; the
description holds the therapist, and the video link or the address. The member gets it from a
link in the "confirmed" message: `/calendar/<token>.ics`, the token signed for that booking
(`link`, `booking_of`), so the file needs no sign-in and reveals only that one appointment.
"""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar, Event

from backend.db import Database
from backend.domain.enums import BookingStatus, Modality
from backend.domain.errors import NotFound
from backend.models import Booking, Therapist
from contracts import web_identity

TITLE = "Private appointment"
PRODUCT_ID = "-//therapy-sessions-assistant//calendar//EN"
AUDIENCE = "calendar"
LINK_TTL_SECONDS = 90 * 24 * 3600
PATH_PREFIX = "/calendar/"
SUFFIX = ".ics"


def ics(booking_id: int, starts_at: datetime, ends_at: datetime, therapist_name: str,
        modality: Modality, *, address: str | None, video_link: str | None,
        stamp: datetime) -> bytes:
    if modality is Modality.IN_PERSON:
        where = f"In person at {address}." if address else "In person."
    elif modality is Modality.VIDEO:
        where = f"Video: {video_link}" if video_link else "By video (the link follows)."
    else:
        where = f"By phone: {therapist_name} calls you."
    event = Event()
    event.add("uid", f"booking-{booking_id}@therapy-sessions")
    event.add("summary", TITLE)
    event.add("dtstart", starts_at)
    event.add("dtend", ends_at)
    event.add("dtstamp", stamp)
    event.add("description", f"With {therapist_name}. {where}")
    event.add("class", "PRIVATE")
    if modality is Modality.IN_PERSON and address:
        event.add("location", address)
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add_component(event)
    return calendar.to_ical()


def token(key: str, booking_id: int) -> str:
    return web_identity.sign_claims(key, AUDIENCE, str(booking_id), LINK_TTL_SECONDS)


def link(public_base_url: str, key: str, booking_id: int) -> str:
    return f"{public_base_url.rstrip('/')}{PATH_PREFIX}{token(key, booking_id)}{SUFFIX}"


def booking_of(key: str, value: str) -> int:
    """The booking a calendar token names; ValueError when it is not one of ours."""
    try:
        claims = web_identity.read_claims(key, AUDIENCE, value)
        return int(claims["sub"])
    except (web_identity.InvalidWebToken, KeyError, ValueError):
        raise ValueError("not a valid calendar link") from None


def file_for(db: Database, key: str, value: str, now: datetime) -> bytes:
    """The calendar file a link names, while its booking is confirmed; NotFound otherwise (a
    forged, expired or foreign link, or a booking no longer on)."""
    try:
        booking_id = booking_of(key, value)
    except ValueError:
        raise NotFound("This calendar link is not valid.") from None
    with db.reader() as session:
        booking = session.get(Booking, booking_id)
        if booking is None or booking.status is not BookingStatus.CONFIRMED:
            raise NotFound("This appointment is no longer booked.")
        therapist = session.get_one(Therapist, booking.therapist_id)
        return ics(booking.id, booking.starts_at, booking.ends_at, therapist.name,
                   booking.modality, address=therapist.location, video_link=None, stamp=now)
