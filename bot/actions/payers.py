"""What can pay for the member's sessions, asked when a booking starts (`GET /me/payers`): when
nothing can (paused, revoked, used up, no places), the bot says why and what the member can do
before asking any filter. The answer is the backend's; the bot only words the choices."""

from __future__ import annotations

from bot.actions.common import button
from contracts.answers import Payers, TherapistMatch
from contracts.backend_client import BackendClient


async def what_pays(client: BackendClient) -> Payers:
    return await client.payers()


def nothing_pays(answer: Payers) -> tuple[str, list[dict[str, str]]]:
    """Why the organisation can pay for no session now, and what to do instead, with buttons."""
    lines = [answer.message or "Your organisation can't pay for a session now."]
    kinds = {alternative.kind: alternative for alternative in answer.alternatives}
    if not any(payer.grant_id for payer in answer.payers):
        lines.append("If you have an invite code, say 'redeem' followed by the code.")
    if "ask_admin" in kinds:
        lines.append("Your admin can add sessions or another offer.")
    buttons = []
    if "self_pay" in kinds:
        lines.append(kinds["self_pay"].message)
        buttons.append(button("Find a therapist, I'll pay", "find_therapist", self_pay="yes"))
    if "talk_to_person" in kinds:
        lines.append("Or say 'talk to a person' if you'd like us to help.")
        buttons.append(button("Talk to a person", "handoff_request"))
    return "\n".join(lines), buttons


def paid_by_line(match: TherapistMatch, several: bool) -> str:
    """" Paid by “offer”." after a search result when the member has several grants or offers."""
    return f" Paid by “{match.paid_by.offer_name}”." if several and match.paid_by else ""


def several_payers(results: list[TherapistMatch]) -> bool:
    return len({r.paid_by.offer_name for r in results if r.paid_by}) > 1
