"""Starlette and FastAPI names for the ASGI shell, and ``get_event(request)``.

The work is done by :mod:`layer_webhook_guard.asgi`, which is pure ASGI;
this module only gives it the names a Starlette or FastAPI user looks for
and reads the verified event back from a request.

What it trusts: the event is read from the request's scope, where only the
guard middleware puts it after the signature matched; a client cannot set
scope keys, so a request that did not pass through the guard has no event.
"""

from __future__ import annotations

from collections.abc import Mapping

try:
    from starlette.requests import HTTPConnection
except ImportError as exc:  # pragma: no cover - exercised with starlette blocked
    raise ImportError(
        "layer_webhook_guard.starlette needs Starlette; install it with: pip install 'layer-webhook-guard[starlette]'"
    ) from exc

from .asgi import EVENT_KEY, ASGIWebhookApp, ASGIWebhookMiddleware
from .events import WebhookEvent

__all__ = ["LayerWebhookApp", "LayerWebhookMiddleware", "get_event"]

#: ``app.add_middleware(LayerWebhookMiddleware, secret=..., router=...)``.
LayerWebhookMiddleware = ASGIWebhookMiddleware
#: ``Route("/layer/webhooks", LayerWebhookApp(router, secret=...))``.
LayerWebhookApp = ASGIWebhookApp


def get_event(request: HTTPConnection) -> WebhookEvent | None:
    """The verified event of a request the guard middleware forwarded.

    ``None`` when the request did not pass through the guard (another path,
    a GET) or its verified body is not a Layer event (a form, say). Works as
    a FastAPI dependency: ``event: WebhookEvent | None = Depends(get_event)``.
    """
    scope = request.scope
    state = scope.get("state")
    event = state.get(EVENT_KEY) if isinstance(state, Mapping) else None
    if event is None:
        event = scope.get(EVENT_KEY)
    return event if isinstance(event, WebhookEvent) else None
