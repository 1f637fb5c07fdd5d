"""The backend API's error answer, as every process reads it.

Plain typing only (no pydantic: the Rasa server's environment has pydantic 1); the backend builds
its OpenAPI document from these shapes with pydantic 2 (backend/api/answers.py).
"""

from __future__ import annotations

from typing_extensions import TypedDict


class ErrorDetail(TypedDict):
    code: str  # stable, for programs: "invalid_input", "slot_taken", ...
    message: str  # written to be shown to a person as it is


class ErrorAnswer(TypedDict):
    """Every 4xx and 5xx of the backend: `{"error": {"code": ..., "message": ...}}`."""

    error: ErrorDetail


# A caller's mutating request may carry a key: the backend answers a repeat of the key with the
# first answer (marked replayed) instead of doing it again; 409 `in_progress` while it runs.
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENT_REPLAYED_HEADER = "Idempotent-Replayed"
IN_PROGRESS_CODE = "in_progress"


def error_answer(code: str, message: str) -> ErrorAnswer:
    return {"error": {"code": code, "message": message}}
