"""The webhook channels' durable inbox (channels/inbox.py), both stores with one behaviour: a
message kept before the platform's 200 survives the process, is kept once however often it is
delivered, and is handed out again only when nobody is handling it: to its own server when that
server starts again, to any server once its lease has run out. The Redis store runs against the
test machine's real Redis (TEST_REDIS_URL, default db 15), as several Rasa servers share it.
(tests/channels/test_restart_live.py: the same through a real Rasa restart.)"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from functools import partial

import pytest

from channels.inbox import Inbox, RedisInbox, SqliteInbox, build_inbox
from contracts.settings import InboxSettings

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
LEASE = 300.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


OpenInbox = Callable[[str], Inbox]  # owner -> that server's view of one shared inbox


@pytest.fixture(params=["sqlite", "redis"])
def open_inbox(request, tmp_path) -> tuple[OpenInbox, Clock]:
    clock = Clock()
    if request.param == "sqlite":
        path = tmp_path / "inbox.sqlite3"
        return (lambda owner: SqliteInbox(path, owner, LEASE, clock)), clock
    prefix = f"test-inbox-{uuid.uuid4().hex[:8]}"  # this test's own keys in the shared Redis
    return (lambda owner: RedisInbox(REDIS_URL, owner, LEASE, clock, prefix=prefix)), clock


def test_a_kept_message_is_kept_once_and_remembered_after_it_is_handled(open_inbox):
    open_, _ = open_inbox
    inbox = open_("rasa-1")
    assert inbox.put("slack", "Ev1", '{"text": "cancel"}')
    assert not open_("rasa-1").put("slack", "Ev1", '{"text": "cancel"}')  # a retried delivery
    assert open_("rasa-2").put("teams", "Ev1", '{"text": "other channel"}')  # another channel
    inbox.done("slack", "Ev1")
    assert not open_("rasa-2").put("slack", "Ev1", "{}")  # handled and remembered: not again
    assert open_("rasa-1").claim_undone("slack", at_start=True) == []


def test_a_restarted_server_takes_back_what_it_held_and_nothing_another_server_holds(open_inbox):
    open_, _ = open_inbox
    open_("rasa-1").put("slack", "Ev1", '{"n": 1}')
    open_("rasa-1").put("slack", "Ev2", '{"n": 2}')
    open_("rasa-2").put("slack", "Ev3", '{"n": 3}')  # in hand at a running server

    restarted = open_("rasa-1")
    assert restarted.claim_undone("slack") == []  # a sweep: every lease still runs
    assert restarted.claim_undone("slack", at_start=True) == [("Ev1", '{"n": 1}'),
                                                              ("Ev2", '{"n": 2}')]
    restarted.done("slack", "Ev1")
    assert open_("rasa-1").claim_undone("slack", at_start=True) == [("Ev2", '{"n": 2}')]


def test_what_a_stopped_server_held_is_taken_over_once_its_lease_runs_out(open_inbox):
    open_, clock = open_inbox
    open_("rasa-1").put("slack", "Ev1", '{"n": 1}')  # and rasa-1 is never seen again
    survivor = open_("rasa-2")
    clock.now += LEASE - 1
    assert survivor.claim_undone("slack") == []
    clock.now += 1
    assert survivor.claim_undone("slack") == [("Ev1", '{"n": 1}')]
    assert survivor.claim_undone("slack") == []  # now leased to rasa-2
    assert open_("rasa-3").claim_undone("slack") == []
    clock.now += LEASE  # rasa-2 died with it too: the next server takes it
    assert open_("rasa-3").claim_undone("slack") == [("Ev1", '{"n": 1}')]
    assert open_("rasa-1").claim_undone("slack", at_start=True) == []  # no longer rasa-1's


def as_servers(work: Callable[[int], None], count: int) -> None:
    """`work(server)` for `count` servers at once, each in its own thread, until all are done."""
    threads = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_concurrent_deliveries_and_sweeps_hand_a_message_out_once(open_inbox):
    open_, clock = open_inbox
    barrier = threading.Barrier(8)
    kept: list[bool] = []
    claimed: list[list[tuple[str, str]]] = []

    def deliver(server: int) -> None:
        inbox = open_(f"rasa-{server}")
        barrier.wait(10)
        kept.append(inbox.put("slack", "EvSame", "{}"))

    def sweep(server: int) -> None:
        inbox = open_(f"rasa-{server}")
        barrier.wait(10)
        claimed.append(inbox.claim_undone("slack"))

    for work in (deliver, sweep):
        as_servers(work, 8)
        clock.now += LEASE  # before the sweeps, the lease runs out
    assert sorted(kept) == [False] * 7 + [True]
    assert sorted(map(len, claimed)) == [0] * 7 + [1]


def test_servers_opening_one_new_inbox_file_at_once_all_open_it(tmp_path):
    # Turning a new file to WAL at once, SQLite refuses one of two at once instead of waiting
    # (about one round in thirty before the retry; CI met it on 2026-12-04).
    failures: list[BaseException] = []

    def open_and_keep(path, barrier: threading.Barrier, server: int) -> None:
        barrier.wait(10)
        try:
            SqliteInbox(path, f"rasa-{server}").put("slack", f"Ev{server}", "{}")
        except BaseException as error:
            failures.append(error)

    for round_number in range(100):
        path, barrier = tmp_path / f"inbox-{round_number}.sqlite3", threading.Barrier(8)
        as_servers(partial(open_and_keep, path, barrier), 8)
    assert failures == []


def test_an_inbox_file_written_before_leases_is_read_and_its_messages_handed_out(tmp_path):
    import sqlite3

    path = tmp_path / "inbox.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE inbox (channel TEXT NOT NULL, key TEXT NOT NULL, "
                    "payload TEXT NOT NULL, received_at REAL NOT NULL, done_at REAL, "
                    "PRIMARY KEY (channel, key))")
        old.execute("INSERT INTO inbox VALUES ('slack', 'EvOld', '{}', 1, NULL)")
    old.close()
    assert SqliteInbox(path, "rasa-1").claim_undone("slack", at_start=True) == [("EvOld", "{}")]


def test_the_store_follows_the_settings(tmp_path):
    assert isinstance(build_inbox(InboxSettings(path=str(tmp_path / "i.sqlite3"))), SqliteInbox)
    redis_inbox = build_inbox(InboxSettings(redis_url=REDIS_URL, owner="rasa-7"))
    assert isinstance(redis_inbox, RedisInbox) and redis_inbox.owner == "rasa-7"
    assert InboxSettings.from_environment({
        "CHAT_INBOX_REDIS_URL": REDIS_URL, "CHAT_INBOX_LEASE_SECONDS": "60",
        "CHAT_INBOX_SWEEP_SECONDS": "5", "CHAT_INBOX_OWNER": "pod-1",
    }) == InboxSettings(redis_url=REDIS_URL, lease_seconds=60, sweep_seconds=5, owner="pod-1")
