"""Interleaved timing: every contender of a comparison runs in every round.

On a shared two-core machine an absolute time says little: a neighbour's job,
frequency scaling or a page-cache flush moves it by tens of percent. What
holds up is a ratio measured side by side. So a comparison runs in rounds;
each round times every contender once (a batch of calls sized to take about
``batch_seconds``), in an order rotated every round so no contender always
runs first or right after a collection. The result keeps every round's time
per call; medians are reported, and each ratio is the median of the per-round
ratios (paired, so a slow round slows both sides of it).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["Preset", "Runner", "Series", "paired_ratio", "time_calls"]

#: ``run(n)`` makes ``n`` calls and returns the seconds they took (setup untimed).
Runner = Callable[[int], float]


@dataclass(frozen=True)
class Preset:
    """How hard to measure: ``full`` for the published table, ``quick`` for a check."""

    name: str
    rounds: int
    batch_seconds: float
    sizes: tuple[int, ...]  # figures 1, 2 and 4's big body
    scaling_sizes: tuple[int, ...]  # figure 6
    adapter_body: int  # figure 3
    server_body: int  # figure 5
    server_seconds: float  # per contender, per concurrency, per round
    server_rounds: int
    memory_body: int  # figure 4


@dataclass
class Series:
    """Seconds per call, one entry per round."""

    name: str
    per_call: list[float] = field(default_factory=list)
    calls: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.per_call)

    @property
    def spread(self) -> tuple[float, float]:
        """Lower and upper quartile (min and max with fewer than 4 rounds)."""
        values = sorted(self.per_call)
        if len(values) < 4:
            return values[0], values[-1]
        q = statistics.quantiles(values, n=4)
        return q[0], q[2]


def time_calls(fn: Callable[[], object]) -> Runner:
    """A runner for a plain callable: ``n`` calls in a tight loop."""

    def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        return time.perf_counter() - start

    return run


def _calibrate(run: Runner, batch_seconds: float, limit: int = 1 << 20) -> int:
    """The number of calls that takes about ``batch_seconds`` (at least 1)."""
    run(1)  # warm caches, imports and lazily built state
    n = 1
    while n < limit:
        took = run(n)
        if took >= batch_seconds / 2:
            return max(1, min(limit, round(n * batch_seconds / max(took, 1e-9))))
        n *= 4 if took < batch_seconds / 20 else 2
    return limit


def compare(runners: Mapping[str, Runner], *, rounds: int, batch_seconds: float) -> dict[str, Series]:
    """Run every contender in every round, order rotated; return their series."""
    names = list(runners)
    calls = {name: _calibrate(runners[name], batch_seconds) for name in names}
    series = {name: Series(name, calls=calls[name]) for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        if r % 2:
            order.reverse()
        gc.collect()
        for name in order:
            took = runners[name](calls[name])
            series[name].per_call.append(took / calls[name])
    return series


def paired_ratio(num: Series, den: Series) -> float:
    """Median over rounds of ``num``'s time divided by ``den``'s in the same round."""
    return statistics.median(a / b for a, b in zip(num.per_call, den.per_call, strict=True))
