"""Helpers for the Django tests: settings, URLconfs, views, clients, raw calls.

Nothing here holds state that tests mutate: routers and recorders are built
per test (conftest fixtures), URLconfs are fresh modules built per test.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import django
from django.contrib.auth import decorators as auth_decorators
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import AsyncClient, Client
from django.views.decorators.csrf import csrf_exempt
from support import SAMPLE_SECRET, reference_sign

from layer_webhook_guard import PermanentError, WebhookEvent, WebhookRouter

SECRET = SAMPLE_SECRET  # so Layer's documented samples verify with their openssl signatures
LAYER_CT = "application/vnd.layer.webhooks+json; version=1.0"
WEBHOOK_PATH = "/layer/webhooks"

GUARD = "layer_webhook_guard.django.LayerWebhookMiddleware"
SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
COMMON = "django.middleware.common.CommonMiddleware"
CSRF = "django.middleware.csrf.CsrfViewMiddleware"
AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
# Django 5.1+; imported by name only (importing it now would load models).
LOGIN_REQUIRED = ["django.contrib.auth.middleware.LoginRequiredMiddleware"] if django.VERSION >= (5, 1) else []

BASE_SETTINGS: dict[str, Any] = {
    "DEBUG": False,
    "SECRET_KEY": "django-tests-only-not-secret-0123456789abcdefghijklmnop",
    "ALLOWED_HOSTS": ["testserver", "127.0.0.1", "localhost"],
    "INSTALLED_APPS": ["django.contrib.contenttypes", "django.contrib.auth", "layer_webhook_guard.django"],
    "MIDDLEWARE": [],
    "ROOT_URLCONF": "django_adapter.harness",
    "SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies",
    "USE_TZ": True,
    "LAYER_WEBHOOK_SECRET": SECRET,
}

urlpatterns: list[Any] = []  # the default URLconf: nothing routed


def stack(*, guard: bool, before: Sequence[str] = ()) -> list[str]:
    """A realistic MIDDLEWARE list: CSRF on, login required (Django 5.1+)."""
    return [SESSION, *before, *([GUARD] if guard else []), COMMON, CSRF, AUTH, *LOGIN_REQUIRED]


_urlconf_ids = iter(range(1_000_000))


def make_urlconf(patterns: Iterable[Any]) -> types.ModuleType:
    """A fresh URLconf module (Django accepts a module object as ROOT_URLCONF)."""
    module = types.ModuleType(f"django_adapter_urls_{next(_urlconf_ids)}")
    module.urlpatterns = list(patterns)  # type: ignore[attr-defined]
    return module


# -- recording handlers ---------------------------------------------------------


@dataclass
class Recorder:
    """What the handlers saw: (handler tag, event), and the loop they ran on."""

    calls: list[tuple[str, WebhookEvent]] = field(default_factory=list)
    loops: list[asyncio.AbstractEventLoop | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, tag: str, event: WebhookEvent) -> None:
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        with self.lock:
            self.calls.append((tag, event))
            self.loops.append(loop)

    @property
    def seen(self) -> list[tuple[str, str]]:
        return [(tag, event.type) for tag, event in self.calls]


def build_router(recorder: Recorder) -> WebhookRouter:
    router = WebhookRouter()

    @router.on("message.*", "conversation.*")
    def record(event: WebhookEvent) -> None:
        recorder.add("record", event)

    @router.on("test.async")
    async def arecord(event: WebhookEvent) -> None:
        await asyncio.sleep(0)
        recorder.add("arecord", event)

    @router.on("test.fails")
    def fail(event: WebhookEvent) -> None:
        recorder.add("fail", event)
        raise RuntimeError("handler broke")

    @router.on("test.permanent")
    def permanent(event: WebhookEvent) -> None:
        recorder.add("permanent", event)
        raise PermanentError("can never succeed")

    return router


# -- views ------------------------------------------------------------------------

_login_not_required = getattr(auth_decorators, "login_not_required", lambda view: view)


def _describe(request: HttpRequest, untouched: bool) -> dict[str, Any]:
    first = request.GET.get("first", "body")
    if first == "post":
        post = {k: request.POST.getlist(k) for k in request.POST}
        body = request.body
    elif first == "read":
        body = request.read()
        post = {}
    else:
        body = request.body
        post = {k: request.POST.getlist(k) for k in request.POST}
    event = getattr(request, "layer_webhook_event", "absent")
    return {
        "view": "echo",
        "method": request.method,
        "untouched": untouched,
        "body": body.decode("latin-1"),
        "post": post,
        "files": {k: request.FILES[k].read().decode("latin-1") for k in request.FILES},
        "event": event if event == "absent" else (None if event is None else event.type),
        "event_body_matches": isinstance(event, WebhookEvent) and event.body == body,
    }


@_login_not_required
def echo(request: HttpRequest) -> JsonResponse:
    """Reports what a view behind the guard sees (CSRF *not* exempted)."""
    untouched = not getattr(request, "_read_started", False)
    return JsonResponse(_describe(request, untouched))


@_login_not_required
async def aecho(request: HttpRequest) -> JsonResponse:
    untouched = not getattr(request, "_read_started", False)
    data = _describe(request, untouched)
    data["on_loop"] = True
    asyncio.get_running_loop()  # raises if this ran outside the event loop
    return JsonResponse(data)


@_login_not_required
def csrf_protected(request: HttpRequest) -> HttpResponse:
    """A control: POSTs to it without a token get 403 from CsrfViewMiddleware."""
    return HttpResponse(b"ok")


@csrf_exempt
def login_protected(request: HttpRequest) -> HttpResponse:
    """A control: LoginRequiredMiddleware redirects anonymous requests."""
    return HttpResponse(b"ok")


# -- middleware that consume the body before the guard ---------------------------


class _Reader:
    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def consume(self, request: HttpRequest) -> None:
        raise NotImplementedError

    def __call__(self, request: HttpRequest) -> Any:
        self.consume(request)
        return self.get_response(request)


class ReadsBody(_Reader):
    def consume(self, request: HttpRequest) -> None:
        request.body  # noqa: B018 - the read is the point


class ReadsPost(_Reader):
    def consume(self, request: HttpRequest) -> None:
        request.POST  # noqa: B018


class ReadsOneByte(_Reader):
    def consume(self, request: HttpRequest) -> None:
        request.read(1)


# -- sending requests ---------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def signed_headers(body: bytes, event_type: str | None = "message.sent", **extra: str) -> dict[str, str]:
    headers = {"layer-webhook-signature": reference_sign(body, SECRET)}
    if event_type is not None:
        headers["layer-webhook-event-type"] = event_type
    headers.update(extra)
    return headers


def _reply(response: Any) -> Reply:
    return Reply(response.status_code, {k.lower(): v for k, v in response.items()}, response.content)


def send(
    method: str,
    path: str,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    *,
    content_type: str = LAYER_CT,
    client: Client | None = None,
) -> Reply:
    """Through Django's test client (WSGIRequest), CSRF checks enforced."""
    client = client or Client(enforce_csrf_checks=True)
    response = client.generic(method, path, body, content_type, headers=dict(headers or {}))
    return _reply(response)


