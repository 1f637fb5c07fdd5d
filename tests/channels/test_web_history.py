"""The widget's history after a reload, rebuilt from tracker events."""

from __future__ import annotations

from channels.web_history import CHOSE_AN_OPTION, buttons_of, transcript

SLOTS = [{"title": "Tue 10:00", "payload": '/choose_slot{"slot": 1}'},
         {"title": "Wed 14:00", "payload": '/choose_slot{"slot": 2}'}]


def test_messages_keep_their_order_and_button_choices_show_their_titles():
    events = [
        {"event": "action", "name": "action_session_start"},
        {"event": "session_started"},
        {"event": "user", "text": "I want to book", "metadata": {"identity": "web:1"}},
        {"event": "bot", "text": "Which time suits you?", "data": {"buttons": SLOTS}},
        {"event": "user", "text": '/choose_slot{"slot": 2}'},
        {"event": "slot", "name": "slot", "value": 2},
        {"event": "bot", "text": "Booked for Wed 14:00.", "data": {}},
    ]

    assert transcript(events) == [
        {"sender": "user", "text": "I want to book", "buttons": []},
        {"sender": "bot", "text": "Which time suits you?", "buttons": SLOTS},
        {"sender": "user", "text": "Wed 14:00", "buttons": []},
        {"sender": "bot", "text": "Booked for Wed 14:00.", "buttons": []},
    ]


def test_a_payload_not_offered_just_before_is_not_shown_raw():
    events = [
        {"event": "bot", "text": "Pick one", "data": {"buttons": SLOTS}},
        {"event": "user", "text": "something else"},
        {"event": "user", "text": '/choose_slot{"slot": 1}'},
    ]

    assert [m["text"] for m in transcript(events)] == ["Pick one", "something else",
                                                       CHOSE_AN_OPTION]


def test_quick_replies_count_as_buttons_and_malformed_ones_are_dropped():
    data = {"quick_replies": [{"title": "Yes", "payload": "/affirm"}, {"title": "No"}, "junk"]}

    assert buttons_of(data) == [{"title": "Yes", "payload": "/affirm"}]
    assert buttons_of(None) == [] and buttons_of({"buttons": "nope"}) == []


def test_empty_messages_are_skipped_and_only_the_latest_are_kept():
    events = [{"event": "bot", "text": None, "data": {}}, {"event": "user", "text": ""}]
    events += [{"event": "user", "text": f"message {n}"} for n in range(5)]

    assert [m["text"] for m in transcript(events, limit=2)] == ["message 3", "message 4"]
