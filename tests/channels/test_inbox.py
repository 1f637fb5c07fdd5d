"""The webhook channels' durable inbox (channels/inbox.py): a message kept before the platform's
200 survives the process, is kept once however often it is delivered, and is listed undone until
it is handled. (tests/channels/test_restart_live.py: the same through a real Rasa restart.)"""

from __future__ import annotations

import threading

from channels.inbox import Inbox


def test_a_kept_message_outlives_the_process_until_it_is_handled(tmp_path):
    path = tmp_path / "inbox.sqlite3"
    assert Inbox(path).put("slack", "Ev1", '{"text": "cancel"}')
    assert not Inbox(path).put("slack", "Ev1", '{"text": "cancel"}')  # a retried delivery
    Inbox(path).put("teams", "Ev1", '{"text": "other channel"}')

    restarted = Inbox(path)
    assert restarted.undone("slack") == [("Ev1", '{"text": "cancel"}')]
    restarted.done("slack", "Ev1")
    assert Inbox(path).undone("slack") == []
    assert Inbox(path).undone("teams") == [("Ev1", '{"text": "other channel"}')]
    assert not Inbox(path).put("slack", "Ev1", "{}")  # handled and remembered: not again


def test_concurrent_deliveries_of_one_message_keep_it_once(tmp_path):
    path = tmp_path / "inbox.sqlite3"
    Inbox(path)
    barrier = threading.Barrier(8)
    kept: list[bool] = []

    def deliver() -> None:
        barrier.wait(10)
        kept.append(Inbox(path).put("slack", "EvSame", "{}"))  # as several servers would

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(kept) == [False] * 7 + [True]
