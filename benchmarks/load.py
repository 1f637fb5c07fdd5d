"""Load benchmark: many concurrent whole booking conversations through Rasa's REST channel.

    python -m benchmarks.load --start-stack --conversations 40 --concurrency 8
    python -m benchmarks.load --rasa-url http://127.0.0.1:5005 --backend-url http://127.0.0.1:8000

Each conversation is a new member (sender `load-<run>-<n>`, trusted as `dev:<sender>`, so the
Rasa server must run with DEV_TRUST_SENDER=true, as `make run` and --start-stack do) who redeems
an invite made beforehand through the backend API, searches with filters in free text, picks a
therapist and a time by their buttons (at random, so that members rarely want the same slot),
confirms and books. Every HTTP round trip is timed by what it does; the figures, the machine and
the date are printed and written to benchmarks/results/load.md. Bounded: at most --conversations
conversations, --time-limit seconds, localhost only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

import aiohttp

from benchmarks.reporting import cpu_model, publish
from benchmarks.search import summary
from tests.e2e.backend_api import BackendApi
from tests.e2e.chat import (
    ConversationStuck,
    RestChat,
    Step,
    Turn,
    drive,
    member_booking_steps,
    mentions,
    random_choice,
    text_of,
    when_asked,
)

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "load.md"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
MAX_CONVERSATIONS = 1000
# Filters the way members type them; the bot asks for anything left out.
SEARCHES = (
    "I'm looking for someone to help with anxiety, by video, any time",
    "a therapist for stress, phone sessions, weekday evenings",
    "help with low mood on video please, mornings",
    "someone for grief, no preference how we meet, any time",
    "need help with work stress, video, after 5pm",
    "therapist for relationships by phone, afternoons",
)
TURN_ORDER = ("redeem", "search", "pick_therapist", "pick_slot", "confirm")


@dataclass
class Outcome:
    sender: str
    turns: list[Turn]
    booked: bool
    problem: str | None = None
    retries: int = 0


@dataclass
class Run:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    bookings_in_backend: int = 0
    timed_out: bool = False


def booking_steps(search: str, rng: random.Random) -> list[Step]:
    """The member's answers; like a person, they search again when a time has just gone, and
    say it more plainly when the bot did not understand (each counted in the report)."""
    retry = when_asked("search", r"just been taken|pick another time|no longer free", search)
    rephrase = when_asked("rephrase", r"didn't (quite )?understand", "find a therapist")
    return [*member_booking_steps(random_choice(rng), random_choice(rng)), retry, rephrase]


async def conversation(session: aiohttp.ClientSession, rasa_url: str, sender: str, code: str,
                       rng: random.Random) -> Outcome:
    chat = RestChat(session, rasa_url, sender)
    search = rng.choice(SEARCHES)
    try:
        await chat.say(f"hi, my invite code is {code.lower().replace('-', ' ')}", kind="redeem")
        if not mentions(r"organisation pays")(chat.replies):
            return Outcome(sender, chat.turns, False, f"redeem: {text_of(chat.replies)[:120]}")
        await chat.say(search, kind="search")
        await drive(chat, booking_steps(search, rng), done=mentions(r"\bRequested:"),
                    max_turns=16)
    except ConversationStuck:
        last = chat.turns[-1]
        said = "" if last.sent.startswith("/") else f' "{last.sent}"'
        return Outcome(sender, chat.turns, False, f"after the {last.kind} turn{said} the bot "
                                                  f"said: {text_of(chat.replies)[:90]}")
    except (aiohttp.ClientError, TimeoutError) as error:
        return Outcome(sender, chat.turns, False, f"http: {type(error).__name__} {error}"[:120])
    retries = sum(1 for turn in chat.turns if turn.kind == "search") - 1
    return Outcome(sender, chat.turns, True, retries=retries)


def not_understood(outcome: Outcome) -> list[str]:
    """The messages the bot answered with its fallback (the member then rephrased)."""
    turns = outcome.turns
    return [turns[i - 1].sent for i in range(1, len(turns)) if turns[i].kind == "rephrase"]


async def run_load(rasa_url: str, backend_url: str, service_token: str, conversations: int,
                   concurrency: int, time_limit: float, seed: int) -> Run:
    run_id = f"{int(time.time()):x}"
    async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency * 2)) as session:
        backend = BackendApi(session, backend_url, service_token)
        authorisation = await backend.create_authorisation(sessions_per_user=7, user_limit=None)
        codes = [await backend.create_invite(authorisation["id"]) for _ in range(conversations)]
        # Untimed warm-up: the first message of a process pays for lazy loading.
        await RestChat(session, rasa_url, f"load-{run_id}-warmup").say("what does coverage mean?")

        gate = asyncio.Semaphore(concurrency)
        run = Run()

        async def one(number: int) -> Outcome:
            async with gate:
                return await conversation(session, rasa_url, f"load-{run_id}-{number}",
                                          codes[number], random.Random(seed * 100_003 + number))

        started = time.perf_counter()
        tasks = [asyncio.create_task(one(n)) for n in range(conversations)]
        done, pending = await asyncio.wait(tasks, timeout=time_limit)
        for task in pending:
            task.cancel()
        run.seconds = time.perf_counter() - started
        run.timed_out = bool(pending)
        run.outcomes = [task.result() for task in done if not task.cancelled()]
        for outcome in run.outcomes:  # check the bookings exist, as the backend sees them
            if outcome.booked:
                mine = await backend.get("/me/bookings", f"dev:{outcome.sender}")
                run.bookings_in_backend += len(mine["bookings"])
        return run


# --- Report ----------------------------------------------------------------------------------


def _cells(seconds: list[float]) -> str:
    return " | ".join(f"{v:.0f}" for v in summary([s * 1000 for s in seconds]))


def report(run: Run, args: argparse.Namespace, where: str, load: tuple[float, float]) -> str:
    turns = [turn for outcome in run.outcomes for turn in outcome.turns]
    by_kind: dict[str, list[float]] = defaultdict(list)
    for turn in turns:
        by_kind[turn.kind].append(turn.seconds)
    kinds = [k for k in TURN_ORDER if k in by_kind] + sorted(set(by_kind) - set(TURN_ORDER))
    booked = [o for o in run.outcomes if o.booked]
    problems = Counter(o.problem for o in run.outcomes if o.problem)
    misunderstood = Counter(m for o in run.outcomes for m in not_understood(o))
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Load benchmark: whole booking conversations through the REST channel",
        "",
        f"- Date: {now}",
        f"- Machine: {cpu_model()}, {os.cpu_count()} cores; {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}. The backend (SQLite), the "
        "action server, the Rasa server and this load generator all share these cores; 1-minute "
        f"load average {load[0]:.2f} before the run, {load[1]:.2f} after.",
        f"- Stack: {where}",
        f"- Command: `python -m benchmarks.load {' '.join(sys.argv[1:])}`",
        f"- Conversations: {len(run.outcomes)} of {args.conversations} run, at most "
        f"{args.concurrency} at a time (seed {args.seed})"
        + ("; **the time limit stopped the run**" if run.timed_out else ""),
        "- Each conversation: a new member redeems an invite code (typed in lower case with a "
        "space), searches with filters in free text (one of "
        f"{len(SEARCHES)} phrasings), answers any question left, picks a therapist and a time "
        "by their buttons (at random), confirms the summary and books.",
        "",
        "## Results",
        "",
        f"- Completed bookings: **{len(booked)} of {len(run.outcomes)}**; bookings found in the "
        f"backend for those members: {run.bookings_in_backend}; searches repeated after a slot "
        f"was taken: {sum(o.retries for o in booked)}",
        f"- Wall time {run.seconds:.1f} s: **{len(turns) / run.seconds:.2f} turns/s**, "
        f"**{len(booked) / run.seconds:.3f} conversations/s** (completed bookings)",
        "",
        "Latency of one turn (a message posted to the REST channel until the bot's replies come "
        "back: NLU, policies, custom actions and their backend calls), in milliseconds:",
        "",
        "| Turn | Count | Median | p90 | p95 | p99 | Max |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(f"| {kind} | {len(by_kind[kind])} | {_cells(by_kind[kind])} |" for kind in kinds),
        f"| **all turns** | {len(turns)} | {_cells([t.seconds for t in turns])} |",
    ]
    if misunderstood:
        lines += ["", "Messages the bot did not understand (it answered with its fallback; the "
                  "member then said 'find a therapist' and answered the form's questions):", ""]
        lines += [f"- {count} x \"{message}\"" for message, count in misunderstood.most_common()]
    if problems:
        lines += ["", "Conversations that did not book:", ""]
        lines += [f"- {count} x {problem}" for problem, count in problems.most_common()]
    return "\n".join(lines) + "\n"


# --- Command line ----------------------------------------------------------------------------


def _local(url: str) -> str:
    host = urlparse(url).hostname
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"{url}: only localhost is allowed ({', '.join(sorted(LOCAL_HOSTS))}).")
    return url.rstrip("/")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load",
        description="Drive concurrent whole booking conversations through Rasa's REST channel "
                    "(dev_rest) and report turns/s, conversations/s and per-turn latency "
                    "percentiles. Localhost only.")
    parser.add_argument("--conversations", type=int, default=50,
                        help=f"conversations to run (default 50, at most {MAX_CONVERSATIONS})")
    parser.add_argument("--concurrency", type=int, default=10,
                        help="conversations in flight at once (default 10)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--rasa-url", default="http://127.0.0.1:5005",
                        help="a running Rasa server with the dev_rest channel and "
                             "DEV_TRUST_SENDER=true, e.g. from `make run` (default %(default)s)")
    target.add_argument("--start-stack", action="store_true",
                        help="start a backend, action server and Rasa server of its own (as "
                             "tests/stack.py does; needs a model from `make train`), stop "
                             "them afterwards")
    parser.add_argument("--backend-url", default="http://127.0.0.1:8000",
                        help="the backend of that Rasa server, for the invites made "
                             "beforehand (default %(default)s; ignored with --start-stack)")
    parser.add_argument("--service-token",
                        default=os.environ.get("BACKEND_SERVICE_TOKEN", "dev-service-token"),
                        help="the backend's service token (default: $BACKEND_SERVICE_TOKEN or "
                             "the development token)")
    parser.add_argument("--time-limit", type=float, default=900,
                        help="stop conversations still running after this many seconds "
                             "(default %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="choices of searches and buttons")
    parser.add_argument("--output", type=Path, default=RESULTS,
                        help="where to write the Markdown report (default %(default)s)")
    args = parser.parse_args(argv)
    if not 1 <= args.conversations <= MAX_CONVERSATIONS:
        parser.error(f"--conversations must be between 1 and {MAX_CONVERSATIONS}")
    if not 1 <= args.concurrency <= args.conversations:
        parser.error("--concurrency must be between 1 and --conversations")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    stack = None
    if args.start_stack:
        from tests.stack import start_stack  # pytest is needed only for this

        print("Starting backend, action server and Rasa server (logs: artifacts/stack/load/) ...")
        stack = start_stack("load", workdir=Path(tempfile.mkdtemp(prefix="load-stack-")),
                            rasa_env={"DEV_TRUST_SENDER": "true"})
        rasa_url, backend_url, token = stack.rasa_url, stack.backend_url, stack.service_token
        where = ("started by the benchmark (tests/stack.py: SQLite backend seeded with the demo "
                 "and 60 therapists, SQLite tracker store, one process each)")
    else:
        rasa_url, backend_url, token = (_local(args.rasa_url), _local(args.backend_url),
                                        args.service_token)
        where = f"already running: Rasa {rasa_url}, backend {backend_url}"
    try:
        load_before = os.getloadavg()[0]
        print(f"Running {args.conversations} conversations, {args.concurrency} at a time ...")
        run = asyncio.run(run_load(rasa_url, backend_url, token, args.conversations,
                                   args.concurrency, args.time_limit, args.seed))
        text = report(run, args, where, (load_before, os.getloadavg()[0]))
    finally:
        if stack is not None:
            stack.stop()
    publish(text, args.output)


if __name__ == "__main__":
    main()
