"""Benchmark inputs: realistic Layer deliveries padded to an exact size, and their signatures.

Every body is a real ``message.sent`` delivery (the shape of Layer's
documented sample shipped in the package) whose message carries extra
``text/plain`` parts until it reaches the requested size exactly. The text is
ordinary prose with timestamps and ids in it, so JSON parsing and digit
scanning see what a chat payload holds, not a run of one repeated byte.

Signatures here come from :func:`hmac.new` directly, never from the code
being measured.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from functools import cache
from importlib import resources

__all__ = ["KIB", "MIB", "SECRET", "chunked", "delivery", "headers_for", "label", "sign"]

KIB = 1024
MIB = 1024 * KIB
SECRET = "1697f925ec7b1697f925ec7b"  # the example secret of Layer's docs
EVENT_TYPE = "message.sent"

_PROSE = (
    "Sure, I can move the review to Thursday at 14:30 if that works for the team. "
    "The build from 2015-09-17T20:46:47Z passed, and ticket 4417 is waiting on design. "
)


def label(size: int) -> str:
    """``1 KiB``, ``64 KiB``, ``10 MiB``."""
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MiB"
    if size >= KIB and size % KIB == 0:
        return f"{size // KIB} KiB"
    return f"{size} B"


def _dumps(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@cache
def delivery(size: int) -> bytes:
    """A valid Layer ``message.sent`` body of exactly ``size`` bytes (size >= 1 KiB)."""
    base = json.loads(resources.files("layer_webhook_guard").joinpath("samples/v1.0.message.sent.json").read_bytes())
    base["event"]["id"] = str(uuid.UUID(int=size))  # stable per size
    message = base["message"]
    parts: list[dict[str, object]] = message["parts"]

    def part(n: int, text: str) -> dict[str, object]:
        return {"id": f"{message['id']}/parts/{n}", "mime_type": "text/plain", "body": text}

    def length_with(extra: list[dict[str, object]]) -> int:
        return len(_dumps({**base, "message": {**message, "parts": parts + extra}}))

    if length_with([part(9, "")]) > size:
        del parts[1:]  # small bodies: the text part only, not the image part
    if length_with([part(9, "")]) > size:
        raise ValueError(f"a delivery needs at least {length_with([part(9, '')])} bytes")
    text = _PROSE * 8
    n = len(parts)
    # Whole parts while an empty closing part still fits, then the closing
    # part's text fills the exact remainder. Each whole part adds its own
    # length plus a comma; the ids grow by a digit now and then, so the count
    # is estimated by arithmetic and corrected by measuring.
    step = len(_dumps(part(n, text))) + 1
    whole = max(0, (size - length_with([part(n, "")])) // step - 1)
    parts.extend(part(n + i, text) for i in range(whole))
    n += whole
    while length_with([part(n, text), part(n + 1, "")]) <= size:
        parts.append(part(n, text))
        n += 1
    while length_with([part(n, "")]) > size:
        parts.pop()
        n -= 1
    missing = size - length_with([part(n, "")])
    parts.append(part(n, (_PROSE * (missing // len(_PROSE) + 1))[:missing]))
    body = _dumps(base)
    if len(body) != size:
        raise AssertionError(f"padding missed: {len(body)} != {size}")
    return body


def sign(body: bytes, secret: str = SECRET, algorithm: str = "sha1") -> str:
    """Independent HMAC (the standard library, called directly)."""
    return hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()


def headers_for(body: bytes, *, signature: str | None = None) -> dict[str, str]:
    """The headers Layer sends with a delivery (lower-case names)."""
    return {
        "content-type": "application/vnd.layer.webhooks+json; version=1.0",
        "content-length": str(len(body)),
        "user-agent": "layer-webhooks/1.0",
        "layer-webhook-signature": signature if signature is not None else sign(body),
        "layer-webhook-event-type": EVENT_TYPE,
        "layer-webhook-request-id": "4b3c1d2e-8f7a-4e6b-9c0d-1a2b3c4d5e6f",
        "layer-webhook-id": "6a3b1e49-9ef8-4a52-9a1a-0f1f0d5a7b52",
    }


def chunked(body: bytes, size: int) -> list[bytes]:
    """``body`` cut into ``size``-byte pieces (what a server hands over)."""
    return [body[i : i + size] for i in range(0, len(body), size)] or [b""]
