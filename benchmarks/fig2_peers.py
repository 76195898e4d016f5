"""Figure 2: peer verifiers on the same bodies, each signed with its own helper.

Peers are installed only in the benchmark environment (see README.md); the
figure is skipped with a note when none is importable. Each peer verifies
its own scheme (Slack and Stripe: HMAC-SHA256 over ``timestamp + body``
decoded to text; Standard Webhooks: HMAC-SHA256 over ``id.timestamp.body``,
base64). Layer signs with HMAC-SHA1, so ours runs with SHA-1 (what a Layer
user gets) and, as a like-for-like check, with SHA-256 too.
``standardwebhooks.Webhook.verify`` is called with ``json_parse=False``:
verification only, as for every other contender.
Target: ours (SHA-1) faster than every peer at every size.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from _bodies import SECRET, delivery, label, sign
from _harness import Preset, Runner, compare, time_calls
from _result import Row, Target, ratio_row

from layer_webhook_guard import SignatureVerifier

TARGET = Target("<", 1.0)
PEER_SECRET = "whsec_" + base64.b64encode(b"benchmark-peer-secret-0123456789").decode()


def _slack(body: bytes) -> Callable[[], bool] | None:
    try:
        from slack_sdk.signature import Clock
        from slack_sdk.signature import SignatureVerifier as SlackVerifier
    except ImportError:
        return None
    stamp = str(int(time.time()))

    class FixedClock(Clock):  # type: ignore[misc]
        # Slack refuses signatures older than five minutes; a full run is longer.
        def now(self) -> float:
            return float(stamp)

    verifier = SlackVerifier(PEER_SECRET, clock=FixedClock())
    signature = verifier.generate_signature(timestamp=stamp, body=body)
    return lambda: verifier.is_valid(body, stamp, signature)


def _standardwebhooks(body: bytes) -> Callable[[], bool] | None:
    try:
        from standardwebhooks import Webhook
    except ImportError:
        return None
    webhook = Webhook(PEER_SECRET)
    now = datetime.now(tz=timezone.utc)
    headers = {
        "webhook-id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": webhook.sign("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", now, body.decode()),
    }

    def verify() -> bool:
        webhook.verify(body, headers, json_parse=False)  # raises on a mismatch
        return True

    return verify


def _stripe(body: bytes) -> Callable[[], bool] | None:
    try:
        import stripe
    except ImportError:
        return None
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), PEER_SECRET)
    return lambda: bool(stripe.WebhookSignature.verify_header(body, header, PEER_SECRET))


PEERS: dict[str, Callable[[bytes], Callable[[], bool] | None]] = {
    "slack_sdk SignatureVerifier.is_valid": _slack,
    "standardwebhooks Webhook.verify": _standardwebhooks,
    "stripe WebhookSignature.verify_header": _stripe,
}


def available() -> list[str]:
    return [name for name, make in PEERS.items() if make(b"{}") is not None]


def _runner(name: str, fn: Callable[[], bool]) -> Runner:
    if fn() is not True:
        raise RuntimeError(f"{name} did not accept its own signature")
    return time_calls(fn)


def run(preset: Preset, notes: list[str]) -> list[Row]:
    present = available()
    missing = [name for name in PEERS if name not in present]
    if not present:
        message = (
            "skipped: no peer verifier is installed here (slack_sdk, standardwebhooks, stripe); "
            "create the benchmark environment described in benchmarks/README.md"
        )
        print(f"figure 2 {message}", flush=True)
        notes.append(message)
        return []
    if missing:
        notes.append("not installed, so not measured: " + ", ".join(missing))
    ours1 = SignatureVerifier(SECRET)
    ours256 = SignatureVerifier(SECRET, algorithm="sha256")
    rows: list[Row] = []
    for size in preset.sizes:
        body = delivery(size)
        sig1, sig256 = sign(body), sign(body, algorithm="sha256")

        def sha1(body: bytes = body, signature: str = sig1) -> bool:
            return ours1.verify(body, signature)

        def sha256(body: bytes = body, signature: str = sig256) -> bool:
            return ours256.verify(body, signature)

        runners: dict[str, Runner] = {"ours (SHA-1)": _runner("ours", sha1), "ours (SHA-256)": _runner("ours", sha256)}
        for name in present:
            fn: Any = PEERS[name](body)
            runners[name] = _runner(name, fn)
        series = compare(runners, rounds=preset.rounds, batch_seconds=preset.batch_seconds)
        for name in present:
            rows.append(ratio_row(2, label(size), series["ours (SHA-1)"], series[name], TARGET))
            rows.append(ratio_row(2, label(size), series["ours (SHA-256)"], series[name], note="like-for-like hash"))
    notes.append(
        "Ratio = ours / peer (below 1 means ours is faster). Each peer's own signing helper made its signature; "
        "Slack's freshness check runs against a fixed clock so a long run stays valid."
    )
    notes.append(
        "Why the peers are slower: each decodes the body to str, formats it into a new string with the "
        "timestamp and encodes that back to bytes before hashing (three passes and copies of the body); ours hashes "
        "the bytes as given."
    )
    return rows
