"""The company card (added only on Stripe's secure page) and spend reports."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import BackendAction
from bot.actions.parsing import format_money
from contracts.answers import Card, Figures
from contracts.backend_client import BackendClient


async def card_on_file(client: BackendClient) -> Card | None:
    """The card on file, or None."""
    card = await client.card()
    return card if card is not None and card.last4 else None


async def card_setup_link(client: BackendClient) -> str:
    """A link to Stripe's secure card page."""
    return (await client.card_setup()).url


class ActionCardLink(BackendAction):
    def name(self) -> str:
        return "action_card_link"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        card = await card_on_file(client)
        link = await card_setup_link(client)
        now = (f"The card on file is a {(card.brand or 'card').title()} ending "
               f"{card.last4}. To change it, " if card else "There's no card on file yet. "
               "To add one, ")
        dispatcher.utter_message(
            text=f"{now}use Stripe's secure page: {link}\nPlease never type card numbers into "
                 "this chat. Once Stripe confirms the card is saved, I'll tell you here (the next "
                 "time you message me).")
        return []


def _figures_text(figures: list[Figures] | None, withheld: str | None) -> str:
    if figures is None:
        return withheld or "not shown"
    if not figures:
        return "nothing charged yet"
    return "; ".join(
        f"{format_money(f.spend_minor, f.currency)} for {f.sessions_charged} sessions"
        + (f" (refunded {format_money(f.refunded_minor, f.currency)})"
           if f.refunded_minor else "")
        for f in figures)


class ActionShowSpend(BackendAction):
    def name(self) -> str:
        return "action_show_spend"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        report = await client.spend()
        lines = [f"#{a.authorisation_id} {a.name}: {_figures_text(a.figures, a.withheld_reason)}"
                 for a in report.by_authorisation]
        months = [f"{m.month}: {_figures_text(m.figures, m.withheld_reason)}"
                  for m in report.by_month[-3:]]
        if months:
            lines += ["By month:", *months]
        if not lines:
            dispatcher.utter_message(text="Nothing has been spent yet.")
            return []
        dispatcher.utter_message(text="Spend in the months that have ended:\n" + "\n".join(lines))
        return []
