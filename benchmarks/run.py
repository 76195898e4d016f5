"""Run the benchmark suite: ``python benchmarks/run.py [--quick]``.

Figures (see BENCHMARKS.md for what each measures and its target):
1 verify vs raw hmac, 2 peer verifiers, 3 adapters vs hand-written endpoints,
4 memory, 5 real servers, 6 scaling. Every figure measures its contenders
side by side in the same run, interleaved; the results are medians and
ratios from that run. Writes ``benchmarks/results/<stamp>.json`` and
``.md`` (and ``latest.*``), and prints the Markdown table.

``--quick`` finishes in under three minutes on two cores; ``--tiny`` is for
the smoke test (seconds, numbers meaningless); the default is the full run
published in BENCHMARKS.md. Figure 2 needs the benchmark environment of
benchmarks/README.md and is skipped with a note without it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import json
import logging
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _bodies import KIB, MIB  # noqa: E402
from _calls import close_loops  # noqa: E402
from _harness import Preset  # noqa: E402
from _result import FIGURES, Row, markdown  # noqa: E402

PRESETS = {
    "full": Preset(
        "full",
        rounds=15,
        batch_seconds=0.05,
        sizes=(KIB, 64 * KIB, MIB, 10 * MIB),
        scaling_sizes=(KIB, 4 * KIB, 16 * KIB, 64 * KIB, 256 * KIB, MIB, 4 * MIB, 10 * MIB),
        adapter_body=2 * KIB,
        server_body=2 * KIB,
        server_seconds=0.5,
        server_rounds=16,
        memory_body=10 * MIB,
    ),
    "quick": Preset(
        "quick",
        rounds=7,
        batch_seconds=0.02,
        sizes=(KIB, 64 * KIB, MIB, 10 * MIB),
        scaling_sizes=(KIB, 64 * KIB, MIB, 10 * MIB),
        adapter_body=2 * KIB,
        server_body=2 * KIB,
        server_seconds=0.25,
        server_rounds=8,
        memory_body=10 * MIB,
    ),
    "tiny": Preset(
        "tiny",
        rounds=2,
        batch_seconds=0.002,
        sizes=(KIB, 4 * KIB),
        scaling_sizes=(KIB, 4 * KIB, 64 * KIB),
        adapter_body=2 * KIB,
        server_body=2 * KIB,
        server_seconds=0.05,
        server_rounds=1,
        memory_body=64 * KIB,
    ),
}

MODULES = {
    1: "fig1_verify",
    2: "fig2_peers",
    3: "fig3_adapters",
    4: "fig4_memory",
    5: "fig5_servers",
    6: "fig6_scaling",
}

PACKAGES = (
    "layer-webhook-guard",
    "orjson",
    "flask",
    "werkzeug",
    "django",
    "starlette",
    "uvicorn",
    "httptools",
    "uvloop",
    "gunicorn",
    "slack_sdk",
    "standardwebhooks",
    "stripe",
)


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def _uncommitted() -> list[str]:
    """Files of the package that differ from the commit (the run measured those too)."""
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--", "layer_webhook_guard"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return []
    return [line[3:] for line in out.stdout.splitlines() if line.strip()]


def environment() -> dict[str, Any]:
    from layer_webhook_guard import _json

    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "json_backend": _json.BACKEND,
        "commit": _commit(),
        "uncommitted": _uncommitted(),
        "packages": {name: v for name in PACKAGES if (v := _version(name))},
    }


def _figures(text: str) -> list[int]:
    chosen = sorted({int(part) for part in text.split(",") if part.strip()})
    unknown = [n for n in chosen if n not in FIGURES]
    if unknown:
        raise argparse.ArgumentTypeError(f"no figure {unknown}; figures are 1-6")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the guard against raw code, hand-written endpoints, peers.")
    speed = parser.add_mutually_exclusive_group()
    speed.add_argument("--quick", action="store_true", help="fewer rounds and sizes: under 3 minutes on 2 cores")
    speed.add_argument("--tiny", action="store_true", help="smoke-test sizes: runs in seconds, numbers meaningless")
    parser.add_argument("--figures", type=_figures, default=list(FIGURES), help="comma-separated, e.g. 1,3,6")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="directory for the JSON and Markdown")
    args = parser.parse_args(argv)
    preset = PRESETS["tiny" if args.tiny else "quick" if args.quick else "full"]

    # Rejections log one WARNING each; a benchmark makes thousands on purpose.
    logging.getLogger("layer_webhook_guard").setLevel(logging.ERROR)

    started = time.perf_counter()
    rows: list[Row] = []
    notes: dict[int, list[str]] = {n: [] for n in FIGURES}
    timings: dict[int, float] = {}
    try:
        for number in args.figures:
            print(f"figure {number}: {FIGURES[number]} ...", flush=True)
            t0 = time.perf_counter()
            module = importlib.import_module(MODULES[number])
            rows += module.run(preset, notes[number])
            timings[number] = time.perf_counter() - t0
            print(f"figure {number}: done in {timings[number]:.1f}s", flush=True)
    finally:
        close_loops()
    elapsed = time.perf_counter() - started

    env = environment()
    table = markdown(rows, notes)
    stamp = _dt.datetime.now(tz=_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    missed = [r for r in rows if r.met is False]
    command = "python benchmarks/run.py" + {"full": "", "quick": " --quick", "tiny": " --tiny"}[preset.name]
    header = (
        f"Run `{command}`"
        f" ({preset.name}, {elapsed:.0f} s), {stamp}, Python {env['python']} on {env['cpus']} CPUs, "
        f"JSON backend {env['json_backend']}, commit {env['commit']}"
        f"{' with uncommitted changes to ' + ', '.join(env['uncommitted']) if env['uncommitted'] else ''}.\n"
        f"Targets met: {sum(r.met is True for r in rows)}, missed: {len(missed)}.\n\n"
    )
    document = header + table
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {
        "preset": preset.name,
        "started": stamp,
        "seconds": elapsed,
        "figure_seconds": timings,
        "environment": env,
        "rows": [r.as_dict() for r in rows],
        "notes": notes,
    }
    for name in (f"{stamp}-{preset.name}", "latest"):
        (args.out / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
        (args.out / f"{name}.md").write_text(document)
    print()
    print(document)
    print(f"wrote {args.out / f'{stamp}-{preset.name}.json'} and .md ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
