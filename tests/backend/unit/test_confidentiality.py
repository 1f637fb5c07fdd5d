from backend.domain import confidentiality


def test_a_figure_is_shown_only_for_a_group_of_at_least_the_minimum():
    assert not confidentiality.disclosed(4, 5)
    assert confidentiality.disclosed(5, 5)
    assert confidentiality.disclosed(6, 5)
    assert not confidentiality.disclosed(0, 1)


def test_the_reason_names_the_minimum():
    assert confidentiality.withheld_reason(5) == (
        "Figures appear once at least 5 people are counted in them, so that nobody can be "
        "singled out.")
    assert confidentiality.withheld_reason(
        3, figures="Session and spend figures", counted="have taken a place") == (
        "Session and spend figures appear once at least 3 people have taken a place, so that "
        "nobody can be singled out.")
