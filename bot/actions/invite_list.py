"""Admins: the invites of their authorisations with their states, and revoking an open one."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import BackendAction
from bot.actions.common import MAX_BUTTONS, TIMEZONE, button, latest_entities
from bot.actions.parsing import format_day, parse_count
from contracts.answers import Invite
from contracts.backend_client import BackendClient

SHOWN = 15  # the newest invites listed; older ones are counted


def describe_invite(invite: Invite, authorisation_name: str) -> str:
    """'#12 …9D4R for sam@acme.co.uk (Wellbeing support): open until 3 January 2027'."""
    to = f" for {invite.email}" if invite.email else ""
    line = f"#{invite.id} …{invite.code_hint}{to} ({authorisation_name}): {invite.state}"
    if invite.state == "open" and invite.expires_at is not None:
        line += f" until {format_day(invite.expires_at, TIMEZONE)}"
    return line


async def all_invites(client: BackendClient) -> list[tuple[Invite, str]]:
    """Every invite of the organisation with its authorisation's name, newest first."""
    found: list[tuple[Invite, str]] = []
    for authorisation in await client.authorisations():
        found += [(invite, authorisation.name)
                  for invite in await client.invites(authorisation.id)]
    return sorted(found, key=lambda pair: pair[0].id, reverse=True)


class ActionListInvites(BackendAction):
    def name(self) -> str:
        return "action_list_invites"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        invites = await all_invites(client)
        if not invites:
            dispatcher.utter_message(text="You haven't created any invites yet.",
                                     buttons=[button("Create an invite", "create_invite")])
            return []
        lines = [describe_invite(invite, name) for invite, name in invites[:SHOWN]]
        if len(invites) > SHOWN:
            lines.append(f"… and {len(invites) - SHOWN} older ones.")
        open_ones = [invite for invite, _ in invites if invite.state == "open"]
        ending = ("To revoke an open invite (its code then stops working), press its button."
                  if open_ones else "None of them is open.")
        dispatcher.utter_message(
            text="Your invites, newest first:\n" + "\n".join(lines) + "\n" + ending,
            buttons=[button(f"Revoke #{i.id} …{i.code_hint}", "revoke_invite", invite_id=i.id)
                     for i in open_ones[:MAX_BUTTONS]])
        return []


class ActionRevokeInvite(BackendAction):
    def name(self) -> str:
        return "action_revoke_invite"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        chosen = next(iter(latest_entities(tracker, "invite_id")), None)
        number = parse_count(chosen)
        if number is None:
            return await ActionListInvites().act(dispatcher, tracker, domain, client)
        revoked = await client.revoke_invite(number)
        dispatcher.utter_message(
            text=f"Invite #{revoked.id} (…{revoked.code_hint}) is revoked: its code no longer "
                 "works. Nobody is told.",
            buttons=[button("Create a new invite", "create_invite"),
                     button("Show invites", "list_invites")])
        return []
