"""The policies people are told about, with their figures: what the bot says, never decides.

Read-only: the operator's settings, the coverage wording of `backend.domain.coverage`, and the
words the directory understands for days, parts of the day and ways of meeting (so the bot reads
free text with the backend's vocabulary, not its own). `describe` is the same for every caller;
`in_force_for` is what applies to a member, with their organisation's own cancellation window.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from backend.db import Database
from backend.domain import cancellation
from backend.domain.coverage import EXPLANATIONS
from backend.domain.directory import (
    ALIASES,
    CHAT_DAY_PART_WORDS,
    CHAT_MODALITY_WORDS,
    DAY_NAMES,
    DAY_PARTS,
    DAY_WORDS,
)
from backend.domain.enums import Modality
from backend.models import Organisation
from backend.services.actors import Actor, require_member
from backend.settings import Settings


@dataclass(frozen=True)
class Policies:
    # The operator's default, or in `in_force_for` the window of `organisation`.
    cancellation_window_hours: int
    # A therapist is expected to answer a requested booking within this many business hours
    # (PRODUCT.md, "Policies"): the operator's setting the outbox's reminders follow too.
    therapist_confirmation_business_hours: int
    reporting_min_group: int  # figures about fewer people are withheld from admins
    coverage: dict[str, str]  # coverage -> the sentence that explains it
    day_parts: dict[str, tuple[int, int]]  # part of the day -> [first, last) local start hour
    day_words: dict[str, list[str]]  # a word for days ("tues", "weekend") -> day names
    day_part_words: dict[str, str]  # a word for a part of the day ("lunch") -> the part
    modality_words: dict[str, list[str]]  # modality -> words that name it
    # Whose policies these are: None for the service's, said to anyone.
    organisation: str | None = None


def describe(settings: Settings) -> Policies:
    return Policies(
        cancellation_window_hours=settings.cancellation_window_hours,
        therapist_confirmation_business_hours=settings.confirmation_business_hours,
        reporting_min_group=settings.reporting_min_group,
        coverage={coverage.value: text for coverage, text in EXPLANATIONS.items()},
        day_parts=dict(DAY_PARTS),
        day_words={word: [DAY_NAMES[day].lower() for day in days]
                   for word, days in DAY_WORDS.items()},
        day_part_words={**{part: part for part in DAY_PARTS}, **ALIASES["time of day"],
                        **CHAT_DAY_PART_WORDS},
        modality_words=_modality_words(),
    )


def in_force_for(db: Database, actor: Actor, settings: Settings) -> Policies:
    """The policies that apply to the actor, a member: their organisation's own cancellation
    window where it set one (the window their cancellations are judged by)."""
    organisation_id = require_member(actor)
    with db.reader() as session:
        organisation = session.get_one(Organisation, organisation_id)
        window = cancellation.window_in_force(organisation.cancellation_window_hours,
                                              settings.cancellation_window_hours)
        return dataclasses.replace(describe(settings), cancellation_window_hours=window,
                                   organisation=organisation.name)


def _modality_words() -> dict[str, list[str]]:
    words: dict[str, list[str]] = {}
    for modality in Modality:
        aliases = [alias for alias, value in ALIASES["modality"].items()
                   if value == modality.value]
        named = [modality.value, modality.value.replace("_", " "), *aliases,
                 *CHAT_MODALITY_WORDS[modality]]
        words[modality.value] = list(dict.fromkeys(named))
    return words
