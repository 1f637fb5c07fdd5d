"""The backend's quote for the session a member is about to book: who pays, or why nothing does
and what they can do instead. The bot says what the quote says, never its own guess."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.actions.common import button
from bot.actions.parsing import format_money
from contracts import answers
from contracts.answers import Alternative
from contracts.backend_client import BackendClient


@dataclass(frozen=True)
class Quote:
    answer: answers.Quote

    @property
    def paid(self) -> bool:
        return self.answer.paid_by_organisation

    @property
    def time_refused(self) -> bool:
        """The time (or way of meeting) itself cannot be booked: another time may do."""
        return not self.answer.bookable

    @property
    def message(self) -> str:
        return self.answer.message

    def alternatives(self, kind: str) -> list[Alternative]:
        return [a for a in self.answer.alternatives if a.kind == kind]

    @property
    def other_therapists(self) -> list[int]:
        return [t for a in self.alternatives("other_therapist") for t in a.therapist_ids]

    @property
    def another_therapist_may_be_paid(self) -> bool:
        return bool(self.alternatives("other_therapist"))


async def quote(client: BackendClient, therapist_id: int, starts_at: datetime | str,
                modality: str) -> Quote:
    return Quote(await client.quote(therapist_id, starts_at, modality))


# Said wherever a member may choose to pay a session themselves.
NOT_THE_ORGANISATIONS = "your organisation is not charged and not told"


def pay_myself(fee: str) -> str:
    """The title of the button that books a session the member pays `fee` for."""
    return f"Book it, I'll pay {fee}"


def self_pay_button(quoted: answers.Quote, fee: str) -> dict[str, str]:
    """Pressing it is the member's consent to pay `fee` for this very session: the button
    carries the therapist, time and way of meeting the quote was for (ActionBookSelfPaid)."""
    return button(pay_myself(fee), "book_self_paid",
                  therapist_id=quoted.therapist_id, slot_start=quoted.starts_at.isoformat(),
                  modality=quoted.modality)


async def what_instead(client: BackendClient, answer: Quote) -> tuple[str, list[dict[str, str]]]:
    """What the member can do when their organisation does not pay, in words and buttons."""
    lines, buttons = [], []
    for alternative in answer.alternatives("other_therapist"):
        lines.append(alternative.message)
    for therapist_id in answer.other_therapists:
        name = (await client.therapist(therapist_id)).name
        buttons.append(button(f"Book with {name}", "inform", therapist_id=therapist_id))
    for alternative in answer.alternatives("self_pay"):
        fee = format_money(alternative.fee_minor, alternative.currency or "GBP")
        lines.append(f"Paying yourself, this session costs {fee}; {NOT_THE_ORGANISATIONS}.")
        buttons.append(self_pay_button(answer.answer, fee))
    if answer.alternatives("ask_admin"):
        lines.append("Your admin can add sessions or another offer; say 'talk to a person' if "
                     "you'd like us to help.")
        buttons.append(button("Talk to a person", "handoff_request"))
    return "\n".join(lines), buttons
