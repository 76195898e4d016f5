"""Figure 1: ``SignatureVerifier.verify`` against the same check written by hand.

The hand-written baseline is what a careful user writes:
``hmac.compare_digest(hmac.new(key, body, sha1).hexdigest(), signature)``.
The floor is one-shot ``hmac.digest`` with no comparison at all: the least
work any verifier can do, shown for reference. Target: verify within 1.05x
of the hand-written check from 64 KiB up.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from _bodies import SECRET, delivery, label, sign
from _harness import Preset, compare, time_calls
from _result import Row, Target, ratio_row

from layer_webhook_guard import SignatureVerifier

TARGET = Target("<=", 1.05)
TARGET_FROM = 64 * 1024


def _checked(name: str, fn: Callable[[], bool]) -> Callable[[], bool]:
    if fn() is not True:
        raise RuntimeError(f"{name} did not accept a valid signature")
    return fn


def run(preset: Preset, notes: list[str]) -> list[Row]:
    verifier = SignatureVerifier(SECRET)
    key = SECRET.encode()
    rows: list[Row] = []
    for size in preset.sizes:
        body = delivery(size)
        signature = sign(body)

        def ours(body: bytes = body, signature: str = signature) -> bool:
            return verifier.verify(body, signature)

        def raw(body: bytes = body, signature: str = signature) -> bool:
            return hmac.compare_digest(hmac.new(key, body, hashlib.sha1).hexdigest(), signature)

        def floor(body: bytes = body) -> bool:
            hmac.digest(key, body, "sha1")
            return True

        series = compare(
            {
                "SignatureVerifier.verify": time_calls(_checked("verify", ours)),
                "hmac.new().hexdigest() + compare_digest": time_calls(_checked("raw", raw)),
                "hmac.digest (floor)": time_calls(floor),
            },
            rounds=preset.rounds,
            batch_seconds=preset.batch_seconds,
        )
        ours_s, raw_s, floor_s = series.values()
        target = TARGET if size >= TARGET_FROM else None
        rows.append(ratio_row(1, label(size), ours_s, raw_s, target, note="" if target else "reported, no target"))
        rows.append(ratio_row(1, label(size), ours_s, floor_s, note="floor: one-shot HMAC, no compare"))
    notes.append(
        "Ratios are medians of per-round ratios; contenders interleaved, order rotated every round. "
        "HMAC-SHA1 (Layer's algorithm)."
    )
    return rows
