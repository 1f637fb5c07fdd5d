from datetime import datetime, timezone

from backend.domain import confidentiality
from backend.domain.confidentiality import Contribution, released_cells

MARCH = datetime(2026, 3, 10, tzinfo=timezone.utc)
APRIL = datetime(2026, 4, 2, tzinfo=timezone.utc)
MAY = datetime(2026, 5, 1, tzinfo=timezone.utc)


def booked(person: int, at: datetime = MARCH, authorisation: int = 1) -> Contribution:
    return Contribution(authorisation, "sessions_booked", person, at)


def paid(person: int, amount: int, at: datetime = MARCH) -> Contribution:
    return Contribution(1, ("charged", "GBP"), person, at, amount)


def test_a_figure_is_shown_only_for_a_group_of_at_least_the_minimum():
    assert not confidentiality.disclosed(4, 5)
    assert confidentiality.disclosed(5, 5)
    assert confidentiality.disclosed(6, 5)
    assert not confidentiality.disclosed(0, 1)


def test_a_cell_counts_distinct_people_not_contributions():
    # Five bookings by one person are about that person: withheld.
    assert released_cells([booked(7) for _ in range(5)], 5, APRIL) == []
    four_people = [booked(person) for person in (1, 2, 3, 4, 4, 4)]
    assert released_cells(four_people, 5, APRIL) == []
    five = released_cells([*four_people, booked(5)], 5, APRIL)
    assert five == [confidentiality.Cell(1, "2026-03", "sessions_booked", 7, 0)]


def test_the_month_still_running_is_never_shown():
    everyone = [booked(person, APRIL) for person in range(10)]
    assert released_cells(everyone, 5, APRIL) == []
    assert [cell.count for cell in released_cells(everyone, 5, MAY)] == [10]


def test_cells_are_per_authorisation_per_month_and_per_figure():
    contributions = [booked(person) for person in range(5)]
    contributions += [booked(person, authorisation=2) for person in range(4)]  # too few
    contributions += [paid(person, 8000) for person in range(3)]  # too few payers
    contributions += [booked(person, APRIL) for person in range(4)]  # too few in April
    [cell] = released_cells(contributions, 5, MAY)
    assert (cell.authorisation_id, cell.month, cell.figure, cell.count) == (
        1, "2026-03", "sessions_booked", 5)


def test_sums_are_of_the_amounts_in_the_cell():
    [cell] = released_cells([paid(person, 1000 * person) for person in range(1, 6)], 5, APRIL)
    assert (cell.figure, cell.count, cell.total) == (("charged", "GBP"), 5, 15000)


def test_one_more_contribution_changes_nothing_until_its_month_ends_with_enough_people():
    march = [paid(person, 8000) for person in range(5)]
    before = released_cells(march, 5, APRIL)
    # One person pays (or is refunded) in April: the April report is the same.
    after = released_cells([*march, paid(99, 8000, APRIL)], 5, APRIL + (MAY - APRIL) / 2)
    assert after == before
    # Once April ends, April alone is about one person: still the same.
    assert released_cells([*march, paid(99, 8000, APRIL)], 5, MAY) == before


def test_the_reason_names_the_minimum():
    assert confidentiality.withheld_reason(5) == (
        "Figures appear for each month that has ended with at least 5 people counted in it, so "
        "that nobody can be singled out.")
    assert confidentiality.withheld_reason(3, figures="Session and spend figures").startswith(
        "Session and spend figures appear for each month that has ended with at least 3 people")
