"""The apps being compared: hand-written endpoints and the guard, per framework.

Each hand-written endpoint is the minimal *correct* webhook a user would
write without the library: read the body, HMAC it, ``compare_digest`` with
the header, ``json.loads``, call a function, answer 204 (401 and 400 on
failure). It checks nothing else (no size cap, no challenge, no event-type
header), so it is a floor the guard has to get close to while doing more.

Handlers are the same function in every contender: ``handle(payload)`` for
synchronous code, ``handle_async`` for ASGI apps (an ASGI user writes an
``async def`` handler; the router would run a plain function in a worker
thread, a cost a hand-written endpoint calling a blocking function on the
event loop does not pay but should).

Secrets here are the documented example secret; nothing here is for
production use.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import sys
from collections.abc import Callable, Iterable
from typing import Any

from _bodies import SECRET

from layer_webhook_guard import WebhookEvent, WebhookRouter
from layer_webhook_guard.asgi import Message, Receive, Scope, Send

__all__ = [
    "BARE_PATH",
    "HANDLED",
    "PATH",
    "asgi_handwritten",
    "handle",
    "handle_async",
    "router_async",
    "router_sync",
    "wsgi_environ",
    "wsgi_handwritten",
]

PATH = "/layer/webhooks"
#: Where the served apps (figure 5) answer with the hand-written endpoint.
BARE_PATH = "/bare/webhooks"
_HAND_PATHS = frozenset({PATH, BARE_PATH})
KEY = SECRET.encode()
SIG_ENVIRON = "HTTP_LAYER_WEBHOOK_SIGNATURE"

#: How many deliveries reached a handler (checked, so no contender skips work).
HANDLED = [0]


def handle(payload: dict[str, Any]) -> None:
    HANDLED[0] += 1


async def handle_async(payload: dict[str, Any]) -> None:
    HANDLED[0] += 1


def router_sync() -> WebhookRouter:
    router = WebhookRouter()

    @router.on("message.sent")
    def on_message(event: WebhookEvent) -> None:
        handle(event.payload)

    return router


def router_async() -> WebhookRouter:
    router = WebhookRouter()

    @router.on("message.sent")
    async def on_message(event: WebhookEvent) -> None:
        await handle_async(event.payload)

    return router


def valid(body: bytes, signature: str) -> bool:
    """The hand-written check: HMAC-SHA1 hex, compared in constant time."""
    expected = hmac.new(KEY, body, hashlib.sha1).hexdigest().encode()
    return hmac.compare_digest(expected, signature.strip().lower().encode("latin-1"))


# -- WSGI ----------------------------------------------------------------------


def wsgi_environ(body: bytes, headers: dict[str, str], path: str = PATH, method: str = "POST") -> dict[str, Any]:
    """A WSGI environ as a server builds it, body in ``wsgi.input``."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
    return environ


def _wsgi_answer(start_response: Callable[..., Any], status: str) -> Iterable[bytes]:
    start_response(status, [("Content-Length", "0")])
    return []


def wsgi_handwritten(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A plain WSGI webhook endpoint, written by hand (no framework)."""
    if environ.get("PATH_INFO") not in _HAND_PATHS or environ.get("REQUEST_METHOD") != "POST":
        return _wsgi_answer(start_response, "404 Not Found")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _wsgi_answer(start_response, "400 Bad Request")
    body = environ["wsgi.input"].read(length)
    if not valid(body, environ.get(SIG_ENVIRON, "")):
        return _wsgi_answer(start_response, "401 Unauthorized")
    try:
        payload = json.loads(body)
    except ValueError:
        return _wsgi_answer(start_response, "400 Bad Request")
    handle(payload)
    return _wsgi_answer(start_response, "204 No Content")


def wsgi_not_found(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The rest of a plain WSGI site (what the middleware wraps)."""
    return _wsgi_answer(start_response, "404 Not Found")


# -- ASGI ----------------------------------------------------------------------


async def _asgi_answer(send: Send, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


async def asgi_handwritten(scope: Scope, receive: Receive, send: Send) -> None:
    """A plain ASGI webhook endpoint, written by hand (no framework)."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope.get("path") not in _HAND_PATHS or scope.get("method") != "POST":
        await _asgi_answer(send, 404)
        return
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return  # the client went away
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    signature = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"layer-webhook-signature"), "")
    if not valid(body, signature):
        await _asgi_answer(send, 401)
        return
    try:
        payload = json.loads(body)
    except ValueError:
        await _asgi_answer(send, 400)
        return
    await handle_async(payload)
    await _asgi_answer(send, 204)


async def asgi_not_found(scope: Scope, receive: Receive, send: Send) -> None:
    """The rest of a plain ASGI site (what the middleware wraps)."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    await _asgi_answer(send, 404)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def asgi_scope(headers: dict[str, str], path: str = PATH, method: str = "POST") -> dict[str, Any]:
    """An HTTP scope as an ASGI server builds it."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000")] + [(k.encode(), v.encode("latin-1")) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
