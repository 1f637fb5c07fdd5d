"""Search reasons: why a therapist matches, or with nothing to match what they offer."""

from __future__ import annotations

from backend.domain.directory import ISSUES, LANGUAGES, MODALITIES
from backend.services.search.filters import parse_filters
from backend.services.search.reasons import Offer, reasons


def mask(values, vocabulary) -> int:
    return sum(1 << vocabulary.index(value) for value in values)


def offer(issues=("anxiety",), languages=("English",), modalities=("video",),
          location=None) -> Offer:
    return Offer(gender="male", location=location, issues_mask=mask(issues, ISSUES),
                 therapy_types_mask=0, languages_mask=mask(languages, LANGUAGES),
                 modalities_mask=mask(modalities, MODALITIES), hours=(1 << 10,) * 7)


def query(**filters):
    return parse_filters(filters, session_minutes=50)


def test_without_filters_a_result_says_what_the_therapist_offers():
    many = ISSUES[:5]
    assert reasons(query(), offer(issues=many, languages=("English", "Polish"),
                                  modalities=("video", "phone"))) == [
        f"helps with {many[0]}, {many[1]}, {many[2]} and more", "speaks English and Polish",
        "meets by video or by phone"]
    assert reasons(query(), offer(issues=(), languages=(), modalities=("in_person",),
                                  location="Leeds")) == ["meets in person in Leeds"]


def test_a_filter_that_matches_gives_only_the_matching_reasons():
    assert reasons(query(issues=["anxiety"]), offer()) == ["helps with anxiety"]
    assert reasons(query(modality="video"), offer()) == ["video sessions"]
