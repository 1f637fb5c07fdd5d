"""Booking routes over real HTTP, on both databases: shapes, status codes, confidentiality."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from backend.api.app import create_app
from backend.settings import Settings
from tests.backend import booking_factories as bf
from tests.backend import factories
from tests.backend.api.conftest import SERVICE_TOKEN, connect


@pytest.fixture
def people(db):
    """An admin, a member with a 3-session grant, a colleague, and a therapist (identities)."""
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, sessions_per_user=3)
    member, grant = factories.member_with_grant(db, admin, offer.id)
    colleague, _ = factories.member_with_grant(db, admin, offer.id)
    therapist_id = bf.therapist(db)
    therapist = bf.therapist_actor(db, therapist_id)
    return {"admin": admin.identity, "member": member.identity,
            "colleague": colleague.identity, "therapist": therapist.identity,
            "therapist_id": therapist_id, "grant_id": grant.id}


async def book(api, people, hours_ahead: int = 72, **fields):
    body = {"therapist_id": people["therapist_id"],
            "starts_at": bf.slot(hours_ahead).isoformat(), "modality": "video"}
    body.update(fields)
    return await api.request("POST", "/bookings", identity=people["member"], json=body)


async def test_book_list_show_and_cancel(api, people):
    starts = bf.slot(72)
    status, booked = await book(api, people, starts_at=starts.isoformat())
    assert status == 201, booked
    assert booked["status"] == "requested" and booked["paid_by_organisation"] is True
    assert booked["grant_id"] == people["grant_id"]
    assert booked["sessions_remaining_on_grant"] == 2
    assert booked["starts_at"] == starts.isoformat()
    assert booked["ends_at"] == (starts + timedelta(minutes=50)).isoformat()
    assert booked["therapist_id"] == people["therapist_id"] and booked["therapist_name"]
    assert booked["voucher_status"] == "held" and booked["modality"] == "video"

    status, mine = await api.request("GET", "/me/bookings", identity=people["member"])
    assert status == 200 and [b["id"] for b in mine["bookings"]] == [booked["id"]]
    status, shown = await api.request("GET", f"/bookings/{booked['id']}",
                                      identity=people["member"])
    assert status == 200 and shown == booked

    status, preview = await api.request("GET", f"/bookings/{booked['id']}/cancellation",
                                        identity=people["member"])
    assert status == 200
    assert preview["session_returned"] is True and preview["window_hours"] == 48
    assert preview["late"] is False and preview["can_reschedule"] is True
    assert preview["message"]

    status, cancelled = await api.request("POST", f"/bookings/{booked['id']}/cancel",
                                          identity=people["member"])
    assert status == 200 and cancelled["status"] == "cancelled"
    assert cancelled["sessions_remaining_on_grant"] == 3
    status, again = await api.request("POST", f"/bookings/{booked['id']}/cancel",
                                      identity=people["member"])
    assert status == 409 and "cancelled" in again["error"]["message"]

    status, mine = await api.request("GET", "/me/bookings", identity=people["member"])
    assert mine["bookings"] == []
    status, everything = await api.request("GET", "/me/bookings?upcoming=false",
                                           identity=people["member"])
    assert [b["id"] for b in everything["bookings"]] == [booked["id"]]
    status, error = await api.request("GET", "/me/bookings?upcoming=maybe",
                                      identity=people["member"])
    assert status == 400 and "true or false" in error["error"]["message"]


async def test_reschedule_over_http(api, db, people):
    _, booked = await book(api, people, 72)
    target = bf.slot(100)
    status, moved = await api.request("POST", f"/bookings/{booked['id']}/reschedule",
                                      identity=people["member"],
                                      json={"starts_at": target.isoformat()})
    assert status == 201, moved
    assert moved["rescheduled_from_id"] == booked["id"]
    assert moved["starts_at"] == target.isoformat()
    assert moved["sessions_remaining_on_grant"] == 2
    late_start = bf.hours_from_now(10)
    _, late = await book(api, people, starts_at=bf.bookable(late_start).isoformat())
    bf.move_to(db, late["id"], late_start)  # as if booked earlier (issue 13)
    status, error = await api.request("POST", f"/bookings/{late['id']}/reschedule",
                                      identity=people["member"],
                                      json={"starts_at": bf.slot(120).isoformat()})
    assert status == 409 and "48 hours" in error["error"]["message"]
    assert error["error"]["code"] == "inside_cancellation_window"


async def test_therapist_lists_confirms_declines_and_completes(api, db, people):
    _, first = await book(api, people, 60)
    _, second = await book(api, people, 61)
    status, requested = await api.request("GET", "/therapist/bookings",
                                          identity=people["therapist"])
    assert status == 200
    assert [b["id"] for b in requested["bookings"]] == [first["id"], second["id"]]
    assert all(b["member_name"] and b["grant_id"] is None for b in requested["bookings"])

    therapist_path = "/therapist/bookings/{}/{}"
    status, confirmed = await api.request("POST", therapist_path.format(first["id"], "confirm"),
                                          identity=people["therapist"])
    assert status == 200 and confirmed["status"] == "confirmed"
    status, declined = await api.request("POST", therapist_path.format(second["id"], "decline"),
                                         identity=people["therapist"])
    assert status == 200 and declined["status"] == "declined"
    assert declined["voucher_status"] == "released"
    status, error = await api.request("POST", therapist_path.format(second["id"], "confirm"),
                                      identity=people["therapist"])
    assert status == 409 and "declined" in error["error"]["message"]

    status, _ = await api.request("GET", "/therapist/bookings?status=confirmed",
                                  identity=people["therapist"])
    bf.move_into_past(db, first["id"])
    status, done = await api.request("POST", therapist_path.format(first["id"], "complete"),
                                     identity=people["therapist"])
    assert status == 200 and done["status"] == "completed" and done["voucher_status"] == "used"
    status, shown = await api.request("GET", f"/bookings/{first['id']}",
                                      identity=people["member"])
    assert shown["sessions_remaining_on_grant"] == 2
    status, error = await api.request("GET", "/therapist/bookings?status=lost",
                                      identity=people["therapist"])
    assert status == 400


async def test_late_cancellation_is_waived_by_the_therapist(api, db, people):
    _, booked = await book(api, people, starts_at=bf.bookable(bf.hours_from_now(5)).isoformat())
    bf.move_to(db, booked["id"], bf.hours_from_now(5))  # as if booked earlier (issue 13)
    status, preview = await api.request("GET", f"/bookings/{booked['id']}/cancellation",
                                        identity=people["member"])
    assert preview["late"] is True and "counts as used" in preview["message"]
    _, cancelled = await api.request("POST", f"/bookings/{booked['id']}/cancel",
                                     identity=people["member"])
    assert cancelled["voucher_status"] == "used"
    status, waived = await api.request("POST", f"/therapist/bookings/{booked['id']}/waive",
                                       identity=people["therapist"])
    assert status == 200 and waived["voucher_status"] == "released", waived


async def test_only_the_member_and_the_therapist_see_a_booking(api, db, people):
    _, booked = await book(api, people)
    other_org_admin = factories.register_organisation(db, "Globex").identity
    for outsider in (people["admin"], people["colleague"], other_org_admin):
        for method, path in [("GET", f"/bookings/{booked['id']}"),
                             ("GET", f"/bookings/{booked['id']}/cancellation"),
                             ("POST", f"/bookings/{booked['id']}/cancel"),
                             ("POST", f"/bookings/{booked['id']}/reschedule")]:
            status, error = await api.request(method, path, identity=outsider,
                                              json={"starts_at": bf.slot(100).isoformat()})
            assert status == 404, (outsider, path)
            assert error["error"]["code"] == "not_found"
    status, _ = await api.request("GET", f"/bookings/{booked['id']}",
                                  identity=people["therapist"])
    assert status == 200
    for verb in ("confirm", "decline", "complete", "cancel", "waive"):
        status, error = await api.request("POST", f"/therapist/bookings/{booked['id']}/{verb}",
                                          identity=people["member"])
        assert status == 403, verb
    status, error = await api.request("GET", "/therapist/bookings", identity=people["member"])
    assert status == 403
    assert bf.snapshot(db).bookings == [(booked["id"], "requested")]


async def test_start_times_are_read_in_any_offset(api, people):
    starts = bf.slot(72)
    in_new_york = starts.astimezone(datetime.fromisoformat("2026-01-01T00:00:00-05:00").tzinfo)
    status, booked = await book(api, people, starts_at=in_new_york.isoformat())
    assert (status, booked["starts_at"]) == (201, starts.isoformat())
    later = bf.slot(96)
    status, booked = await book(api, people, starts_at=later.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert (status, booked["starts_at"]) == (201, later.isoformat())


@pytest.mark.parametrize(
    ("fields", "status", "fragment"),
    [
        ({"therapist_id": "1"}, 400, "therapist id"),
        ({"therapist_id": True}, 400, "therapist id"),
        ({"therapist_id": 0}, 400, "therapist id"),
        ({"therapist_id": None}, 400, "please give the therapist id"),
        ({"therapist_id": 999_999}, 404, "no therapist"),
        ({"starts_at": "soon"}, 400, "offset"),
        ({"starts_at": "2030-01-01T10:00"}, 400, "offset"),
        ({"starts_at": 1_900_000_000}, 400, "must be text"),
        ({"starts_at": None}, 400, "please give the start time"),
        ({"starts_at": "x" * 10_000}, 400, "offset"),
        ({"starts_at": bf.slot(24 * 60).isoformat()}, 400, "28 days ahead"),
        ({"starts_at": "2020-01-01T10:00:00+00:00"}, 400, "already passed"),
        ({"modality": "telepathy"}, 400, "modality must be one of"),
        ({"modality": None}, 400, "please give the modality"),
        ({"modality": "phone"}, 400, "doesn't offer"),
        ({"grant_id": 999_999}, 404, "no place"),
        ({"grant_id": [1]}, 400, "grant id"),
        ({"grant_id": "1"}, 400, "grant id"),
        ({"self_pay": True, "grant_id": 1}, 400, "not both"),
        ({"self_pay": "true"}, 400, "true or false"),
    ],
)
async def test_bad_bookings_get_clear_errors_and_change_nothing(api, db, people, fields,
                                                                status, fragment):
    before = bf.snapshot(db)
    got, error = await book(api, people, **fields)
    assert got == status and fragment in error["error"]["message"].lower()
    assert bf.snapshot(db) == before


async def test_slot_taken_and_no_grant_over_http(api, db, people):
    starts = bf.slot(72).isoformat()
    status, _ = await book(api, people, starts_at=starts)
    assert status == 201
    before = bf.snapshot(db)
    body = {"therapist_id": people["therapist_id"], "starts_at": starts, "modality": "video"}
    status, error = await api.request("POST", "/bookings", identity=people["colleague"],
                                      json=body)
    assert status == 409 and error["error"]["code"] == "slot_taken"
    newcomer = factories.add_member(db, factories.register_organisation(db, "Initech")
                                    .organisation_id).identity
    body["starts_at"] = bf.slot(73).isoformat()
    status, error = await api.request("POST", "/bookings", identity=newcomer, json=body)
    assert status == 409 and error["error"]["code"] == "no_usable_grant"
    assert bf.snapshot(db) == before
    status, booked = await api.request("POST", "/bookings", identity=newcomer,
                                       json={**body, "self_pay": True})
    assert status == 201 and booked["paid_by_organisation"] is False


async def test_bad_ids_and_bodies_on_booking_routes(api, people):
    status, error = await api.request("GET", "/bookings/abc", identity=people["member"])
    assert status == 400 and "not a valid id" in error["error"]["message"]
    status, _ = await api.request("GET", "/bookings/999999", identity=people["member"])
    assert status == 404
    status, error = await api.request("POST", "/bookings", identity=people["member"],
                                      data=b"[1]", headers={"Content-Type": "application/json"})
    assert status == 400 and error["error"]["code"] == "invalid_input"
    status, error = await api.request("POST", "/bookings/1/reschedule",
                                      identity=people["member"], json={"starts_at": 5})
    assert status == 400


async def test_booking_without_a_grant_joins_an_all_members_offer(api, db):
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin, access="all_members", name="Everyone")
    member = factories.add_member(db, admin.organisation_id)
    body = {"therapist_id": bf.therapist(db), "starts_at": bf.slot(72).isoformat(),
            "modality": "video"}
    status, booked = await api.request("POST", "/bookings", identity=member.identity, json=body)
    assert status == 201 and booked["paid_by_organisation"] is True
    assert booked["offer_name"] == "Everyone" and booked["sessions_remaining_on_grant"] == 6
    status, mine = await api.request("GET", "/me/grants", identity=member.identity)
    assert [grant["id"] for grant in mine["grants"]] == [booked["grant_id"]]
    assert mine["grants"][0]["authorisation_id"] == offer.id


async def test_the_apps_settings_reach_the_services(aiohttp_client, db):
    """The app factory builds the policy once from its settings; the routes hand it on."""
    settings = Settings(BACKEND_SERVICE_TOKEN=SERVICE_TOKEN, CANCELLATION_WINDOW_HOURS=24,
                        BOOKING_HORIZON_DAYS=3, SESSION_MINUTES=30)
    api = await connect(aiohttp_client, create_app(db, settings))
    admin = factories.register_organisation(db)
    offer = factories.authorisation(db, admin)
    member, _ = factories.member_with_grant(db, admin, offer.id)
    therapist_id = bf.therapist(db)
    body = {"therapist_id": therapist_id, "modality": "video"}
    status, error = await api.request("POST", "/bookings", identity=member.identity,
                                      json={**body, "starts_at": bf.slot(24 * 4).isoformat()})
    assert status == 400 and "up to 3 days ahead" in error["error"]["message"]
    starts = bf.bookable(bf.hours_from_now(30))
    status, booked = await api.request("POST", "/bookings", identity=member.identity,
                                       json={**body, "starts_at": starts.isoformat()})
    assert status == 201 and booked["ends_at"] == (starts + timedelta(minutes=30)).isoformat()
    bf.move_to(db, booked["id"], bf.hours_from_now(30))  # as if booked earlier (issue 13)
    status, preview = await api.request("GET", f"/bookings/{booked['id']}/cancellation",
                                        identity=member.identity)
    assert preview["window_hours"] == 24 and preview["late"] is False
