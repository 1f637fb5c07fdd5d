"""benchmarks/encoder_load.py: one run of it writes its table, and the unpacked encoder's load
takes less memory than the reference way's (were mpnet() still reading the zip in memory, the
two would be alike)."""

from __future__ import annotations

from benchmarks import encoder_load


def test_one_run_reports_both_ways_and_unpacked_needs_less_memory(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(encoder_load, "RESULTS", tmp_path / "encoder_load.md")
    monkeypatch.setattr("sys.argv", ["encoder_load", "--runs", "1"])
    assert encoder_load.main() == 0
    rows = [line for line in (tmp_path / "encoder_load.md").read_text().splitlines()
            if line.startswith("| ") and "way" not in line]
    assert [row.split(" | ")[0] for row in rows] == [f"| {way}" for way in encoder_load.WAYS]
    reference, unpacked = (float(row.split(" | ")[3].split(" MB")[0]) for row in rows)
    assert unpacked < 0.8 * reference, rows
    assert "x)" in rows[1] and "x)" not in rows[0]  # ratios against the reference
