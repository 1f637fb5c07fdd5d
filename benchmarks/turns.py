"""Turns per second and time per turn of a running assistant, for profiling one change at a time.

Drives the conversation of benchmarks/starter.py's assistant (hello / a therapist for anxiety by
video / the cancellation policy / goodbye), each conversation a new sender, over the dev_rest
channel of a stack started with `make run`, for a number of seconds at a given concurrency, and
prints the median and p95 of each message's turn and the conversations finished per second.
Unlike benchmarks/starter.py it starts nothing: run it against one version, restart the stack on
the other, run it again (benchmarks/results/profile.md shows how it was used).

    .venv/bin/python -m benchmarks.turns --url http://127.0.0.1:5005 --seconds 35 --concurrency 1
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import aiohttp

from benchmarks.starter import ASSISTANT_SCRIPT, Series

WEBHOOK = "/webhooks/dev_rest/webhook"


class TurnFailed(Exception):
    """A turn answered with an error: the figures would mean nothing."""


async def _conversations(session: aiohttp.ClientSession, url: str, until: float,
                         times: dict[str, Series]) -> int:
    finished = 0
    while time.monotonic() < until:
        sender = f"turns-{uuid.uuid4().hex[:10]}"
        for message in ASSISTANT_SCRIPT:
            started = time.perf_counter()
            async with session.post(url + WEBHOOK, json={"sender": sender, "message": message},
                                    timeout=aiohttp.ClientTimeout(total=120)) as answer:
                if answer.status != 200:
                    raise TurnFailed(f"{answer.status} for {message!r}: {await answer.text()}")
                await answer.json()
            times[message].latencies_ms.append((time.perf_counter() - started) * 1000)
        finished += 1
    return finished


async def run(url: str, seconds: float, concurrency: int) -> None:
    times = {message: Series(message, concurrency) for message in ASSISTANT_SCRIPT}
    async with aiohttp.ClientSession() as session:
        until = time.monotonic() + seconds
        started = time.monotonic()
        finished = await asyncio.gather(*(_conversations(session, url, until, times)
                                          for _ in range(concurrency)))
        elapsed = time.monotonic() - started
    print(f"concurrency {concurrency}: {sum(finished)} conversations in {elapsed:.1f} s = "
          f"{sum(finished) / elapsed:.2f}/s")
    for message, series in times.items():
        print(f"  {message[:45]:45s} n={series.turns:4d} p50 {series.percentile(0.5):6.0f} ms  "
              f"p95 {series.percentile(0.95):6.0f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.turns", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:5005", help="the Rasa server")
    parser.add_argument("--seconds", type=float, default=35.0, help="how long to drive it")
    parser.add_argument("--concurrency", type=int, default=1, help="conversations at once")
    parser.add_argument("--warm-up", type=float, default=10.0,
                        help="seconds of untimed conversations first (default 10)")
    args = parser.parse_args(argv)
    try:
        if args.warm_up > 0:
            asyncio.run(run_quietly(args.url, args.warm_up))
        asyncio.run(run(args.url, args.seconds, args.concurrency))
    except TurnFailed as failed:
        raise SystemExit(f"benchmarks.turns: a turn failed: {failed}") from None


async def run_quietly(url: str, seconds: float) -> None:
    async with aiohttp.ClientSession() as session:
        await _conversations(session, url, time.monotonic() + seconds,
                             {message: Series(message, 1) for message in ASSISTANT_SCRIPT})


if __name__ == "__main__":
    main()
