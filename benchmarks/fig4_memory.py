"""Figure 4: memory the guard holds for one large delivery, and how little it reads when refusing.

Peak: ``tracemalloc``'s peak while one 10 MiB delivery goes through, minus
what was traced before it started. The body arrives as a server hands it
over (64 KiB pieces allocated as they are read: a ``BytesIO`` for WSGI,
slices made inside ``receive`` for ASGI), so the pieces count as the guard's
buffer. JSON parsing is excluded (the parser is swapped for a stub that
returns a minimal event for the duration): the target is about the guard's
own copies, buffer plus at most one joined copy, ≤ 2x the body. The JSON
step is reported on its own.

Refusals: a declared oversize body must be refused with 0 bytes read; a
chunked body that grows past the cap must stop being read within one
chunk of it.
"""

from __future__ import annotations

import asyncio
import functools
import io
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from _apps import asgi_not_found, asgi_scope, router_async, router_sync, wsgi_environ, wsgi_not_found
from _bodies import MIB, SECRET, delivery, headers_for, label
from _harness import Preset
from _result import Row

from layer_webhook_guard import WebhookReceiver, _json
from layer_webhook_guard.asgi import ASGIWebhookMiddleware
from layer_webhook_guard.wsgi import WSGIWebhookMiddleware

#: Buffer plus one joined copy; the bookkeeping of the pieces (object headers,
#: the list holding them) may add up to one read's worth on top.
PEAK_TARGET = "\u2264 2\u00d7 (+ one 64 KiB read)"
READ = 65_536
OVERSIZE_CAP = MIB


@contextmanager
def _json_excluded() -> Iterator[None]:
    real = _json.loads

    def stub(data: bytes, *, fast: bool = True) -> Any:
        return {"event": {"type": "message.sent", "id": "stub"}, "config": {}}

    _json.loads = stub
    try:
        yield
    finally:
        _json.loads = real


def _traced_peak(fn: Callable[[], object]) -> int:
    """Peak bytes traced while ``fn`` runs, above what was traced before."""
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


class _CountingStream(io.RawIOBase):
    """A ``wsgi.input`` that counts what was read from it (endless when ``endless``)."""

    def __init__(self, data: bytes, *, endless: bool = False) -> None:
        self._data = data
        self._pos = 0
        self._endless = endless
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        if self._endless:
            piece = b"x" * (READ if size is None or size < 0 else min(size, READ))
        else:
            end = len(self._data) if size is None or size < 0 else self._pos + size
            piece = self._data[self._pos : end]
            self._pos += len(piece)
        self.read_bytes += len(piece)
        return piece


def _wsgi_status(app: Callable[..., Any], environ: dict[str, Any]) -> str:
    status: list[str] = []
    for _ in app(environ, lambda s, h, e=None: status.append(s)):
        pass
    return status[0]


def _asgi_call(app: Callable[..., Any], scope: dict[str, Any], receive: Callable[..., Any]) -> int:
    status = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    asyncio.run(app(scope, receive, send))
    return status


def _peaks(size: int) -> list[Row]:
    body = delivery(size)
    headers = headers_for(body)
    cap = 2 * size
    rows: list[Row] = []

    receiver = WebhookReceiver(SECRET, router_sync(), max_body_size=cap)

    def core() -> None:
        intake = receiver.begin("POST", b"", headers)
        stream = io.BytesIO(body)
        while intake.wants_body:
            if not intake.feed(stream.read(intake.read_size(READ))):
                break
        decision = receiver.dispatch(intake.result())
        if decision.status != 204:
            raise RuntimeError(f"core: HTTP {decision.status}")

    wsgi_app = WSGIWebhookMiddleware(wsgi_not_found, secret=SECRET, router=router_sync(), max_body_size=cap)

    def wsgi() -> None:
        status = _wsgi_status(wsgi_app, wsgi_environ(body, headers))
        if not status.startswith("204"):
            raise RuntimeError(f"wsgi: {status}")

    asgi_app = ASGIWebhookMiddleware(asgi_not_found, secret=SECRET, router=router_async(), max_body_size=cap)

    def asgi() -> None:
        offset = 0

        async def receive() -> dict[str, Any]:
            nonlocal offset
            piece = body[offset : offset + READ]  # a server allocates each piece as it arrives
            offset += len(piece)
            return {"type": "http.request", "body": piece, "more_body": offset < len(body)}

        status = _asgi_call(asgi_app, asgi_scope(headers), receive)
        if status != 204:
            raise RuntimeError(f"asgi: HTTP {status}")

    with _json_excluded():
        for name, fn in (("WebhookReceiver (64 KiB feeds)", core), ("WSGIWebhookMiddleware", wsgi)):
            peak = _traced_peak(fn)
            rows.append(_peak_row(label(size), name, peak, size))
        peak = _traced_peak(asgi)
        rows.append(_peak_row(label(size), "ASGIWebhookMiddleware (64 KiB messages)", peak, size))
    for backend, fast in ((_json.BACKEND, True), ("json", False)):
        if fast and backend == "json":
            continue  # orjson is not installed: the stdlib row below is the only path
        json_peak = _traced_peak(functools.partial(_json.loads, body, fast=fast))
        rows.append(
            Row(
                4,
                f"peak, {label(size)}",
                f"JSON parse alone ({backend})",
                "body",
                json_peak,
                size,
                json_peak / size,
                unit="MiB",
                note="not the guard's: reported",
            )
        )
    return rows


