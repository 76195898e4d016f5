"""Framework apps for figure 3: the same site with a hand-written endpoint or the guard.

Every builder returns a fresh app; each contender gets its own, so no state
is shared between them. A site has a couple of ordinary routes next to the
webhook, as a real one does, so routing is not artificially cheap.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from _apps import PATH, handle, handle_async, router_async, router_sync, valid
from _bodies import SECRET

__all__ = ["django_handlers", "flask_app", "starlette_app"]


# -- Flask ---------------------------------------------------------------------


def flask_app(kind: str) -> Any:
    """``handwritten``, ``extension`` (router mode), ``protect`` (guard mode) or ``middleware``."""
    from flask import Flask, request

    app = Flask(f"bench_{kind}")

    @app.get("/")
    def home() -> str:
        return "home"

    @app.get("/health")
    def health() -> str:
        return "ok"

    if kind == "handwritten":

        @app.post(PATH)
        def layer_webhook() -> tuple[str, int]:
            body = request.get_data()
            if not valid(body, request.headers.get("Layer-Webhook-Signature", "")):
                return "", 401
            try:
                payload = json.loads(body)
            except ValueError:
                return "", 400
            handle(payload)
            return "", 204

    elif kind == "extension":
        from layer_webhook_guard.flask import LayerWebhooks

        LayerWebhooks(app, secret=SECRET, router=router_sync())
    elif kind == "protect":
        from layer_webhook_guard.flask import LayerWebhooks, get_event

        app.config["LAYER_WEBHOOK_PATH"] = None
        webhooks = LayerWebhooks(app, secret=SECRET)

        @app.post(PATH)
        @webhooks.protect
        def protected() -> tuple[str, int]:
            event = get_event()
            if event is None:
                return "", 400
            handle(event.payload)
            return "", 204

    elif kind == "middleware":
        from layer_webhook_guard.wsgi import WSGIWebhookMiddleware

        app.wsgi_app = WSGIWebhookMiddleware(app.wsgi_app, secret=SECRET, router=router_sync())  # type: ignore[method-assign]
    else:
        raise ValueError(kind)
    return app


# -- Starlette -----------------------------------------------------------------


def starlette_app(kind: str) -> Any:
    """``handwritten``, ``route`` (LayerWebhookApp), ``guard`` (middleware, no router) or ``middleware``."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    async def home(request: Request) -> Response:
        return PlainTextResponse("home")

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    routes: list[Any] = [Route("/", home), Route("/health", health)]
    middleware: list[Middleware] = []
    if kind == "handwritten":

        async def layer_webhook(request: Request) -> Response:
            body = await request.body()
            if not valid(body, request.headers.get("layer-webhook-signature", "")):
                return Response(status_code=401)
            try:
                payload = json.loads(body)
            except ValueError:
                return Response(status_code=400)
            await handle_async(payload)
            return Response(status_code=204)

        routes.append(Route(PATH, layer_webhook, methods=["POST"]))
    elif kind == "route":
        from layer_webhook_guard.starlette import LayerWebhookApp

        routes.append(Route(PATH, LayerWebhookApp(router_async(), secret=SECRET)))
    elif kind == "guard":
        from layer_webhook_guard.starlette import LayerWebhookMiddleware, get_event

        async def protected(request: Request) -> Response:
            event = get_event(request)
            if event is None:
                return Response(status_code=400)
            await handle_async(event.payload)
            return Response(status_code=204)

        routes.append(Route(PATH, protected, methods=["POST"]))
        middleware.append(Middleware(LayerWebhookMiddleware, secret=SECRET))
    elif kind == "middleware":
        from layer_webhook_guard.asgi import ASGIWebhookMiddleware

        return ASGIWebhookMiddleware(Starlette(routes=routes), secret=SECRET, router=router_async())
    else:
        raise ValueError(kind)
    return Starlette(routes=routes, middleware=middleware)


# -- Django --------------------------------------------------------------------

DJANGO_STACK = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
HAND_PATH = "/hand/webhooks"
VIEW_PATH = "/view/webhooks"

#: The router named by ``LAYER_WEBHOOK_ROUTER`` (a dotted path to this module).
DJANGO_ROUTER = router_sync()


def _django_views() -> list[Any]:
    from django.http import HttpRequest, HttpResponse
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    from layer_webhook_guard.django import webhook_view

    @csrf_exempt
    def handwritten(request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponse(status=405)
        body = request.body
        if not valid(body, request.headers.get("Layer-Webhook-Signature", "")):
            return HttpResponse(status=401)
        try:
            payload = json.loads(body)
        except ValueError:
            return HttpResponse(status=400)
        handle(payload)
        return HttpResponse(status=204)

    def home(request: HttpRequest) -> HttpResponse:
        return HttpResponse("home")

    return [
        path("", home),
        path("health", home),
        path(HAND_PATH.lstrip("/"), handwritten),
        path(VIEW_PATH.lstrip("/"), webhook_view(DJANGO_ROUTER)),
    ]


class _URLConf:
    """A URLconf module stand-in (Django accepts any object with ``urlpatterns``)."""

    urlpatterns: ClassVar[list[Any]] = []


def django_handlers() -> dict[str, tuple[Callable[..., Any], str]]:
    """WSGI handlers and their paths: ``handwritten``, ``view``, ``middleware``.

    Django is configured once per process; the guard's middleware is listed
    first in one handler's stack and absent from the other's.
    """
    import django
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="benchmark-only-not-secret",
            ALLOWED_HOSTS=["127.0.0.1"],
            ROOT_URLCONF=_URLConf,
            MIDDLEWARE=DJANGO_STACK,
            INSTALLED_APPS=["layer_webhook_guard.django"],
            DATABASES={},
            USE_TZ=True,
            LOGGING_CONFIG=None,
            LAYER_WEBHOOK_SECRET=SECRET,
            LAYER_WEBHOOK_ROUTER="_frameworks.DJANGO_ROUTER",
            LAYER_WEBHOOK_PATH=PATH,
        )
        django.setup()
        _URLConf.urlpatterns = _django_views()
    plain = WSGIHandler()
    with override_settings(MIDDLEWARE=["layer_webhook_guard.django.LayerWebhookMiddleware", *DJANGO_STACK]):
        guarded = WSGIHandler()
    return {"handwritten": (plain, HAND_PATH), "view": (plain, VIEW_PATH), "middleware": (guarded, PATH)}