def send_async(
    method: str,
    path: str,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    *,
    content_type: str = LAYER_CT,
) -> Reply:
    """Through Django's async test client (ASGIRequest, async middleware chain)."""

    async def go() -> Reply:
        client = AsyncClient(enforce_csrf_checks=True)
        response = await client.generic(method, path, body, content_type, headers=dict(headers or {}))
        return _reply(response)

    return asyncio.run(asyncio.wait_for(go(), timeout=30))


# -- raw WSGI / ASGI calls into Django's own handlers --------------------------------


def wsgi_environ(
    method: str, path: str, body_stream: Any, headers: Mapping[str, str], query: str = ""
) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": body_stream,
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_LENGTH", "CONTENT_TYPE") else "HTTP_" + key] = value
    return environ


def wsgi_call(app: Any, environ: dict[str, Any]) -> Reply:
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started["status"] = int(status.split()[0])
        started["headers"] = {k.lower(): v for k, v in headers}
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return Reply(started["status"], started["headers"], body)


def asgi_call(
    app: Any,
    method: str,
    path: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
    chunks: Sequence[bytes] = (b"",),
    query: bytes = b"",
) -> Reply:
    """Drive an ASGI app with a hand-written receive (one message per chunk)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1} for i, chunk in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def go() -> None:
        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await asyncio.Event().wait()  # no disconnect: block until cancelled
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)

    asyncio.run(asyncio.wait_for(go(), timeout=30))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Reply(start["status"], {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start["headers"]}, body)
