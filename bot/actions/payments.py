"""The company card (added only on Stripe's secure page) and spend reports."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import BackendAction
from bot.actions.parsing import format_money
from contracts.backend_client import BackendClient


async def card_on_file(client: BackendClient) -> dict[str, Any] | None:
    """The card on file ({"brand", "last4", ...}), or None."""
    card = (await client.get("/organisation/card"))["card"]
    return card if isinstance(card, dict) and card.get("last4") else None


async def card_setup_link(client: BackendClient) -> str:
    """A link to Stripe's secure card page."""
    return (await client.post("/organisation/card/setup"))["url"]


class ActionCardLink(BackendAction):
    def name(self) -> str:
        return "action_card_link"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        card = await card_on_file(client)
        link = await card_setup_link(client)
        now = (f"The card on file is a {card.get('brand', 'card').title()} ending "
               f"{card['last4']}. To change it, " if card else "There's no card on file yet. "
               "To add one, ")
        dispatcher.utter_message(
            text=f"{now}use Stripe's secure page: {link}\nPlease never type card numbers into "
                 "this chat. Once Stripe confirms the card is saved, I'll tell you here (the next "
                 "time you message me).")
        return []


def _figures_text(figures: list[dict[str, Any]] | None, withheld: str | None) -> str:
    if figures is None:
        return withheld or "not shown"
    if not figures:
        return "nothing charged yet"
    return "; ".join(
        f"{format_money(f.get('spend_minor'), f.get('currency', 'GBP'))} for "
        f"{f.get('sessions_charged', 0)} sessions"
        + (f" (refunded {format_money(f['refunded_minor'], f.get('currency', 'GBP'))})"
           if f.get("refunded_minor") else "")
        for f in figures)


class ActionShowSpend(BackendAction):
    def name(self) -> str:
        return "action_show_spend"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        report = await client.get("/reports/spend")
        lines = [f"#{a['authorisation_id']} {a['name']}: "
                 f"{_figures_text(a.get('figures'), a.get('withheld_reason'))}"
                 for a in report.get("by_authorisation", [])]
        months = [f"{m['month']}: {_figures_text(m.get('figures'), m.get('withheld_reason'))}"
                  for m in report.get("by_month", [])[-3:]]
        if months:
            lines += ["By month:", *months]
        if not lines:
            dispatcher.utter_message(text="Nothing has been spent yet.")
            return []
        dispatcher.utter_message(text="Spend in the months that have ended:\n" + "\n".join(lines))
        return []
