"""Guard mode (no router), CSRF and login exemption, and a body already read
before the guard ran (fail closed: 500 and a log line, never 401, nothing
dispatched or forwarded)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlencode

import django
import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import event_body, reference_sign

from layer_webhook_guard import WebhookRouter
from layer_webhook_guard.django import webhook_view

from .harness import (
    SECRET,
    WEBHOOK_PATH,
    ReadsBody,
    ReadsOneByte,
    ReadsPost,
    Recorder,
    csrf_protected,
    echo,
    login_protected,
    make_urlconf,
    send,
    send_async,
    signed_headers,
    stack,
)

FORM = "application/x-www-form-urlencoded"
EVENT = event_body("message.sent")


@pytest.fixture
def guard_site(site: Callable[..., None]) -> None:
    """The guard in front of the site's own view at the webhook path."""
    site(
        MIDDLEWARE=stack(guard=True),
        ROOT_URLCONF=make_urlconf(
            [path("layer/webhooks", echo), path("csrf", csrf_protected), path("login", login_protected)]
        ),
    )


# -- guard mode ---------------------------------------------------------------------


@pytest.mark.usefixtures("guard_site")
@pytest.mark.parametrize("first", ["post", "body", "read"])
@pytest.mark.parametrize("transport", [send, send_async], ids=["sync", "async"])
def test_guard_form_body_reaches_the_view(first: str, transport: Callable[..., object]) -> None:
    body = urlencode({"a": "1", "b": "two words"}).encode()
    reply = transport("POST", f"{WEBHOOK_PATH}?first={first}", body, signed_headers(body, None), content_type=FORM)
    assert reply.status == 200, reply  # type: ignore[attr-defined]
    seen = reply.json()  # type: ignore[attr-defined]
    assert seen["body"] == body.decode()
    if first != "read":
        assert seen["post"] == {"a": ["1"], "b": ["two words"]}
    assert seen["event"] is None  # verified, but a form is not an event


@pytest.mark.usefixtures("guard_site")
@pytest.mark.parametrize("transport", [send, send_async], ids=["sync", "async"])
def test_guard_event_reaches_the_view_with_the_event(transport: Callable[..., object]) -> None:
    reply = transport("POST", WEBHOOK_PATH, EVENT, signed_headers(EVENT))
    seen = reply.json()  # type: ignore[attr-defined]
    assert (reply.status, seen["body"], seen["event"]) == (200, EVENT.decode(), "message.sent")  # type: ignore[attr-defined]
    assert seen["event_body_matches"] is True


@pytest.mark.usefixtures("guard_site")
def test_guard_multipart_body_reaches_post_and_files() -> None:
    body = encode_multipart(BOUNDARY, {"note": "hello", "file": _named_file(b"file-bytes")})
    reply = send("POST", f"{WEBHOOK_PATH}?first=post", body, signed_headers(body, None), content_type=MULTIPART_CONTENT)
    seen = reply.json()
    assert reply.status == 200
    assert seen["post"] == {"note": ["hello"]}
    assert seen["files"] == {"file": "file-bytes"}


def _named_file(data: bytes) -> object:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("f.txt", data, content_type="text/plain")


@pytest.mark.usefixtures("guard_site")
@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        pytest.param("POST", {}, 401, id="post-unsigned"),
        pytest.param("POST", {"layer-webhook-signature": reference_sign(EVENT, "wrong")}, 401, id="post-wrong"),
        pytest.param("PUT", {}, 401, id="put-unsigned"),
        pytest.param("OPTIONS", {}, 401, id="options-unsigned"),
        pytest.param("DELETE", {}, 401, id="delete-unsigned"),
        pytest.param("POST", signed_headers(EVENT, "message.read"), 400, id="type-mismatch"),
        pytest.param("POST", signed_headers(EVENT, **{"content-encoding": "br"}), 415, id="encoded"),
    ],
)
def test_guard_refusals_never_reach_the_view(method: str, headers: dict[str, str], status: int) -> None:
    reply = send(method, WEBHOOK_PATH, EVENT, headers)
    assert reply.status == status
    assert "view" not in reply.json()


@pytest.mark.usefixtures("guard_site")
@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS"])
def test_guard_signed_other_methods_are_forwarded(method: str) -> None:
    seen = send(method, WEBHOOK_PATH, EVENT, signed_headers(EVENT)).json()
    assert (seen["method"], seen["event"]) == (method, "message.sent")


@pytest.mark.usefixtures("guard_site")
def test_guard_answers_the_challenge_itself() -> None:
    reply = send("GET", f"{WEBHOOK_PATH}?verification_challenge=xyz")
    assert (reply.status, reply.body) == (200, b"xyz")


@pytest.mark.usefixtures("guard_site")
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_guard_passes_plain_get_through_unread(method: str) -> None:
    reply = send(method, WEBHOOK_PATH)
    assert reply.status == 200
    if method == "GET":
        seen = reply.json()
        assert (seen["view"], seen["untouched"], seen["event"]) == ("echo", True, None)


@pytest.mark.usefixtures("guard_site")
def test_guard_respects_data_upload_max_memory_size(site: Callable[..., None]) -> None:
    site(DATA_UPLOAD_MAX_MEMORY_SIZE=len(EVENT) - 1)
    reply = send("POST", WEBHOOK_PATH, EVENT, signed_headers(EVENT))
    assert (reply.status, reply.json()) == (413, {"error": "payload_too_large"})
    form = b"a=" + b"x" * len(EVENT)
    reply = send("POST", f"{WEBHOOK_PATH}?first=post", form, signed_headers(form, None), content_type=FORM)
    assert reply.status == 413  # not Django's RequestDataTooBig (400) when the view reads POST


