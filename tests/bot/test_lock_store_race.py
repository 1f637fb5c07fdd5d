"""Two Rasa servers sharing the Redis lock store take turns on one conversation (issue 14).

Two processes of Rasa's environment, each with the lock store a Rasa server opens
(bot/lock_store.py with RASA_LOCK_STORE_URL), start many turns of one conversation at the same
moment through Rasa's own `LockStore.lock`. Inside a turn each counts itself in and out on a Redis
counter, so a second turn running at the same time is seen, whichever process runs it.

Rasa's RedisLockStore alone fails this: its ticket queue is read, changed and written back
without a lock, so two servers take the same ticket (overlapping turns) or drop a ticket the
other just took (that turn waits for ever): measured, it hangs here.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid

import pytest
import redis

from tests.stack import RASA_PYTHON, REPO

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TURNS_PER_SERVER = 24

pytestmark = pytest.mark.slow

# One Rasa server: `turns` turns of conversation `sender`, all started at `start` (a Unix time).
SERVER = """
import asyncio, json, sys, time
import redis
from bot.lock_store import EnvironmentLockStore

async def main(sender, start, turns, counter, url):
    store = EnvironmentLockStore()
    red = redis.Redis.from_url(url)
    overlaps, served = 0, 0

    async def turn():
        nonlocal overlaps, served
        async with store.lock(sender, wait_time_in_seconds=0.01):
            inside = red.incr(counter)
            overlaps += inside > 1
            await asyncio.sleep(0.005)  # a turn's work, letting the other turns of this loop run
            red.decr(counter)
            served += 1

    await asyncio.sleep(max(0.0, start - time.time()))
    await asyncio.gather(*(turn() for _ in range(turns)))
    print(json.dumps({"overlaps": overlaps, "served": served}))

sender, start, turns, counter, url = sys.argv[1:]
asyncio.run(main(sender, float(start), int(turns), counter, url))
"""


def test_turns_of_one_conversation_on_two_servers_never_overlap():
    prefix = f"race{uuid.uuid4().hex[:8]}"
    sender, counter = f"{prefix}-conversation", f"{prefix}:inside"
    env = {**os.environ, "PYTHONPATH": str(REPO), "RASA_LOCK_STORE_URL": REDIS_URL,
           "RASA_LOCK_STORE_PREFIX": prefix}
    start = f"{time.time() + 3:.3f}"  # both processes loaded by then
    servers = [subprocess.Popen(
        [str(RASA_PYTHON), "-c", SERVER, sender, start, str(TURNS_PER_SERVER), counter, REDIS_URL],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)]
    results = []
    for server in servers:
        try:
            out, err = server.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            for process in servers:
                process.kill()
            pytest.fail("a turn waited for ever: its ticket was lost from the shared queue")
        assert server.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["served"] for r in results] == [TURNS_PER_SERVER] * 2, results
    assert sum(r["overlaps"] for r in results) == 0, results
    red = redis.Redis.from_url(REDIS_URL)
    try:
        assert int(red.get(counter) or 0) == 0
        assert red.keys(f"{prefix}:*lock*") == []  # every queue removed after its last turn
    finally:
        red.delete(counter)
        red.close()
