"""``webhook_view``: the guard as a view, for ``urls.py``.

Trust: the view is reached by anyone who can reach the URL, so it is the
whole guard in one function: the receiver verifies the signature before any
handler runs. It is exempt from CSRF and from login requirements by
construction, because a webhook sender has neither a CSRF token nor a
session; the HMAC is its credential, and an unsigned request is refused 401.

The view is a plain synchronous view so Django runs it in its usual thread
under both WSGI and ASGI (where sync code such as the ORM belongs); async
handlers are still awaited, on a short-lived loop of the router's. For an
async stack with async handlers, use the middleware, which dispatches on the
server's event loop.

Settings are resolved on the first request, not when ``urls.py`` is
imported, so ``manage.py check`` can report a missing secret as
``layer_webhook_guard.E001`` instead of failing to import the URLconf.
Explicit arguments are validated at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import decorators as _auth_decorators
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from ..receiver import Action
from ..routing import WebhookRouter
from ..signing import SecretInput
from . import conf
from ._request import read_decision, to_response

__all__ = ["webhook_view"]

_WHERE = "webhook_view"


class _Settled:
    """The receiver for one view, built on first use, rebuilt on setting changes."""

    __slots__ = ("_secret", "_router", "_settled")

    def __init__(self, secret: object, router: object) -> None:
        self._secret = secret
        self._router = router
        self._settled: conf.Settled | None = None

    def current(self) -> conf.Settled:
        settled = self._settled
        if settled is None or settled.generation != conf.generation():
            settled = self._settled = conf.settle(secret=self._secret, router=self._router, require_router=True)
        return settled


def webhook_view(
    router: WebhookRouter | str | None = None, *, secret: SecretInput | None = None
) -> Callable[..., HttpResponse]:
    """A view that verifies and routes Layer webhooks (router mode).

    ``router`` is a :class:`WebhookRouter` or its dotted path (default:
    ``LAYER_WEBHOOK_ROUTER``); ``secret`` defaults to ``LAYER_WEBHOOK_SECRET``.
    ``LAYER_WEBHOOK_MAX_BODY_SIZE`` and ``LAYER_WEBHOOK_ALGORITHM`` apply;
    ``LAYER_WEBHOOK_PATH`` does not (the URLconf decides the path).
    """
    if secret is not None:
        conf.resolve_secret(secret)  # fail at import of urls.py, not per request
    if router is not None and not isinstance(router, str):
        conf.resolve_router(router)
    holder = _Settled(secret, router)

    def layer_webhook(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        receiver = holder.current().receiver
        decision = read_decision(receiver, request, _WHERE)
        if decision.action is Action.DISPATCH:
            decision = receiver.dispatch(decision)
        return to_response(decision, request)

    view: Callable[..., HttpResponse] = csrf_exempt(layer_webhook)
    # Django 5.1+ has LoginRequiredMiddleware; older versions have neither.
    login_not_required = getattr(_auth_decorators, "login_not_required", None)
    if login_not_required is not None:
        view = login_not_required(view)
    return view
