"""The contract's answer dataclasses agree with the backend's /openapi.json, field by field, and
`from_json` refuses answers of another shape (which the client reports as a failing backend)."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime, timezone
from typing import Any, Literal, Union

import pytest
from aiohttp import web

from backend.api.app import create_app
from backend.api.openapi import document
from backend.settings import Settings
from contracts import answers
from contracts.answers import ANSWERS, Answer, ContractError, is_required
from contracts.backend_client import BackendClient, BackendUnavailable
from contracts.http_session import SharedSession
from contracts.identity import ChatIdentity
from contracts.settings import BackendSettings

Shape = tuple[Any, ...]


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    app = create_app(None, Settings(BACKEND_SERVICE_TOKEN="test"))  # type: ignore[arg-type]
    return document(app, title="test", version="1")["components"]["schemas"]


def python_shape(kind: Any) -> Shape:
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if origin in (Union, types.UnionType):
        (inner,) = [a for a in arguments if a is not type(None)]
        return ("nullable", python_shape(inner))
    if origin is Literal:
        return ("enum", tuple(sorted(arguments)))
    if origin is list:
        return ("array", python_shape(arguments[0]))
    if origin is dict:
        return ("object", python_shape(arguments[1]))
    if isinstance(kind, type) and issubclass(kind, Answer):
        return ("ref", kind.schema)
    return {datetime: ("string", "date-time"), str: ("string", None), int: ("integer",),
            bool: ("boolean",), Any: ("any",)}[kind]


def schema_shape(schema: dict[str, Any], schemas: dict[str, Any]) -> Shape:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        target = schemas[name]
        return ("enum", tuple(sorted(target["enum"]))) if "enum" in target else ("ref", name)
    if "anyOf" in schema:
        others = [s for s in schema["anyOf"] if s.get("type") != "null"]
        assert len(others) == 1 and len(schema["anyOf"]) == 2, schema
        return ("nullable", schema_shape(others[0], schemas))
    if "enum" in schema:
        return ("enum", tuple(sorted(schema["enum"])))
    kind = schema.get("type")
    if kind == "array":
        return ("array", schema_shape(schema["items"], schemas))
    if kind == "object":
        values = schema.get("additionalProperties", True)
        return ("object", ("any",) if values is True else schema_shape(values, schemas))
    if kind == "string":
        return ("string", "date-time" if schema.get("format") == "date-time" else None)
    return (kind,)


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda a: a.__name__)
def test_each_answer_dataclass_agrees_with_the_openapi_document(answer, schemas):
    schema = schemas[answer.schema]
    fields = {f.name: f for f in dataclasses.fields(answer)}
    assert set(fields) == set(schema["properties"]), "field names"
    assert {name for name, f in fields.items() if is_required(f)} == set(
        schema.get("required", [])), "required fields"
    hints = typing.get_type_hints(answer)
    for name in fields:
        assert python_shape(hints[name]) == schema_shape(schema["properties"][name], schemas), \
            name


def test_every_answer_schema_the_contract_names_is_covered(schemas):
    named = {a.schema for a in ANSWERS}
    for answer in ANSWERS:  # a nested schema must have its dataclass too
        hints = typing.get_type_hints(answer)
        for field in dataclasses.fields(answer):
            shape = python_shape(hints[field.name])
            while shape[0] in ("nullable", "array", "object"):
                shape = shape[1]
            if shape[0] == "ref":
                assert shape[1] in named and shape[1] in schemas


BOOKING = {"id": 7, "therapist_id": 3, "therapist_name": "Dr Ada", "status": "requested",
           "starts_at": "2030-05-14T16:00:00+00:00", "ends_at": "2030-05-14T16:50:00Z",
           "modality": "video", "paid_by_organisation": True, "grant_id": 2, "offer_name": None,
           "sessions_remaining_on_grant": 4, "voucher_status": "held",
           "rescheduled_from_id": None, "member_name": None, "added_later": "ignored"}


def test_from_json_reads_types_dates_and_nested_answers():
    booking = answers.Booking.from_json(BOOKING)
    assert booking.starts_at == datetime(2030, 5, 14, 16, tzinfo=timezone.utc)
    assert booking.ends_at.minute == 50 and booking.voucher_status == "held"
    me = answers.Me.from_json({"identity": "test:a", "member_id": 1, "organisation_id": 2,
                               "role": "member", "therapist_id": None, "grants": [
                                   {"id": 1, "authorisation_id": 2, "coverage":
                                    "new_relationship", "sessions_per_user": 6,
                                    "sessions_remaining": 5, "active": True}]})
    assert me.grants[0].sessions_remaining == 5
    unknown = answers.IdentityVerification.from_json({"identity": "slack:T:U",
                                                      "status": "not_member"})
    assert unknown.member_id is None and not unknown.is_member


@pytest.mark.parametrize(("change", "problem"), [
    ({"id": "7"}, "Booking.id: expected a whole number"),
    ({"id": True}, "Booking.id: expected a whole number"),
    ({"status": "lost"}, "Booking.status: 'lost' is not one of"),
    ({"starts_at": "tomorrow"}, "Booking.starts_at: 'tomorrow' is not a date-time"),
    ({"paid_by_organisation": 1}, "Booking.paid_by_organisation: expected true or false"),
    ({"therapist_name": None}, "Booking.therapist_name: expected text"),
    ({"grant_id": None}, None),  # may be null
])
def test_from_json_refuses_another_shape(change, problem):
    body = {**BOOKING, **change}
    if problem is None:
        assert answers.Booking.from_json(body).grant_id is None
        return
    with pytest.raises(ContractError, match=problem):
        answers.Booking.from_json(body)


def test_a_missing_required_field_and_a_wrong_container_are_refused():
    with pytest.raises(ContractError, match="missing 'member_name'"):
        answers.Booking.from_json({k: v for k, v in BOOKING.items() if k != "member_name"})
    with pytest.raises(ContractError, match="expected a list"):
        answers.Bookings.from_json({"bookings": BOOKING})
    with pytest.raises(ContractError, match=r"Bookings.bookings\[0\]: expected an object"):
        answers.Bookings.from_json({"bookings": [7]})
    with pytest.raises(ContractError, match="missing 'identity'"):  # required, though defaulted
        answers.IdentityVerification.from_json({"status": "linked"})


async def test_the_client_reports_an_answer_outside_the_contract_as_an_outage(aiohttp_server):
    async def bookings(_: web.Request) -> web.Response:
        return web.json_response({"bookings": [{**BOOKING, "status": "lost"}]})

    app = web.Application()
    app.router.add_get("/me/bookings", bookings)
    server = await aiohttp_server(app)
    session = SharedSession()
    try:
        client = BackendClient(ChatIdentity("test", "ann"),
                               BackendSettings(str(server.make_url("/")), "token"),
                               session=session)
        with pytest.raises(BackendUnavailable, match="outside the contract"):
            await client.bookings()
    finally:
        await session.close()
