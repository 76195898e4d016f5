"""The ASGI pieces inside FastAPI apps (in process), and the FastAPI example."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

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
from fastapi import Depends, FastAPI, Request
from starlette.routing import Route
from support import event_body, layer_headers, reference_sign, samples

from layer_webhook_guard import ConfigurationError, WebhookEvent, WebhookRouter
from layer_webhook_guard.starlette import LayerWebhookApp, LayerWebhookMiddleware, get_event


@pytest.fixture
def recorded() -> tuple[WebhookRouter, Recorder]:
    return recording_router()


@pytest.fixture(params=["mount", "route", "middleware"])
def mounted(request: pytest.FixtureRequest, recorded: tuple[WebhookRouter, Recorder]) -> tuple[FastAPI, str]:
    """A FastAPI app with the webhook in router mode, and the path to call."""
    router, _ = recorded
    app = FastAPI()

    @app.get("/other")
    async def other() -> dict[str, str]:
        return {"other": "yes"}

    if request.param == "mount":
        app.mount(PATH, LayerWebhookApp(router, secret=SECRET, max_body_size=MAX_BODY))
        return app, PATH + "/"
    if request.param == "route":
        app.router.routes.append(Route(PATH, LayerWebhookApp(router, secret=SECRET, max_body_size=MAX_BODY)))
        return app, PATH
    app.add_middleware(LayerWebhookMiddleware, secret=SECRET, router=router, max_body_size=MAX_BODY)
    return app, PATH


@pytest.mark.parametrize("row", ROUTER_ROWS)
def test_router_mode_rows(row: Row, mounted: tuple[FastAPI, str], recorded: tuple[WebhookRouter, Recorder]) -> None:
    app, path = mounted
    scope, channel = router_row_request(row, path)
    run(call(app, scope, channel))
    check_row(row, channel, recorded[1])


def test_other_routes_still_work(mounted: tuple[FastAPI, str]) -> None:
    assert Client(mounted[0]).get("/other").json() == {"other": "yes"}


# -- guard mode with a FastAPI dependency -------------------------------------------------------------


@pytest.fixture
def guarded_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(LayerWebhookMiddleware, secret=SECRET, max_body_size=MAX_BODY)

    @app.post(PATH)
    async def hook(request: Request, event: Annotated[WebhookEvent | None, Depends(get_event)]) -> dict[str, Any]:
        payload = await request.json()
        return {
            "type": event.type if event else None,
            "payload": payload,
            "same": event is not None and event.body == await request.body(),
        }

    return app


def test_dependency_gets_the_event_and_the_body(guarded_app: FastAPI) -> None:
    body = event_body("message.sent")
    channel = run(call(guarded_app, http_scope(headers=signed_headers(body)), Channel(body_messages(body, 4))))
    assert channel.status == 200, channel.body
    assert json.loads(channel.body) == {"type": "message.sent", "payload": json.loads(body), "same": True}


def test_dependency_on_an_unguarded_request_is_none() -> None:
    app = FastAPI()

    @app.post("/open")
    async def hook(event: Annotated[WebhookEvent | None, Depends(get_event)]) -> dict[str, Any]:
        return {"event": event is not None}

    assert Client(app).post("/open", content=b"{}").json() == {"event": False}


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="unsigned"),
        pytest.param({"layer-webhook-signature": "f" * 40}, id="wrong"),
        pytest.param({"layer-webhook-signature": b"\xe9" * 40}, id="latin1-bytes"),
    ],
)
def test_guarded_route_never_runs_on_a_rejection(headers: dict[str, Any], guarded_app: FastAPI) -> None:
    reply = Client(guarded_app).post(PATH, content=event_body(), headers=headers)
    assert reply.status_code == 401
    assert set(reply.json()) == {"error"}


# -- the example ---------------------------------------------------------------------------------------


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> Client:
    module = load_example("fastapi_app", monkeypatch)
    return Client(module.create_app(SECRET))


def test_example_answers_the_challenge(example: Client) -> None:
    reply = example.get(PATH, params={"verification_challenge": "abc"})
    assert (reply.status_code, reply.text) == (200, "abc")
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("sample", samples(compact=False), ids=lambda s: s.name)
def test_example_takes_every_documented_sample(sample: Any, example: Client) -> None:
    headers = layer_headers(sample.body, SECRET, sample.event_type, signature=sample.signature)
    reply = example.post(PATH, content=sample.body, headers=headers)
    assert reply.status_code == 204, reply.text
    [seen] = example.get("/deliveries").json()
    assert seen["request_id"] == headers["layer-webhook-request-id"]
    assert seen["type"] == sample.event_type
    assert seen["sha256"] == hashlib.sha256(sample.body).hexdigest()
    assert seen["keys"] == sorted(json.loads(sample.body))


def test_example_refuses_tampered_and_non_events(example: Client) -> None:
    body = event_body("message.sent")
    tampered = body.replace(b"940de862", b"940de863")
    assert example.post(PATH, content=tampered, headers=layer_headers(body, SECRET, "message.sent")).status_code == 401
    form = b"a=1"
    reply = example.post(PATH, content=form, headers={"layer-webhook-signature": reference_sign(form, SECRET)})
    assert reply.status_code == 400  # verified, but the route wants a Layer event
    assert example.get("/deliveries").json() == []


def test_example_needs_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="LAYER_WEBHOOK_SECRET is not set"):
        load_example("fastapi_app", monkeypatch, secret=None)
