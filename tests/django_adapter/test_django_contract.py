"""Every row of CONTRACT.md section 4, through the middleware and through
``webhook_view``, with Django's sync and async test clients.

The stack always has ``CsrfViewMiddleware`` enforcing (test client with
``enforce_csrf_checks=True``, no cookie) and, on Django 5.1+,
``LoginRequiredMiddleware``: no row may turn into a 403 or a login redirect.
Rows that Django's test client cannot express (a body shorter than its
length, chunked framing, a stream that must stay unread) are in
``test_django_framing.py``.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import path
from support import event_body, reference_sign, samples

from layer_webhook_guard import WebhookRouter
from layer_webhook_guard.django import webhook_view

from .harness import LAYER_CT, WEBHOOK_PATH, Recorder, Reply, make_urlconf, send, send_async, signed_headers, stack


@dataclass(frozen=True)
class Row:
    method: str = "POST"
    query: str = ""
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = LAYER_CT
    settings: dict[str, Any] = field(default_factory=dict)
    status: int = 204
    reply: bytes | None = None  # exact body expected, if given
    error: str | None = None  # expected {"error": ...} code
    reply_headers: dict[str, str] = field(default_factory=dict)
    seen: tuple[tuple[str, str], ...] = ()  # (handler tag, event type) the handlers saw


def post(body: bytes, event_type: str | None = "message.sent", **kw: Any) -> Row:
    headers = signed_headers(body, event_type)
    headers.update(kw.pop("extra_headers", {}))
    return Row(body=body, headers=headers, **kw)


SENT = event_body("message.sent")
TEXT = {"content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff"}
BOM = codecs.BOM_UTF8


def _sample_rows() -> list[Any]:
    rows = []
    for s in samples():
        headers = {
            "layer-webhook-signature": s.signature,  # from openssl, via vectors.json
            "layer-webhook-event-type": s.event_type,
            "layer-webhook-request-id": "4a0b8a4e-2f57-4d8a-9a3b-0d8b1f1f2c11",
        }
        rows.append(pytest.param(Row(body=s.body, headers=headers, seen=(("record", s.event_type),)), id=s.name))
    return rows


ROWS = [
    # -- the verification challenge and other safe methods
    pytest.param(
        Row("GET", "verification_challenge=abc123", status=200, reply=b"abc123", reply_headers=TEXT), id="challenge"
    ),
    pytest.param(Row("HEAD", "verification_challenge=abc123", status=200, reply=b"", reply_headers=TEXT), id="head"),
    pytest.param(Row("GET", "verification_challenge=a%20b%2Bc%26d", status=200, reply=b"a b+c&d"), id="percent"),
    pytest.param(Row("GET", "verification_challenge=a+b", status=200, reply=b"a b"), id="plus"),
    pytest.param(
        Row("GET", "verification_challenge=one&verification_challenge=two", status=200, reply=b"one"), id="first-wins"
    ),
    pytest.param(Row("GET", "x=1&verification_challenge=z", status=200, reply=b"z"), id="after-other-param"),
    pytest.param(Row("GET", "verification_challenge=", status=200, reply=b""), id="empty-challenge"),
    pytest.param(
        Row("GET", "verification_challenge=%C3%A9t%C3%A9", status=200, reply="été".encode()), id="utf8-challenge"
    ),
    pytest.param(Row("GET", status=200, reply=b""), id="get-without-challenge"),
    pytest.param(Row("HEAD", status=200, reply=b""), id="head-without-challenge"),
    *[
        pytest.param(
            Row(
                m,
                body=SENT,
                headers=signed_headers(SENT),
                status=405,
                error="method_not_allowed",
                reply_headers={"allow": "GET, HEAD, POST"},
            ),
            id=f"{m.lower()}-405",
        )
        for m in ("PUT", "DELETE", "PATCH", "OPTIONS")
    ],
    # -- size, encoding
    pytest.param(
        post(SENT, settings={"LAYER_WEBHOOK_MAX_BODY_SIZE": len(SENT) - 1}, status=413, error="payload_too_large"),
        id="declared-over-limit",
    ),
    pytest.param(
        post(SENT, settings={"LAYER_WEBHOOK_MAX_BODY_SIZE": len(SENT)}, seen=(("record", "message.sent"),)),
        id="exactly-at-limit",
    ),
    pytest.param(
        post(SENT, settings={"DATA_UPLOAD_MAX_MEMORY_SIZE": len(SENT) - 1}, status=413, error="payload_too_large"),
        id="over-DATA_UPLOAD_MAX_MEMORY_SIZE",
    ),
    pytest.param(
        post(SENT, extra_headers={"content-encoding": "gzip"}, status=415, error="unsupported_content_encoding"),
        id="gzip-415",
    ),
    pytest.param(
        post(SENT, extra_headers={"content-encoding": "identity"}, seen=(("record", "message.sent"),)),
        id="identity-encoding",
    ),
    # -- signatures
    pytest.param(Row(body=SENT, headers={}, status=401, error="missing_signature"), id="no-signature"),
    pytest.param(
        Row(body=SENT, headers={"layer-webhook-signature": ""}, status=401, error="missing_signature"),
        id="empty-signature",
    ),
    pytest.param(
        Row(body=SENT, headers={"layer-webhook-signature": "not-hex"}, status=401, error="invalid_signature"),
        id="malformed-signature",
    ),
    pytest.param(
        Row(
            body=SENT,
            headers={"layer-webhook-signature": reference_sign(SENT, "other-secret")},
            status=401,
            error="invalid_signature",
        ),
        id="wrong-secret",
    ),
    pytest.param(
        Row(
            body=SENT,
            headers={"layer-webhook-signature": "{0},{0}".format(reference_sign(SENT, "x"))},
            status=401,
            error="invalid_signature",
        ),
        id="merged-values",
    ),
    pytest.param(
        Row(body=SENT + b" ", headers=signed_headers(SENT), status=401, error="invalid_signature"), id="tampered-body"
    ),
    pytest.param(
        Row(
            body=SENT,
            headers={"layer-webhook-signature": signed_headers(SENT)["layer-webhook-signature"].upper()},
            seen=(("record", "message.sent"),),
        ),
        id="uppercase-hex",
    ),
    pytest.param(
        Row(
            body=SENT,
            headers={"layer-webhook-signature": "sha1=" + signed_headers(SENT)["layer-webhook-signature"]},
            seen=(("record", "message.sent"),),
        ),
        id="sha1-prefix",
    ),
    # -- verified but unusable bodies
    pytest.param(post(b"[1, 2]", None, status=400, error="invalid_payload"), id="not-an-object"),
    pytest.param(post(b'{"event": {"id": "1"}}', None, status=400, error="invalid_payload"), id="no-event-type"),
    pytest.param(
        post(b'{"event": {"type": "message.sent", "id": "\xff"}}', None, status=400, error="invalid_payload"),
        id="invalid-utf8",
    ),
    pytest.param(post(b"", None, status=400, error="invalid_payload"), id="empty-body"),
    pytest.param(post(SENT, "message.read", status=400, error="event_type_mismatch"), id="type-header-mismatch"),
    # -- dispatch
    pytest.param(post(SENT, seen=(("record", "message.sent"),)), id="handled"),
    pytest.param(post(BOM + SENT, seen=(("record", "message.sent"),)), id="utf8-bom"),
    pytest.param(post(SENT, None, seen=(("record", "message.sent"),)), id="no-type-header"),
    pytest.param(post(SENT, content_type="application/json", seen=(("record", "message.sent"),)), id="json-type"),
    pytest.param(post(SENT, content_type="text/plain", seen=(("record", "message.sent"),)), id="text-type"),
    pytest.param(post(SENT, content_type="", seen=(("record", "message.sent"),)), id="no-content-type"),
    pytest.param(
        post(SENT, content_type="application/x-www-form-urlencoded", seen=(("record", "message.sent"),)), id="form-type"
    ),
    pytest.param(post(event_body("test.unrouted"), "test.unrouted"), id="no-handler"),
    pytest.param(post(event_body("test.async"), "test.async", seen=(("arecord", "test.async"),)), id="async-handler"),
    pytest.param(
        post(event_body("test.permanent"), "test.permanent", seen=(("permanent", "test.permanent"),)),
        id="permanent-error",
    ),
    pytest.param(
        post(
            event_body("test.fails"), "test.fails", status=500, error="handler_failed", seen=(("fail", "test.fails"),)
        ),
        id="handler-fails",
    ),
    *_sample_rows(),
]

VIEW_PATH = "/hooks/layer"


def middleware_site(site: Callable[..., None], router: WebhookRouter) -> str:
    site(MIDDLEWARE=stack(guard=True), LAYER_WEBHOOK_ROUTER=router, ROOT_URLCONF=make_urlconf([]))
    return WEBHOOK_PATH


def view_site(site: Callable[..., None], router: WebhookRouter) -> str:
    urls = make_urlconf([path(VIEW_PATH.lstrip("/"), webhook_view(router))])
    site(MIDDLEWARE=stack(guard=False), ROOT_URLCONF=urls)
    return VIEW_PATH


@pytest.fixture(params=["middleware", "view"])
def target(request: pytest.FixtureRequest, site: Callable[..., None], router: WebhookRouter) -> str:
    return middleware_site(site, router) if request.param == "middleware" else view_site(site, router)


@pytest.fixture(params=["sync", "async"])
def transport(request: pytest.FixtureRequest) -> Callable[..., Reply]:
    return send if request.param == "sync" else send_async


@pytest.mark.parametrize("row", ROWS)
def test_contract_row(
    row: Row, target: str, transport: Callable[..., Reply], site: Callable[..., None], recorder: Recorder
) -> None:
    if row.settings:
        site(**row.settings)
    url = f"{target}?{row.query}" if row.query else target
    reply = transport(row.method, url, row.body, row.headers, content_type=row.content_type)

    assert reply.status == row.status, reply
    if row.reply is not None:
        assert reply.body == row.reply
    for name, value in row.reply_headers.items():
        assert reply.headers.get(name) == value
    if row.error is not None:
        assert reply.headers["content-type"] == "application/json"
        assert json.loads(reply.body) == {"error": row.error}
        signature = row.headers.get("layer-webhook-signature")
        if signature:
            assert signature not in reply.body.decode()
    if row.status == 204:
        assert reply.body == b""
    assert recorder.seen == list(row.seen)
    for _tag, event in recorder.calls:
        # Handlers get exactly the signed bytes (a BOM is tolerated, not stripped).
        assert event.body == row.body


@pytest.mark.parametrize("suffix", ["", "/"], ids=["exact", "trailing-slash"])
def test_middleware_path_matching(suffix: str, site: Callable[..., None], router: WebhookRouter) -> None:
    middleware_site(site, router)
    assert send("GET", WEBHOOK_PATH + suffix + "?verification_challenge=ok").body == b"ok"


@pytest.mark.parametrize("other", ["/layer/webhooks/more", "/layer/webhook", "/layer", "/LAYER/WEBHOOKS"])
def test_other_paths_are_not_answered(other: str, site: Callable[..., None], router: WebhookRouter) -> None:
    middleware_site(site, router)
    reply = send("POST", other, SENT, {"layer-webhook-signature": "x"})
    assert reply.status == 404  # Django's URLconf answered: the guard stayed out of it