def _peak_row(case: str, name: str, peak: int, size: int) -> Row:
    ratio = peak / size
    return Row(
        4,
        f"peak, {case}",
        name,
        "body",
        peak,
        size,
        ratio,
        PEAK_TARGET,
        peak <= 2 * size + READ,
        unit="MiB",
        extra={"peak_bytes": peak, "body_bytes": size, "over_two_bodies": peak - 2 * size},
    )


def _refusals() -> list[Row]:
    rows: list[Row] = []
    declared = 11 * MIB
    oversize = {"content-length": str(declared), "layer-webhook-signature": "0" * 40}

    wsgi_app = WSGIWebhookMiddleware(wsgi_not_found, secret=SECRET, router=router_sync(), max_body_size=OVERSIZE_CAP)
    stream = _CountingStream(b"x" * declared)
    environ = wsgi_environ(b"", oversize)
    environ["wsgi.input"] = stream
    status = _wsgi_status(wsgi_app, environ)
    rows.append(_read_row("declared 11 MiB, cap 1 MiB", "WSGIWebhookMiddleware", status, stream.read_bytes, 0))

    asgi_app = ASGIWebhookMiddleware(asgi_not_found, secret=SECRET, router=router_async(), max_body_size=OVERSIZE_CAP)
    pulled = 0

    async def receive_declared() -> dict[str, Any]:
        nonlocal pulled
        pulled += READ
        return {"type": "http.request", "body": b"x" * READ, "more_body": True}

    status_code = _asgi_call(asgi_app, asgi_scope(oversize), receive_declared)
    rows.append(_read_row("declared 11 MiB, cap 1 MiB", "ASGIWebhookMiddleware", str(status_code), pulled, 0))

    chunked_headers = {"transfer-encoding": "chunked", "layer-webhook-signature": "0" * 40}
    endless = _CountingStream(b"", endless=True)
    environ = wsgi_environ(b"", chunked_headers)
    environ["wsgi.input"] = endless
    environ["wsgi.input_terminated"] = True
    status = _wsgi_status(wsgi_app, environ)
    allowed = OVERSIZE_CAP + READ
    rows.append(_read_row("chunked, endless, cap 1 MiB", "WSGIWebhookMiddleware", status, endless.read_bytes, allowed))

    pulled = 0
    calls = 0

    async def receive_endless() -> dict[str, Any]:
        nonlocal pulled, calls
        calls += 1
        if calls > 10 * OVERSIZE_CAP // READ:  # bound the test itself: say the client left
            return {"type": "http.disconnect"}
        pulled += READ
        return {"type": "http.request", "body": b"x" * READ, "more_body": True}

    status_code = _asgi_call(asgi_app, asgi_scope(chunked_headers), receive_endless)
    rows.append(_read_row("chunked, endless, cap 1 MiB", "ASGIWebhookMiddleware", str(status_code), pulled, allowed))
    return rows


def _read_row(case: str, name: str, status: str, read: int, allowed: int) -> Row:
    met = status.startswith("413") and read <= allowed
    over = max(0, read - OVERSIZE_CAP) if allowed else read
    return Row(
        4,
        case,
        f"{name} → {status.split()[0]}",
        "bytes read" if not allowed else "bytes read past the cap",
        float(read if not allowed else over),
        None,
        None,
        "0 B" if not allowed else f"\u2264 {READ:,} B (one chunk)",
        met,
        unit="B",
        extra={"bytes_read": read, "cap": OVERSIZE_CAP, "status": status},
    )


def run(preset: Preset, notes: list[str]) -> list[Row]:
    rows = _peaks(preset.memory_body) + _refusals()
    notes.append(
        "Peak = tracemalloc peak during one delivery minus what was traced before; JSON parsing stubbed out for the "
        "peak rows and shown alone in its own row. The pieces a server reads count as the guard's buffer."
    )
    return rows
