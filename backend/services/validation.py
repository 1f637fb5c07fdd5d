"""The wording of refusals of what people send, and the checks the API edge applies.

The API edge (backend/api/parsing.py) parses requests into typed values with these checks and
sentences; the services receive those values. What stays in a service is `required` (a field it
needs, checked after who may ask, so that a stranger hears "not allowed" first) and the ranges
that are rules of the service. `identifier`, `whole_number` and `choice` are still used by the
search and quote services, which take JSON values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar

from backend.domain.errors import InvalidInput

T = TypeVar("T")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOMAIN = re.compile(r"^(?=.{3,200}$)[a-z0-9-]+(\.[a-z0-9-]+)+$")


def missing(what: str) -> str:
    return f"Please give the {what}."


def not_text(what: str) -> str:
    return f"The {what} must be text."


def too_long(what: str, max_length: int) -> str:
    return f"The {what} is too long (at most {max_length} characters)."


def too_many(what: str, max_items: int) -> str:
    return f"Too many values for {what} (at most {max_items})."


def not_whole_number(what: str) -> str:
    return f"The {what} must be a whole number."


def out_of_range(what: str, bounds: Mapping[str, object]) -> str:
    if "ge" in bounds and "le" in bounds:
        return f"The {what} must be between {bounds['ge']} and {bounds['le']}."
    if "ge" in bounds:
        return f"The {what} must be at least {bounds['ge']}."
    return f"The {what} must be at most {bounds.get('le')}."


def not_an_id(what: str) -> str:
    return f"The {what} must be a positive whole number."


def not_true_or_false(what: str) -> str:
    return f"The {what} must be true or false."


def not_one_of(what: str, options: str) -> str:
    return f"The {what} must be one of: {options}."


def required(value: T | None, what: str) -> T:
    """A value the use case needs, which the request left out."""
    if value is None:
        raise InvalidInput(missing(what))
    return value


def in_range(value: int, what: str, *, minimum: int = 1, maximum: int = 10_000) -> int:
    if not minimum <= value <= maximum:
        raise InvalidInput(out_of_range(what, {"ge": minimum, "le": maximum}))
    return value


def email_address(value: str) -> str:
    if not isinstance(value, str) or not _EMAIL.match(value.strip()) or len(value) > 320:
        raise InvalidInput("That doesn't look like an email address.")
    return value.strip().lower()


def optional_domain(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not _DOMAIN.match(value.strip().lower()):
        raise InvalidInput("The email domain should look like 'example.com'.")
    return value.strip().lower()


def whole_number(value: object, what: str, *, minimum: int = 1, maximum: int = 10_000) -> int:
    # bool is an int in Python; "true" is not a number of sessions.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(not_whole_number(what))
    return in_range(value, what, minimum=minimum, maximum=maximum)


def choice(value: object, enum_class, what: str):
    try:
        return enum_class(value)
    except ValueError:
        raise InvalidInput(not_one_of(what, ", ".join(member.value for member in enum_class))
                           ) from None


def identifier(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(not_an_id(what))
    return value
