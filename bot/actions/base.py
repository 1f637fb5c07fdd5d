"""What every backend-calling action shares: who is asking, and one way to say what went wrong.

Refusals show the backend's own message (written for people); outages a friendly sentence; an
unexpected error is logged and the user gets an apology, never a stack trace.
"""

from __future__ import annotations

import logging
from abc import ABCMeta, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.identity import identity_of
from contracts.answers import Notification
from contracts.backend_client import (
    BackendClient,
    BackendError,
    BackendOutcomeUnknown,
    BackendUnavailable,
)

log = logging.getLogger(__name__)

UNAVAILABLE_TEXT = ("Sorry, I can't reach the booking system right now, so nothing was changed. "
                    "Please try again in a few minutes, or say 'talk to a person'.")
UNEXPECTED_TEXT = ("Sorry, something went wrong on my side and nothing was changed. Please try "
                   "again, or say 'talk to a person'.")
OUTCOME_UNKNOWN_TEXT = ("Sorry, the booking system is taking too long to answer, so I can't tell "
                        "yet whether that went through. Please ask me for 'my bookings' in a few "
                        "minutes before trying again, or say 'talk to a person'.")
NOT_IDENTIFIED_TEXT = ("I can't do that here: this chat hasn't told me who you are. Please message "
                       "me from your organisation's Slack or Teams, or sign in on the website. "
                       "You can still ask me questions, like what coverage means or how privacy "
                       "works.")


class NotIdentified(Exception):
    """The message carries no verified identity, so nothing can be done for an organisation."""


class FormRefused(Exception):
    """A form cannot go on; the message says why."""

    def __init__(self, message: str, buttons: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.buttons = buttons or []


def client_for(tracker: Tracker, action: str | None = None) -> BackendClient:
    """A client acting for the tracker's verified identity. Given the running action, its
    changes carry idempotency keys of this conversation, user message and action, so a
    redelivered message or a retry after a timeout does each change once."""
    identity = identity_of(tracker)
    if identity is None:
        raise NotIdentified()
    message_id = (tracker.latest_message or {}).get("message_id")
    scope = (f"{tracker.sender_id}\n{message_id}\n{action}"
             if action and message_id else None)
    return BackendClient(identity, idempotency_scope=scope)


def explain_failure(dispatcher: CollectingDispatcher, error: Exception) -> None:
    """Tell the user what went wrong, in words meant for them."""
    if isinstance(error, NotIdentified):
        dispatcher.utter_message(text=NOT_IDENTIFIED_TEXT)
    elif isinstance(error, FormRefused):
        dispatcher.utter_message(text=error.message, buttons=error.buttons)
    elif isinstance(error, BackendError):
        dispatcher.utter_message(text=error.message)
    elif isinstance(error, BackendOutcomeUnknown):
        dispatcher.utter_message(text=OUTCOME_UNKNOWN_TEXT)
    elif isinstance(error, BackendUnavailable):
        dispatcher.utter_message(text=UNAVAILABLE_TEXT)
    else:
        log.exception("unexpected error in an action", exc_info=error)
        dispatcher.utter_message(text=UNEXPECTED_TEXT)


HANDLED = (NotIdentified, BackendError, BackendUnavailable, FormRefused)


async def tell_news(dispatcher: CollectingDispatcher, client: BackendClient) -> list[Notification]:
    """Say the notifications waiting for this person (each is handed out once); none for
    people the backend does not know, or while it cannot be reached."""
    try:
        notes = await client.notifications()
    except (BackendError, BackendUnavailable):
        return []
    for note in notes:
        dispatcher.utter_message(text=note.text)
    return notes


def slots_of(notes: list[Notification]) -> list[EventType]:
    """The slots the notes' pushes would have set (the team took or handed back the
    conversation): set when the bot says them instead."""
    return [SlotSet(name, value) for note in notes for name, value in note.slots.items()]


class BackendAction(Action, metaclass=ABCMeta):
    """An action that calls the backend. Subclasses implement `act` with a ready client."""

    needs_identity = True
    # After answering, tell the person what happened since they last spoke (a card saved, a
    # booking confirmed, a charge failed): not every channel can start a conversation.
    tells_news = True

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        try:
            client = client_for(tracker, self.name()) if self.needs_identity else None
            events = await self.act(dispatcher, tracker, domain, client)
            if client is not None and self.tells_news:
                events = [*events, *slots_of(await tell_news(dispatcher, client))]
            return events
        except HANDLED as error:
            explain_failure(dispatcher, error)
        except Exception as error:
            explain_failure(dispatcher, error)
        return self.after_failure(tracker, domain)

    @abstractmethod
    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any], client: BackendClient | None) -> list[EventType]:
        ...

    def after_failure(self, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return []
