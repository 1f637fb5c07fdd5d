"""Rasa's starter bot and this assistant under the same load, in one run (issue 14).

    python -m benchmarks.starter                       # 1, 8 and 50 concurrent conversations
    python -m benchmarks.starter --levels 1 8 --min-turns 100 --starter-dir /tmp/starter

Creates Rasa's starter bot with `rasa init --no-prompt` (same Rasa, .venv-rasa) in a temporary
directory, which also trains it (or reuses --starter-dir when it holds a trained one), and starts
it with `rasa run` (its REST channel, its in-memory tracker store). Starts this assistant as
`make run` does, each process through scripts/start.py (tests/stack.py: backend, action server,
Rasa server with the dev_rest channel and DEV_TRUST_SENDER=true, dispatcher; SQLite). Then, at each
level of concurrency, one after the other on the same machine:

- the starter bot: conversations of its own greeting/mood turns (STARTER_SCRIPT) through
  POST /webhooks/rest/webhook;
- this assistant: a greeting, a therapist search, a FAQ, goodbye (ASSISTANT_SCRIPT) through
  POST /webhooks/dev_rest/webhook, each conversation a new sender;
- this assistant, identified members booking (benchmarks/load.py's whole booking conversations:
  redeem an invite, search, pick a therapist and a time, confirm).

Prints and writes (benchmarks/results/starter.md) p50/p95/p99 per turn, turns/s, and the ratios of
this assistant's figures to the starter bot's, with the goals of issue 14. Localhost only.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import aiohttp

from benchmarks.reporting import cpu_model, publish
from tests.e2e.chat import WEBHOOK, RestChat

REPO = Path(__file__).resolve().parent.parent
RASA = REPO / ".venv-rasa" / "bin" / "rasa"
RESULTS = REPO / "benchmarks" / "results" / "starter.md"
STARTER_WEBHOOK = "/webhooks/rest/webhook"
LEVELS = (1, 8, 50)
STARTER_SCRIPT = ("hello", "I am feeling sad", "yes", "goodbye")
ASSISTANT_SCRIPT = ("hello", "I'm looking for a therapist for anxiety, by video",
                    "what is the cancellation policy?", "goodbye")
STARTUP_SECONDS = 900
# Issue 14's goals.
MEDIAN_RATIO_GOAL = 1.3  # median turn at one conversation, ours / the starter bot's
P99_GOAL_MS = 2000  # at 50 conversations


# --- Statistics ------------------------------------------------------------------------------


@dataclass
class Series:
    """The turns of one bot at one level of concurrency."""

    bot: str
    concurrency: int
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the whole series
    errors: int = 0
    conversations: int = 0
    problems: list[str] = field(default_factory=list)  # what went wrong, for the report

    @property
    def turns(self) -> int:
        return len(self.latencies_ms)

    @property
    def turns_per_second(self) -> float:
        return self.turns / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        """Linear between the closest ranks (`statistics.quantiles`, inclusive)."""
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else math.nan
        cuts = statistics.quantiles(self.latencies_ms, n=1000, method="inclusive")
        return cuts[round(fraction * 1000) - 1]


def ratio(ours: float, theirs: float) -> float:
    return ours / theirs if theirs else math.nan


def conversations_for(concurrency: int, min_turns: int, turns_each: int) -> int:
    """Enough conversations for `min_turns` turns, and at least two per concurrent slot."""
    return max(math.ceil(min_turns / turns_each), 2 * concurrency)


# --- Load ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    bot: str
    url: str
    webhook: str
    script: tuple[str, ...]


async def _conversation(session: aiohttp.ClientSession, target: Target, sender: str,
                        series: Series) -> RestChat:
    chat = RestChat(session, target.url, sender, webhook=target.webhook)
    try:
        for message in target.script:
            await chat.say(message)
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        series.errors += 1
        series.problems.append(f"{sender}: {type(error).__name__} {error}"[:160])
    series.latencies_ms += [turn.seconds * 1000 for turn in chat.turns]
    return chat


async def drive(target: Target, concurrency: int, conversations: int, run_id: str
                ) -> tuple[Series, str]:
    """`conversations` conversations of `target.script`, `concurrency` at a time; the series
    and the transcript of the first conversation."""
    series = Series(target.bot, concurrency, conversations=conversations)
    gate = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency * 2)) as session:
        # Untimed warm-up: a process's first turn pays for lazy loading.
        await _conversation(session, target, f"warmup-{run_id}-{concurrency}",
                            Series(target.bot, 1))

        async def one(number: int) -> RestChat:
            async with gate:
                return await _conversation(
                    session, target, f"bench-{run_id}-{concurrency}-{number}", series)

        started = time.perf_counter()
        chats = await asyncio.gather(*(one(n) for n in range(conversations)))
        series.seconds = time.perf_counter() - started
    return series, chats[0].transcript()


async def drive_bookings(stack_urls: tuple[str, str, str], concurrency: int, conversations: int,
                         seed: int) -> Series:
    """benchmarks/load.py's whole booking conversations, as one series."""
    from benchmarks.load import run_load

    rasa_url, backend_url, token = stack_urls
    run = await run_load(rasa_url, backend_url, token, conversations, concurrency,
                         time_limit=900, seed=seed)
    series = Series("bookings", concurrency, conversations=conversations, seconds=run.seconds,
                    latencies_ms=[turn.seconds * 1000 for outcome in run.outcomes
                                  for turn in outcome.turns])
    series.problems = [outcome.problem or "not booked" for outcome in run.outcomes
                       if not outcome.booked]
    series.errors = len(series.problems)
    return series


