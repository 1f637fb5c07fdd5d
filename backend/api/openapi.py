"""Each route declares its shapes with `endpoint`; the OpenAPI 3.1 document is built from them.

`endpoint` parses the path, query string and body into the declared pydantic models before the
handler runs (a refusal is a 400 with a message), and renders what the handler returns with the
declared status. `document(app)` walks the app's router, so every served route is described
exactly as it is parsed; pydantic writes the JSON Schemas (JSON Schema 2020-12, as OpenAPI 3.1).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import CoreModeRef, CoreRef, DefsRef, GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from backend.api.http import respond
from backend.api.parsing import json_object, parsed
from backend.services.spelling import SPELLINGS
from contracts.answers import ANSWERS, Answer
from contracts.api import ErrorAnswer
from contracts.identity import ACTING_FOR_HEADER, VERIFIED_EMAIL_HEADER

Auth = Literal["service", "portal", "public"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_REF = "#/components/schemas/{model}"
_OPERATION = "openapi_operation"
HTML = "text/html"

SECURITY_SCHEMES = {
    "serviceToken": {
        "type": "http", "scheme": "bearer",
        "description": "BACKEND_SERVICE_TOKEN, the shared credential of the action server and "
                       "the channels. Sent with the acting identity.",
    },
    "actingFor": {
        "type": "apiKey", "in": "header", "name": ACTING_FOR_HEADER,
        "description": "The chat identity the caller has verified, `<channel>:<id>` (e.g. "
                       f"`slack:T0123:U0456`); channels that verified an email add "
                       f"`{VERIFIED_EMAIL_HEADER}`.",
    },
    "portalSession": {
        "type": "apiKey", "in": "cookie", "name": "portal_session",
        "description": "The portal's HttpOnly, SameSite=Strict session cookie. State-changing "
                       "portal calls also need an allowed Origin header.",
    },
}
# The portal's cookie is optional: without it the session answers "signed out".
SECURITY: dict[Auth, list[dict[str, list[str]]]] = {
    "service": [{"serviceToken": [], "actingFor": []}],
    "portal": [{"portalSession": []}, {}],
    "public": [],
}


@dataclass(frozen=True)
class Operation:
    summary: str
    answer: Any  # a type pydantic can describe (a model, a dataclass, a TypedDict)
    status: int
    path: type[BaseModel] | None
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    auth: Auth
    content_type: str
    # A page a person lands on (a sign-in link): refusals may be a page (text/html) too.
    html_refusals: bool = False
    # Other statuses answered with a page (text/html), each with what it means.
    pages: tuple[tuple[int, str], ...] = ()


def endpoint(summary: str, *, answer: Any, status: int = 200,
             path: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
             body: type[BaseModel] | None = None, auth: Auth = "service",
             content_type: str = "application/json", html_refusals: bool = False,
             pages: tuple[tuple[int, str], ...] = ()) -> Callable[[Callable[..., Any]], Handler]:
    operation = Operation(summary, answer, status, path, query, body, auth, content_type,
                          html_refusals, pages)

    def decorate(handler: Callable[..., Any]) -> Handler:
        @functools.wraps(handler)
        async def handle(request: web.Request) -> web.StreamResponse:
            arguments: dict[str, BaseModel] = {}
            if path is not None:
                arguments["path"] = parsed(path, request.match_info, source="path")
            if query is not None:
                arguments["query"] = parsed(query, request.query, source="query")
            if body is not None:
                arguments["body"] = parsed(body, await json_object(request))
            result = await handler(request, **arguments)
            if isinstance(result, web.StreamResponse):
                return result
            return respond(result, status=status)

        setattr(handle, _OPERATION, operation)
        return handle

    return decorate


def operation_of(route: web.AbstractRoute) -> Operation | None:
    return getattr(route.handler, _OPERATION, None)


def document(app: web.Application, *, title: str, version: str) -> dict[str, Any]:
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        operation = operation_of(route)
        if operation is None or route.method == "HEAD" or route.resource is None:
            continue
        paths.setdefault(route.resource.canonical, {})[route.method.lower()] = \
            _describe(operation, route, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.found.items())),
                       "securitySchemes": SECURITY_SCHEMES},
    }


def _describe(operation: Operation, route: web.AbstractRoute,
              schemas: _Schemas) -> dict[str, Any]:
    handler = route.handler
    described: dict[str, Any] = {
        "operationId": f"{handler.__module__.rsplit('.', 1)[-1]}.{handler.__name__}",
        "summary": operation.summary,
        "security": SECURITY[operation.auth],
        "parameters": [*_parameters(operation.path, "path", schemas),
                       *_parameters(operation.query, "query", schemas)],
        "responses": {
            str(operation.status): {
                "description": operation.summary,
                "content": {operation.content_type: {"schema": (
                    {"type": "string"} if operation.content_type == HTML
                    else schemas.of(operation.answer, "serialization"))}},
            },
            "4XX": {"description": "Refused; the message can be shown to a person.",
                    "content": {"application/json": {"schema": schemas.of(ErrorAnswer)}}},
        },
    }
    if operation.html_refusals:
        described["responses"]["4XX"]["content"][HTML] = {"schema": {"type": "string"}}
    for page_status, meaning in operation.pages:
        described["responses"][str(page_status)] = {
            "description": meaning, "content": {HTML: {"schema": {"type": "string"}}}}
    if operation.body is not None:
        described["requestBody"] = {"required": False, "content": {
            "application/json": {"schema": schemas.of(operation.body, "validation")}}}
    return described


def _parameters(model: type[BaseModel] | None, place: str,
                schemas: _Schemas) -> list[dict[str, Any]]:
    if model is None:
        return []
    properties = schemas.inline(model)["properties"]
    return [{"name": name, "in": place, "required": place == "path" or field.is_required(),
             "schema": properties[name]} for name, field in model.model_fields.items()]


# The answers of contracts/answers.py are named by the schema each says it is (`Answer.schema`),
# and the Literals they spell the domain's enums with are the enums' named schemas, as when the
# backend answered with its own dataclasses.
_ANSWER_NAMES = {f"{answer.__module__}.{answer.__qualname__}": answer.schema for answer in ANSWERS}
_NAMED_ENUMS: dict[frozenset[str], type[Enum]] = {
    frozenset(member.value for member in kind): kind for kind, _ in SPELLINGS}


def _named_enum(schema: Any) -> type[Enum] | None:  # a core schema, or a field's
    if schema["type"] != "literal":
        return None
    return _NAMED_ENUMS.get(frozenset(schema["expected"]))


def _name(kind: Any) -> str | None:
    if isinstance(kind, type) and issubclass(kind, Answer):
        return kind.schema
    return getattr(kind, "__name__", None)


class _JsonSchema(GenerateJsonSchema):
    """Answers and enums named as above. A tuple of one type (a [first, last] hour pair) as an
    array of that type: schemathesis misreads 2020-12 `prefixItems`."""

    def get_defs_ref(self, core_mode_ref: CoreModeRef) -> DefsRef:
        core_ref, mode = core_mode_ref
        qualified, _, identity = core_ref.rpartition(":")
        if qualified in _ANSWER_NAMES:
            core_ref = CoreRef(f"{_ANSWER_NAMES[qualified]}:{identity}")
        return super().get_defs_ref((core_ref, mode))

    def dataclass_schema(self, schema: core_schema.DataclassSchema) -> JsonSchemaValue:
        generated = super().dataclass_schema(schema)
        if issubclass(schema["cls"], Answer):
            generated["title"] = schema["cls"].schema
        return generated

    def literal_schema(self, schema: core_schema.LiteralSchema) -> JsonSchemaValue:
        named = _named_enum(schema)
        if named is not None:
            return self.generate_inner(TypeAdapter(named).core_schema)
        return super().literal_schema(schema)

    def field_title_should_be_set(self, schema: Any) -> bool:
        return _named_enum(schema) is None and super().field_title_should_be_set(schema)

    def tuple_schema(self, schema: core_schema.TupleSchema) -> JsonSchemaValue:
        generated = super().tuple_schema(schema)
        prefix = generated.get("prefixItems", [])
        if prefix and all(item == prefix[0] for item in prefix):
            generated["items"] = generated.pop("prefixItems")[0]
        return generated


class _Schemas:
    """The named schemas the document refers to, gathered from each type pydantic describes."""

    def __init__(self) -> None:
        self.found: dict[str, Any] = {}

    def inline(self, kind: Any, mode: Literal["validation", "serialization"] = "validation"
               ) -> dict[str, Any]:
        schema = TypeAdapter(kind).json_schema(ref_template=_REF, mode=mode,
                                               schema_generator=_JsonSchema)
        for name, definition in schema.pop("$defs", {}).items():
            self._add(name, definition)
        return schema

    def of(self, kind: Any, mode: Literal["validation", "serialization"] = "serialization"
           ) -> dict[str, Any]:
        schema = self.inline(kind, mode)
        name = _name(kind)
        if name is None or "properties" not in schema:
            return schema
        self._add(name, schema)
        return {"$ref": _REF.format(model=name)}

    def _add(self, name: str, schema: dict[str, Any]) -> None:
        if self.found.setdefault(name, schema) != schema:
            raise ValueError(f"two different shapes are both called {name}")
