"""``LayerWebhookMiddleware``: the guard as a Django middleware.

Trust: requests on ``LAYER_WEBHOOK_PATH`` are hostile until the receiver has
verified their signature; every other request passes through untouched, its
body unread. On the webhook path the middleware answers itself in router mode
(``LAYER_WEBHOOK_ROUTER`` set) and acts as a signature firewall in front of
the site's own view in guard mode (no router): a verified request goes on
with its body readable and the event at ``request.layer_webhook_event``; one
that fails verification never reaches the view.

Ordering: list it near the top of ``MIDDLEWARE``, above anything that reads
the request body; it must see the stream untouched (see :mod:`._request`).
Its position relative to ``CsrfViewMiddleware`` does not matter: CSRF runs in
``process_view``, after every middleware's request phase.

The middleware is both sync and async capable, like Django's own
``MiddlewareMixin``: under ASGI it never forces Django to switch modes, and
async handlers are awaited on the event loop and sync handlers run through
``sync_to_async(thread_sensitive=True)``, the thread where Django manages
their database connections.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponseBase

from ..receiver import Action, path_matches
from . import conf
from ._request import forward, read_decision, to_response

__all__ = ["LayerWebhookMiddleware"]


def _run_sync(func: Callable[..., Any], *args: Any) -> Awaitable[Any]:
    return sync_to_async(func, thread_sensitive=True)(*args)


_WHERE = "LayerWebhookMiddleware"

GetResponse = Callable[[HttpRequest], Any]


class LayerWebhookMiddleware:
    """Verify, answer and route Layer webhooks on ``LAYER_WEBHOOK_PATH``.

    Raises ``ImproperlyConfigured`` when built with a missing or invalid
    setting, so a misconfigured site fails at startup, not per request.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        if get_response is None:
            raise ValueError("get_response must be provided")
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            # As MiddlewareMixin does: mark the instance so Django awaits it,
            # and switch to __acall__ inside __call__.
            markcoroutinefunction(self)
        self._settled = conf.settle()

    def _current(self) -> conf.Settled:
        settled = self._settled
        if settled.generation != conf.generation():
            # A watched setting was overridden (override_settings); rebuild.
            settled = self._settled = conf.settle()
        return settled

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.async_mode:
            return self.__acall__(request)
        settled = self._current()
        if not path_matches(settled.path, request.path_info, guard=not settled.receiver.router_mode):
            response: HttpResponseBase = self.get_response(request)
            return response
        receiver = settled.receiver
        decision = read_decision(receiver, request, _WHERE)
        if decision.action is Action.DISPATCH:
            decision = receiver.dispatch(decision)
        elif decision.action is Action.FORWARD:
            forward(request, decision)
            response = self.get_response(request)
            return response
        return to_response(decision, request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        settled = self._current()
        if not path_matches(settled.path, request.path_info, guard=not settled.receiver.router_mode):
            response: HttpResponseBase = await self.get_response(request)
            return response
        receiver = settled.receiver
        # Reading here is synchronous: under ASGI Django has already buffered
        # the body in a file (memory, or disk past FILE_UPLOAD_MAX_MEMORY_SIZE),
        # exactly as request.body does in an async view.
        decision = read_decision(receiver, request, _WHERE)
        if decision.action is Action.DISPATCH:
            decision = await receiver.dispatch_async(decision, run_sync=_run_sync)
        elif decision.action is Action.FORWARD:
            forward(request, decision)
            response = await self.get_response(request)
            return response
        return to_response(decision, request)

    def __repr__(self) -> str:
        mode = "async" if self.async_mode else "sync"
        return f"<LayerWebhookMiddleware {mode}, path={self._settled.path!r}>"
