"""Safe retries over real HTTP, on both databases: a mutating request repeated with its
`Idempotency-Key` gets the first answer replayed and changes nothing more, also when the repeats
arrive while the first is still running (they wait for it, or are told 409 in_progress)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.api.app import create_app
from backend.models import Booking, IdempotentReply
from backend.models.base import utcnow
from backend.services import idempotency
from backend.settings import Settings
from tests.backend import booking_factories as bf
from tests.backend.api.conftest import SERVICE_TOKEN, connect
from tests.backend.stripe_standins import SlowGateway, paying_organisation

SLOW_SECONDS = 1.0


async def serve(aiohttp_client, db, **settings):
    gateway = SlowGateway(SLOW_SECONDS, public_base_url="http://backend.test")
    app = create_app(db, Settings(BACKEND_SERVICE_TOKEN=SERVICE_TOKEN, **settings),
                     gateway=gateway)
    return await connect(aiohttp_client, app), gateway


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


async def test_a_repeated_booking_gets_the_first_answer_and_books_once(aiohttp_client, db):
    api, gateway = await serve(aiohttp_client, db)
    org = paying_organisation(db, gateway)
    body = {"therapist_id": org.therapist_id, "starts_at": bf.slot(72).isoformat(),
            "modality": "video"}
    first = await api.request("POST", "/bookings", identity=org.member.identity, json=body,
                              headers=keyed("conv-1:msg-1:book"))
    again = await api.request("POST", "/bookings", identity=org.member.identity, json=body,
                              headers=keyed("conv-1:msg-1:book"))
    assert first[0] == 201 and again == first, first
    with db.reader() as session:
        assert session.scalar(select(func.count(Booking.id))) == 1

    other = {**body, "starts_at": bf.slot(96).isoformat()}  # the key names another request
    status, refused = await api.request("POST", "/bookings", identity=org.member.identity,
                                        json=other, headers=keyed("conv-1:msg-1:book"))
    assert status == 409 and refused["error"]["code"] == "idempotency_key_reused"
    status, _ = await api.request("POST", "/bookings", identity=org.member.identity,
                                  json=other, headers=keyed("conv-1:msg-2:book"))
    assert status == 201  # a new message, a new key
    with db.reader() as session:
        assert session.scalar(select(func.count(Booking.id))) == 2


async def test_the_same_key_of_another_caller_is_another_request(aiohttp_client, db):
    api, gateway = await serve(aiohttp_client, db)
    org = paying_organisation(db, gateway)
    colleague = org.another_member()
    for member, hours in ((org.member, 72), (colleague, 96)):
        status, _ = await api.request("POST", "/bookings", identity=member.identity, json={
            "therapist_id": org.therapist_id, "starts_at": bf.slot(hours).isoformat(),
            "modality": "video"}, headers=keyed("same-key"))
        assert status == 201
    with db.reader() as session:
        assert session.scalar(select(func.count(Booking.id))) == 2


async def test_concurrent_repeats_of_a_confirmation_wait_and_get_its_answer(aiohttp_client, db):
    api, gateway = await serve(aiohttp_client, db)
    org = paying_organisation(db, gateway)
    org.save_offline_card()
    booking_id = org.book()
    therapist = org.therapist.identity
    answers = await asyncio.gather(*[
        api.request("POST", f"/therapist/bookings/{booking_id}/confirm",
                    identity=therapist, headers=keyed("confirm-once"))
        for _ in range(5)])
    assert [status for status, _ in answers] == [200] * 5, answers
    assert all(body == answers[0][1] for _, body in answers)  # not "already confirmed"
    assert len(gateway.payments) == 1


async def test_a_repeat_that_waited_too_long_is_told_in_progress_then_replayed(aiohttp_client,
                                                                               db):
    api, gateway = await serve(aiohttp_client, db, IDEMPOTENCY_WAIT_SECONDS=0.2)
    org = paying_organisation(db, gateway)
    org.save_offline_card()
    booking_id = org.book()
    path = f"/therapist/bookings/{booking_id}/confirm"
    therapist = org.therapist.identity
    gateway.hold = 60  # charging until released, however slow the machine
    first = asyncio.ensure_future(api.request("POST", path, identity=therapist,
                                              headers=keyed("k")))
    try:
        assert await asyncio.to_thread(gateway.charging.wait, 30)
        status, body = await api.request("POST", path, identity=therapist, headers=keyed("k"))
    finally:
        gateway.released.set()
    assert status == 409 and body["error"]["code"] == "in_progress"
    answered = await first
    assert answered[0] == 200
    assert await api.request("POST", path, identity=therapist, headers=keyed("k")) == answered
    assert len(gateway.payments) == 1


async def test_answers_expire_and_a_request_left_running_is_taken_over(aiohttp_client, db):
    api, gateway = await serve(aiohttp_client, db)
    org = paying_organisation(db, gateway)
    booking_id = org.book()
    path = f"/therapist/bookings/{booking_id}/confirm"
    therapist = org.therapist.identity
    status, _ = await api.request("POST", path, identity=therapist, headers=keyed("k"))
    assert status == 200
    assert idempotency.purge_expired(db, utcnow() + timedelta(days=2)) == 1
    status, body = await api.request("POST", path, identity=therapist, headers=keyed("k"))
    assert status == 409 and "already been confirmed" in body["error"]["message"]

    # A process stopped mid-request: its row stays "in progress"; later a repeat runs it.
    claim = idempotency.begin(db, "test:x", "left", "f", ttl=timedelta(hours=1),
                              stale_after=timedelta(minutes=5))
    assert claim is idempotency.Claim.FIRST
    assert idempotency.begin(db, "test:x", "left", "f", ttl=timedelta(hours=1),
                             stale_after=timedelta(minutes=5)) is idempotency.Claim.IN_PROGRESS
    assert idempotency.begin(db, "test:x", "left", "f", ttl=timedelta(hours=1),
                             stale_after=timedelta(minutes=5),
                             now=utcnow() + timedelta(minutes=6)) is idempotency.Claim.FIRST
    with db.reader() as session:  # a refusal is not kept (it changed nothing): "left" only
        assert session.scalar(select(func.count(IdempotentReply.id))) == 1


@pytest.mark.parametrize("method", ["GET"])
async def test_reads_are_never_stored(aiohttp_client, db, method):
    api, gateway = await serve(aiohttp_client, db)
    org = paying_organisation(db, gateway)
    status, _ = await api.request(method, "/me/bookings", identity=org.member.identity,
                                  headers=keyed("read"))
    assert status == 200
    with db.reader() as session:
        assert session.scalar(select(func.count(IdempotentReply.id))) == 0
