"""Asking for a person: recorded with the asker's organisation, over the service and over HTTP."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from backend.api.app import create_app
from backend.domain.enums import RiskKind
from backend.domain.errors import Conflict, InvalidInput
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


def test_a_missing_topic_is_refused_and_nothing_is_stored(db):
    with pytest.raises(InvalidInput, match="Please give the topic"):
        handoffs.request(db, factories.stranger(db), topic=None)
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


# ------------------------------------------------------------------ urgent: crisis and safety

def test_a_crisis_alert_is_urgent_keeps_the_kind_and_time_and_no_words(db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    when = datetime(2026, 12, 1, 22, 15, tzinfo=timezone.utc)
    created = handoffs.request(db, member, topic="crisis", risk_kind=RiskKind.EMERGENCY,
                               message="I took a whole packet", occurred_at=when)
    assert created.urgent and created.risk_kind == "emergency"
    with db.reader() as session:
        row = session.get(HandoffRequest, created.id)
        assert (row.urgent, row.risk_kind, row.occurred_at, row.message, row.identity) == (
            True, "emergency", when, "", member.identity)
        # The audit log does not tie it to the organisation (an admin view is scoped by it),
        # and says nothing of the topic or the kind.
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.subject_type == "handoff_request")).one()
        assert (event.action, event.organisation_id, event.details) == (
            "handoff.urgent", None, {})


def test_a_safety_request_is_urgent_and_an_ordinary_one_is_not(db):
    stranger = factories.stranger(db)
    assert handoffs.request(db, stranger, topic="safety",
                            risk_kind=RiskKind.SOMEONE_ELSE).urgent
    ordinary = handoffs.request(db, stranger, topic="booking", message="a slot please")
    assert not ordinary.urgent and ordinary.risk_kind is None


def test_the_same_reference_is_recorded_once(db):
    stranger = factories.stranger(db)
    first = handoffs.request(db, stranger, topic="crisis", reference="abc123")
    again = handoffs.request(db, stranger, topic="crisis", reference="abc123")
    assert first.id == again.id
    with db.reader() as session:
        assert len(session.scalars(select(HandoffRequest)).all()) == 1


def test_someone_elses_reference_is_refused(db):
    handoffs.request(db, factories.stranger(db), topic="crisis", reference="abc123")
    with pytest.raises(Conflict):
        handoffs.request(db, factories.stranger(db), topic="crisis", reference="abc123")


@pytest.mark.parametrize("fields", [
    {"topic": None},
    {"topic": ""},
    {"topic": "   "},
    {"topic": "x" * 65},
    {"topic": 7},
    {"topic": "crisis", "risk_kind": "sad"},
    {"topic": "crisis", "risk_kind": 3},
    {"topic": "booking", "risk_kind": "suicidal"},
    {"topic": "crisis", "occurred_at": "yesterday"},
    {"topic": "crisis", "occurred_at": "2026-12-01T10:00:00"},  # no time zone
    {"topic": "crisis", "occurred_at": "2999-01-01T10:00:00+00:00"},
    {"topic": "crisis", "occurred_at": 1764600000},
    {"topic": "crisis", "reference": "x" * 65},
    {"topic": "crisis", "reference": 12},
])
async def test_bad_fields_are_a_400_and_nothing_is_stored(aiohttp_client, db, fields):
    client = await aiohttp_client(create_app(db, Settings(BACKEND_SERVICE_TOKEN=TOKEN)))
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Acting-For": "teams:tenant:user"}
    response = await client.post("/handoffs", json=fields, headers=headers)
    assert response.status == 400, await response.text()
    assert (await response.json())["error"]["code"] == "invalid_input"
    with db.reader() as session:
        assert session.scalars(select(HandoffRequest)).all() == []


async def test_post_a_crisis_alert_over_http(aiohttp_client, db):
    client = await aiohttp_client(create_app(db, Settings(BACKEND_SERVICE_TOKEN=TOKEN)))
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Acting-For": "teams:tenant:user"}
    alert = {"topic": "crisis", "risk_kind": "danger_from_others", "reference": "r-1",
             "occurred_at": "2026-12-02T09:30:00+00:00"}
    response = await client.post("/handoffs", json=alert, headers=headers)
    body = await response.json()
    assert response.status == 201
    assert (body["urgent"], body["risk_kind"], body["topic"]) == (
        True, "danger_from_others", "crisis")
    again = await client.post("/handoffs", json=alert, headers=headers)
    assert again.status == 201 and (await again.json())["id"] == body["id"]
    refused = await client.post("/handoffs", json={**alert, "risk_kind": "bad", "reference": ""},
                                headers=headers)
    assert refused.status == 400
    assert "kind of risk" in (await refused.json())["error"]["message"]


async def test_no_admin_view_shows_an_urgent_request(aiohttp_client, db):
    admin = factories.register_organisation(db)
    member = factories.add_member(db, admin.organisation_id)
    handoffs.request(db, member, topic="crisis", risk_kind=RiskKind.SUICIDAL)
    handoffs.request(db, member, topic="safety", risk_kind=RiskKind.SUICIDAL)
    client = await aiohttp_client(create_app(db, Settings(BACKEND_SERVICE_TOKEN=TOKEN)))
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Acting-For": admin.identity}
    for path in ("/organisation", "/authorisations", "/reports/spend", "/me",
                 "/me/notifications"):
        response = await client.get(path, headers=headers)
        text = await response.text()
        assert response.status == 200, (path, text)
        assert not any(word in text for word in ("crisis", "safety", "suicidal", "urgent")), path
