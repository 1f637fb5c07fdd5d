"""Safe retries end to end: the bot's backend client against the real backend app over HTTP, on
both databases. A change whose answer is slower than the client's timeout is asked again with
its key and the real outcome comes back (done once); a redelivered message (same conversation,
message id and action) replays instead of doing it twice; past the client's patience the person
is told the outcome is unknown, never "nothing was changed"."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from backend.api.app import create_app
from backend.models import Booking, Charge
from backend.settings import Settings
from contracts.backend_client import BackendClient, BackendError, BackendOutcomeUnknown
from contracts.http_session import SharedSession
from contracts.identity import ChatIdentity
from contracts.settings import BackendSettings
from tests.backend import booking_factories as bf
from tests.backend.stripe_standins import SlowGateway, paying_organisation

TOKEN = "retries-service-token"
SLOW_SECONDS = 1.5


@pytest.fixture
async def pool():
    session = SharedSession()
    yield session
    await session.close()


@pytest.fixture
async def served(aiohttp_server, db):
    gateway = SlowGateway(SLOW_SECONDS, public_base_url="http://backend.test")  # > the timeout
    app = create_app(db, Settings(BACKEND_SERVICE_TOKEN=TOKEN, IDEMPOTENCY_WAIT_SECONDS=0.3),
                     gateway=gateway)
    server = await aiohttp_server(app)
    org = paying_organisation(db, gateway)
    org.save_offline_card()
    return server, org, ChatIdentity.parse(org.therapist.identity)


def client(served, pool, *, scope: str | None, patience: float = 20,
           member: bool = False) -> BackendClient:
    server, org, therapist = served
    who = ChatIdentity.parse(org.member.identity) if member else therapist
    settings = BackendSettings(str(server.make_url("/")), TOKEN, timeout_seconds=0.5,
                               write_patience_seconds=patience)
    return BackendClient(who, settings, session=pool, idempotency_scope=scope)


def counts(db) -> tuple[int, int]:
    with db.reader() as session:
        return (session.scalar(select(func.count(Booking.id))),
                session.scalar(select(func.count(Charge.id))))


async def test_a_change_slower_than_the_timeout_reports_its_real_outcome_once(served, pool):
    org = served[1]
    booking_id = org.book()
    bot = client(served, pool, scope="conv-1\nmsg-1\naction_confirm")
    confirmed = await bot.post(f"/therapist/bookings/{booking_id}/confirm")
    assert confirmed["status"] == "confirmed"  # not "unavailable", not "already confirmed"
    assert len(org.gateway.payments) == 1


async def test_a_redelivered_message_replays_its_changes(served, pool):
    org = served[1]
    body = {"therapist_id": org.therapist_id, "starts_at": bf.slot(72).isoformat(),
            "modality": "video"}
    first = await client(served, pool, scope="c\nm\naction_book", member=True).post(
        "/bookings", body)
    again = await client(served, pool, scope="c\nm\naction_book", member=True).post(
        "/bookings", body)
    assert again == first and counts(org.db) == (1, 0)
    with pytest.raises(BackendError) as taken:  # a new message is a new request
        await client(served, pool, scope="c\nm2\naction_book", member=True).post(
            "/bookings", body)
    assert taken.value.status == 409


async def test_past_its_patience_the_client_says_the_outcome_is_unknown(served, pool):
    org = served[1]
    booking_id = org.book()
    impatient = client(served, pool, scope="conv-2\nmsg-1\naction_confirm", patience=0.6)
    with pytest.raises(BackendOutcomeUnknown):
        await impatient.post(f"/therapist/bookings/{booking_id}/confirm")
    # It went through meanwhile; asking again with the same key tells so.
    await asyncio.sleep(SLOW_SECONDS)
    again = client(served, pool, scope="conv-2\nmsg-1\naction_confirm")
    assert (await again.post(f"/therapist/bookings/{booking_id}/confirm"))["status"] == \
        "confirmed"
    assert len(org.gateway.payments) == 1
