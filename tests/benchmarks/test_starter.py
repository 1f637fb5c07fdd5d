"""benchmarks/starter.py's pieces that need no server: its statistics, its report and its command
line (the benchmark itself runs for minutes and is not a test)."""

from __future__ import annotations

import math

import pytest

from benchmarks import starter
from benchmarks.starter import Series


def _series(bot: str, concurrency: int, latencies: list[float], seconds: float) -> Series:
    return Series(bot, concurrency, latencies_ms=latencies, seconds=seconds,
                  conversations=len(latencies) // 4)


def test_percentiles_and_throughput_of_a_series() -> None:
    series = _series("starter", 1, [float(ms) for ms in range(1, 101)], seconds=20)
    assert series.turns == 100
    assert series.turns_per_second == 5
    assert [series.percentile(p) for p in (0.5, 0.95, 0.99)] == pytest.approx(
        [50.5, 95.05, 99.01])
    assert Series("starter", 1, latencies_ms=[7.0]).percentile(0.99) == 7
    assert math.isnan(Series("starter", 1).percentile(0.5))  # no turns: no figure
    assert Series("starter", 1).turns_per_second == 0


def test_enough_conversations_for_the_turns_and_the_concurrency() -> None:
    assert starter.conversations_for(1, min_turns=200, turns_each=4) == 50
    assert starter.conversations_for(50, min_turns=200, turns_each=4) == 100
    assert starter.bookings_for(1, None) == 5 and starter.bookings_for(50, None) == 50
    assert starter.bookings_for(8, 0) == 0


def test_the_report_gives_the_ratios_and_says_which_goals_are_met() -> None:
    results = [
        _series("starter", 1, [100.0] * 40, seconds=4),     # 10 turns/s, p50 100 ms
        _series("assistant", 1, [120.0] * 40, seconds=5),   # 8 turns/s, p50 120 ms: 1.20x
        _series("starter", 50, [500.0] * 400, seconds=20),  # 20 turns/s
        _series("assistant", 50, [400.0] * 392 + [2500.0] * 8, seconds=16),  # 25/s, p99 2.5 s
        _series("bookings", 50, [900.0] * 350, seconds=30),
    ]
    text = starter.report(results, {"starter": "[say] x> hello\n  bot> Hey!"},
                          "python -m benchmarks.starter", (1.5, 2.5), 300)
    assert "| 1 | assistant | 10 | 40 | 0 | 8.0 | 120 | 120 | 120 |" in text
    assert "| 50 | bookings | 87 | 350 | 0 | 11.7 | 900 | 900 | 900 |" in text
    assert "| 1 | 1.20 | 1.20 | 1.20 | 0.80 |" in text  # ours / the starter bot's
    assert "| 50 | 0.80 | 0.80 | 5.00 | 1.25 |" in text
    assert "one conversation <= 1.3x the starter bot's: 1.20x, **met**" in text
    assert "matches the starter bot's throughput: 1.25x, **met**" in text
    assert "p99 under 2 s at 50 conversations: 2500 ms, **not met**" in text
    assert "load average 1.50 before the run, 2.50 after" in text
    assert "bot> Hey!" in text
    assert "## Errors" not in text


def test_the_report_lists_what_went_wrong() -> None:
    failed = _series("bookings", 8, [900.0] * 10, seconds=5)
    failed.problems, failed.errors = ["after the search turn the bot said: Sorry"], 1
    text = starter.report([failed], {}, "python -m benchmarks.starter", (1, 1), 60)
    assert "| 8 | bookings | 2 | 10 | 1 |" in text
    assert "- bookings at 8: after the search turn the bot said: Sorry" in text


def test_goals_of_levels_not_run_are_left_out() -> None:
    assert starter.goals([_series("starter", 8, [1.0], 1), _series("assistant", 8, [1.0], 1)]) == []


@pytest.mark.parametrize("argv", [["--levels", "0"], ["--min-turns", "0"],
                                  ["--booking-conversations", "-1"]])
def test_bad_options_are_refused(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as refused:
        starter.parse_args(argv)
    assert refused.value.code == 2
    assert "must be between" in capsys.readouterr().err


def test_defaults_are_issue_14s_levels() -> None:
    args = starter.parse_args([])
    assert args.levels == [1, 8, 50] and args.min_turns == 200
    assert args.output == starter.RESULTS
