"""The benchmark suite runs end to end and writes its results (no timing checked).

``benchmarks/run.py --tiny`` runs every figure with smoke sizes in a
subprocess, as a user runs it, into a temporary directory. Only the shape of
the output is checked: the numbers of a two-round run mean nothing, and no
wall-clock assertion belongs in a test. Figure 5 starts gunicorn and uvicorn
on 127.0.0.1 and stops them by PID; the run itself is bounded by a timeout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

RUN = ROOT / "benchmarks" / "run.py"
TIMEOUT = 120


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, str(RUN), "--tiny", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    return proc, out


def test_runs_cleanly(tiny_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, _ = tiny_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr


def test_writes_json_with_every_figure(tiny_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = tiny_run
    latest = json.loads((out / "latest.json").read_text())
    assert latest["preset"] == "tiny"
    assert latest["environment"]["python"]
    figures = {row["figure"] for row in latest["rows"]}
    # Figure 2 needs the peer verifiers of the benchmark environment; it is
    # skipped, with a note saying so, where they are not installed.
    expected = {1, 3, 4, 5, 6} | ({2} if not any("skipped" in n for n in latest["notes"]["2"]) else set())
    assert expected <= figures
    for row in latest["rows"]:
        assert row["contender"]
        assert row["met"] in (True, False, None)


def test_writes_markdown_table(tiny_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, out = tiny_run
    table = (out / "latest.md").read_text()
    for number in range(1, 7):
        assert f"### {number}. " in table
    assert "| case | contender |" in table
    assert table in proc.stdout
    stamped = [p for p in out.iterdir() if p.name.endswith("-tiny.json")]
    assert len(stamped) == 1
    assert (out / stamped[0].name.replace(".json", ".md")).read_text() == table


def test_figure_two_skips_with_a_note_without_peers(tiny_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, out = tiny_run
    latest = json.loads((out / "latest.json").read_text())
    peer_rows = [row for row in latest["rows"] if row["figure"] == 2]
    if peer_rows:
        pytest.skip("peer verifiers are installed here: figure 2 ran")
    assert any("skipped" in note for note in latest["notes"]["2"])
    assert "figure 2 skipped" in proc.stdout
