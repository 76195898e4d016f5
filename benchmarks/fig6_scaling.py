"""Figure 6: time per delivery against body size, 1 KiB to 10 MiB.

Five contenders per size, interleaved: one-shot ``hmac.digest`` (the floor:
it only reads the body once, so its growth is what the memory hierarchy
alone does, e.g. a 10 MiB body no longer fitting in the CPU's cache);
one-shot ``verify``; the receiver's
streamed intake with a wrong signature (feed 64 KiB pieces, MAC, join,
refuse: the guard without JSON); a whole valid delivery through the
receiver (intake, JSON, event, dispatch to a no-op handler); and the JSON
step alone, with the standard library's and orjson's own ``loads`` beside
it for reference. Time should grow linearly with size. For each contender the
table gives the per-byte slope (least squares over the sizes from 64 KiB
up) and the growth exponent between consecutive sizes
(``log(t2/t1) / log(s2/s1)``): 1 is linear, below 1 is fixed cost fading
out. A step between two sizes of 64 KiB or more is flagged superlinear when
its exponent exceeds the floor's over the same step by more than 0.1 (a
quadratic join or repeated copying shows there; the cache does not).
"""

from __future__ import annotations

import functools
import hmac
import json
import math
from collections.abc import Callable

from _apps import router_sync
from _bodies import KIB, SECRET, chunked, delivery, headers_for, label
from _harness import Preset, Series, compare, time_calls
from _result import Row

from layer_webhook_guard import SignatureVerifier, WebhookReceiver, _json

try:
    from orjson import loads as orjson_loads
except ImportError:  # the stdlib row is the only JSON reference then
    orjson_loads = None

READ = 65_536
#: How far a contender's growth exponent may exceed the floor's over the same step.
EXCESS = 0.10
FLAG_FROM = 64 * KIB

FLOOR = "hmac.digest (floor)"
#: Shown for comparison, not the guard's own code: never judged.
REFERENCES = frozenset({"json.loads (stdlib, reference)", "orjson.loads (no big-integer guard, reference)"})
CONTENDERS = (
    FLOOR,
    "SignatureVerifier.verify",
    "receiver intake, bad signature (no JSON)",
    "receiver, full delivery",
    "JSON step alone (_json.loads)",
    "json.loads (stdlib, reference)",
    "orjson.loads (no big-integer guard, reference)",
)


def _makers(size: int) -> dict[str, Callable[[], object]]:
    body = delivery(size)
    pieces = chunked(body, READ)
    headers = headers_for(body)
    bad = dict(headers, **{"layer-webhook-signature": "0" * 40})
    verifier = SignatureVerifier(SECRET)
    receiver = WebhookReceiver(verifier, router_sync(), max_body_size=2 * size)
    signature = headers["layer-webhook-signature"]
    key = SECRET.encode()

    def intake(hdrs: dict[str, str]) -> int:
        started = receiver.begin("POST", b"", hdrs)
        for piece in pieces:
            started.feed(piece)
        started.end()
        return receiver.dispatch(started.result()).status

    if intake(headers) != 204 or intake(bad) != 401 or not verifier.verify(body, signature):
        raise RuntimeError(f"scaling contenders misbehave at {label(size)}")
    return {
        FLOOR: lambda: hmac.digest(key, body, "sha1"),
        CONTENDERS[1]: lambda: verifier.verify(body, signature),
        CONTENDERS[2]: lambda: intake(bad),
        CONTENDERS[3]: lambda: intake(headers),
        CONTENDERS[4]: lambda: _json.loads(body),
        CONTENDERS[5]: lambda: json.loads(body),
        **({CONTENDERS[6]: functools.partial(orjson_loads, body)} if orjson_loads is not None else {}),
    }


def _slope(points: list[tuple[int, float]]) -> float:
    """Least-squares seconds per byte."""
    n = len(points)
    mx = sum(s for s, _ in points) / n
    my = sum(t for _, t in points) / n
    var = sum((s - mx) ** 2 for s, _ in points)
    return sum((s - mx) * (t - my) for s, t in points) / var if var else 0.0


def run(preset: Preset, notes: list[str]) -> list[Row]:
    results: dict[str, list[tuple[int, Series]]] = {name: [] for name in CONTENDERS}
    for size in preset.scaling_sizes:
        makers = _makers(size)
        series = compare(
            {name: time_calls(fn) for name, fn in makers.items()},
            rounds=preset.rounds,
            batch_seconds=preset.batch_seconds,
        )
        for name in series:
            results[name].append((size, series[name]))
    rows: list[Row] = []
    flagged: list[str] = []
    floor = [s.median for _, s in results[FLOOR]]
    for name in CONTENDERS:
        if not results[name]:
            continue
        points = [(size, s.median) for size, s in results[name]]
        big = [(s, t) for s, t in points if s >= FLAG_FROM]
        slope = _slope(big) if len(big) >= 2 else None
        for index, (size, seconds) in enumerate(points):
            exponent: float | None = None
            limit: float | None = None
            if index:
                before, before_seconds = points[index - 1]
                exponent = math.log(seconds / before_seconds) / math.log(size / before)
                if before >= FLAG_FROM and name != FLOOR:
                    limit = math.log(floor[index] / floor[index - 1]) / math.log(size / before) + EXCESS
                    if exponent > limit:
                        flagged.append(
                            f"{name}: {label(before)} → {label(size)} grows with exponent {exponent:.2f} "
                            f"(floor {limit - EXCESS:.2f})"
                        )
                    if name in REFERENCES:
                        limit = None  # flagged in the notes, not a target of the guard
            rows.append(
                Row(
                    6,
                    label(size),
                    name,
                    "growth exponent from the size before" if exponent is not None else "",
                    seconds,
                    None,
                    exponent,
                    f"≤ {limit:.2f}" if limit is not None else "",
                    (exponent is not None and exponent <= limit) if limit is not None else None,
                    note=f"{seconds / size * 1e9:.2f} ns/byte",
                    extra={
                        "size": size,
                        "ns_per_byte": seconds / size * 1e9,
                        "slope_ns_per_byte_from_64k": slope * 1e9 if slope is not None else None,
                    },
                )
            )
        if slope is not None:
            notes.append(f"{name}: slope {slope * 1e9:.2f} ns/byte (least squares, {label(FLAG_FROM)} and up)")
    notes.append("Superlinear growth: " + ("; ".join(flagged) if flagged else "none flagged"))
    return rows
