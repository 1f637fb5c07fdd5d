"""Requests parsed into pydantic models at the API edge; every refusal is a clear InvalidInput.

A route declares the shapes of its path, query string and JSON body (backend/api/requests.py);
`parsed` reads one of them. Bodies are bounded in size by aiohttp (BACKEND_MAX_BODY_BYTES) and in
nesting depth here; values too large for the database's integer columns never reach it. The
services receive typed values (ints, enums, aware datetimes, trimmed text, checked email
addresses); the wording of the messages is services/validation.py's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from backend.domain.errors import InvalidInput
from backend.services import validation
from backend.services.bookings import checks

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


def _refused(message: str) -> PydanticCustomError:
    """A refusal whose message is shown as it is (see `_message`)."""
    return PydanticCustomError("refused", message)


def _as_text(value: object) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "Input should be a valid string")
    return _storable(value)


def _moment(value: object) -> datetime:
    """An ISO 8601 time with its offset, as an aware UTC datetime."""
    try:
        return checks.moment(_as_text(value))
    except InvalidInput as refusal:
        raise _refused(refusal.message) from None


def _email(value: object) -> str | None:
    if value in (None, ""):
        return None
    try:
        return validation.email_address(_as_text(value))
    except InvalidInput as refusal:
        raise _refused(refusal.message) from None


def _domain(value: object) -> str | None:
    try:
        return validation.optional_domain(None if value is None else _as_text(value))
    except InvalidInput as refusal:
        raise _refused(refusal.message) from None


def none_if_blank(value: str) -> str | None:
    return value or None


Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
PathId = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_ascii_whole_number)]
QueryNumber = Annotated[int, BeforeValidator(_ascii_whole_number)]
Text = Annotated[str, AfterValidator(_storable)]
# Trimmed text of at most 200 characters; blank is "not given" (the service asks for it).
ShortText = Annotated[Text, StringConstraints(strip_whitespace=True, max_length=200),
                      AfterValidator(none_if_blank)]
Moment = Annotated[datetime, BeforeValidator(_moment),
                   Field(examples=["2026-03-03T18:00:00+00:00"])]
# Checked and lower-cased; blank is "not given".
Email = Annotated[str | None, BeforeValidator(_email)]
Domain = Annotated[str | None, BeforeValidator(_domain), Field(examples=["example.com"])]


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
    if kind == "refused":
        return str(error["msg"])
    if kind == "missing":
        return validation.missing(what)
    if kind.startswith("int_") or (kind == "value_error" and source == "query"):
        return validation.not_whole_number(what)
    if kind in ("greater_than_equal", "less_than_equal"):  # only ids are bounded here
        return validation.not_an_id(what)
    if kind.startswith("bool_"):
        return validation.not_true_or_false(what)
    if kind == "string_too_long" or (kind == "too_long" and isinstance(error.get("input"), str)):
        return validation.too_long(what, context["max_length"])
    if kind.startswith("string_"):
        return validation.not_text(what)
    if kind in ("enum", "literal_error"):
        return validation.not_one_of(what, str(context.get("expected", "")))
    if kind == "too_long":
        return validation.too_many(what, context["max_length"])
    return f"The {what} is not valid: {error['msg'].removeprefix('Value error, ')}."

