"""The ASGI shell: moves a request's bytes into the receiver and its decision out.

What this module trusts, and why:

* The ASGI server frames the body (``Content-Length`` or chunked) and hands
  it over as ``http.request`` messages, so the receiver is started with
  ``input_terminated=None`` and the end of the body is ``more_body`` false.
  The server is trusted for framing only: the declared length is still
  checked against what actually arrives (fewer or more bytes is a 400).
* Nothing from the network is trusted until the receiver says so. Every
  ``http.request`` message is drained (bounded by ``max_body_size``, each
  chunk fed to the HMAC as it arrives) and decided *before* the wrapped app
  or any handler runs. A request that fails never reaches the app, even a
  route that would never have read its body.
* Once a decision needs no more body (413 mid-stream, too many bytes) no
  further ``receive()`` call is made. A client that disconnects while its
  body is being read gets nothing run and no answer.

Guard mode (no router): the verified bytes are replayed to the wrapped app
as one ``http.request`` message; every later ``receive()`` goes to the real
channel, so the app still sees ``http.disconnect``. The verified event (or
``None`` for a verified body that is not an event) is attached to a copy of
the scope as ``scope["layer_webhook_guard.event"]`` and in a copy of
``scope["state"]``, so it never leaks into a state dict shared by requests.

This module imports no framework: plain ASGI apps, Starlette, FastAPI and
Django's ASGI handler all use it. ``layer_webhook_guard.starlette`` adds the
Starlette-facing names.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .errors import ConfigurationError
from .receiver import DEFAULT_MAX_BODY_SIZE, Action, Decision, Intake, WebhookReceiver, normalize_path, path_matches
from .routing import WebhookRouter
from .signing import SecretInput, SignatureVerifier

__all__ = [
    "DEFAULT_PATH",
    "EVENT_KEY",
    "ASGIApp",
    "ASGIWebhookApp",
    "ASGIWebhookMiddleware",
    "Message",
    "Receive",
    "Scope",
    "Send",
]

logger = logging.getLogger("layer_webhook_guard")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_PATH = "/layer/webhooks"
#: Key of the verified event in ``scope`` and in ``scope["state"]`` (guard mode).
EVENT_KEY = "layer_webhook_guard.event"


def route_path(scope: Scope) -> str:
    """The request path within ``root_path`` (servers may include the prefix in ``path``)."""
    path: str = scope.get("path", "")
    root_path: str = scope.get("root_path", "") or ""
    if not root_path or not path.startswith(root_path):
        return path
    if path == root_path:
        return ""
    # "/api" must not strip the front of "/apiary": only a whole segment.
    return path[len(root_path) :] if path[len(root_path)] == "/" else path


async def _drain(intake: Intake, receive: Receive) -> bool:
    """Feed every ``http.request`` message to ``intake``.

    Returns False when the client went away before the body was complete.
    Reading goes on past the declared length up to ``more_body`` false, so
    extra bytes are seen (and refused); it stops at once when the intake has
    decided (over the cap, more than declared).
    """
    while True:
        message = await receive()
        kind = message.get("type")
        if kind == "http.request":
            chunk = message.get("body", b"")
            # An empty chunk would mean EOF to feed(); only more_body says that here.
            if chunk and not intake.feed(chunk):
                return True
            if not message.get("more_body", False):
                intake.end()
                return True
        else:  # http.disconnect, or a message no HTTP server should send
            return False


def _response_messages(decision: Decision, *, head: bool) -> tuple[Message, Message]:
    start: Message = {
        "type": "http.response.start",
        "status": decision.status,
        "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in decision.response_headers()],
    }
    # HEAD keeps the Content-Length a GET would have, but carries no body.
    body: Message = {"type": "http.response.body", "body": b"" if head else decision.body}
    return start, body


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that first gives the verified body, then the real channel."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _forwarded_scope(scope: Scope, decision: Decision) -> Scope:
    state = scope.get("state")
    new_state = dict(state) if isinstance(state, MutableMapping) else {}
    new_state[EVENT_KEY] = decision.event
    return {**scope, "state": new_state, EVENT_KEY: decision.event}


async def _serve(receiver: WebhookReceiver, scope: Scope, receive: Receive, send: Send, app: ASGIApp | None) -> None:
    """Answer one HTTP request on the webhook path (or forward it in guard mode)."""
    method = str(scope.get("method", "GET"))
    intake = receiver.begin(method, scope.get("query_string", b""), scope.get("headers") or (), input_terminated=None)
    # A decision from the headers alone (challenge, 405, 413 by length, 415,
    # no signature) is final: the body is not read at all.
    if intake.decision is None and not await _drain(intake, receive):
        logger.info("client disconnected while the webhook body was read (%d bytes); nothing run", intake.received)
        return
    decision = intake.result()
    if decision.action is Action.DISPATCH:
        decision = await receiver.dispatch_async(decision)
    if decision.action is Action.FORWARD:
        if app is None:  # only a receiver without a router forwards
            raise RuntimeError("a guard-mode decision needs an app to forward to")
        if decision.request_body is None:
            # GET/HEAD without a challenge: nothing was read, nothing to verify.
            await app(scope, receive, send)
        else:
            await app(_forwarded_scope(scope, decision), _replaying(decision.request_body, receive), send)
        return
    start, body = _response_messages(decision, head=method.upper() == "HEAD")
    await send(start)
    await send(body)


class ASGIWebhookMiddleware:
    """Guard ``path`` of any ASGI app.

    With a ``router`` (router mode) the middleware answers the webhook path
    itself and runs the handlers; without one (guard mode) it verifies
    requests to the path and forwards them, body replayed and event
    attached, to ``app``. Everything else (other paths, lifespan, websocket)
    goes straight to ``app`` with its body unread.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        secret: SecretInput | SignatureVerifier,
        router: WebhookRouter | None = None,
        path: str = DEFAULT_PATH,
        algorithm: str = "sha1",
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    ) -> None:
        if not callable(app):
            raise TypeError("app must be an ASGI application")
        if not isinstance(path, str):
            raise ConfigurationError("the webhook path must be a string")
        self.app = app
        self.path = normalize_path(path)
        self.receiver = WebhookReceiver(secret, router, algorithm=algorithm, max_body_size=max_body_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or not path_matches(
            self.path, route_path(scope), guard=not self.receiver.router_mode
        ):
            await self.app(scope, receive, send)
            return
        await _serve(self.receiver, scope, receive, send, self.app)

    def __repr__(self) -> str:
        mode = "router" if self.receiver.router_mode else "guard"
        return f"<{type(self).__name__} {mode} mode at {self.path!r}>"


class ASGIWebhookApp:
    """A standalone webhook endpoint (router mode) answering at any path.

    Mount it where Layer delivers: ``Route("/layer/webhooks", app)`` answers
    exactly there; ``Mount("/layer/webhooks", app)`` works too, but Starlette
    then redirects ``/layer/webhooks`` to ``/layer/webhooks/``.
    """

    def __init__(
        self,
        router: WebhookRouter,
        *,
        secret: SecretInput | SignatureVerifier,
        algorithm: str = "sha1",
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    ) -> None:
        if router is None:
            raise ConfigurationError(
                "ASGIWebhookApp needs a WebhookRouter; to guard your own route use ASGIWebhookMiddleware without one"
            )
        self.receiver = WebhookReceiver(secret, router, algorithm=algorithm, max_body_size=max_body_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "http":
            await _serve(self.receiver, scope, receive, send, None)
        elif kind == "lifespan":
            await _lifespan(receive, send)
        elif kind == "websocket":
            # Closing before accepting makes the server refuse the handshake (403).
            await send({"type": "websocket.close", "code": 1000})
        else:
            raise RuntimeError(f"unsupported ASGI scope type {kind!r}")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


async def _lifespan(receive: Receive, send: Send) -> None:
    """Nothing to set up: acknowledge startup and shutdown (run directly under a server)."""
    while True:
        message = await receive()
        kind = message.get("type")
        if kind == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        else:
            if kind == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
            return
