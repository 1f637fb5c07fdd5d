"""Coverage: which therapists an authorisation pays for, given whom the member has seen.

The wording of coverage in the backend lives here, and only here.

"Seen" therapists are those the member had a confirmed or completed booking with *outside*
the grant in question: continuing with the therapist a grant introduced stays covered.
"""

from __future__ import annotations

from collections.abc import Set

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


def covers_therapist(coverage: Coverage, seen: Set[int], therapist_id: int) -> bool:
    if coverage is Coverage.FIRST_RELATIONSHIP:
        return not seen
    if coverage is Coverage.EXISTING_RELATIONSHIP:
        return therapist_id in seen
    return bool(seen) and therapist_id not in seen


def therapist_problem(coverage: Coverage, seen: Set[int], therapist_id: int) -> str | None:
    if covers_therapist(coverage, seen, therapist_id):
        return None
    if coverage is Coverage.EXISTING_RELATIONSHIP:
        return "This offer pays only for a therapist you have already seen."
    if coverage is Coverage.NEW_RELATIONSHIP:
        return "This offer pays only for a therapist you have not seen before."
    return "This offer is for a first relationship, and you have already seen a therapist here."
