"""Figure 5: requests/s under real servers on 127.0.0.1, guarded vs bare.

One server process per server kind serves both contenders (see
``_served.py``): the hand-written endpoint at ``BARE_PATH`` and the same app
behind the guard's router-mode middleware at ``PATH``. gunicorn runs the
WSGI app (one gthread worker, 8 threads), uvicorn the ASGI app (one
process). In every round, for concurrency 1 and 8, the generator loads the
bare path and the guarded path for the same number of seconds, the order
alternating. Target: guarded requests/s ≥ 0.9x bare, at each concurrency.
Latency p50/p99 come from every request of every round.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from _apps import BARE_PATH, PATH
from _bodies import delivery, headers_for, label
from _harness import Preset
from _load import LoadResult, free_port, request_bytes, run_load, server
from _result import Row, Target

TARGET = Target(">=", 0.9)
HERE = Path(__file__).parent
CONCURRENCY = (1, 8)


def _argv(kind: str, port: int) -> list[str]:
    if kind == "gunicorn":
        return [
            sys.executable, "-m", "gunicorn", "_served:wsgi_app",
            "--bind", f"127.0.0.1:{port}", "--workers", "1", "--worker-class", "gthread", "--threads", "8",
            "--keep-alive", "30", "--log-level", "warning",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "uvicorn", "_served:asgi_app",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _measure(kind: str, preset: Preset, notes: list[str]) -> list[Row]:
    body = delivery(preset.server_body)
    headers = headers_for(body)
    port = free_port()
    payloads = {
        "bare": request_bytes(port, BARE_PATH, body, headers),
        "guarded": request_bytes(port, PATH, body, headers),
    }
    rps: dict[tuple[str, int], list[float]] = {}
    pooled: dict[tuple[str, int], LoadResult] = {}
    with server(_argv(kind, port), port, cwd=HERE):
        for name in payloads:  # warm both paths (imports, lazily built state)
            run_load(port, payloads[name], concurrency=1, seconds=min(0.2, preset.server_seconds))
        for r in range(preset.server_rounds):
            for concurrency in CONCURRENCY:
                order = ["bare", "guarded"] if (r + concurrency) % 2 else ["guarded", "bare"]
                for name in order:
                    result = run_load(port, payloads[name], concurrency=concurrency, seconds=preset.server_seconds)
                    key = (name, concurrency)
                    rps.setdefault(key, []).append(result.rps)
                    total = pooled.setdefault(key, LoadResult())
                    total.latencies += result.latencies
                    total.errors += result.errors
                    total.requests += result.requests
                    for code, count in result.statuses.items():
                        total.statuses[code] = total.statuses.get(code, 0) + count
    rows: list[Row] = []
    for concurrency in CONCURRENCY:
        bare, guarded = rps[("bare", concurrency)], rps[("guarded", concurrency)]
        ratio = statistics.median(g / b for g, b in zip(guarded, bare, strict=True) if b)
        bad = {
            name: {c: n for c, n in pooled[(name, concurrency)].statuses.items() if c != 204}
            for name in ("bare", "guarded")
        }
        errors = {name: pooled[(name, concurrency)].errors for name in ("bare", "guarded")}
        lat = {
            name: (
                _percentile(pooled[(name, concurrency)].latencies, 0.5) * 1e3,
                _percentile(pooled[(name, concurrency)].latencies, 0.99) * 1e3,
            )
            for name in ("bare", "guarded")
            if pooled[(name, concurrency)].latencies
        }
        note = "; ".join(f"{n} p50 {p50:.2f} ms, p99 {p99:.2f} ms" for n, (p50, p99) in lat.items())
        if any(bad.values()) or any(errors.values()):
            note += f"; non-204 answers {bad}, socket errors {errors}"
        met = TARGET.met(ratio) and not any(bad.values()) and not any(errors.values())
        rows.append(
            Row(
                5,
                f"{kind}, {label(preset.server_body)}, concurrency {concurrency}",
                "guard middleware (router mode)",
                "bare hand-written endpoint",
                statistics.median(guarded),
                statistics.median(bare),
                ratio,
                str(TARGET),
                met,
                unit="rps",
                note=note,
                extra={
                    "rps_per_round": {"bare": bare, "guarded": guarded},
                    "latency_ms": {n: {"p50": p50, "p99": p99} for n, (p50, p99) in lat.items()},
                    "requests": {n: pooled[(n, concurrency)].requests for n in ("bare", "guarded")},
                    "non_204": bad,
                    "socket_errors": errors,
                },
            )
        )
    return rows


def run(preset: Preset, notes: list[str]) -> list[Row]:
    rows: list[Row] = []
    for kind in ("gunicorn", "uvicorn"):
        try:
            __import__(kind)
        except ImportError:
            notes.append(f"{kind} not installed: its rows are skipped")
            continue
        rows += _measure(kind, preset, notes)
    notes.append(
        "One server process serves both paths; the generator (threads, one keep-alive connection each, raw sockets) "
        "runs in the benchmark process on the same two cores, so absolute requests/s are a floor, not a capacity."
    )
    for row in rows:
        if row.note:
            notes.append(f"{row.case}: {row.note}")
    return rows
