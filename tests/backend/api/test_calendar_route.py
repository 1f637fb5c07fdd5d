"""The confirmed booking's calendar file: linked in the member's "confirmed" message, fetched
without credentials, titled neutrally, gone once the booking is."""

from __future__ import annotations

import re

from icalendar import Calendar
from sqlalchemy import select

from backend.models import ChatIdentity, Notification
from backend.services import bookings
from tests.backend import booking_factories as bf
from tests.backend import factories


async def test_the_confirmed_message_links_a_neutral_calendar_file(api, db):
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin)
    member, _grant = factories.member_with_grant(db, admin, offer.id)
    therapist_id = bf.therapist(db, in_person=True)
    booking = bookings.book(db, member, therapist_id=therapist_id, starts_at=bf.slot(72),
                            modality="in_person")
    therapist = bf.therapist_actor(db, therapist_id)
    status, _ = await api.request("POST", f"/therapist/bookings/{booking.id}/confirm",
                                  identity=therapist.identity)
    assert status == 200
    with db.reader() as session:
        [text] = session.scalars(select(Notification.text).where(
            Notification.member_id == member.member_id, Notification.kind == "booking_confirmed"))
    path = re.search(r"https?://[^/\s]+(/calendar/\S+\.ics)", text).group(1)

    answer = await api.client.get(path)  # no service token, no identity
    assert answer.status == 200 and answer.content_type == "text/calendar"
    [event] = Calendar.from_ical(await answer.read()).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Private appointment"
    assert event.decoded("DTSTART") == booking.starts_at
    assert "In person at London" in str(event["DESCRIPTION"])
    with db.reader() as session:
        names = [identity.external_id for identity in session.scalars(select(ChatIdentity))]
    assert all(name not in str(event) for name in names)

    forged = path.replace("/calendar/", "/calendar/x")
    assert (await api.client.get(forged)).status == 404
    bookings.cancel_by_therapist(db, therapist, booking.id)
    assert (await api.client.get(path)).status == 404
