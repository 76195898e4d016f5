"""Framing and size rows that need hand-built requests, through Django's own
WSGI and ASGI handlers (``WSGIHandler`` with built environs, ``ASGIHandler``
with a hand-written ``receive`` that yields several body messages)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from support import event_body, reference_sign

from layer_webhook_guard import WebhookRouter

from .harness import (
    LAYER_CT,
    SECRET,
    WEBHOOK_PATH,
    Recorder,
    asgi_call,
    echo,
    make_urlconf,
    send,
    signed_headers,
    stack,
    wsgi_call,
    wsgi_environ,
)

BODY = event_body("message.sent")
SIG = reference_sign(BODY, SECRET)


@pytest.fixture
def router_site(site: Callable[..., None], router: WebhookRouter) -> Iterator[None]:
    site(
        MIDDLEWARE=stack(guard=True),
        LAYER_WEBHOOK_ROUTER=router,
        ROOT_URLCONF=make_urlconf([path("elsewhere", echo)]),
    )
    yield


class ExplodingInput:
    """A wsgi.input that must never be read."""

    def read(self, *args: Any) -> bytes:
        raise AssertionError("the body was read")

    readline = read


class BrokenInput(io.BytesIO):
    """A client that goes away after part of the body."""

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if not data:
            raise OSError("connection reset by peer")
        return data


def asgi_headers(**headers: str) -> list[tuple[bytes, bytes]]:
    return [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]


# -- WSGI ----------------------------------------------------------------------


@pytest.mark.usefixtures("router_site")
def test_wsgi_declared_length_over_limit_is_413_without_reading(site: Callable[..., None]) -> None:
    site(LAYER_WEBHOOK_MAX_BODY_SIZE=10)
    environ = wsgi_environ(
        "POST",
        WEBHOOK_PATH,
        ExplodingInput(),
        {"content-length": "11", "content-type": LAYER_CT, "layer-webhook-signature": SIG},
    )
    reply = wsgi_call(WSGIHandler(), environ)
    assert reply.status == 413
    assert reply.json() == {"error": "payload_too_large"}


@pytest.mark.usefixtures("router_site")
def test_wsgi_missing_signature_is_401_without_reading() -> None:
    environ = wsgi_environ("POST", WEBHOOK_PATH, ExplodingInput(), {"content-length": str(len(BODY))})
    assert wsgi_call(WSGIHandler(), environ).status == 401


@pytest.mark.usefixtures("router_site")
def test_wsgi_body_shorter_than_declared_is_400(recorder: Recorder) -> None:
    environ = wsgi_environ(
        "POST",
        WEBHOOK_PATH,
        io.BytesIO(BODY[:-5]),
        {"content-length": str(len(BODY)), "layer-webhook-signature": SIG},
    )
    reply = wsgi_call(WSGIHandler(), environ)
    assert (reply.status, reply.json()) == (400, {"error": "incomplete_body"})
    assert recorder.calls == []


@pytest.mark.usefixtures("router_site")
def test_wsgi_client_gone_mid_body_is_400(recorder: Recorder) -> None:
    environ = wsgi_environ(
        "POST",
        WEBHOOK_PATH,
        BrokenInput(BODY[:20]),
        {"content-length": str(len(BODY)), "layer-webhook-signature": SIG},
    )
    reply = wsgi_call(WSGIHandler(), environ)
    assert (reply.status, reply.json()) == (400, {"error": "incomplete_body"})
    assert recorder.calls == []


@pytest.mark.usefixtures("router_site")
def test_wsgi_chunked_is_411(recorder: Recorder) -> None:
    # Django reads WSGI bodies by CONTENT_LENGTH only: a chunked body never
    # reaches it, so the honest answer is 411, not a 401 for an empty body.
    environ = wsgi_environ(
        "POST",
        WEBHOOK_PATH,
        ExplodingInput(),
        {"transfer-encoding": "chunked", "layer-webhook-signature": SIG},
    )
    reply = wsgi_call(WSGIHandler(), environ)
    assert (reply.status, reply.json()) == (411, {"error": "length_required"})
    # The same through the test client, which always sends a length too.
    assert send("POST", WEBHOOK_PATH, BODY, signed_headers(BODY, **{"transfer-encoding": "chunked"})).status == 411
    assert recorder.calls == []


@pytest.mark.usefixtures("router_site")
def test_wsgi_no_length_is_an_empty_body() -> None:
    environ = wsgi_environ(
        "POST", WEBHOOK_PATH, io.BytesIO(BODY), {"layer-webhook-signature": reference_sign(b"", SECRET)}
    )
    reply = wsgi_call(WSGIHandler(), environ)
    assert (reply.status, reply.json()) == (400, {"error": "invalid_payload"})  # verified, but b"" is no event


def test_other_paths_keep_their_body_unread(site: Callable[..., None], router: WebhookRouter) -> None:
    site(
        MIDDLEWARE=stack(guard=True),
        LAYER_WEBHOOK_ROUTER=router,
        ROOT_URLCONF=make_urlconf([path("elsewhere", csrf_exempt(echo))]),
    )
    environ = wsgi_environ(
        "POST",
        "/elsewhere",
        io.BytesIO(b"a=1"),
        {"content-length": "3", "content-type": "application/x-www-form-urlencoded", "layer-webhook-signature": "x"},
    )
    seen = wsgi_call(WSGIHandler(), environ).json()
    assert seen["untouched"] is True  # the stream was unread when the view started
    assert (seen["body"], seen["post"], seen["event"]) == ("a=1", {"a": ["1"]}, "absent")


# -- ASGI ----------------------------------------------------------------------


@pytest.mark.usefixtures("router_site")
@pytest.mark.parametrize(
    "chunks",
    [
        pytest.param([BODY], id="one-message"),
        pytest.param([BODY[:7], BODY[7:50], b"", BODY[50:]], id="several-messages"),
        pytest.param([bytes([b]) for b in BODY], id="byte-by-byte"),
    ],
)
@pytest.mark.parametrize("length", [True, False], ids=["content-length", "chunked"])
def test_asgi_bodies_in_messages(chunks: list[bytes], length: bool, recorder: Recorder) -> None:
    framing = {"content_length": str(len(BODY))} if length else {"transfer_encoding": "chunked"}
    headers = asgi_headers(layer_webhook_signature=SIG, **framing)
    reply = asgi_call(ASGIHandler(), "POST", WEBHOOK_PATH, headers, chunks)
    assert reply.status == 204
    assert recorder.seen == [("record", "message.sent")]
    assert recorder.calls[0][1].body == BODY


@pytest.mark.usefixtures("router_site")
@pytest.mark.parametrize("setting", ["LAYER_WEBHOOK_MAX_BODY_SIZE", "DATA_UPLOAD_MAX_MEMORY_SIZE"])
def test_asgi_chunked_body_growing_past_the_limit_is_413(
    setting: str, site: Callable[..., None], recorder: Recorder
) -> None:
    site(**{setting: 100})
    headers = asgi_headers(layer_webhook_signature=SIG, transfer_encoding="chunked")
    chunks = [BODY[i : i + 30] for i in range(0, len(BODY), 30)]
    reply = asgi_call(ASGIHandler(), "POST", WEBHOOK_PATH, headers, chunks)
    assert (reply.status, reply.json()) == (413, {"error": "payload_too_large"})
    assert recorder.calls == []


@pytest.mark.usefixtures("router_site")
@pytest.mark.parametrize(
    ("declared", "sent", "code"),
    [
        pytest.param(len(BODY) + 5, BODY, "incomplete_body", id="shorter-than-declared"),
        pytest.param(len(BODY), BODY + b"xx", "body_length_mismatch", id="longer-than-declared"),
    ],
)
def test_asgi_length_mismatch_is_400(declared: int, sent: bytes, code: str, recorder: Recorder) -> None:
    headers = asgi_headers(
        layer_webhook_signature=reference_sign(sent[:declared], SECRET), content_length=str(declared)
    )
    reply = asgi_call(ASGIHandler(), "POST", WEBHOOK_PATH, headers, [sent[:10], sent[10:]])
    assert (reply.status, reply.json()) == (400, {"error": code})
    assert recorder.calls == []


@pytest.mark.usefixtures("router_site")
def test_asgi_two_signature_headers_are_401(recorder: Recorder) -> None:
    headers = [(b"layer-webhook-signature", SIG.encode()), (b"layer-webhook-signature", SIG.encode())]
    headers += asgi_headers(content_length=str(len(BODY)))
    reply = asgi_call(ASGIHandler(), "POST", WEBHOOK_PATH, headers, [BODY])
    assert (reply.status, reply.json()) == (401, {"error": "invalid_signature"})
    assert recorder.calls == []


@pytest.mark.usefixtures("router_site")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(b"verification_challenge=%E2%9C%93+ok", "✓ ok".encode(), id="utf8-and-plus"),
        pytest.param(b"verification_challenge=a%00b", b"a\x00b", id="nul-byte"),
    ],
)
def test_asgi_challenge_uses_the_raw_query(query: bytes, expected: bytes) -> None:
    reply = asgi_call(ASGIHandler(), "GET", WEBHOOK_PATH, query=query)
    assert (reply.status, reply.body) == (200, expected)
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.usefixtures("router_site")
def test_asgi_error_bodies_are_small_json() -> None:
    headers = asgi_headers(layer_webhook_signature="0" * 40, content_length=str(len(BODY)))
    reply = asgi_call(ASGIHandler(), "POST", WEBHOOK_PATH, headers, [BODY])
    assert reply.status == 401
    assert json.loads(reply.body) == {"error": "invalid_signature"}
    assert reply.headers["content-length"] == str(len(reply.body))
