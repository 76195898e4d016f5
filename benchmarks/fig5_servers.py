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
from _load import LoadResult, free_port, group_cpu_seconds, request_bytes, run_load, server
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


NAMES = ("bare", "guarded", "control")


def _measure(kind: str, preset: Preset, notes: list[str]) -> list[Row]:
    body = delivery(preset.server_body)
    headers = headers_for(body)
    port = free_port()
    bare = request_bytes(port, BARE_PATH, body, headers)
    # "control" is the bare request again: its ratio to bare is the noise floor.
    payloads = {"bare": bare, "guarded": request_bytes(port, PATH, body, headers), "control": bare}
    rps: dict[tuple[str, int], list[float]] = {}
    cpu: dict[tuple[str, int], list[float]] = {}
    pooled: dict[tuple[str, int], LoadResult] = {}
    with server(_argv(kind, port), port, cwd=HERE) as proc:
        for name in ("bare", "guarded"):  # warm both paths (imports, lazily built state)
            run_load(port, payloads[name], concurrency=1, seconds=min(0.2, preset.server_seconds))
        for r in range(preset.server_rounds):
            for concurrency in CONCURRENCY:
                order = list(NAMES[r % 3 :] + NAMES[: r % 3])
                if r % 2:
                    order.reverse()
                for name in order:
                    before = group_cpu_seconds(proc.pid)
                    result = run_load(port, payloads[name], concurrency=concurrency, seconds=preset.server_seconds)
                    after = group_cpu_seconds(proc.pid)
                    key = (name, concurrency)
                    rps.setdefault(key, []).append(result.rps)
                    if before is not None and after is not None and result.requests:
                        cpu.setdefault(key, []).append((after - before) / result.requests)
                    total = pooled.setdefault(key, LoadResult())
                    total.latencies += result.latencies
                    total.errors += result.errors
                    total.requests += result.requests
                    for code, count in result.statuses.items():
                        total.statuses[code] = total.statuses.get(code, 0) + count
    rows: list[Row] = []
    for concurrency in CONCURRENCY:
        base = rps[("bare", concurrency)]
        cpu_base = cpu.get(("bare", concurrency))
        for name, label_, target in (
            ("guarded", "guard middleware (router mode)", TARGET),
            ("control", "bare again (control: the noise floor)", None),
        ):
            mine = rps[(name, concurrency)]
            ratio = statistics.median(g / b for g, b in zip(mine, base, strict=True) if b)
            both = (name, "bare")
            bad = {n: {c: k for c, k in pooled[(n, concurrency)].statuses.items() if c != 204} for n in both}
            errors = {n: pooled[(n, concurrency)].errors for n in both}
            latency = {
                n: {
                    "p50": _percentile(pooled[(n, concurrency)].latencies, 0.5) * 1e3,
                    "p99": _percentile(pooled[(n, concurrency)].latencies, 0.99) * 1e3,
                }
                for n in both
                if pooled[(n, concurrency)].latencies
            }
            cpu_mine = cpu.get((name, concurrency))
            cpu_us = (
                {"bare": statistics.median(cpu_base) * 1e6, name: statistics.median(cpu_mine) * 1e6}
                if cpu_base and cpu_mine
                else {}
            )
            parts = [f"{n} p50 {v['p50']:.2f} ms, p99 {v['p99']:.2f} ms" for n, v in latency.items()]
            if cpu_us:
                parts.append(
                    f"server CPU per request: {name} {cpu_us[name]:.0f} µs, bare {cpu_us['bare']:.0f} µs "
                    f"({cpu_us[name] - cpu_us['bare']:+.0f} µs)"
                )
            failed = any(bad.values()) or any(errors.values())
            if failed:
                parts.append(f"non-204 answers {bad}, socket errors {errors}")
            rows.append(
                Row(
                    5,
                    f"{kind}, {label(preset.server_body)}, concurrency {concurrency}",
                    label_,
                    "bare hand-written endpoint",
                    statistics.median(mine),
                    statistics.median(base),
                    ratio,
                    str(target) if target else "",
                    (target.met(ratio) and not failed) if target else None,
                    unit="rps",
                    note="; ".join(parts),
                    extra={
                        "rps_per_round": {name: mine, "bare": base},
                        "latency_ms": latency,
                        "server_cpu_us_per_request": cpu_us,
                        "requests": {n: pooled[(n, concurrency)].requests for n in both},
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
        "One server process serves both paths, pinned to one CPU; the generator (threads, one keep-alive connection "
        "each, raw sockets) runs in the benchmark process on the other CPU, so absolute requests/s are a floor, not a "
        "capacity. The ratio is the median of per-slice ratios."
    )
    for row in rows:
        if row.note:
            notes.append(f"{row.case}: {row.note}")
    return rows
