"""The actions' side of safe retries: the client of one user message and action keys its
changes by them, and an unknown outcome is never told as "nothing was changed"."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import OUTCOME_UNKNOWN_TEXT, UNAVAILABLE_TEXT, client_for, explain_failure
from contracts.backend_client import BackendOutcomeUnknown, BackendUnavailable, idempotency_key
from tests.bot.conftest import make_tracker, texts


def tracker_of(message_id: str | None, sender_id: str = "slack:T1:U1"):
    tracker = make_tracker(sender_id=sender_id)
    if message_id:
        tracker.latest_message["message_id"] = message_id
    return tracker


def test_a_message_s_action_keys_its_changes_the_same_way_on_every_delivery():
    first = client_for(tracker_of("Ev123"), "action_cancel_booking")
    redelivered = client_for(tracker_of("Ev123"), "action_cancel_booking")
    assert first._scope == redelivered._scope is not None
    assert client_for(tracker_of("Ev124"), "action_cancel_booking")._scope != first._scope
    assert client_for(tracker_of("Ev123"), "action_book")._scope != first._scope
    assert client_for(tracker_of("Ev123", "slack:T1:U2"),
                      "action_cancel_booking")._scope != first._scope
    # Without a message id or an action there is nothing to key by: no key is sent.
    assert client_for(tracker_of(None), "action_book")._scope is None
    assert client_for(tracker_of("Ev123"))._scope is None


def test_each_change_of_a_message_has_its_own_key():
    keys = {idempotency_key("scope", n, "POST", path)
            for n in (1, 2) for path in ("/bookings", "/bookings/1/cancel")}
    assert len(keys) == 4
    assert idempotency_key("scope", 1, "POST", "/bookings") == idempotency_key(
        "scope", 1, "POST", "/bookings")


def test_an_unknown_outcome_is_not_told_as_nothing_changed():
    dispatcher = CollectingDispatcher()
    explain_failure(dispatcher, BackendOutcomeUnknown("timed out"))
    assert texts(dispatcher) == OUTCOME_UNKNOWN_TEXT
    assert "nothing was changed" not in OUTCOME_UNKNOWN_TEXT
    dispatcher = CollectingDispatcher()
    explain_failure(dispatcher, BackendUnavailable("refused"))  # never sent: nothing changed
    assert texts(dispatcher) == UNAVAILABLE_TEXT
