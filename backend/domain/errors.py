"""Errors the service layer raises; the HTTP layer maps each kind to one status code."""

from __future__ import annotations


class DomainError(Exception):
    """A request the rules refuse. `message` is safe to show to the person in the chat."""

    code = "refused"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class InvalidInput(DomainError):
    code = "invalid_input"


class NotFound(DomainError):
    code = "not_found"


class PermissionDenied(DomainError):
    code = "forbidden"


class Conflict(DomainError):
    """The request is well formed but the current state refuses it (quota full, slot taken)."""

    code = "conflict"


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
