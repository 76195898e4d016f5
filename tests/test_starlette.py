"""layer_webhook_guard.starlette inside real Starlette apps (in process)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_support import (
    MAX_BODY,
    PATH,
    ROUTER_ROWS,
    SECRET,
    Channel,
    Client,
    Recorder,
    Row,
    asgi_headers,
    body_messages,
    call,
    check_row,
    http_scope,
    load_example,
    recording_router,
    router_row_request,
    run,
    signed_headers,
)
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from support import event_body, layer_headers, reference_sign, samples

from layer_webhook_guard import ConfigurationError, WebhookEvent, WebhookRouter
from layer_webhook_guard.asgi import ASGIWebhookApp, ASGIWebhookMiddleware
from layer_webhook_guard.starlette import LayerWebhookApp, LayerWebhookMiddleware, get_event

HAS_MULTIPART = importlib.util.find_spec("python_multipart") is not None


async def other(request: Request) -> Response:
    return PlainTextResponse("other")


def test_starlette_names_are_the_asgi_pieces() -> None:
    assert LayerWebhookMiddleware is ASGIWebhookMiddleware
    assert LayerWebhookApp is ASGIWebhookApp


# -- router mode: every row through each way of mounting ------------------------------------------


@pytest.fixture
def recorded() -> tuple[WebhookRouter, Recorder]:
    return recording_router()


@pytest.fixture(params=["route", "mount", "middleware"])
def mounted(request: pytest.FixtureRequest, recorded: tuple[WebhookRouter, Recorder]) -> tuple[Starlette, str]:
    """A Starlette app with the webhook in router mode, and the path to call."""
    router, _ = recorded
    if request.param == "route":
        endpoint = LayerWebhookApp(router, secret=SECRET, max_body_size=MAX_BODY)
        return Starlette(routes=[Route(PATH, endpoint), Route("/other", other)]), PATH
    if request.param == "mount":
        endpoint = LayerWebhookApp(router, secret=SECRET, max_body_size=MAX_BODY)
        return Starlette(routes=[Mount(PATH, app=endpoint), Route("/other", other)]), PATH + "/"
    guard = Middleware(LayerWebhookMiddleware, secret=SECRET, router=router, max_body_size=MAX_BODY)
    return Starlette(routes=[Route("/other", other)], middleware=[guard]), PATH


@pytest.mark.parametrize("row", ROUTER_ROWS)
def test_router_mode_rows(row: Row, mounted: tuple[Starlette, str], recorded: tuple[WebhookRouter, Recorder]) -> None:
    app, path = mounted
    scope, channel = router_row_request(row, path)
    run(call(app, scope, channel))
    check_row(row, channel, recorded[1])


def test_mount_redirects_the_path_without_slash(recorded: tuple[WebhookRouter, Recorder]) -> None:
    """Why the docs say Route: a Mount answers /layer/webhooks with a redirect."""
    app = Starlette(routes=[Mount(PATH, app=LayerWebhookApp(recorded[0], secret=SECRET))])
    channel = run(call(app, http_scope("GET", PATH, query=b"verification_challenge=x"), Channel()))
    assert channel.status in (307, 308)
    assert channel.headers["location"].endswith(PATH + "/?verification_challenge=x")


def test_other_routes_still_work_beside_the_middleware(mounted: tuple[Starlette, str]) -> None:
    app, _ = mounted
    channel = run(call(app, http_scope("GET", "/other"), Channel()))
    assert (channel.status, channel.body) == (200, b"other")


# -- guard mode: the user's own route ---------------------------------------------------------------


async def guarded(request: Request) -> Response:
    """Reads the body the way ?read= says, and reports what it got."""
    how = request.query_params.get("read", "nothing")
    got: Any = None
    if how == "json":
        got = await request.json()
    elif how == "body":
        got = hashlib.sha256(await request.body()).hexdigest()
    elif how == "stream":
        got = hashlib.sha256(b"".join([chunk async for chunk in request.stream()])).hexdigest()
    elif how == "form":
        got = dict(await request.form())
    event = get_event(request)
    return JSONResponse(
        {
            "read": got,
            "event": event.type if event is not None else None,
            "event_sha256": hashlib.sha256(event.body).hexdigest() if event is not None else None,
            "state": getattr(request.state, "db", None),
        }
    )


@pytest.fixture
def guarded_app() -> Starlette:
    return Starlette(
        routes=[Route(PATH, guarded, methods=["GET", "POST", "PUT"]), Route("/open", guarded, methods=["POST"])],
        middleware=[Middleware(LayerWebhookMiddleware, secret=SECRET, max_body_size=MAX_BODY)],
    )


def _post(app: Starlette, path: str, body: bytes, headers: dict[str, str], content: Any = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.post(path, content=content if content is not None else body, headers=headers)

    return run(go())


_SENT = event_body("message.sent")
_SENT_SHA = hashlib.sha256(_SENT).hexdigest()


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        pytest.param("json", json.loads(_SENT), id="request-json"),
        pytest.param("body", _SENT_SHA, id="request-body"),
        pytest.param("stream", _SENT_SHA, id="request-stream"),
        pytest.param("nothing", None, id="route-never-reads-body"),
    ],
)
@pytest.mark.parametrize("split", [False, True], ids=["one-message", "chunked"])
def test_guarded_route_reads_the_verified_body(how: str, expected: Any, split: bool, guarded_app: Starlette) -> None:
    headers = layer_headers(_SENT, SECRET, "message.sent")

    async def pieces() -> AsyncIterator[bytes]:
        for i in range(0, len(_SENT), 50):
            yield _SENT[i : i + 50]

    if split:  # no Content-Length: several http.request messages, chunked framing
        reply = _post(guarded_app, f"{PATH}?read={how}", _SENT, headers, content=pieces())
    else:
        reply = _post(guarded_app, f"{PATH}?read={how}", _SENT, headers)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"read": expected, "event": "message.sent", "event_sha256": _SENT_SHA, "state": None}


@pytest.mark.skipif(not HAS_MULTIPART, reason="Starlette's request.form() needs python-multipart")
def test_guarded_route_reads_a_signed_form(guarded_app: Starlette) -> None:
    body = b"name=layer&count=2"
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "layer-webhook-signature": reference_sign(body, SECRET),
    }
    reply = _post(guarded_app, f"{PATH}?read=form", body, headers)
    assert reply.status_code == 200, reply.text
    assert reply.json()["read"] == {"name": "layer", "count": "2"}
    assert reply.json()["event"] is None  # verified, but not a Layer event


@pytest.mark.parametrize("how", ["json", "body", "form", "nothing"])
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="unsigned"),
        pytest.param({"layer-webhook-signature": "0" * 40}, id="wrong"),
        pytest.param(
            {"layer-webhook-signature": reference_sign(_SENT, SECRET), "layer-webhook-event-type": "x"}, id="type"
        ),
    ],
)
def test_guarded_route_never_runs_on_a_rejection(how: str, headers: dict[str, str], guarded_app: Starlette) -> None:
    reply = _post(guarded_app, f"{PATH}?read={how}", _SENT, headers)
    assert reply.status_code in (400, 401)
    assert set(reply.json()) == {"error"}  # the guard's answer, not the route's


def test_guarded_route_multi_message_channel(guarded_app: Starlette) -> None:
    """The hand-written channel: several messages in, disconnect after."""
    scope = http_scope("POST", PATH, query=b"read=json", headers=signed_headers(_SENT))
    channel = run(call(guarded_app, scope, Channel(body_messages(_SENT, 8))))
    assert channel.status == 200
    assert json.loads(channel.body)["read"] == json.loads(_SENT)
    assert channel.receive_calls == 8


def test_event_and_server_state_both_reach_the_route(guarded_app: Starlette) -> None:
    # A server copies the lifespan state into each request's scope["state"].
    state = {"db": "pool"}
    scope = http_scope("POST", PATH, query=b"read=json", headers=signed_headers(_SENT), state=state)
    channel = run(call(guarded_app, scope, Channel(body_messages(_SENT))))
    assert channel.status == 200
    assert json.loads(channel.body)["state"] == "pool"
    assert json.loads(channel.body)["event"] == "message.sent"
    assert state == {"db": "pool"}  # the server's dict is left alone

    client = Client(guarded_app)
    # Another path: untouched, no event; a GET on the webhook path passes through without one.
    assert client.post("/open?read=json", content=b'{"a": 1}').json()["event"] is None
    assert client.get(f"{PATH}?read=nothing").json() == {
        "read": None,
        "event": None,
        "event_sha256": None,
        "state": None,
    }
    assert client.get(PATH, params={"verification_challenge": "ch"}).text == "ch"


def test_get_event_reads_state_then_scope() -> None:
    event = WebhookEvent.from_body(_SENT)
    assert get_event(Request(http_scope())) is None
    assert get_event(Request({**http_scope(), "layer_webhook_guard.event": event})) is event
    assert get_event(Request({**http_scope(), "state": {"layer_webhook_guard.event": event}})) is event
    assert get_event(Request({**http_scope(), "layer_webhook_guard.event": "not an event"})) is None


# -- headers Starlette decodes as latin-1 --------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(b"\xe9" * 40, id="latin1-letters"),
        pytest.param(reference_sign(_SENT, SECRET)[:-1].encode() + b"\xff", id="digest-with-high-byte"),
        pytest.param("\u0664".encode() * 20, id="utf8-arabic-digits"),
        pytest.param(b"sha1=\x80" + reference_sign(_SENT, SECRET).encode(), id="prefix-with-high-byte"),
    ],
)
@pytest.mark.parametrize("mode", ["router", "guard"])
def test_non_ascii_signature_is_401_not_500(
    value: bytes, mode: str, recorded: tuple[WebhookRouter, Recorder], guarded_app: Starlette
) -> None:
    if mode == "router":
        app = Starlette(routes=[Route(PATH, LayerWebhookApp(recorded[0], secret=SECRET))])
    else:
        app = guarded_app
    headers = [*asgi_headers({"layer-webhook-event-type": "message.sent"}, _SENT), (b"layer-webhook-signature", value)]
    channel = run(call(app, http_scope(headers=headers, query=b"read=json"), Channel(body_messages(_SENT))))
    assert channel.status == 401
    assert json.loads(channel.body) == {"error": "invalid_signature"}
    assert recorded[1].calls == []


# -- the example --------------------------------------------------------------------------------------


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> Client:
    module = load_example("starlette_app", monkeypatch)
    return Client(module.create_app(SECRET))


def test_example_answers_the_challenge(example: Client) -> None:
    reply = example.get(PATH, params={"verification_challenge": "c h+x"})
    assert (reply.status_code, reply.text) == (200, "c h+x")


@pytest.mark.parametrize("sample", samples(compact=False), ids=lambda s: s.name)
def test_example_takes_every_documented_sample(sample: Any, example: Client) -> None:
    headers = layer_headers(sample.body, SECRET, sample.event_type, signature=sample.signature)
    reply = example.post(PATH, content=sample.body, headers=headers)
    assert reply.status_code == 204
    [seen] = example.get("/deliveries").json()
    assert seen["request_id"] == headers["layer-webhook-request-id"]
    assert seen["type"] == sample.event_type
    assert seen["sha256"] == hashlib.sha256(sample.body).hexdigest()


def test_example_refuses_a_tampered_delivery(example: Client) -> None:
    body = _SENT.replace(b"940de862", b"940de863")
    reply = example.post(PATH, content=body, headers=layer_headers(_SENT, SECRET, "message.sent"))
    assert reply.status_code == 401
    assert example.get("/deliveries").json() == []


def test_example_needs_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="LAYER_WEBHOOK_SECRET is not set"):
        load_example("starlette_app", monkeypatch, secret=None)
    with pytest.raises(ConfigurationError, match="LAYER_WEBHOOK_SECRET is not set"):
        load_example("starlette_app", monkeypatch, secret="  ")
