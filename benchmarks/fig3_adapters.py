"""Figure 3: one delivery through each adapter vs a hand-written endpoint, in-process.

Pairs (contender vs baseline, both in the same framework):

* WSGI middleware (router mode) around a Flask site vs Flask's hand-written
  endpoint: target ≤ 0.5x (the middleware answers before Flask routes).
* ASGI middleware (router mode) around a Starlette site vs Starlette's
  hand-written endpoint: target ≤ 0.5x.
* Flask extension, Django middleware, Django view, Starlette route
  (``LayerWebhookApp``): target ≤ 1.10x of the hand-written endpoint.
* Guard mode (Flask ``protect``, the Starlette guard middleware in front of
  the user's endpoint) and the bare WSGI/ASGI middleware vs a bare
  hand-written WSGI/ASGI callable: reported, no target.

ASGI bodies arrive in 1 KiB ``http.request`` chunks.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

from _apps import PATH, asgi_handwritten, asgi_not_found, router_async, router_sync, wsgi_handwritten, wsgi_not_found
from _bodies import SECRET, delivery, headers_for, label
from _calls import asgi_runner, wsgi_runner
from _harness import Preset, Runner, compare
from _result import Row, Target, ratio_row

MIDDLEWARE_TARGET = Target("<=", 0.5)
ADAPTER_TARGET = Target("<=", 1.10)


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _group(
    preset: Preset,
    case: str,
    baseline: tuple[str, Runner],
    contenders: list[tuple[str, Runner, Target | None]],
) -> list[Row]:
    runners = {baseline[0]: baseline[1], **{name: runner for name, runner, _ in contenders}}
    series = compare(runners, rounds=preset.rounds, batch_seconds=preset.batch_seconds)
    return [ratio_row(3, case, series[name], series[baseline[0]], target) for name, _, target in contenders]


def run(preset: Preset, notes: list[str]) -> list[Row]:
    from layer_webhook_guard.asgi import ASGIWebhookMiddleware
    from layer_webhook_guard.wsgi import WSGIWebhookMiddleware

    body = delivery(preset.adapter_body)
    headers = headers_for(body)
    size = label(preset.adapter_body)
    rows: list[Row] = []

    def w(name: str, app: Callable[..., Any], path: str = PATH) -> tuple[str, Runner]:
        return name, wsgi_runner(name, app, body, headers, path)

    def a(name: str, app: Callable[..., Any], path: str = PATH) -> tuple[str, Runner]:
        return name, asgi_runner(name, app, body, headers, path)

    # Plain WSGI / ASGI: the price of the guard's generality over a bare callable.
    rs, ra = router_sync(), router_async()
    rows += _group(
        preset,
        f"WSGI, no framework, {size}",
        w("hand-written WSGI callable", wsgi_handwritten),
        [(*w("WSGIWebhookMiddleware", WSGIWebhookMiddleware(wsgi_not_found, secret=SECRET, router=rs)), None)],
    )
    rows += _group(
        preset,
        f"ASGI, no framework, {size}",
        a("hand-written ASGI callable", asgi_handwritten),
        [(*a("ASGIWebhookMiddleware", ASGIWebhookMiddleware(asgi_not_found, secret=SECRET, router=ra)), None)],
    )

    if _have("flask"):
        from _frameworks import flask_app

        rows += _group(
            preset,
            f"Flask, {size}",
            w("Flask hand-written endpoint", flask_app("handwritten")),
            [
                (*w("WSGIWebhookMiddleware around Flask", flask_app("middleware")), MIDDLEWARE_TARGET),
                (*w("LayerWebhooks extension", flask_app("extension")), ADAPTER_TARGET),
                (*w("LayerWebhooks.protect (guard mode)", flask_app("protect")), None),
            ],
        )
    else:
        notes.append("Flask not installed: Flask rows skipped")

    if _have("starlette"):
        from _frameworks import starlette_app

        rows += _group(
            preset,
            f"Starlette, {size}",
            a("Starlette hand-written endpoint", starlette_app("handwritten")),
            [
                (*a("ASGIWebhookMiddleware around Starlette", starlette_app("middleware")), MIDDLEWARE_TARGET),
                (*a("Route to LayerWebhookApp", starlette_app("route")), ADAPTER_TARGET),
                (*a("LayerWebhookMiddleware guard + endpoint", starlette_app("guard")), None),
            ],
        )
    else:
        notes.append("Starlette not installed: Starlette rows skipped")

    if _have("django"):
        try:
            from layer_webhook_guard.django import LayerWebhookMiddleware, webhook_view  # noqa: F401
        except ImportError as exc:
            notes.append(f"the Django adapter is not importable ({exc}): Django rows skipped")
        else:
            from _frameworks import django_handlers

            handlers = django_handlers()
            hand_app, hand_path = handlers["handwritten"]
            rows += _group(
                preset,
                f"Django (WSGI), {size}",
                w("Django hand-written view", hand_app, hand_path),
                [
                    (*w("LayerWebhookMiddleware", *handlers["middleware"]), ADAPTER_TARGET),
                    (*w("webhook_view", *handlers["view"]), ADAPTER_TARGET),
                ],
            )
    else:
        notes.append("Django not installed: Django rows skipped")

    notes.append(
        "Hand-written endpoints: read the body, HMAC-SHA1, compare_digest, json.loads, call the handler, 204. "
        "Same handler function everywhere (async def under ASGI). Sites carry two ordinary routes besides the webhook."
    )
    return rows
