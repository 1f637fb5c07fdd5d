"""The domain's enums go into the contract's answers as they are: each has the same values as
the Literal the answer spells it with, and a member is its value, in Python and in JSON."""

from __future__ import annotations

import json
import typing

import pytest

from backend.services import spelling
from backend.services.spelling import SPELLINGS

SPELL = {spelling.Coverage: spelling.coverage, spelling.Access: spelling.access,
         spelling.AuthorisationStatus: spelling.authorisation_status,
         spelling.Modality: spelling.modality, spelling.BookingStatus: spelling.booking_status,
         spelling.VoucherStatus: spelling.voucher_status, spelling.Role: spelling.role,
         spelling.WatchStatus: spelling.watch_status}


@pytest.mark.parametrize(("kind", "literal"), SPELLINGS, ids=lambda k: getattr(k, "__name__", ""))
def test_each_enum_has_the_values_of_its_literal(kind, literal):
    assert [member.value for member in kind] == list(typing.get_args(literal))
    for member in kind:
        spelt = SPELL[kind](member)
        assert spelt is member and spelt == member.value
        assert json.dumps(spelt) == json.dumps(member.value)


def test_every_spelling_is_checked():
    assert set(SPELL) == {kind for kind, _ in SPELLINGS}
