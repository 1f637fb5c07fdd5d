"""The company card (added only on Stripe's secure page) and spend reports."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.backend_client import BackendClient, BackendError
from bot.actions.base import BackendAction
from bot.actions.parsing import format_money

NO_CARD_ROUTE_TEXT = ("Adding a card by chat isn't available yet. Say 'talk to a person' and the "
                      "team will help you add it.")


async def card_on_file(client: BackendClient) -> dict[str, Any] | None:
    """The card on file ({"brand", "last4", ...}), or None (no card, or no card route yet)."""
    try:
        found = await client.get("/organisation/card")
    except BackendError as error:
        if error.status == 404:
            return None
        raise
    card = found.get("card", found) if isinstance(found, dict) else None
    return card if isinstance(card, dict) and card.get("last4") else None


async def card_setup_link(client: BackendClient) -> str | None:
    """A link to Stripe's secure card page, or None while the route does not exist yet."""
    try:
        return (await client.post("/organisation/card/setup"))["url"]
    except BackendError as error:
        if error.route_missing:
            return None
        raise


class ActionCardLink(BackendAction):
    def name(self) -> str:
        return "action_card_link"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        card = await card_on_file(client)
        link = await card_setup_link(client)
        if link is None:
            dispatcher.utter_message(text=NO_CARD_ROUTE_TEXT)
            return []
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
        try:
            report = await client.get("/reports/spend")
        except BackendError as error:
            if not error.route_missing:
                raise
            report = None
        if report is None:
            items = (await client.get("/authorisations"))["authorisations"]
            lines = [f"#{i['id']} {i['name']}: "
                     + (i["usage"].get("withheld_reason")
                        or format_money(i["usage"].get("spend_minor"))) for i in items]
        else:
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
        dispatcher.utter_message(text="Spend so far:\n" + "\n".join(lines))
        return []
