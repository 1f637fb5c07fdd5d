"""Card numbers are replaced before Rasa sees the text (PRODUCT.md rule 6)."""

from __future__ import annotations

import pytest

from contracts.redaction import PLACEHOLDER, luhn_valid, redact_card_numbers

CARDS = ["4242424242424242", "4000 0566 5566 5556", "5555-5555-5555-4444", "378282246310005",
         "3782 822463 10005", "6011111111111117", "4111 1111 1111 1111", "4242.4242.4242.4242",
         "4000002500003155", "6200000000000005"]


@pytest.mark.parametrize("card", CARDS)
def test_luhn_valid_cards_are_replaced_wherever_they_are(card):
    redacted = redact_card_numbers(f"hi, my card is {card} exp 12/27 cvc 123")
    assert redacted == (f"hi, my card is {PLACEHOLDER} exp 12/27 cvc 123", 1)
    digits = card.replace(" ", "").replace("-", "").replace(".", "")
    assert digits not in redacted.text.replace(" ", "")


def test_two_cards_in_one_message():
    text, count = redact_card_numbers("4242424242424242 or 5555 5555 5555 4444?")
    assert (text, count) == (f"{PLACEHOLDER} or {PLACEHOLDER}?", 2)


@pytest.mark.parametrize("text", [
    "call me on 07700 900123",
    "my invite code is 7KQ2M-X9D4R",
    "book tuesday 17:00 for 7 sessions",
    "order 1234567890123",  # 13 digits, but not Luhn-valid
    "4242 4242 4242 4241",  # one digit off
    "",
])
def test_other_numbers_are_left_alone(text):
    assert redact_card_numbers(text) == (text, 0)


def test_a_card_inside_a_longer_digit_run_is_still_caught():
    text, count = redact_card_numbers("ref 4242424242424242 1226")
    assert count == 1 and "4242424242424242" not in text


def test_luhn():
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert not luhn_valid("42a2")


# --- Every way people type a card: a generated grid of separators, spacings and groupings ---

GRID_CARDS = ["4242424242424242", "5555555555554444", "378282246310005", "6011111111111117",
              "4000056655665556", "3056930009020004", "4917610000000000003"]
SEPARATORS = ["", " ", "  ", "\t", "\u00a0", "-", " - ", "  -  ", "\u2013", " \u2013 ",
              "\u2014", " \u2014 ", "/", " / ", ".", "\n", "\r\n", " \n", "\t-\t"]
# How the digits are grouped: fours (Visa, Mastercard), 4-6-rest (Amex, Diners), one block.
GROUPINGS = {"fours": (4, 4, 4, 4, 4), "amex": (4, 6, 9), "block": (19,)}
AROUND = [("", ""), ("my card is ", " exp 12/30 cvc 123"), ("call 020 7946 0958\n", "\nthanks"),
          ("code 7KQ2M-X9D4R, card: ", ".")]


def _grouped(digits: str, sizes: tuple[int, ...], separator: str) -> str:
    groups, cursor = [], 0
    for size in sizes:
        if cursor < len(digits):
            groups.append(digits[cursor:cursor + size])
            cursor += size
    return separator.join(groups)


def _mixed(digits: str, separators: list[str]) -> str:
    """The card in fours, with a different separator between each pair of groups."""
    groups = [digits[i:i + 4] for i in range(0, len(digits), 4)]
    pairs = zip(separators, groups[1:], strict=False)
    return groups[0] + "".join(separator + group for separator, group in pairs)


GRID = [(card, _grouped(card, sizes, separator), before, after)
        for card in GRID_CARDS for sizes in GROUPINGS.values() for separator in SEPARATORS
        for before, after in AROUND[:2]]
GRID += [(card, _mixed(card, [SEPARATORS[(i + shift) % len(SEPARATORS)] or " "
                              for i in range(4)]), before, after)
         for card in GRID_CARDS for shift in range(len(SEPARATORS))
         for before, after in AROUND if not before.startswith("call")]


def test_the_grid_covers_the_formats_people_type():
    assert len(GRID) > 1000
    assert any("\u2013" in typed for _, typed, _, _ in GRID)
    assert any("\r\n" in typed and " / " in typed for _, typed, _, _ in GRID)


@pytest.mark.parametrize("card,typed,before,after", GRID)
def test_every_typed_format_is_redacted_and_the_rest_kept(card, typed, before, after):
    text, count = redact_card_numbers(f"{before}{typed}{after}")
    assert (text, count) == (f"{before}{PLACEHOLDER}{after}", 1), repr(typed)
    assert card not in "".join(ch for ch in text if ch.isdigit())


def test_a_phone_number_before_a_card_typed_with_one_separator_is_kept():
    text, count = redact_card_numbers("call 020 7946 0958\n4242 - 4242 - 4242 - 4242\nthanks")
    assert (text, count) == (f"call 020 7946 0958\n{PLACEHOLDER}\nthanks", 1)


@pytest.mark.parametrize("shift", range(len(SEPARATORS)))
def test_when_a_mixed_typing_makes_the_card_ambiguous_no_digit_of_it_is_left(shift):
    typed = _mixed("4242424242424242", [SEPARATORS[(i + shift) % len(SEPARATORS)] or " "
                                        for i in range(4)])
    text, count = redact_card_numbers(f"call 020 7946 0958\n{typed}\nthanks")
    assert count >= 1 and text.startswith("call ") and text.endswith(f"{PLACEHOLDER}\nthanks")
    assert "4242" not in text


@pytest.mark.parametrize("separator", SEPARATORS[1:])
def test_a_card_one_digit_off_is_not_a_card_in_any_format(separator):
    typed = _grouped("4242424242424241", GROUPINGS["fours"], separator)
    assert redact_card_numbers(typed) == (typed, 0)


@pytest.mark.parametrize("text", [
    "from 12/05/2026 - 13/05/2026",
    "2026-12-02 - 2026-12-09 works",
    "02.12.2026 / 09.12.2026 / 16.12.2026",
    "call +44 20 7946 0958 or 020 7946 0959",
    "+1 (415) 555-2671 or +1 415 555 2672",
    "invite 7KQ2M-X9D4R and 7KQ2M X9D4R",
    "10:00 - 11:30, 12/30, 3/4",
    "I had 12 sessions in 2025 - 3 left in 2026",
])
def test_dates_phone_numbers_and_invite_codes_are_kept(text):
    assert redact_card_numbers(text) == (text, 0)


def test_a_card_next_to_a_date_keeps_the_date():
    text, count = redact_card_numbers("4242 4242 4242 4242 12/30")
    assert (text, count) == (f"{PLACEHOLDER} 12/30", 1)


def test_redaction_time_grows_linearly_with_the_length():
    import time

    def seconds(text: str) -> float:  # CPU time, the best of five: the machine is shared
        best = float("inf")
        for _ in range(5):
            started = time.process_time()
            redact_card_numbers(text)
            best = min(best, time.process_time() - started)
        return best

    for unit in ("4", "4242 ", "1-", "card 4242-4242-4242-4242 and 12/30 "):
        small, large = unit * (20_000 // len(unit)), unit * (200_000 // len(unit))
        # Ten times the text: linear is about ten times the time, quadratic a hundred.
        assert seconds(large) < 30 * max(seconds(small), 1e-4), unit
