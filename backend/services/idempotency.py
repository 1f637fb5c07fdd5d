"""Safe retries: the first answer to a caller's mutating request with an `Idempotency-Key` is
stored and replayed for every repeat of that key, so a caller that timed out can ask again and
learn what happened instead of doing it twice.

A key is claimed by inserting its row (unique per caller and key) before the request runs; a
concurrent repeat finds the row without an answer ("in progress") and waits for it; the answer is
stored when the request ends. An answer that is a fault on our side (5xx) is not kept: the row is
removed so a retry runs again (the request's own transaction rolled back). A row left in progress
by a process that stopped mid-request is taken over once it is older than `stale_after`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError

from backend.db import Database
from backend.domain.errors import Conflict
from backend.models import IdempotentReply
from backend.models.base import utcnow

KEY_REUSED = "This Idempotency-Key was already used for a different request."


class Claim(Enum):
    FIRST = "first"  # the caller runs the request and stores its answer
    IN_PROGRESS = "in_progress"  # another request with this key is running


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: str


def begin(db: Database, caller: str, key: str, fingerprint: str, *, ttl: timedelta,
          stale_after: timedelta, now: datetime | None = None) -> Claim | StoredAnswer:
    """Claim the key for this request, or say how its first use stands."""
    now = now or utcnow()
    try:
        with db.transaction() as session:
            session.add(IdempotentReply(caller=caller, key=key, fingerprint=fingerprint,
                                        created_at=now, expires_at=now + ttl))
        return Claim.FIRST
    except IntegrityError:
        pass
    with db.transaction() as session:
        row = session.scalar(select(IdempotentReply).where(IdempotentReply.caller == caller,
                                                           IdempotentReply.key == key))
        if row is None:  # removed meanwhile (a 5xx, or expired): try again from the start
            return Claim.IN_PROGRESS
        if row.fingerprint != fingerprint:
            raise Conflict(KEY_REUSED, code="idempotency_key_reused")
        if row.status_code is not None and row.body is not None:
            return StoredAnswer(row.status_code, row.body)
        if row.created_at < now - stale_after and _take_over(session, row, now, ttl):
            return Claim.FIRST
        return Claim.IN_PROGRESS


def _take_over(session: Any, row: IdempotentReply, now: datetime, ttl: timedelta) -> bool:
    taken = session.execute(
        update(IdempotentReply)
        .where(IdempotentReply.id == row.id, IdempotentReply.created_at == row.created_at,
               IdempotentReply.status_code.is_(None))
        .values(created_at=now, expires_at=now + ttl)
        .execution_options(synchronize_session=False))
    return cast("CursorResult[Any]", taken).rowcount == 1


def finish(db: Database, caller: str, key: str, answer: StoredAnswer | None) -> None:
    """Store the request's answer for repeats, or (None: a fault on our side) let it run
    again."""
    where = (IdempotentReply.caller == caller, IdempotentReply.key == key)
    with db.transaction() as session:
        if answer is None:
            session.execute(delete(IdempotentReply).where(*where))
        else:
            session.execute(update(IdempotentReply).where(*where)
                            .values(status_code=answer.status_code, body=answer.body)
                            .execution_options(synchronize_session=False))


def purge_expired(db: Database, now: datetime | None = None) -> int:
    with db.transaction() as session:
        purged = session.execute(delete(IdempotentReply)
                                 .where(IdempotentReply.expires_at < (now or utcnow())))
        return cast("CursorResult[Any]", purged).rowcount
