"""Coverage: which therapists an authorisation pays for, given whom the member has seen.

The wording of coverage in the backend lives here, and only here.

"Seen" therapists are those the member had a confirmed or completed booking with *outside*
the grant in question: continuing with the therapist a grant introduced stays covered.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

from backend.domain.enums import Coverage

EXPLANATIONS = {
    Coverage.FIRST_RELATIONSHIP: (
        "First relationship: for people who have never booked a therapist here; "
        "they can choose any therapist."
    ),
    Coverage.EXISTING_RELATIONSHIP: (
        "Existing relationship: for people continuing with a therapist they have already "
        "seen, whether they paid themselves or an earlier authorisation did."
    ),
    Coverage.NEW_RELATIONSHIP: (
        "New relationship: for people who have seen a therapist before and now want "
        "a different one; only therapists they have not seen."
    ),
}


def label(coverage: Coverage) -> str:
    """The coverage in a few words, e.g. "first relationship"."""
    return coverage.value.replace("_", " ")


def eligibility_problem(coverage: Coverage, seen: Set[int]) -> str | None:
    """Why a member with this history cannot take a place, or None if they can."""
    if coverage is Coverage.FIRST_RELATIONSHIP and seen:
        return (
            "This offer is for a first relationship, and you have already seen a therapist "
            "here. Ask your admin about an existing- or new-relationship offer."
        )
    if coverage in (Coverage.EXISTING_RELATIONSHIP, Coverage.NEW_RELATIONSHIP) and not seen:
        return (
            "This offer is for people who have already seen a therapist here. "
            "Ask your admin about a first-relationship offer."
        )
    return None


@dataclass(frozen=True)
class Covered:
    """The therapists a coverage pays for: only those in `only` when it is set, else every
    therapist but those in `excluded`."""

    only: frozenset[int] | None
    excluded: frozenset[int] = frozenset()

    def __contains__(self, therapist_id: object) -> bool:
        if self.only is not None:
            return therapist_id in self.only
        return therapist_id not in self.excluded

    @property
    def nobody(self) -> bool:
        return self.only is not None and not self.only


NOBODY = Covered(only=frozenset())


def covered(coverage: Coverage, seen: Set[int]) -> Covered:
    """Which therapists this coverage pays for, for a member who has seen `seen`."""
    if coverage is Coverage.FIRST_RELATIONSHIP:
        return NOBODY if seen else Covered(only=None)
    if coverage is Coverage.EXISTING_RELATIONSHIP:
        return Covered(only=frozenset(seen))
    return Covered(only=None, excluded=frozenset(seen)) if seen else NOBODY


def covers_therapist(coverage: Coverage, seen: Set[int], therapist_id: int) -> bool:
    return therapist_id in covered(coverage, seen)


PAYS_FOR = {
    Coverage.FIRST_RELATIONSHIP: "any therapist",
    Coverage.EXISTING_RELATIONSHIP: "a therapist you have seen before",
    Coverage.NEW_RELATIONSHIP: "a therapist you have not seen before",
}


def pays_for(offer_name: str, coverage: Coverage) -> str:
    """What an offer pays for, said to the member, e.g. when a search is shaped by it."""
    return f"Your organisation's offer “{offer_name}” pays for {PAYS_FOR[coverage]}."


def therapist_problem(coverage: Coverage, seen: Set[int], therapist_id: int) -> str | None:
    if covers_therapist(coverage, seen, therapist_id):
        return None
    if coverage is Coverage.EXISTING_RELATIONSHIP:
        return "This offer pays only for a therapist you have already seen."
    if coverage is Coverage.NEW_RELATIONSHIP:
        return "This offer pays only for a therapist you have not seen before."
    return "This offer is for a first relationship, and you have already seen a therapist here."
