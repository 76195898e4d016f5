"""The middleware under Django's ASGI handler: async views, async handlers,
no sync/async adaptation of the middleware, handlers awaited on the loop."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import iscoroutinefunction
from django.core.handlers.asgi import ASGIHandler
from django.urls import path
from support import event_body, reference_sign

from layer_webhook_guard import WebhookEvent, WebhookRouter
from layer_webhook_guard.django import LayerWebhookMiddleware

from .harness import SECRET, WEBHOOK_PATH, Recorder, aecho, make_urlconf, stack


def _headers(body: bytes, **extra: str) -> list[tuple[bytes, bytes]]:
    pairs = {"content-length": str(len(body)), "layer-webhook-signature": reference_sign(body, SECRET), **extra}
    return [(k.encode(), v.encode()) for k, v in pairs.items()]


def _run(app: ASGIHandler, method: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes, Any]:
    """Call ``app`` on this test's own loop; return status, body and that loop."""
    messages = [
        {"type": "http.request", "body": body[:9], "more_body": True},
        {"type": "http.request", "body": body[9:]},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def go() -> asyncio.AbstractEventLoop:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": WEBHOOK_PATH,
            "raw_path": WEBHOOK_PATH.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), *headers],
            "client": ("127.0.0.1", 5000),
            "server": ("testserver", 80),
        }
        await asyncio.wait_for(app(scope, receive, send), timeout=30)
        return asyncio.get_running_loop()

    loop = asyncio.run(go())
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"), loop


@pytest.fixture
def strict(caplog: pytest.LogCaptureFixture) -> Any:
    """Warnings are errors, and Django's adaptation log is watched (DEBUG on)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with caplog.at_level(logging.DEBUG, logger="django.request"):
            yield caplog
    adapted = [r.getMessage() for r in caplog.get_records("call") if "adapted" in r.getMessage()]
    assert not [m for m in adapted if "LayerWebhookMiddleware" in m], adapted


def test_router_mode_awaits_async_handlers_on_the_servers_loop(
    site: Callable[..., None], strict: Any, recorder: Recorder
) -> None:
    router = WebhookRouter()
    loops: list[asyncio.AbstractEventLoop] = []

    @router.on("message.sent")
    async def on_sent(event: WebhookEvent) -> None:
        loops.append(asyncio.get_running_loop())
        await asyncio.sleep(0)
        recorder.add("async", event)

    site(DEBUG=True, MIDDLEWARE=stack(guard=True), LAYER_WEBHOOK_ROUTER=router, ROOT_URLCONF=make_urlconf([]))
    body = event_body("message.sent")
    status, _reply, loop = _run(ASGIHandler(), "POST", body, _headers(body))
    assert status == 204
    assert recorder.seen == [("async", "message.sent")]
    # dispatch_async on the server's loop, not a private loop of sync dispatch.
    assert loops == [loop]


def test_guard_mode_with_an_async_view(site: Callable[..., None], strict: Any) -> None:
    site(
        DEBUG=True,
        MIDDLEWARE=stack(guard=True),
        ROOT_URLCONF=make_urlconf([path("layer/webhooks", aecho)]),
    )
    body = b"a=1&b=2"
    status, reply, _loop = _run(
        ASGIHandler(), "POST", body, _headers(body, **{"content-type": "application/x-www-form-urlencoded"})
    )
    assert status == 200, reply
    assert b'"post": {"a": ["1"], "b": ["2"]}' in reply
    assert b'"on_loop": true' in reply


def test_failing_async_handler_is_500(site: Callable[..., None], strict: Any) -> None:
    router = WebhookRouter()

    @router.on("message.sent")
    async def broken(event: WebhookEvent) -> None:
        raise ValueError("no")

    site(DEBUG=True, MIDDLEWARE=stack(guard=True), LAYER_WEBHOOK_ROUTER=router, ROOT_URLCONF=make_urlconf([]))
    body = event_body("message.sent")
    status, reply, _loop = _run(ASGIHandler(), "POST", body, _headers(body))
    assert (status, reply) == (500, b'{"error": "handler_failed"}')


def test_middleware_mode_follows_get_response() -> None:
    async def async_view(request: Any) -> Any:
        raise AssertionError

    def sync_view(request: Any) -> Any:
        raise AssertionError

    assert LayerWebhookMiddleware.sync_capable and LayerWebhookMiddleware.async_capable
    assert iscoroutinefunction(LayerWebhookMiddleware(async_view))
    assert not iscoroutinefunction(LayerWebhookMiddleware(sync_view))
