"""Checks on values that arrive from people, shared by every use case."""

from __future__ import annotations

import re

from backend.domain.errors import InvalidInput

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOMAIN = re.compile(r"^(?=.{3,200}$)[a-z0-9-]+(\.[a-z0-9-]+)+$")


def text(value: object, what: str, *, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"Please give the {what}.")
    value = value.strip()
    if len(value) > max_length:
        raise InvalidInput(f"The {what} is too long (at most {max_length} characters).")
    return value


def email_address(value: object) -> str:
    if not isinstance(value, str) or not _EMAIL.match(value.strip()) or len(value) > 320:
        raise InvalidInput("That doesn't look like an email address.")
    return value.strip().lower()


def optional_domain(value: object) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not _DOMAIN.match(value.strip().lower()):
        raise InvalidInput("The email domain should look like 'example.com'.")
    return value.strip().lower()


def whole_number(value: object, what: str, *, minimum: int = 1, maximum: int = 10_000) -> int:
    # bool is an int in Python; "true" is not a number of sessions.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"The {what} must be a whole number.")
    if not minimum <= value <= maximum:
        raise InvalidInput(f"The {what} must be between {minimum} and {maximum}.")
    return value


def choice(value: object, enum_class, what: str):
    try:
        return enum_class(value)
    except ValueError:
        options = ", ".join(member.value for member in enum_class)
        raise InvalidInput(f"The {what} must be one of: {options}.") from None


def identifier(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"The {what} must be a positive whole number.")
    return value
