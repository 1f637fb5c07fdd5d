"""Confidentiality of admins' figures (PRODUCT.md rule 5): counts and sums only, and a figure
about fewer than the minimum group of people is withheld, so nobody can be singled out."""

from __future__ import annotations


def disclosed(people: int, minimum_group: int) -> bool:
    """Whether a figure counting `people` people may be shown."""
    return people >= minimum_group


def withheld_reason(minimum_group: int, *, figures: str = "Figures",
                    counted: str = "are counted in them") -> str:
    """Why figures are missing: "Figures appear once at least 5 people are counted in them,
    so that nobody can be singled out." """
    return (f"{figures} appear once at least {minimum_group} people {counted}, so that nobody "
            "can be singled out.")
