"""Therapist search latency on a synthetic directory in SQLite (or PostgreSQL), on one core.

    python -m benchmarks.search                   # 100,000 therapists, 500 queries
    python -m benchmarks.search --therapists 10000 --queries 200 --reuse
    python -m benchmarks.search --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

Builds the directory in data/bench/ (or in schema bench_search_<therapists> of the PostgreSQL
database), runs a seeded mix of realistic query shapes through the search service (validation,
SQL, slot computation, profiles: everything but HTTP), each query twice in turn: as the
service runs it, and with the walk turned off (`--reference`, the default: every candidate
ranked by one statement, as before the walk), then prints the latencies and writes them to
benchmarks/results/search.md (or search-postgresql.md).
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

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError

from backend import demo_directory
from backend.db import Database
from backend.domain import directory as vocabulary
from backend.models import Therapist, TherapistSearchHour
from backend.services import search as finding
from backend.services.actors import Actor
from backend.services.search import ranking
from backend.settings import REPO_ROOT
from benchmarks.reporting import cpu_model, publish

RESULTS = REPO_ROOT / "benchmarks" / "results" / "search.md"
RESULTS_POSTGRES = REPO_ROOT / "benchmarks" / "results" / "search-postgresql.md"
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


def _existing(db: Database, count: int) -> bool:
    """Does the database hold a directory of `count` therapists with their search hours?"""
    try:
        with db.reader() as session:
            existing = session.scalar(select(func.count(Therapist.id)))
            hours = session.scalar(select(func.count()).select_from(TherapistSearchHour))
    except DBAPIError:
        return False
    return existing == count and bool(hours)


def _build(url: str, count: int, reuse: bool, reset: Callable[[], None],
           schema: str | None = None) -> tuple[Database, float | None]:
    db = Database(url, schema=schema)
    if reuse and _existing(db, count):
        print(f"Reusing {url} {schema or ''} ({count} therapists).")
        return db, None
    db.dispose()
    reset()
    db = Database(url, schema=schema)
    db.create_all()
    started = time.perf_counter()
    demo_directory.populate(db, count, progress=True)
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "ANALYZE" if db.is_sqlite else "VACUUM ANALYZE")
    return db, time.perf_counter() - started


def _sqlite(path: Path, count: int, reuse: bool) -> tuple[Database, float | None]:
    def reset() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    return _build(f"sqlite:///{path}", count, reuse, reset)


def _postgres(url: str, count: int, reuse: bool) -> tuple[Database, float | None]:
    schema = f"bench_search_{count}"

    def schema_sql(*statements: str) -> None:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
        engine.dispose()

    schema_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    return _build(url, count, reuse, lambda: schema_sql(
        f'DROP SCHEMA IF EXISTS "{schema}" CASCADE', f'CREATE SCHEMA "{schema}"'), schema)


def percentile(sorted_ms: list[float], fraction: float) -> float:
    index = min(len(sorted_ms) - 1, max(0, round(fraction * len(sorted_ms) + 0.5) - 1))
    return sorted_ms[index]


def summary(times_ms: list[float]) -> list[float]:
    """Median, p90, p95, p99 and maximum."""
    ordered = sorted(times_ms)
    return [statistics.median(ordered), *(percentile(ordered, p) for p in (0.9, 0.95, 0.99)),
            ordered[-1]]


Timings = dict[str, list[float]]


def _cells(times_ms: list[float]) -> str:
    """Median and p95."""
    median, _, p95, _, _ = summary(times_ms)
    return f"{median:.1f} | {p95:.1f}"


def _row(label: str, runs: list[tuple[list[float], list[float]]]) -> str:
    """Per run (wall, CPU): wall median and p95, CPU median and p95."""
    cells = " | ".join(f"{_cells(wall)} | {_cells(cpu)}" for wall, cpu in runs)
    return f"| {label} | {len(runs[0][0])} | {cells} |"


def _timed(db: Database, actor: Actor, filters: dict, wall: list[float],
           cpu: list[float]) -> bool:
    started, started_cpu = time.perf_counter(), time.thread_time()
    result = finding.search(db, actor, filters)
    wall.append((time.perf_counter() - started) * 1000)
    cpu.append((time.thread_time() - started_cpu) * 1000)
    return bool(result.results)


def run(db: Database, where: str, count: int, queries: int, seed: int, reference: bool,
        build_seconds: float | None) -> str:
    pinning = _pin_to_one_core()
    actor = Actor(channel="bench", external_id="visitor")
    rng = random.Random(seed)
    names = list(SHAPES)
    plan = [(names[i % len(names)], SHAPES[names[i % len(names)]](rng)) for i in range(queries)]
    for _, filters in plan[:WARM_UP]:
        finding.search(db, actor, filters)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    labels = ["walk"] + (["one statement (before)"] if reference else [])
    runs: list[tuple[Timings, Timings]] = [({name: [] for name in names},
                                            {name: [] for name in names}) for _ in labels]
    empty = 0
    walk_hours = ranking.WALK_HOURS
    for name, filters in plan:
        for (wall, cpu), hours in zip(runs, (walk_hours, 0), strict=False):
            ranking.WALK_HOURS = hours  # 0: every candidate ranked by the single statement
            try:
                found = _timed(db, actor, filters, wall[name], cpu[name])
            finally:
                ranking.WALK_HOURS = walk_hours
            empty += not found and hours == walk_hours
    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    db.dispose()
    walk_wall, walk_cpu = runs[0]
    worst_wall = max(percentile(sorted(walk_wall[name]), 0.95) for name in names)
    worst_cpu = max(percentile(sorted(walk_cpu[name]), 0.95) for name in names)
    header = " | ".join(f"{label}: wall median | wall p95 | CPU median | CPU p95"
                        for label in labels)
    lines = [
        "# Therapist search benchmark",
        "",
        f"- Directory: {count:,} synthetic therapists (`backend/demo_directory.py`, seed 7) "
        f"in {where}" + (f", built in {build_seconds:.1f} s" if build_seconds else ", reused"),
        f"- Machine: {cpu_model()}, {os.cpu_count()} cores; benchmark {pinning}; "
        f"Python {platform.python_version()}; 1-minute load average {load_before:.2f} before "
        f"the timed queries, {load_after:.2f} after (other work shares the machine)",
        f"- Queries: {queries} ({WARM_UP} warm-up queries first, untimed), seed {seed}, "
        f"{len(names)} shapes in turn; {empty} returned no therapist"
        + ("; each query run by the walk (WALK_HOURS "
           f"{walk_hours}), then at once with the walk off (every candidate ranked by one "
           "statement, as before the walk)" if reference else ""),
        "- Each timing is one `services.search.search` call: validation, one read "
        "transaction, the SQL filter and ranking, next 3 free slots and profiles for the "
        "returned page (5 therapists). HTTP is not included. Wall-clock times include time "
        "lost to other processes on the same core; CPU time is the benchmark thread's own "
        "time" + ("" if where.startswith("SQLite") else
                  " (the PostgreSQL server's work is in wall-clock time only)") + ".",
        f"- Target: every shape's p95 under {TARGET_P95_MS:.0f} ms with the walk: "
        f"wall-clock {_verdict(worst_wall)} (worst {worst_wall:.1f} ms), CPU time "
        f"{_verdict(worst_cpu)} (worst {worst_cpu:.1f} ms).",
        "",
        "All times in ms.",
        "",
        f"| Query shape | Count | {header} |",
        "|---|---:|" + "---:|" * 4 * len(labels),
        *(_row(name, [(wall[name], cpu[name]) for wall, cpu in runs]) for name in names),
        _row("**all queries**", [([t for v in wall.values() for t in v],
                                  [t for v in cpu.values() for t in v]) for wall, cpu in runs]),
        "",
    ]
    return "\n".join(lines)


def _verdict(p95_ms: float) -> str:
    return "**meets**" if p95_ms < TARGET_P95_MS else "**misses**"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Measure therapist search latency on a synthetic directory.")
    parser.add_argument("--therapists", type=int, default=100_000,
                        help="directory size (default 100000)")
    parser.add_argument("--queries", type=int, default=500,
                        help="number of timed queries (default 500)")
    parser.add_argument("--database", type=Path, default=None,
                        help="SQLite file (default data/bench/search-<therapists>.sqlite3)")
    parser.add_argument("--postgres", default=None, metavar="URL",
                        help="run on this PostgreSQL database instead (schema "
                             "bench_search_<therapists>)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep an existing directory of the right size")
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        help="time only the walk, not also the single ranking statement")
    parser.add_argument("--seed", type=int, default=1, help="seed of the query mix")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"where to write the results (default {RESULTS}, or "
                             f"{RESULTS_POSTGRES} with --postgres)")
    args = parser.parse_args(argv)
    if args.therapists < 1 or args.queries < 1:
        parser.error("--therapists and --queries must be positive")
    if args.postgres:
        db, built = _postgres(args.postgres, args.therapists, args.reuse)
        with db.reader() as session:
            version = session.scalar(text("SHOW server_version"))
        where, output = f"PostgreSQL {version}", args.output or RESULTS_POSTGRES
    else:
        path = args.database or BENCH_DIR / f"search-{args.therapists}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        db, built = _sqlite(path, args.therapists, args.reuse)
        where, output = f"SQLite {sqlite3.sqlite_version}", args.output or RESULTS
    publish(run(db, where, args.therapists, args.queries, args.seed, args.reference, built),
            output)


if __name__ == "__main__":
    main()
