"""Therapist search latency on a synthetic directory in SQLite, on one core.

    python -m benchmarks.search                   # 100,000 therapists, 500 queries
    python -m benchmarks.search --therapists 10000 --queries 200 --reuse

Builds the directory in data/bench/, runs a seeded mix of realistic query shapes through the
search service (validation, SQL, slot computation, profiles: everything but HTTP), then prints
the latencies and writes them to benchmarks/results/search.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from backend import demo_directory
from backend.db import Database
from backend.domain import directory as vocabulary
from backend.models import Therapist
from backend.services import search as finding
from backend.services.actors import Actor
from backend.settings import REPO_ROOT
from benchmarks.reporting import cpu_model, publish

RESULTS = REPO_ROOT / "benchmarks" / "results" / "search.md"
BENCH_DIR = REPO_ROOT / "data" / "bench"
TARGET_P95_MS = 20.0
WARM_UP = 20

Shape = Callable[[random.Random], dict]


def _issue(rng: random.Random) -> str:
    return rng.choices(vocabulary.ISSUES[:12], weights=(12, 8, 9, 6, 5, 4, 5, 4, 3, 2, 2, 2))[0]


def _day(rng: random.Random) -> str:
    return rng.choice(("mon", "tue", "wed", "thu", "fri", "sat"))


SHAPES: dict[str, Shape] = {
    "combined: issue, gender, language, modality, day, part of day": lambda rng: {
        "issues": [_issue(rng)], "gender": rng.choice(("female", "female", "male")),
        "language": rng.choice(("English",) * 4 + ("Polish", "Spanish")),
        "modality": rng.choice(("video", "video", "phone")), "days": [_day(rng)],
        "times": [rng.choice(("morning", "afternoon", "evening"))]},
    "in person in a city, issue": lambda rng: {
        "modality": "in_person", "location": rng.choice(vocabulary.LOCATIONS[:10]),
        "issues": [_issue(rng)]},
    "several issues, part of day": lambda rng: {
        "issues": rng.sample(vocabulary.ISSUES[:10], k=rng.choice((2, 3))),
        "times": [rng.choice(("morning", "evening"))]},
    "weekdays after work, therapy type": lambda rng: {
        "days": ["weekdays"], "after": "18:00",
        "therapy_type": rng.choice(("CBT", "integrative", "psychodynamic", "EMDR"))},
    "other language, video": lambda rng: {
        "language": rng.choice(("Polish", "Spanish", "Arabic", "Urdu", "French")),
        "modality": "video", "issues": [_issue(rng)]},
    "issue only": lambda rng: {"issues": [_issue(rng)]},
    "no filters": lambda rng: {},
}


def _pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity here)"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to core {core}"


def _build(path: Path, count: int, reuse: bool) -> tuple[Database, float | None]:
    if reuse and path.exists():
        db = Database(f"sqlite:///{path}")
        with db.reader() as session:
            existing = session.scalar(select(func.count(Therapist.id)))
        if existing == count:
            print(f"Reusing {path} ({existing} therapists).")
            return db, None
        print(f"{path} has {existing} therapists, not {count}: rebuilding.")
        db.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = Database(f"sqlite:///{path}")
    db.create_all()
    started = time.perf_counter()
    demo_directory.populate(db, count, progress=True)
    with db.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
    return db, time.perf_counter() - started


def percentile(sorted_ms: list[float], fraction: float) -> float:
    index = min(len(sorted_ms) - 1, max(0, round(fraction * len(sorted_ms) + 0.5) - 1))
    return sorted_ms[index]


def summary(times_ms: list[float]) -> list[float]:
    """Median, p90, p95, p99 and maximum."""
    ordered = sorted(times_ms)
    return [statistics.median(ordered), *(percentile(ordered, p) for p in (0.9, 0.95, 0.99)),
            ordered[-1]]


def _row(name: str, wall_ms: list[float], cpu_ms: list[float]) -> str:
    cells = [*summary(wall_ms), summary(cpu_ms)[2]]
    return f"| {name} | {len(wall_ms)} | " + " | ".join(f"{v:.1f}" for v in cells) + " |"


def run(count: int, queries: int, path: Path, reuse: bool, seed: int) -> str:
    pinning = _pin_to_one_core()
    db, build_seconds = _build(path, count, reuse)
    actor = Actor(channel="bench", external_id="visitor")
    rng = random.Random(seed)
    names = list(SHAPES)
    plan = [(names[i % len(names)], SHAPES[names[i % len(names)]](rng)) for i in range(queries)]
    for _, filters in plan[:WARM_UP]:
        finding.search(db, actor, filters)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    empty = 0
    for name, filters in plan:
        started, started_cpu = time.perf_counter(), time.thread_time()
        result = finding.search(db, actor, filters)
        wall[name].append((time.perf_counter() - started) * 1000)
        cpu[name].append((time.thread_time() - started_cpu) * 1000)
        empty += not result.results
    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    db.dispose()
    combined_wall = percentile(sorted(wall[names[0]]), 0.95)
    combined_cpu = percentile(sorted(cpu[names[0]]), 0.95)
    lines = [
        "# Therapist search benchmark",
        "",
        f"- Directory: {count:,} synthetic therapists (`backend/demo_directory.py`, seed 7) "
        f"in SQLite {sqlite3.sqlite_version}"
        + (f", built in {build_seconds:.1f} s" if build_seconds else ", reused"),
        f"- Machine: {cpu_model()}, {os.cpu_count()} cores; benchmark {pinning}; "
        f"Python {platform.python_version()}; 1-minute load average {load_before:.2f} before "
        f"the timed queries, {load_after:.2f} after (other work shares the machine)",
        f"- Queries: {queries} ({WARM_UP} warm-up queries first, untimed), seed {seed}, "
        f"{len(names)} shapes in turn; {empty} returned no therapist",
        "- Each timing is one `services.search.search` call: validation, one read "
        "transaction, the SQL filter and ranking, next 3 free slots and profiles for the "
        "returned page (5 therapists). HTTP is not included. Wall-clock times include time "
        "lost to other processes on the same core; CPU time is the thread's own time.",
        f"- Target: combined-filter p95 under {TARGET_P95_MS:.0f} ms: wall-clock "
        f"{_verdict(combined_wall)} ({combined_wall:.1f} ms), CPU time "
        f"{_verdict(combined_cpu)} ({combined_cpu:.1f} ms).",
        "",
        "| Query shape | Count | Median ms | p90 ms | p95 ms | p99 ms | Max ms | p95 CPU ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *(_row(name, wall[name], cpu[name]) for name in names),
        _row("**all queries**", [t for v in wall.values() for t in v],
             [t for v in cpu.values() for t in v]),
        "",
    ]
    return "\n".join(lines)


def _verdict(p95_ms: float) -> str:
    return "**meets**" if p95_ms < TARGET_P95_MS else "**misses**"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Measure therapist search latency on a synthetic directory in SQLite.")
    parser.add_argument("--therapists", type=int, default=100_000,
                        help="directory size (default 100000)")
    parser.add_argument("--queries", type=int, default=500,
                        help="number of timed queries (default 500)")
    parser.add_argument("--database", type=Path, default=None,
                        help="SQLite file (default data/bench/search-<therapists>.sqlite3)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep an existing database file of the right size")
    parser.add_argument("--seed", type=int, default=1, help="seed of the query mix")
    parser.add_argument("--output", type=Path, default=RESULTS,
                        help=f"where to write the results (default {RESULTS})")
    args = parser.parse_args(argv)
    if args.therapists < 1 or args.queries < 1:
        parser.error("--therapists and --queries must be positive")
    path = args.database or BENCH_DIR / f"search-{args.therapists}.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    report = run(args.therapists, args.queries, path, args.reuse, args.seed)
    publish(report, args.output)


if __name__ == "__main__":
    main()
