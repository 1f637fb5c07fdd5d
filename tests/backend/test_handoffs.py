"""Asking for a person: recorded with the asker's organisation, over the service and over HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.api.app import create_app
from backend.domain.errors import InvalidInput
from backend.models import AuditEvent, HandoffRequest
from backend.services import handoffs
from backend.settings import Settings
from tests.backend import factories

TOKEN = "handoff-test-token"


def test_a_member_request_is_recorded_with_their_organisation(db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    created = handoffs.request(db, member, topic="booking", message="I can't find a slot")
    assert created.status == "open" and created.topic == "booking"
    with db.reader() as session:
        row = session.get(HandoffRequest, created.id)
        assert (row.organisation_id, row.member_id, row.identity) == (
            admin.organisation_id, member.member_id, member.identity)
        assert row.message == "I can't find a slot"
        assert session.scalar(select(AuditEvent.action).where(
            AuditEvent.subject_type == "handoff_request")) == "handoff.requested"


def test_someone_outside_any_organisation_can_ask_too(db):
    stranger = factories.stranger(db)
    created = handoffs.request(db, stranger, topic="general")
    with db.reader() as session:
        row = session.get(HandoffRequest, created.id)
        assert row.organisation_id is None and row.member_id is None and row.message == ""


@pytest.mark.parametrize("topic", [None, "", "   ", "x" * 65, 7])
def test_a_missing_or_bad_topic_is_refused_and_nothing_is_stored(db, topic):
    with pytest.raises(InvalidInput):
        handoffs.request(db, factories.stranger(db), topic=topic)
    with db.reader() as session:
        assert session.scalars(select(HandoffRequest)).all() == []


def test_a_long_message_is_cut_to_the_limit(db):
    created = handoffs.request(db, factories.stranger(db), topic="general", message="a" * 5000)
    with db.reader() as session:
        assert len(session.get(HandoffRequest, created.id).message) == handoffs.MAX_MESSAGE_LENGTH


async def test_post_handoffs_over_http(aiohttp_client, db):
    client = await aiohttp_client(create_app(db, Settings(BACKEND_SERVICE_TOKEN=TOKEN)))
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Acting-For": "slack:T1:U1"}
    response = await client.post("/handoffs", json={"topic": "safety", "message": "please call"},
                                 headers=headers)
    body = await response.json()
    assert response.status == 201 and body["topic"] == "safety" and body["status"] == "open"
    response = await client.post("/handoffs", json={"message": "no topic"}, headers=headers)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "invalid_input"
    response = await client.post("/handoffs", json={"topic": "x"},
                                 headers={"X-Acting-For": "slack:T1:U1"})
    assert response.status == 401
