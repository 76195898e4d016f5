"""Guard your own FastAPI route with Layer's signature (guard mode).

Run it from the repository root::

    export LAYER_WEBHOOK_SECRET='the secret you registered with Layer'
    uvicorn examples.fastapi_app:app

The middleware answers Layer's verification GET on ``/layer/webhooks`` and
lets a POST through only when its signature matches; the route then reads
the same bytes as usual (``await request.json()``) and gets the verified
event from ``get_event``. Anything unsigned or tampered with is answered
401 before the route runs.

For router mode (handlers registered on a ``WebhookRouter``, no route of
your own) add ``Route("/layer/webhooks", LayerWebhookApp(router, secret=...))``
to ``app.router.routes`` instead; see ``examples/starlette_app.py``.

``GET /deliveries`` lists what the route saw, newest last: type, ids and a
digest of the signed body, never the payload. It is there to watch the
demo (and for this repository's tests); leave it out of a real app.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request

from layer_webhook_guard import ConfigurationError, WebhookEvent
from layer_webhook_guard.starlette import LayerWebhookMiddleware, get_event


def secret_from_environment() -> str:
    secret = os.environ.get("LAYER_WEBHOOK_SECRET", "")
    if not secret.strip():
        raise ConfigurationError(
            "LAYER_WEBHOOK_SECRET is not set: export the secret you registered with Layer before starting the app"
        )
    return secret


def create_app(secret: str) -> FastAPI:
    app = FastAPI()
    # No router: guard mode. Only /layer/webhooks is guarded; other paths pass through.
    app.add_middleware(LayerWebhookMiddleware, secret=secret, path="/layer/webhooks")
    seen: deque[dict[str, object]] = deque(maxlen=500)

    @app.post("/layer/webhooks", status_code=204)
    @app.post("/layer/webhooks/", status_code=204, include_in_schema=False)  # no 307 redirect for a trailing slash
    async def layer_webhook(request: Request, event: Annotated[WebhookEvent | None, Depends(get_event)]) -> None:
        if event is None:  # signed, but not a Layer event
            raise HTTPException(status_code=400, detail="not a Layer event")
        payload: dict[str, Any] = await request.json()  # the verified bytes, replayed
        seen.append(
            {
                "type": event.type,
                "id": event.id,
                "request_id": event.request_id,
                "bytes": len(event.body),
                "sha256": hashlib.sha256(event.body).hexdigest(),
                "keys": sorted(payload),
            }
        )

    @app.get("/deliveries")
    async def deliveries() -> list[dict[str, object]]:
        return list(seen)

    return app


app = create_app(secret_from_environment())
