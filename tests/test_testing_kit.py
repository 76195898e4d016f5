"""layer_webhook_guard.testing: deliveries users build in their own tests."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable

import pytest
from support import reference_sign

from layer_webhook_guard import SignatureVerifier, WebhookEvent, WebhookReceiver, WebhookRouter
from layer_webhook_guard.testing import Delivery, build_delivery, load_sample, sample_names, signed_headers

SECRET = "kit-secret-5d1e"
LAYER_HEADERS = {
    "content-type",
    "user-agent",
    "layer-webhook-signature",
    "layer-webhook-event-type",
    "layer-webhook-request-id",
    "layer-webhook-id",
}


@pytest.mark.parametrize("shape", ["1.0", "pre-1.0"])
def test_delivery_is_compact_signed_and_complete(shape: str) -> None:
    d = build_delivery("conversation.created", secret=SECRET, shape=shape, config={"k": "v"})  # type: ignore[arg-type]
    assert {k.lower() for k in d.headers} == LAYER_HEADERS
    assert d.signature == reference_sign(d.body, SECRET)
    assert SignatureVerifier(SECRET).verify(d.body, d.signature)
    assert d.body == json.dumps(json.loads(d.body), separators=(",", ":"), ensure_ascii=False).encode()
    event = WebhookEvent.from_body(d.body, d.headers)
    assert event.type == "conversation.created" and event.config == {"k": "v"} and event.id
    assert event.request_id == d.headers["layer-webhook-request-id"]
    assert d.headers["Content-Type"] == "application/vnd.layer.webhooks+json; version=1.0"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_delivery_verifies_with_openssl() -> None:
    d = build_delivery("message.sent", secret=SECRET, payload={"event_type": "message.sent", "text": "héllo ✓"})
    result = subprocess.run(
        ["openssl", "dgst", "-sha1", "-hmac", SECRET], input=d.body, capture_output=True, timeout=30, check=True
    )
    assert result.stdout.decode().strip().split()[-1] == d.signature


def test_tampered_and_header_changes() -> None:
    d = build_delivery(secret=SECRET)
    verifier = SignatureVerifier(SECRET)
    assert not verifier.verify(d.tampered().body, d.tampered().signature)
    assert d.tampered().headers == d.headers
    stripped = d.with_headers(layer_webhook_signature=None, x_extra="1")
    assert "layer-webhook-signature" not in {k.lower() for k in stripped.headers}
    assert stripped.headers["x-extra"] == "1"


def test_signed_headers_exact_bytes() -> None:
    body = b'{"event_type":"message.sent"}\n'
    assert signed_headers(body, SECRET, "message.sent")["layer-webhook-signature"] == reference_sign(body, SECRET)


def test_shipped_samples() -> None:
    names = sample_names()
    assert len(names) == 15 and "v1.0.message.sent" in names
    assert WebhookEvent.from_body(load_sample("pre-1.0.message.read")).type == "message.read"
    with pytest.raises(KeyError):
        load_sample("../../etc/passwd")


def test_delivery_through_receiver() -> None:
    router = WebhookRouter()
    seen: list[WebhookEvent] = []
    router.on("*")(seen.append)
    d = build_delivery("message.read", secret=SECRET)
    assert WebhookReceiver(SECRET, router).handle("POST", "", d.headers, d.body).status == 204
    assert WebhookReceiver(SECRET, router).handle("POST", "", d.tampered().headers, d.tampered().body).status == 401
    assert [e.type for e in seen] == ["message.read"]


def test_pytest_fixture_factory(layer_delivery: Callable[..., Delivery], layer_webhook_secret: str) -> None:
    d = layer_delivery("message.deleted")
    assert SignatureVerifier(layer_webhook_secret).verify(d.body, d.signature)
    assert d.event_type == "message.deleted"
    other = layer_delivery("message.sent", secret="override")
    assert other.signature == reference_sign(other.body, "override")


def test_flask_test_client_helper() -> None:
    flask = pytest.importorskip("flask")
    from layer_webhook_guard.flask import LayerWebhooks

    app = flask.Flask(__name__)
    app.config["LAYER_WEBHOOK_SECRET"] = SECRET
    webhooks = LayerWebhooks(app)
    seen: list[str] = []
    webhooks.on("message.sent")(lambda e: seen.append(e.request_id))
    client = app.test_client()
    d = build_delivery("message.sent", secret=SECRET)
    assert client.post("/layer/webhooks", **d.flask()).status_code == 204
    assert client.post("/layer/webhooks", **d.tampered().flask()).status_code == 401
    assert client.post("/layer/webhooks", **d.with_headers(layer_webhook_signature=None).flask()).status_code == 401
    assert seen == [d.headers["layer-webhook-request-id"]]


def test_httpx_helper_with_an_asgi_app() -> None:
    httpx = pytest.importorskip("httpx")
    import asyncio

    from layer_webhook_guard.asgi import ASGIWebhookApp

    router = WebhookRouter()
    seen: list[str] = []
    router.on("*")(lambda e: seen.append(e.type))
    app = ASGIWebhookApp(router, secret=SECRET)
    d = build_delivery("conversation.deleted", secret=SECRET)

    async def post_both() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return [(await client.post("/", **x.httpx())).status_code for x in (d, d.tampered())]

    assert asyncio.run(asyncio.wait_for(post_both(), timeout=30)) == [204, 401]
    assert seen == ["conversation.deleted"]


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"event": {"type": "conversation.created", "id": "1"}}, id="nested"),
        pytest.param({"event_type": "conversation.created", "event_id": "1"}, id="flat"),
    ],
)
def test_payload_delivery_takes_its_type_from_the_payload(payload: dict[str, object]) -> None:
    d = build_delivery(secret=SECRET, payload=payload)
    assert d.headers["layer-webhook-event-type"] == "conversation.created" == d.event_type
    router = WebhookRouter()
    assert WebhookReceiver(SECRET, router).handle("POST", "", d.headers, d.body).status == 204
