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
