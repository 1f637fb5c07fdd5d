"""Authentication, permissions and bad input over real HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backend.models import Authorisation, Grant, Organisation
from tests.backend import factories


async def register(api, identity: str, name: str = "Acme") -> int:
    status, body = await api.request("POST", "/organisations", identity=identity, json={
        "name": name, "admin_name": "Sam", "admin_email": f"sam@{name.lower()}.example"})
    assert status == 201, body
    return body["organisation_id"]


async def test_health_needs_no_credential(api):
    status, body = await api.request("GET", "/health", token="", identity=None)
    assert (status, body) == (200, {"status": "ok"})


@pytest.mark.parametrize("token", ["", "wrong-token", "test-service-token-but-longer"])
async def test_a_wrong_service_credential_is_refused(api, token):
    status, body = await api.request("GET", "/me", token=token)
    assert status == 401 and body["error"]["code"] == "unauthenticated"


async def test_an_acting_identity_is_required_and_must_be_well_formed(api):
    status, body = await api.request("GET", "/me", identity=None)
    assert status == 400 and "X-Acting-For" in body["error"]["message"]
    status, body = await api.request("GET", "/me", identity="no-channel-here")
    assert status == 400 and body["error"]["code"] == "invalid_input"


async def test_register_then_create_authorisation_invite_and_redeem(api, db):
    await register(api, "slack:T1:UADMIN")
    status, me = await api.request("GET", "/me", identity="slack:T1:UADMIN")
    assert status == 200 and me["role"] == "admin"
    status, offer = await api.request("POST", "/authorisations", identity="slack:T1:UADMIN",
                                      json={"coverage": "first_relationship",
                                            "sessions_per_user": 7, "user_limit": 5})
    assert status == 201 and offer["places_left"] == 5
    status, invite = await api.request("POST", f"/authorisations/{offer['id']}/invites",
                                       identity="slack:T1:UADMIN", json={})
    assert status == 201 and invite["code"] in invite["email_text"]
    status, redeemed = await api.request("POST", "/invites/redeem", identity="slack:T1:UBEN",
                                         json={"code": invite["code"].lower()})
    assert status == 201 and redeemed["grant"]["sessions_remaining"] == 7
    status, grants = await api.request("GET", "/me/grants", identity="slack:T1:UBEN")
    assert [g["id"] for g in grants["grants"]] == [redeemed["grant"]["id"]]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"coverage": "first_relationship", "sessions_per_user": "7", "user_limit": 5},
         "whole number"),
        ({"coverage": "first_relationship", "sessions_per_user": 7, "user_limit": 0},
         "between"),
        ({"coverage": ["first_relationship"], "sessions_per_user": 7, "user_limit": 5},
         "coverage"),
        ({"sessions_per_user": 7}, "coverage"),
    ],
)
async def test_wrong_types_get_a_clear_400_and_change_nothing(api, db, body, fragment):
    await register(api, "test:admin")
    status, error = await api.request("POST", "/authorisations", identity="test:admin", json=body)
    assert status == 400 and fragment in error["error"]["message"]
    with db.reader() as session:
        assert session.scalar(select(func.count(Authorisation.id))) == 0


async def test_malformed_json_and_non_objects_are_refused(api, db):
    await register(api, "test:admin")
    for payload in (b"{not json", b"[1, 2, 3]", b"\xff\xfe"):
        status, error = await api.request("POST", "/authorisations", identity="test:admin",
                                          data=payload,
                                          headers={"Content-Type": "application/json"})
        assert status == 400, payload
        assert error["error"]["code"] == "invalid_input"
    with db.reader() as session:
        assert session.scalar(select(func.count(Authorisation.id))) == 0


async def test_huge_payloads_are_refused(api, db):
    status, error = await api.request("POST", "/organisations", identity="test:big",
                                      json={"name": "x" * (2 * 1024 * 1024)})
    assert status == 413 and error["error"]["code"] == "too_large"
    with db.reader() as session:
        assert session.scalar(select(func.count(Organisation.id))) == 0


async def test_members_cannot_use_admin_routes(api, db):
    organisation_id = await register(api, "test:admin")
    member = factories.add_member(db, organisation_id)
    for method, path in [("GET", "/authorisations"), ("POST", "/authorisations"),
                         ("GET", "/organisation"), ("POST", "/organisation/admins")]:
        status, error = await api.request(method, path, identity=member.identity, json={})
        assert status == 403, (method, path)
        assert "admins" in error["error"]["message"]


async def test_other_organisations_ids_are_refused_and_nothing_changes(api, db):
    await register(api, "test:acme-admin", "Acme")
    await register(api, "test:globex-admin", "Globex")
    status, offer = await api.request("POST", "/authorisations", identity="test:acme-admin",
                                      json={"coverage": "first_relationship",
                                            "sessions_per_user": 3, "user_limit": None})
    assert status == 201
    for method, path in [("GET", f"/authorisations/{offer['id']}"),
                         ("POST", f"/authorisations/{offer['id']}/revoke"),
                         ("POST", f"/authorisations/{offer['id']}/invites"),
                         ("GET", f"/authorisations/{offer['id']}/invites")]:
        status, _ = await api.request(method, path, identity="test:globex-admin", json={})
        assert status == 404, (method, path)
    status, offer_now = await api.request("GET", f"/authorisations/{offer['id']}",
                                          identity="test:acme-admin")
    assert offer_now["status"] == "active"


async def test_unknown_ids_and_bad_ids_are_clear_errors(api):
    await register(api, "test:admin")
    status, _ = await api.request("GET", "/authorisations/999999", identity="test:admin")
    assert status == 404
    status, error = await api.request("GET", "/authorisations/abc", identity="test:admin")
    assert status == 400 and "not a valid id" in error["error"]["message"]
    status, error = await api.request("POST", "/authorisations/1/explode", identity="test:admin")
    assert status in (404, 405)


async def test_strangers_cannot_join_offers(api, db):
    status, error = await api.request("POST", "/me/grants", identity="test:stranger",
                                      json={"authorisation_id": 1})
    assert status == 403 and "organisation" in error["error"]["message"]
    with db.reader() as session:
        assert session.scalar(select(func.count(Grant.id))) == 0
