"""Writes the audit log: who changed what, and when."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from backend.models import AuditEvent
from backend.services.actors import Actor

log = logging.getLogger("backend.audit")


def record(
    session: Session,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: int | None,
    *,
    organisation_id: int | None = None,
    **details: Any,
) -> None:
    session.add(
        AuditEvent(
            organisation_id=organisation_id,
            actor=actor.label,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            details=details,
        )
    )
    log.info("%s %s %s:%s %s", actor.label, action, subject_type, subject_id, details or "")
