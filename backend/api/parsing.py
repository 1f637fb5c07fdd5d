"""Requests parsed into pydantic models at the API edge; every refusal is a clear InvalidInput.

A route declares the shapes of its path, query string and JSON body (backend/api/requests.py);
`parsed` reads one of them. Bodies are bounded in size by aiohttp (BACKEND_MAX_BODY_BYTES) and in
nesting depth here; values too large for the database's integer columns never reach it. The
wording of the messages is services/validation.py's, so a wrong type reads the same whether the
edge or a service refuses it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, ValidationError
from pydantic_core import ErrorDetails

from backend.domain.errors import InvalidInput
from backend.services import validation

M = TypeVar("M", bound=BaseModel)

# The database's id columns are 32-bit integers (PostgreSQL INTEGER).
MAX_ID = 2**31 - 1
# Deeper JSON than this is no request this API takes (search filters are the deepest, at 2).
MAX_JSON_DEPTH = 8
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")


def _ascii_whole_number(value: object) -> object:
    """Path and query values are text: only ASCII digits are a number ("²" and "1_0" are not)."""
    if isinstance(value, str):
        if not _ASCII_DIGITS.fullmatch(value):
            raise ValueError("not a whole number")
        return int(value)
    return value


def _storable(value: str) -> str:
    # A NUL or a lone surrogate cannot be stored (PostgreSQL, UTF-8): refused, not a 500.
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains a lone surrogate") from None
    return value


Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
PathId = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_ascii_whole_number)]
QueryNumber = Annotated[int, BeforeValidator(_ascii_whole_number)]
Text = Annotated[str, AfterValidator(_storable)]


def parsed(model: type[M], values: Mapping[str, Any], *, source: str = "body") -> M:
    """`values` (a JSON object, the query string or the path's parameters) as `model`."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as error:
        raise InvalidInput(_message(model, error.errors()[0], source)) from None


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request's JSON object ({} without a body); anything else is a clear 400."""
    if not request.body_exists:  # (read() keeps the body: a middleware may have read it)
        return {}
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("The request body is not valid JSON.") from None
    except RecursionError:
        raise InvalidInput(_too_deep()) from None
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object.")
    if _depth(body) > MAX_JSON_DEPTH:
        raise InvalidInput(_too_deep())
    return body


def _too_deep() -> str:
    return f"The request body is nested too deeply (at most {MAX_JSON_DEPTH} levels)."


def _depth(value: object) -> int:
    deepest, level = 0, [(value, 1)]
    while level:
        item, depth = level.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            level.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            level.extend((child, depth + 1) for child in item)
    return deepest


def _message(model: type[BaseModel], error: ErrorDetails, source: str) -> str:
    name = str(error["loc"][0]) if error["loc"] else source
    if source == "path":
        return f"'{error.get('input')}' is not a valid id."
    field = model.model_fields.get(name)
    what = field.title if field is not None and field.title else name.replace("_", " ")
    if source == "query":
        what = f"'{name}' parameter"
    kind, context = error["type"], error.get("ctx", {})
    if kind == "missing":
        return validation.missing(what)
    if kind.startswith("int_") or (kind == "value_error" and source == "query"):
        return validation.not_whole_number(what)
    if kind in ("greater_than_equal", "less_than_equal"):  # only ids are bounded here
        return validation.not_an_id(what)
    if kind.startswith("bool_"):
        return validation.not_true_or_false(what)
    if kind == "string_too_long":
        return validation.too_long(what, context["max_length"])
    if kind.startswith("string_"):
        return validation.not_text(what)
    if kind in ("enum", "literal_error"):
        return validation.not_one_of(what, str(context.get("expected", "")))
    if kind == "too_long":
        return validation.too_many(what, context["max_length"])
    return f"The {what} is not valid: {error['msg'].removeprefix('Value error, ')}."

