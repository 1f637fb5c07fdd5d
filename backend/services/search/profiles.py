"""Therapists' public profiles."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db import Database
from backend.domain.directory import ISSUES, LANGUAGES, MODALITIES, THERAPY_TYPES
from backend.models import Therapist
from backend.services.actors import Actor
from backend.services.search.slots import require_therapist
from backend.services.validation import identifier
from contracts.answers import TherapistProfile

_T = Therapist.__table__.c


def profile(db: Database, actor: Actor, therapist_id: int) -> TherapistProfile:
    therapist_id = identifier(therapist_id, "therapist id")
    with db.reader() as session:
        require_therapist(session, therapist_id)
        return profiles(session, [therapist_id])[therapist_id]


def profiles(session: Session, ids: Sequence[int]) -> dict[int, TherapistProfile]:
    """The lists come from the therapists' denormalised masks (kept in step with the list
    tables), in vocabulary order, so one statement reads them all."""
    if not ids:
        return {}
    rows = session.execute(
        select(_T.id, _T.name, _T.gender, _T.bio, _T.location, _T.fee_minor, _T.currency,
               _T.offers_in_person, _T.offers_video, _T.offers_phone, _T.issues_mask,
               _T.therapy_types_mask, _T.languages_mask).where(_T.id.in_(ids)))
    found = {}
    for row in rows:
        modalities = [name for name, offered in zip(
            MODALITIES, (row.offers_in_person, row.offers_video, row.offers_phone),
            strict=True) if offered]
        found[row.id] = TherapistProfile(
            id=row.id, name=row.name, gender=row.gender, bio=row.bio, modalities=modalities,
            location=row.location if row.offers_in_person else None, fee_minor=row.fee_minor,
            currency=row.currency, issues=_words(row.issues_mask, ISSUES),
            therapy_types=_words(row.therapy_types_mask, THERAPY_TYPES),
            languages=_words(row.languages_mask, LANGUAGES))
    return found


def _words(mask: int, vocabulary: Sequence[str]) -> list[str]:
    return [word for bit, word in enumerate(vocabulary) if mask >> bit & 1]