# --- The two bots ----------------------------------------------------------------------------


def _rasa_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("RASA_")}
    env.update(RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    return env


def create_starter(directory: Path) -> None:
    """`rasa init --no-prompt` into `directory` (it trains the starter model), unless a trained
    starter bot is there already."""
    if list((directory / "models").glob("*.tar.gz")):
        print(f"Reusing the starter bot in {directory}", flush=True)
        return
    directory.mkdir(parents=True, exist_ok=True)
    print(f"Creating and training Rasa's starter bot (rasa init --no-prompt) in {directory} ...",
          flush=True)
    with (directory / "init.log").open("wb") as log:
        subprocess.run([str(RASA), "init", "--no-prompt", "--init-dir", str(directory)],
                       cwd=directory, env=_rasa_env(), stdout=log, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, check=True, timeout=STARTUP_SECONDS)


@contextmanager
def starter_server(directory: Path, port: int) -> Iterator[str]:
    """The starter bot's `rasa run` (its own credentials.yml: the REST channel), until exit."""
    url = f"http://127.0.0.1:{port}"
    log = (directory / "run.log").open("wb")
    server = subprocess.Popen(
        [str(RASA), "run", "--interface", "127.0.0.1", "--port", str(port), "--model", "models",
         "--credentials", "credentials.yml", "--endpoints", "endpoints.yml"],
        cwd=directory, env=_rasa_env(), stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers(url):  # sanic opens the port once the model is loaded
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the starter bot did not start; see {directory / 'run.log'}")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
        log.close()


def _answers(url: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url + "/", timeout=2) as answer:
            return answer.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


# --- Report ----------------------------------------------------------------------------------


def _row(series: Series) -> str:
    cells = [f"{series.percentile(p):.0f}" for p in (0.5, 0.95, 0.99)]
    return (f"| {series.concurrency} | {series.bot} | {series.conversations} | {series.turns} | "
            f"{series.errors} | {series.turns_per_second:.1f} | " + " | ".join(cells) + " |")


def _ratio_row(ours: Series, starter: Series) -> str:
    cells = [ratio(ours.percentile(p), starter.percentile(p)) for p in (0.5, 0.95, 0.99)]
    throughput = ratio(ours.turns_per_second, starter.turns_per_second)
    return (f"| {ours.concurrency} | " + " | ".join(f"{c:.2f}" for c in cells)
            + f" | {throughput:.2f} |")


def _met(met: bool) -> str:
    return "met" if met else "not met"


def goals(results: Sequence[Series]) -> list[str]:
    """Issue 14's goals, each met or not, for the levels that were run."""
    found = {(s.bot, s.concurrency): s for s in results}
    lines = []
    if ("assistant", 1) in found and ("starter", 1) in found:
        value = ratio(found["assistant", 1].percentile(0.5), found["starter", 1].percentile(0.5))
        lines.append(f"- Median turn at one conversation <= {MEDIAN_RATIO_GOAL}x the starter "
                     f"bot's: {value:.2f}x, **{_met(value <= MEDIAN_RATIO_GOAL)}**")
    if ("assistant", 50) in found and ("starter", 50) in found:
        ours, starter = found["assistant", 50], found["starter", 50]
        value = ratio(ours.turns_per_second, starter.turns_per_second)
        lines.append(f"- At 50 conversations one Rasa server at least matches the starter bot's "
                     f"throughput: {value:.2f}x, **{_met(value >= 1)}**")
        p99 = ours.percentile(0.99)
        lines.append(f"- p99 under {P99_GOAL_MS / 1000:.0f} s at 50 conversations: "
                     f"{p99:.0f} ms, **{_met(p99 < P99_GOAL_MS)}**")
    return lines


def report(results: Sequence[Series], transcripts: dict[str, str], command: str,
           load: tuple[float, float], seconds: float) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    pairs = [(ours, starter) for ours in results if ours.bot == "assistant"
             for starter in results if starter.bot == "starter"
             and starter.concurrency == ours.concurrency]
    lines = [
        "# Rasa's starter bot and this assistant under the same load",
        "",
        f"- Date: {now}; the whole run took {seconds / 60:.1f} min",
        f"- Machine: {cpu_model()}, {os.cpu_count()} cores; {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}. Every server and this load "
        f"generator share these cores; 1-minute load average {load[0]:.2f} before the run, "
        f"{load[1]:.2f} after (other work on the machine included).",
        f"- Command: `{command}`",
        "- starter: `rasa init --no-prompt` (same Rasa), `rasa run`, REST channel, in-memory "
        f"tracker store; each conversation: {' / '.join(STARTER_SCRIPT)}.",
        "- assistant: started as `make run` starts it (scripts/start.py: backend, action server, "
        "Rasa, dispatcher; SQLite), dev_rest channel; each conversation a new sender: "
        f"{' / '.join(ASSISTANT_SCRIPT)}.",
        "- bookings: this assistant, identified members booking (benchmarks/load.py: redeem an "
        "invite, search, pick a therapist and a time, confirm); errors = conversations that did "
        "not book.",
        "- A turn: a message posted until the bot's replies come back. Levels run one after the "
        "other, each bot alone; each level starts with an untimed warm-up conversation.",
        "",
        "## Results",
        "",
        "| Concurrent | Bot | Conversations | Turns | Errors | Turns/s | p50 ms | p95 ms "
        "| p99 ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        *(_row(series) for series in results),
        "",
        "## This assistant / the starter bot",
        "",
        "Latency ratios above 1: this assistant is slower; throughput ratio below 1: it serves "
        "fewer turns per second.",
        "",
        "| Concurrent | p50 | p95 | p99 | Turns/s |",
        "|---:|---:|---:|---:|---:|",
        *(_ratio_row(ours, starter) for ours, starter in pairs),
        "",
        "## Issue 14's goals",
        "",
        *goals(results),
    ]
    problems = [(series, problem) for series in results for problem in series.problems]
    if problems:
        lines += ["", "## Errors", ""]
        lines += [f"- {series.bot} at {series.concurrency}: {problem}"
                  for series, problem in problems]
    for bot, transcript in transcripts.items():
        lines += ["", f"## One {bot} conversation", "", "```", transcript, "```"]
    return "\n".join(lines) + "\n"


# --- Command line ----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.starter",
        description="Run Rasa's starter bot (rasa init) and this assistant under the same load "
                    "(1, 8 and 50 concurrent conversations by default) and report turns/s, "
                    "p50/p95/p99 per turn and their ratios. Starts and stops every server "
                    "itself (needs a model from `make train`); localhost only.")
    parser.add_argument("--levels", type=int, nargs="+", default=list(LEVELS), metavar="N",
                        help="concurrent conversations of each level (default: 1 8 50)")
    parser.add_argument("--min-turns", type=int, default=200,
                        help="timed turns per bot and level, at least (default %(default)s; "
                             "also at least two conversations per concurrent one)")
    parser.add_argument("--booking-conversations", type=int, default=None, metavar="N",
                        help="whole booking conversations per level (default: the level's "
                             "concurrency, at least 5); 0 leaves the bookings out")
    parser.add_argument("--starter-dir", type=Path, default=None,
                        help="where to create the starter bot, or reuse one trained there "
                             "(default: a temporary directory, removed afterwards)")
    parser.add_argument("--seed", type=int, default=1, help="the bookings' choices")
    parser.add_argument("--output", type=Path, default=RESULTS,
                        help="where to write the Markdown report (default %(default)s)")
    args = parser.parse_args(argv)
    if any(not 1 <= level <= 200 for level in args.levels):
        parser.error("--levels must be between 1 and 200")
    if not 1 <= args.min_turns <= 5000:
        parser.error("--min-turns must be between 1 and 5000")
    if args.booking_conversations is not None and not 0 <= args.booking_conversations <= 1000:
        parser.error("--booking-conversations must be between 0 and 1000")
    return args


def bookings_for(level: int, asked: int | None) -> int:
    return max(level, 5) if asked is None else asked


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from tests.stack import free_port, start_stack  # pytest is needed only for this

    begun = time.perf_counter()
    starter_dir = args.starter_dir or Path(tempfile.mkdtemp(prefix="rasa-starter-"))
    create_starter(starter_dir)
    print("Starting this assistant (logs: artifacts/stack/starter/) ...", flush=True)
    stack = start_stack("starter", workdir=Path(tempfile.mkdtemp(prefix="starter-stack-")),
                        rasa_env={"DEV_TRUST_SENDER": "true"})
    results: list[Series] = []
    transcripts: dict[str, str] = {}
    run_id = f"{int(time.time()):x}"
    try:
        with starter_server(starter_dir, free_port()) as starter_url:
            targets = (Target("starter", starter_url, STARTER_WEBHOOK, STARTER_SCRIPT),
                       Target("assistant", stack.rasa_url, WEBHOOK, ASSISTANT_SCRIPT))
            load_before = os.getloadavg()[0]
            for level in args.levels:
                for target in targets:
                    count = conversations_for(level, args.min_turns, len(target.script))
                    print(f"{target.bot}: {count} conversations, {level} at a time ...",
                          flush=True)
                    series, transcript = asyncio.run(drive(target, level, count, run_id))
                    transcripts.setdefault(target.bot, transcript)
                    results.append(series)
                    print("  " + _row(series), flush=True)
                bookings = bookings_for(level, args.booking_conversations)
                if bookings:
                    print(f"bookings: {bookings} conversations, {min(level, bookings)} at a "
                          "time ...", flush=True)
                    series = asyncio.run(drive_bookings(
                        (stack.rasa_url, stack.backend_url, stack.service_token),
                        min(level, bookings), bookings, args.seed))
                    results.append(series)
                    print("  " + _row(series), flush=True)
            load = (load_before, os.getloadavg()[0])
    finally:
        stack.stop()
        if args.starter_dir is None:
            shutil.rmtree(starter_dir, ignore_errors=True)
    command = "python -m benchmarks.starter " + " ".join(sys.argv[1:] if argv is None else argv)
    text = report(results, transcripts, command.strip(), load, time.perf_counter() - begun)
    publish(text, args.output)


if __name__ == "__main__":
    main()
