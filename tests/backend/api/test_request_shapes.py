"""The API edge: hostile or malformed requests get a 400 naming the problem and change nothing;
the OpenAPI document describes every route as it is parsed."""

from __future__ import annotations

import pytest
from aiohttp import web
from sqlalchemy import func, select

from backend.api.openapi import operation_of
from backend.api.parsing import MAX_ID, MAX_JSON_DEPTH
from backend.models import Booking, Organisation
from tests.backend.api.test_api_basics import register


@pytest.mark.parametrize("raw", ["²", "٣", "1_0", "+5", "0", "-1", str(MAX_ID + 1), str(2**64),
                                 "9" * 40])
async def test_path_ids_are_ascii_digits_within_the_id_columns(api, raw):
    for method, path in (("GET", f"/bookings/{raw}"), ("GET", f"/authorisations/{raw}/invites"),
                         ("POST", f"/therapist/bookings/{raw}/confirm")):
        status, error = await api.request(method, path, identity="test:someone")
        assert status == 400, (path, error)
        assert error["error"] == {"code": "invalid_input",
                                  "message": f"'{raw}' is not a valid id."}


@pytest.mark.parametrize(("body", "message"), [
    ({"therapist_id": "3"}, "The therapist id must be a whole number."),
    ({"therapist_id": True}, "The therapist id must be a whole number."),
    ({"therapist_id": 2**64}, "The therapist id must be a positive whole number."),
    ({"therapist_id": 3, "self_pay": "yes"}, "The self pay must be true or false."),
    ({"therapist_id": 3, "starts_at": 1700000000}, "The starts at must be text."),
    ({"therapist_id": 3, "starts_at": "2030-01-01T09:00\u0000"},
     "The starts at is not valid: contains a NUL character."),
    ({"therapist_id": 3, "modality": "telepathy"},
     "The modality must be one of: 'in_person', 'video' or 'phone'."),
])
async def test_wrong_json_types_are_a_400_naming_the_field(api, db, body, message):
    status, error = await api.request("POST", "/bookings", identity="test:someone", json=body)
    assert (status, error["error"]["message"]) == (400, message)
    with db.reader() as session:
        assert session.scalar(select(func.count(Booking.id))) == 0


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, 20_000])
async def test_json_nested_deeper_than_the_limit_is_refused(api, db, depth):
    nested = "[" * depth + "]" * depth
    status, error = await api.request(
        "POST", "/organisations", identity="test:deep",
        headers={"Content-Type": "application/json"}, data=f'{{"name": {nested}}}'.encode())
    assert status == 400 and "nested too deeply" in error["error"]["message"]
    with db.reader() as session:
        assert session.scalar(select(func.count(Organisation.id))) == 0


async def test_query_values_are_checked_at_the_edge(api):
    status, error = await api.request("GET", "/me/bookings?upcoming=maybe",
                                      identity="test:someone")
    assert status == 400
    assert error["error"]["message"] == "The 'upcoming' parameter must be true or false."
    status, error = await api.request("GET", "/therapists/1/slots?days=²",
                                      identity="test:someone")
    assert status == 400
    assert error["error"]["message"] == "The 'days' parameter must be a whole number."


async def test_a_caller_without_permission_hears_that_before_a_missing_field(api, db):
    await register(api, "test:admin")
    status, _ = await api.request("POST", "/authorisations", identity="test:nobody", json={})
    assert status == 403


async def test_the_openapi_document_is_public_and_describes_every_route(api):
    status, document = await api.request("GET", "/openapi.json", token="", identity=None)
    assert status == 200 and document["openapi"].startswith("3.1")
    app: web.Application = api.client.server.app
    routes = [route for route in app.router.routes() if route.method != "HEAD"]
    undescribed = [route.resource.canonical for route in routes if operation_of(route) is None]
    assert undescribed == ["/portal/assets"]  # static files (or the "not built" answer)
    served = {(route.resource.canonical, route.method.lower()) for route in routes
              if operation_of(route) is not None}
    documented = {(path, method) for path, methods in document["paths"].items()
                  for method in methods}
    assert documented == served and len(documented) >= 40

    booking = document["paths"]["/bookings"]["post"]
    assert booking["security"] == [{"serviceToken": [], "actingFor": []}]
    body = booking["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    new_booking = document["components"]["schemas"][body.rsplit("/", 1)[-1]]
    assert new_booking["required"] == ["therapist_id", "starts_at", "modality"]
    answer = booking["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert answer.endswith("/BookingView")
    assert {"serviceToken", "actingFor", "portalSession"} <= set(
        document["components"]["securitySchemes"])
    assert document["paths"]["/health"]["get"]["security"] == []
    assert document["paths"]["/portal/api/session"]["get"]["security"][0] == {
        "portalSession": []}
    id_parameter = document["paths"]["/bookings/{id}"]["get"]["parameters"][0]
    assert id_parameter["schema"] == {"type": "integer", "minimum": 1, "maximum": MAX_ID,
                                      "title": "Id"}
