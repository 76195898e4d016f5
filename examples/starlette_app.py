"""Receive Layer webhooks in a Starlette app (router mode).

Run it from the repository root::

    export LAYER_WEBHOOK_SECRET='the secret you registered with Layer'
    uvicorn examples.starlette_app:app

Layer's verification GET and its signed POSTs go to ``/layer/webhooks``.
Each verified event runs the handlers registered for its type; the app
answers 204, or 500 (and Layer retries) when a handler fails.

``GET /deliveries`` lists what the handlers saw, newest last: type, ids and
a digest of the signed body, never the payload. It is there to watch the
demo (and for this repository's tests); leave it out of a real app.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import deque

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from layer_webhook_guard import ConfigurationError, WebhookEvent, WebhookRouter
from layer_webhook_guard.starlette import LayerWebhookApp

logger = logging.getLogger(__name__)


def secret_from_environment() -> str:
    secret = os.environ.get("LAYER_WEBHOOK_SECRET", "")
    if not secret.strip():
        raise ConfigurationError(
            "LAYER_WEBHOOK_SECRET is not set: export the secret you registered with Layer before starting the app"
        )
    return secret


def summary(event: WebhookEvent) -> dict[str, object]:
    return {
        "type": event.type,
        "id": event.id,
        "request_id": event.request_id,
        "bytes": len(event.body),
        "sha256": hashlib.sha256(event.body).hexdigest(),
    }


def create_app(secret: str) -> Starlette:
    router = WebhookRouter()
    seen: deque[dict[str, object]] = deque(maxlen=500)

    @router.on("*")
    async def remember(event: WebhookEvent) -> None:
        seen.append(summary(event))

    @router.on("message.sent")
    def on_message_sent(event: WebhookEvent) -> None:
        # A plain function runs in a worker thread: blocking calls are fine here.
        # Layer retries deliveries, so dedupe on event.id before acting on one.
        message = event.payload.get("message") or {}
        logger.info("message %s sent (event %s)", message.get("id"), event.id)

    hook = LayerWebhookApp(router, secret=secret)

    async def deliveries(request: Request) -> JSONResponse:
        return JSONResponse(list(seen))

    return Starlette(
        routes=[
            # Route, not Mount: a Mount would redirect /layer/webhooks to /layer/webhooks/.
            # Both spellings are routed so a URL registered with a trailing slash
            # works too (Starlette would otherwise answer it with a 307 redirect,
            # which Layer counts as a failure).
            Route("/layer/webhooks", hook),
            Route("/layer/webhooks/", hook),
            Route("/deliveries", deliveries),
        ]
    )


app = create_app(secret_from_environment())
