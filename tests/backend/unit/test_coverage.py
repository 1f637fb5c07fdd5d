"""Coverage: who may take a place, which therapists a place pays for, and the wording."""

from __future__ import annotations

from backend.domain import coverage
from backend.domain.enums import Coverage

FIRST, EXISTING, NEW = (Coverage.FIRST_RELATIONSHIP, Coverage.EXISTING_RELATIONSHIP,
                        Coverage.NEW_RELATIONSHIP)


def test_who_may_take_a_place():
    assert coverage.eligibility_problem(FIRST, set()) is None
    assert "already seen a therapist" in coverage.eligibility_problem(FIRST, {1})
    for kind in (EXISTING, NEW):
        assert coverage.eligibility_problem(kind, {1}) is None
        assert "already seen a therapist" in coverage.eligibility_problem(kind, set())


def test_which_therapists_a_place_pays_for():
    assert coverage.covers_therapist(FIRST, set(), 2)
    assert not coverage.covers_therapist(FIRST, {1}, 2)
    assert coverage.covers_therapist(EXISTING, {1}, 1)
    assert not coverage.covers_therapist(EXISTING, {1}, 2)
    assert coverage.covers_therapist(NEW, {1}, 2)
    assert not coverage.covers_therapist(NEW, {1}, 1)
    assert not coverage.covers_therapist(NEW, set(), 2)


def test_wording():
    assert coverage.therapist_problem(EXISTING, {1}, 1) is None
    assert coverage.therapist_problem(EXISTING, {1}, 2) == (
        "This offer pays only for a therapist you have already seen.")
    assert coverage.therapist_problem(NEW, {1}, 1) == (
        "This offer pays only for a therapist you have not seen before.")
    assert coverage.label(NEW) == "new relationship"
    assert set(coverage.EXPLANATIONS) == set(Coverage)


def test_the_therapists_covered_as_a_set():
    assert coverage.covered(FIRST, set()) == coverage.Covered(only=None)
    assert coverage.covered(FIRST, {1}).nobody
    assert coverage.covered(EXISTING, {1, 2}).only == {1, 2}
    assert coverage.covered(NEW, {1}).excluded == {1} and 5 in coverage.covered(NEW, {1})
    assert coverage.covered(NEW, set()).nobody
    assert coverage.pays_for("Continue", EXISTING) == (
        "Your organisation's offer “Continue” pays for a therapist you have seen before.")