@pytest.mark.usefixtures("guard_site")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(signature=st.text(max_size=80) | st.binary(max_size=60).map(lambda b: b.hex()))
def test_guard_unverified_requests_never_reach_the_view(signature: str) -> None:
    value = signature.encode("latin-1", "replace").decode("latin-1")  # what a header can carry
    reply = send("POST", WEBHOOK_PATH, EVENT, {"layer-webhook-signature": value})
    assert reply.status == 401


# -- CSRF and login ------------------------------------------------------------------


def test_csrf_and_login_controls_are_active(guard_site: None) -> None:
    # Without these, the tests below could not fail.
    assert send("POST", "/csrf", b"a=1", content_type=FORM).status == 403
    if stack(guard=False)[-1].endswith("LoginRequiredMiddleware"):
        assert send("GET", "/login").status == 302


@pytest.mark.parametrize("mode", ["middleware-router", "middleware-guard", "view"])
def test_csrf_never_refuses_a_webhook(
    mode: str, site: Callable[..., None], router: WebhookRouter, recorder: Recorder
) -> None:
    if mode == "view":
        site(MIDDLEWARE=stack(guard=False), ROOT_URLCONF=make_urlconf([path("layer/webhooks", webhook_view(router))]))
    elif mode == "middleware-router":
        site(MIDDLEWARE=stack(guard=True), LAYER_WEBHOOK_ROUTER=router, ROOT_URLCONF=make_urlconf([]))
    else:
        site(MIDDLEWARE=stack(guard=True), ROOT_URLCONF=make_urlconf([path("layer/webhooks", echo)]))
    # No CSRF cookie or token, checks enforced.
    good = send("POST", WEBHOOK_PATH, EVENT, signed_headers(EVENT), content_type=FORM)
    assert good.status == (200 if mode == "middleware-guard" else 204)
    bad = send("POST", WEBHOOK_PATH, EVENT, {"layer-webhook-signature": "0" * 40}, content_type=FORM)
    assert bad.status == 401


def test_webhook_view_is_exempt_by_construction(router: WebhookRouter) -> None:
    view = webhook_view(router)
    assert getattr(view, "csrf_exempt", False) is True
    if django.VERSION >= (5, 1):
        assert getattr(view, "login_required", True) is False


# -- a body read before the guard ------------------------------------------------------


READERS = [
    pytest.param(ReadsBody, "application/json", id="request.body"),
    pytest.param(ReadsPost, FORM, id="request.POST-form"),
    pytest.param(ReadsPost, MULTIPART_CONTENT, id="request.POST-multipart"),
    pytest.param(ReadsOneByte, "application/json", id="request.read"),
]


def _reader_path(reader: type) -> str:
    return f"{reader.__module__}.{reader.__qualname__}"


@pytest.mark.parametrize(("reader", "content_type"), READERS)
@pytest.mark.parametrize("mode", ["middleware-router", "middleware-guard", "view"])
def test_body_read_before_the_guard_fails_closed(
    reader: type,
    content_type: str,
    mode: str,
    site: Callable[..., None],
    router: WebhookRouter,
    recorder: Recorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = [_reader_path(reader)]
    if mode == "view":
        site(
            MIDDLEWARE=stack(guard=False, before=before),
            ROOT_URLCONF=make_urlconf([path("layer/webhooks", webhook_view(router))]),
        )
    else:
        site(
            MIDDLEWARE=stack(guard=True, before=before),
            LAYER_WEBHOOK_ROUTER=router if mode == "middleware-router" else None,
            ROOT_URLCONF=make_urlconf([path("layer/webhooks", echo)]),
        )
    body = EVENT
    if content_type == MULTIPART_CONTENT:
        body = encode_multipart(BOUNDARY, {"event": EVENT.decode()})
    with caplog.at_level(logging.WARNING, logger="layer_webhook_guard"):
        reply = send("POST", WEBHOOK_PATH, body, signed_headers(body), content_type=content_type)
    assert reply.status == 500  # never 401: the signature may well be right
    assert reply.json() == {"error": "body_already_read"}
    assert recorder.calls == []
    messages = [r.getMessage() for r in caplog.records if r.name == "layer_webhook_guard"]
    where = "webhook_view" if mode == "view" else "LayerWebhookMiddleware"
    # Logged once, naming the middleware-order problem.
    assert len(messages) == 1, messages
    assert f"read before {where} ran" in messages[0]
    assert "in MIDDLEWARE, list LayerWebhookMiddleware above" in messages[0]


@pytest.mark.parametrize("transport", [send, send_async], ids=["sync", "async"])
def test_unsigned_request_is_refused_even_if_body_was_read(
    transport: Callable[..., object], site: Callable[..., None], router: WebhookRouter
) -> None:
    # No signature at all is decided from the headers: 401 is still correct.
    site(
        MIDDLEWARE=stack(guard=True, before=[_reader_path(ReadsBody)]),
        LAYER_WEBHOOK_ROUTER=router,
        ROOT_URLCONF=make_urlconf([]),
    )
    assert transport("POST", WEBHOOK_PATH, EVENT, {}).status == 401  # type: ignore[attr-defined]


def test_secret_never_appears_in_responses(site: Callable[..., None], router: WebhookRouter) -> None:
    site(MIDDLEWARE=stack(guard=True), LAYER_WEBHOOK_ROUTER=router, ROOT_URLCONF=make_urlconf([]))
    for headers in ({}, {"layer-webhook-signature": "bad"}, signed_headers(EVENT, "message.read")):
        reply = send("POST", WEBHOOK_PATH, EVENT, headers)
        assert SECRET.encode() not in reply.body
        assert EVENT not in reply.body
