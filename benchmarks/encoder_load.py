"""The second stage's encoder, all-mpnet-base-v2: loaded from its unpacked folder (`make setup`)
against joining its five packages' zip and reading it in memory (how it was loaded before, and
still is where the folder cannot be written).

    python -m benchmarks.encoder_load             # 5 loads each way, alternating
    python -m benchmarks.encoder_load --runs 9

Each load runs in a process of its own, as a Rasa server's start does: the encoder built as the
detector builds it (one thread, its pooled layers) and one message encoded. Prints the medians of
the load's wall-clock time, its CPU time and the process's peak resident memory, with the ratio
of each to the in-memory way, and writes them to benchmarks/results/encoder_load.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.reporting import cpu_model, publish

RESULTS = Path(__file__).resolve().parent / "results" / "encoder_load.md"
REPO = Path(__file__).resolve().parents[1]
WAYS = {"from its packages, in memory (reference)": "mpnet_in_memory()",
        "unpacked by `make setup`": "mpnet()"}
LOAD = """
import json, time
from bot.safety.detector import SECOND_STAGE_POOLED_LAYERS
from bot.safety.embedding import SentenceEncoder
from bot.safety.models import mpnet, mpnet_in_memory
wall, cpu = time.perf_counter(), time.process_time()
SentenceEncoder({files}, threads=1, pooled_layers=SECOND_STAGE_POOLED_LAYERS).encode(["hello"])
# VmHWM, not getrusage's ru_maxrss: that one keeps the peak of the process forked before exec
# (a pytest worker's, in the test).
peak = next(int(line.split()[1]) for line in open("/proc/self/status")
            if line.startswith("VmHWM:"))
print(json.dumps({{"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "peak_mb": peak / 1024}}))
"""


def load_once(files: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", LOAD.format(files=files)], cwd=REPO,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.encoder_load",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="loads each way (default 5)")
    args = parser.parse_args()

    load_once("mpnet()")  # unpacks it, if setup has not
    loads: dict[str, list[dict[str, float]]] = {way: [] for way in WAYS}
    for run in range(args.runs):  # alternating, so that the machine's drift touches both
        for way, files in WAYS.items():
            loads[way].append(load_once(files))
        print(f"run {run + 1}/{args.runs}", file=sys.stderr, flush=True)

    def median(way: str, key: str) -> float:
        return statistics.median(load[key] for load in loads[way])

    reference = next(iter(WAYS))
    lines = [f"# Loading all-mpnet-base-v2 ({time.strftime('%Y-%m-%d')})", "",
             f"`python -m benchmarks.encoder_load --runs {args.runs}` on {cpu_model()}: medians of "
             f"{args.runs} loads each way, each in a process of its own (one thread, one message "
             "encoded), alternating. Peak memory is the whole process's.", "",
             "| way | load, wall | load, CPU | peak memory |", "|---|---|---|---|"]
    for way in WAYS:
        cells = []
        for key, unit, digits in (("wall", "s", 2), ("cpu", "s", 2), ("peak_mb", "MB", 0)):
            value = median(way, key)
            ratio = value / median(reference, key)
            cells.append(f"{value:.{digits}f} {unit}" + ("" if way == reference
                                                        else f" ({ratio:.2f}x)"))
        lines.append(f"| {way} | " + " | ".join(cells) + " |")
    publish("\n".join(lines) + "\n", RESULTS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
