"""In-process callers: one delivery through a WSGI or ASGI app, no sockets.

WSGI: a fresh environ per call (built before the clock starts), the response
iterable consumed and closed as a server would. ASGI: a hand-built scope and
a ``receive`` that hands the body over in several ``http.request`` chunks,
all calls of a batch awaited in one event loop. Before timing, one call is
made and its status checked, so a contender that fails fast is never timed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from _apps import HANDLED, asgi_scope, wsgi_environ
from _bodies import chunked
from _harness import Runner

__all__ = ["asgi_runner", "close_loops", "wsgi_runner"]

_LOOPS: list[asyncio.AbstractEventLoop] = []


def _wsgi_call(app: Callable[..., Any], environ: dict[str, Any]) -> str:
    status: list[str] = []

    def start_response(s: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable[[bytes], None]:
        status.append(s)
        return lambda _data: None

    result = app(environ, start_response)
    try:
        for _ in result:
            pass
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return status[0] if status else ""


def _check(name: str, status: object, expected: int) -> None:
    if not str(status).startswith(str(expected)):
        raise RuntimeError(f"{name}: expected HTTP {expected}, got {status!r}")


def wsgi_runner(
    name: str, app: Callable[..., Any], body: bytes, headers: dict[str, str], path: str, expected: int = 204
) -> Runner:
    """Time ``n`` deliveries through a WSGI app (environs built untimed)."""
    before = HANDLED[0]
    _check(name, _wsgi_call(app, wsgi_environ(body, headers, path)), expected)
    if expected == 204 and HANDLED[0] != before + 1:
        raise RuntimeError(f"{name}: the handler did not run exactly once")

    def run(n: int) -> float:
        environs = [wsgi_environ(body, headers, path) for _ in range(n)]
        start = time.perf_counter()
        for environ in environs:
            _wsgi_call(app, environ)
        return time.perf_counter() - start

    return run


def asgi_runner(
    name: str,
    app: Callable[..., Any],
    body: bytes,
    headers: dict[str, str],
    path: str,
    *,
    chunk: int = 1024,
    expected: int = 204,
) -> Runner:
    """Time ``n`` deliveries through an ASGI app, the body in ``chunk``-byte messages."""
    loop = asyncio.new_event_loop()
    _LOOPS.append(loop)
    pieces = chunked(body, chunk)
    last = len(pieces) - 1
    base = asgi_scope(headers, path)

    async def one() -> int:
        index = 0

        async def receive() -> dict[str, Any]:
            nonlocal index
            if index > last:
                await asyncio.sleep(0)
                return {"type": "http.disconnect"}
            message = {"type": "http.request", "body": pieces[index], "more_body": index < last}
            index += 1
            return message

        status = 0

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app({**base, "state": {}}, receive, send)
        return status

    async def batch(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            await one()
        return time.perf_counter() - start

    before = HANDLED[0]
    _check(name, loop.run_until_complete(one()), expected)
    if expected == 204 and HANDLED[0] != before + 1:
        raise RuntimeError(f"{name}: the handler did not run exactly once")

    def run(n: int) -> float:
        return loop.run_until_complete(batch(n))

    return run


def close_loops() -> None:
    while _LOOPS:
        _LOOPS.pop().close()
