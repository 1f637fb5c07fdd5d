"""Card redaction and the channels' risk scan: time against the length of a message.

    python -m benchmarks.redaction              # 1 KB .. 200 KB, 5 runs each, median
    python -m benchmarks.redaction --runs 9

Each input is cut to the size from a repeated unit: prose with cards typed in several formats,
digits only (the worst case for redaction: every window is a candidate), digit groups with
separators, and phrases the risk scan finds expensive ("end it" again and again). Prints one
table of medians in milliseconds of this process's CPU time (the machine is shared: wall-clock
time would measure the neighbours) and writes it to benchmarks/results/redaction.md. Linear
time shows as a constant time per KB along each row.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from channels.admission import risky_clause
from contracts.redaction import redact_card_numbers

RESULTS = Path(__file__).resolve().parent / "results" / "redaction.md"
SIZES_KB = (1, 10, 50, 100, 200)
INPUTS = {
    "prose + cards": "Please book me in, my card is 4242 - 4242 - 4242 - 4242, or "
                     "5555\u20135555\u20135555\u20134444 (exp 12/30), call 020 7946 0958. ",
    "digits only": "4",
    "digit groups": "4242 ",
    "mixed separators": "4242/4242\t4242\n4242 - ",
    "'end it' repeated": "end it ",
}


def median_ms(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.process_time()
        work()
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times)


def measure(runs: int) -> list[str]:
    header = "| input | " + " | ".join(f"{size} KB" for size in SIZES_KB) + " | ms per KB at 200 |"
    lines = [header, "|" + " --- |" * (len(SIZES_KB) + 2)]
    for task, work in (("redaction", redact_card_numbers), ("risk scan", risky_clause)):
        for name, unit in INPUTS.items():
            cells = []
            for size in SIZES_KB:
                text = (unit * (size * 1024 // len(unit) + 1))[: size * 1024]
                cells.append(median_ms(lambda text=text, work=work: work(text), runs))
            lines.append(f"| {task}: {name} | " + " | ".join(f"{ms:.1f}" for ms in cells)
                         + f" | {cells[-1] / SIZES_KB[-1]:.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    table = measure(args.runs)
    report = "\n".join([
        "# Card redaction and risk scan against message length",
        "",
        f"`python -m benchmarks.redaction --runs {args.runs}` on {platform.processor() or '?'} "
        f"({platform.python_version()}), median of {args.runs} runs, milliseconds of CPU time.",
        "",
        *table,
        "",
    ])
    print(report)
    RESULTS.write_text(report)


if __name__ == "__main__":
    main()
