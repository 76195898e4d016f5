"""The decision table of CONTRACT.md section 4, row by row, on the core."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import event_body, layer_headers, reference_sign, samples

from layer_webhook_guard import (
    Action,
    ConfigurationError,
    PermanentError,
    WebhookEvent,
    WebhookReceiver,
    WebhookRouter,
)

SECRET = "test-secret-0123456789"


class Recorder:
    def __init__(self) -> None:
        self.events: list[WebhookEvent] = []


@pytest.fixture
def calls() -> Recorder:
    return Recorder()


@pytest.fixture
def router(calls: Recorder) -> WebhookRouter:
    router = WebhookRouter()

    @router.on("message.sent", "conversation.created", "Message.created")
    def record(event: WebhookEvent) -> None:
        calls.events.append(event)

    @router.on("test.fails")
    def fail(event: WebhookEvent) -> None:
        raise RuntimeError("handler bug")

    @router.on("test.permanent")
    def give_up(event: WebhookEvent) -> None:
        raise PermanentError("cannot process")

    return router


@pytest.fixture
def receiver(router: WebhookRouter) -> WebhookReceiver:
    return WebhookReceiver(SECRET, router, max_body_size=4096)


@pytest.fixture
def guard() -> WebhookReceiver:
    return WebhookReceiver(SECRET, max_body_size=4096)


def signed(body: bytes, event_type: str = "message.sent", **extra: str) -> dict[str, str]:
    headers = layer_headers(body, SECRET, event_type)
    headers["content-length"] = str(len(body))
    headers.update(extra)
    return headers


def error_code(body: bytes) -> str:
    return str(json.loads(body)["error"])


# -- rows before the body ----------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("verification_challenge=abc123", b"abc123", id="plain"),
        pytest.param(b"verification_challenge=abc123", b"abc123", id="bytes-query"),
        pytest.param("verification_challenge=a%20b+c%2B", b"a b c+", id="percent-and-plus"),
        pytest.param("x=1&verification_challenge=first&verification_challenge=second", b"first", id="first-wins"),
        pytest.param("verification_challenge=", b"", id="empty-value"),
        pytest.param("verification_challenge=%E2%9C%93", "✓".encode(), id="utf8"),
        pytest.param("verification%5Fchallenge=enc", b"enc", id="encoded-name"),
        pytest.param("verification_challenge=<script>", b"<script>", id="html-is-plain-text"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("mode", ["router", "guard"])
def test_challenge_echoed(
    receiver: WebhookReceiver, guard: WebhookReceiver, mode: str, method: str, query: str | bytes, expected: bytes
) -> None:
    rec = receiver if mode == "router" else guard
    d = rec.handle(method, query, {})
    assert (d.action, d.status, d.body) == (Action.RESPOND, 200, expected)
    headers = dict(d.headers)
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["x-content-type-options"] == "nosniff"
    assert ("content-length", str(len(expected))) in d.response_headers()


def test_get_without_challenge(receiver: WebhookReceiver, guard: WebhookReceiver) -> None:
    d = receiver.handle("GET", "other=1", {})
    assert (d.action, d.status) == (Action.RESPOND, 200)
    d = guard.handle("GET", "other=1", {})
    assert d.action is Action.FORWARD and d.event is None and d.request_body is None


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "BREW"])
def test_other_methods_405_in_router_mode(receiver: WebhookReceiver, method: str) -> None:
    body = event_body()
    d = receiver.handle(method, "", signed(body), body)
    assert d.status == 405 and ("allow", "GET, HEAD, POST") in d.headers
    assert error_code(d.body) == "method_not_allowed"


@pytest.mark.parametrize("method", ["PUT", "OPTIONS", "DELETE"])
def test_other_methods_need_a_signature_in_guard_mode(guard: WebhookReceiver, method: str) -> None:
    body = event_body()
    assert guard.handle(method, "", {"content-length": str(len(body))}, body).status == 401
    d = guard.handle(method, "", signed(body), body)
    assert d.action is Action.FORWARD and d.request_body == body


def test_declared_length_over_limit_is_413_before_reading(receiver: WebhookReceiver) -> None:
    intake = receiver.begin("POST", "", signed(b"x", **{"content-length": "4097"}))
    assert not intake.wants_body
    assert intake.result().status == 413 and intake.received == 0


def test_declared_length_at_limit_is_read(receiver: WebhookReceiver) -> None:
    intake = receiver.begin("POST", "", signed(b"x", **{"content-length": "4096"}))
    assert intake.wants_body


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "gzip, identity"])
def test_content_encoding_415(receiver: WebhookReceiver, encoding: str) -> None:
    body = event_body()
    d = receiver.handle("POST", "", signed(body, **{"content-encoding": encoding}), body)
    assert d.status == 415 and error_code(d.body) == "unsupported_content_encoding"


def test_identity_encoding_accepted(receiver: WebhookReceiver) -> None:
    body = event_body()
    assert receiver.handle("POST", "", signed(body, **{"content-encoding": "identity"}), body).status == 204


def test_wsgi_chunked_without_input_terminated_is_411(receiver: WebhookReceiver) -> None:
    headers = signed(b"{}")
    del headers["content-length"]
    headers["transfer-encoding"] = "chunked"
    intake = receiver.begin("POST", "", headers, input_terminated=False)
    assert not intake.wants_body and intake.result().status == 411


def test_wsgi_chunked_with_input_terminated_reads_to_eof(receiver: WebhookReceiver) -> None:
    body = event_body()
    headers = signed(body)
    del headers["content-length"]
    headers["transfer-encoding"] = "chunked"
    intake = receiver.begin("POST", "", headers, input_terminated=True)
    assert intake.read_to_eof
    for i in range(0, len(body), 7):
        assert intake.wants_body
        intake.feed(body[i : i + 7])
    intake.feed(b"")
    assert receiver.dispatch(intake.result()).status == 204


def test_wsgi_no_length_not_chunked_is_empty_body(receiver: WebhookReceiver) -> None:
    headers = signed(b"")
    del headers["content-length"]
    intake = receiver.begin("POST", "", headers, input_terminated=False)
    assert not intake.wants_body
    d = intake.result()
    assert d.status == 400 and error_code(d.body) == "invalid_payload"  # empty body, signed: not JSON


def test_body_growing_past_limit_is_413_and_stops(receiver: WebhookReceiver) -> None:
    headers = signed(b"x")
    del headers["content-length"]
    intake = receiver.begin("POST", "", headers)
    fed = 0
    for _ in range(100):
        if not intake.wants_body:
            break
        assert intake.read_size(1000) <= 4097 - fed
        chunk = b"x" * 1000
        intake.feed(chunk)
        fed += len(chunk)
    assert fed == 5000  # stopped at the first chunk that crossed 4096
    assert intake.result().status == 413
    assert intake.feed(b"more") is False


def test_read_size_never_asks_past_limit(receiver: WebhookReceiver) -> None:
    headers = signed(b"x")
    del headers["content-length"]
    intake = receiver.begin("POST", "", headers)
    intake.feed(b"x" * 4000)
    assert intake.read_size() == 97


def test_body_shorter_than_declared_is_400(receiver: WebhookReceiver, calls: Recorder) -> None:
    body = event_body()
    intake = receiver.begin("POST", "", signed(body, **{"content-length": str(len(body) + 10)}))
    intake.feed(body)
    intake.feed(b"")
    d = intake.result()
    assert d.status == 400 and error_code(d.body) == "incomplete_body" and not calls.events


def test_body_longer_than_declared_is_400(receiver: WebhookReceiver) -> None:
    body = event_body()
    intake = receiver.begin("POST", "", signed(body, **{"content-length": "5"}))
    assert intake.feed(body) is False
    assert intake.result().status == 400


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "", "1,1", "٣"])
def test_unreadable_content_length_is_400(receiver: WebhookReceiver, value: str) -> None:
    d = receiver.handle("POST", "", signed(b"{}", **{"content-length": value}), b"{}")
    assert d.status == 400


def test_two_content_lengths_are_400(receiver: WebhookReceiver) -> None:
    headers = [("content-length", "2"), ("content-length", "2"), ("layer-webhook-signature", "a" * 40)]
    assert receiver.handle("POST", "", headers, b"{}").status == 400


# -- signature rows -------------------------------------------------------------------


def test_missing_signature_401_without_reading_body(receiver: WebhookReceiver) -> None:
    for sig in (None, "", "   "):
        headers = signed(b"{}")
        if sig is None:
            del headers["layer-webhook-signature"]
        else:
            headers["layer-webhook-signature"] = sig
        intake = receiver.begin("POST", "", headers)
        assert not intake.wants_body
        d = intake.result()
        assert d.status == 401 and error_code(d.body) == "missing_signature"


BAD_SIGNATURES = [
    pytest.param("zz" * 20, id="non-hex"),
    pytest.param("ab" * 19, id="short"),
    pytest.param("\u00e9" * 40, id="non-ascii"),
    pytest.param(reference_sign(b"other", SECRET), id="wrong"),
    pytest.param(reference_sign(event_body(), "other-secret"), id="wrong-secret"),
]


@pytest.mark.parametrize("sig", BAD_SIGNATURES)
def test_bad_signature_401_no_handler(receiver: WebhookReceiver, calls: Recorder, sig: str) -> None:
    body = event_body()
    d = receiver.handle("POST", "", signed(body, **{"layer-webhook-signature": sig}), body)
    assert d.status == 401 and error_code(d.body) == "invalid_signature"
    assert not calls.events


def test_two_signature_headers_401(receiver: WebhookReceiver, calls: Recorder) -> None:
    body = event_body()
    good = reference_sign(body, SECRET)
    headers = [("content-length", str(len(body))), ("layer-webhook-signature", good), ("layer-webhook-signature", good)]
    assert receiver.handle("POST", "", headers, body).status == 401
    headers = [("content-length", str(len(body))), ("layer-webhook-signature", f"{good}, {good}")]
    assert receiver.handle("POST", "", headers, body).status == 401
    assert not calls.events


def test_byte_headers_asgi_style(receiver: WebhookReceiver, calls: Recorder) -> None:
    body = event_body()
    raw = [(k.encode(), v.encode()) for k, v in signed(body).items()]
    assert receiver.handle("POST", b"", raw, body).status == 204
    raw = [(b"layer-webhook-signature", b"\xff\xfe" * 20), (b"content-length", str(len(body)).encode())]
    assert receiver.handle("POST", b"", raw, body).status == 401
    assert len(calls.events) == 1


def test_size_rows_come_before_signature_rows(receiver: WebhookReceiver) -> None:
    headers = {"layer-webhook-signature": "not-hex", "content-length": "99999"}
    assert receiver.handle("POST", "", headers, b"").status == 413


# -- after a valid signature ----------------------------------------------------------

INVALID_BODIES = [
    pytest.param(b"not json", id="not-json"),
    pytest.param(b"[1]", id="array"),
    pytest.param(b'{"hello": 1}', id="no-type"),
    pytest.param(b'{"event_type": 3}', id="int-type"),
    pytest.param(b'{"event_type": "message.sent", "x": "\xff"}', id="invalid-utf8"),
    pytest.param(b"a=1&b=2", id="form"),
]


@pytest.mark.parametrize("body", INVALID_BODIES)
def test_valid_signature_invalid_payload_400(receiver: WebhookReceiver, calls: Recorder, body: bytes) -> None:
    d = receiver.handle("POST", "", signed(body), body)
    assert d.status == 400 and error_code(d.body) == "invalid_payload" and not calls.events


@pytest.mark.parametrize("body", INVALID_BODIES)
def test_guard_mode_forwards_verified_non_event_with_no_event(guard: WebhookReceiver, body: bytes) -> None:
    d = guard.handle("POST", "", signed(body), body)
    assert d.action is Action.FORWARD and d.event is None and d.request_body == body


def test_type_header_mismatch_400(receiver: WebhookReceiver, guard: WebhookReceiver, calls: Recorder) -> None:
    body = event_body("message.sent")
    headers = signed(body, **{"layer-webhook-event-type": "message.deleted"})
    for rec in (receiver, guard):
        d = rec.handle("POST", "", headers, body)
        assert d.status == 400 and error_code(d.body) == "event_type_mismatch"
    assert not calls.events


def test_routing_type_comes_from_signed_body(receiver: WebhookReceiver, calls: Recorder) -> None:
    body = event_body("conversation.created")
    headers = signed(body)
    del headers["layer-webhook-event-type"]
    assert receiver.handle("POST", "", headers, body).status == 204
    assert [e.type for e in calls.events] == ["conversation.created"]


def test_bom_tolerated_after_verification(receiver: WebhookReceiver, calls: Recorder) -> None:
    body = b"\xef\xbb\xbf" + event_body()
    assert receiver.handle("POST", "", signed(body), body).status == 204
    assert calls.events[0].body == body


@pytest.mark.parametrize(
    "ctype", ["application/vnd.layer.webhooks+json; version=1.0", "application/json", "text/plain", None]
)
def test_any_content_type(receiver: WebhookReceiver, calls: Recorder, ctype: str | None) -> None:
    body = event_body()
    headers = signed(body)
    if ctype is None:
        del headers["content-type"]
    else:
        headers["content-type"] = ctype
    assert receiver.handle("POST", "", headers, body).status == 204 and len(calls.events) == 1


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        pytest.param("message.sent", 204, id="handled"),
        pytest.param("user.registered", 204, id="no-handler"),
        pytest.param("test.permanent", 204, id="permanent-error"),
        pytest.param("test.fails", 500, id="handler-fails"),
    ],
)
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_dispatch_outcomes(receiver: WebhookReceiver, event_type: str, status: int, use_async: bool) -> None:
    body = event_body(event_type)
    if use_async:
        d = asyncio.run(receiver.handle_async("POST", "", signed(body, event_type), body))
    else:
        d = receiver.handle("POST", "", signed(body, event_type), body)
    assert d.status == status
    if status == 500:
        assert error_code(d.body) == "handler_failed"
        assert b"handler bug" not in d.body and b"Traceback" not in d.body
    else:
        assert d.body == b""


@pytest.mark.parametrize("sample", samples(), ids=lambda s: s.name)
def test_documented_samples_with_openssl_signatures(sample: object) -> None:
    s = sample
    router = WebhookRouter()
    seen: list[WebhookEvent] = []
    router.on("*")(seen.append)
    rec = WebhookReceiver(s.secret, router)  # type: ignore[attr-defined]
    headers = layer_headers(s.body, s.secret, s.event_type, signature=s.signature)  # type: ignore[attr-defined]
    assert rec.handle("POST", "", headers, s.body).status == 204  # type: ignore[attr-defined]
    assert seen[0].type == s.event_type and seen[0].body == s.body  # type: ignore[attr-defined]
    assert seen[0].request_id == headers["layer-webhook-request-id"]


def test_guard_mode_forwards_event(guard: WebhookReceiver) -> None:
    body = event_body()
    d = guard.handle("POST", "", signed(body), body)
    assert d.action is Action.FORWARD and d.event is not None and d.event.type == "message.sent"
    assert d.request_body == body


def test_rotation_through_receiver(router: WebhookRouter) -> None:
    rec = WebhookReceiver(["new-secret-1", SECRET], router)
    body = event_body()
    assert rec.handle("POST", "", signed(body), body).status == 204


def test_chunks_joined_exactly(receiver: WebhookReceiver, calls: Recorder) -> None:
    body = event_body(padding="x" * 3000)
    intake = receiver.begin("POST", "", signed(body))
    for i in range(0, len(body), 100):
        intake.feed(body[i : i + 100])
    assert receiver.dispatch(intake.result()).status == 204
    assert calls.events[0].body == body


@pytest.mark.parametrize(
    "kwargs",
    [{"max_body_size": -1}, {"max_body_size": "10"}, {"max_body_size": True}, {"algorithm": "md5"}],
    ids=["negative", "str", "bool", "md5"],
)
def test_receiver_configuration_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        WebhookReceiver(SECRET, **kwargs)  # type: ignore[arg-type]


def test_receiver_needs_secret() -> None:
    with pytest.raises(ConfigurationError):
        WebhookReceiver("")
    with pytest.raises(ConfigurationError):
        WebhookReceiver(None)  # type: ignore[arg-type]


def test_receiver_rejects_non_router() -> None:
    with pytest.raises(ConfigurationError):
        WebhookReceiver(SECRET, object())  # type: ignore[arg-type]


# -- logging ---------------------------------------------------------------------------


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG, logger="layer_webhook_guard"):
        yield caplog


def test_rejections_logged_once_with_reason_and_length(
    receiver: WebhookReceiver, log: pytest.LogCaptureFixture
) -> None:
    body = event_body()
    receiver.handle("POST", "", signed(body, **{"layer-webhook-signature": "ab" * 20}), body)
    (record,) = log.records
    assert record.levelno == logging.WARNING and record.name == "layer_webhook_guard"
    message = record.getMessage()
    assert "invalid_signature" in message and str(len(body)) in message


def test_logs_never_contain_body_secret_or_signature(receiver: WebhookReceiver, log: pytest.LogCaptureFixture) -> None:
    marker = "BODY-MARKER-7f3a"
    cases = [
        (event_body("message.sent", text=marker), "ab" * 20),  # wrong signature
        (event_body("test.fails", text=marker), None),  # handler crash
        (event_body("test.permanent", text=marker), None),  # permanent error
        (marker.encode(), None),  # not JSON
        (event_body("message.sent", text=marker), None),  # accepted
    ]
    signatures = []
    for body, sig in cases:
        headers = signed(body, json.loads(body)["event"]["type"] if body.startswith(b"{") else "message.sent")
        if sig is not None:
            headers["layer-webhook-signature"] = sig
        signatures.append(headers["layer-webhook-signature"])
        receiver.handle("POST", "", headers, body)
    assert len(log.records) >= 4
    for record in log.records:
        text = (
            record.getMessage()
            + repr(record.args)
            + (logging.Formatter().formatException(record.exc_info) if record.exc_info else "")
        )
        assert marker not in text and SECRET not in text
        assert not any(s in text for s in signatures)


# -- properties ------------------------------------------------------------------------

header_text = st.text(alphabet=st.characters(codec="latin-1"), max_size=80)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    headers=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "layer-webhook-signature",
                    "content-length",
                    "content-encoding",
                    "transfer-encoding",
                    "layer-webhook-event-type",
                    "content-type",
                    "x-other",
                ]
            ),
            header_text,
        ),
        max_size=6,
    ),
    body=st.binary(max_size=200),
    method=st.sampled_from(["POST", "PUT", "GET", "OPTIONS"]),
    query=header_text,
)
def test_property_arbitrary_headers_never_raise_never_dispatch(
    receiver: WebhookReceiver, calls: Recorder, headers: list[tuple[str, str]], body: bytes, method: str, query: str
) -> None:
    for rec in (receiver, WebhookReceiver(SECRET)):
        d = rec.handle(method, query, headers, body)
        assert d.action in (Action.RESPOND, Action.FORWARD)
        if d.action is Action.FORWARD:
            assert method == "GET" and d.request_body is None
        else:
            assert d.status in (200, 400, 401, 405, 411, 413, 415)
    assert not calls.events


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("9" * 5000, id="5000-digits"),
        pytest.param("1" + "0" * 30, id="huge"),
        pytest.param("0" * 50 + "5", id="leading-zeros"),
    ],
)
def test_huge_or_padded_content_length(receiver: WebhookReceiver, value: str) -> None:
    d = receiver.decide("POST", "", {"content-length": value, "layer-webhook-signature": "0" * 40}, b"")
    expected = 400 if value.endswith("5") else 413  # 5 declared, 0 sent: short body
    assert d.status == expected


def test_decision_repr_hides_bodies(guard: WebhookReceiver) -> None:
    body = event_body(text="SECRET-BODY-TEXT")
    d = guard.handle("POST", "", signed(body), body)
    assert d.request_body == body and "SECRET-BODY-TEXT" not in repr(d)


def test_headers_repr_hides_signature() -> None:
    from layer_webhook_guard._headers import Headers

    text = repr(Headers({"layer-webhook-signature": "abcdef0123", "x": "y"}))
    assert "abcdef0123" not in text and "'x': 'y'" in text


@pytest.mark.parametrize("method", ["post", "Post", "get"])
def test_methods_are_case_sensitive(receiver: WebhookReceiver, method: str) -> None:
    body = event_body()
    assert receiver.handle(method, "verification_challenge=x", signed(body), body).status == 405


def test_no_content_length_on_204(receiver: WebhookReceiver) -> None:
    body = event_body()
    d = receiver.handle("POST", "", signed(body), body)
    assert d.status == 204 and not any(k.lower() == "content-length" for k, _ in d.response_headers())
    d = receiver.handle("GET", "verification_challenge=abc", {})
    assert ("content-length", "3") in d.response_headers()


@pytest.mark.parametrize("te", ["chunked", "Chunked", "gzip, chunked", "CHUNKED "])
def test_transfer_encoding_detected_and_overrides_length(receiver: WebhookReceiver, te: str) -> None:
    headers = signed(b"{}", **{"transfer-encoding": te, "content-length": "2"})
    intake = receiver.begin("POST", "", headers, input_terminated=False)
    assert intake.result().status == 411  # the length is ignored, the framing is unreadable
    intake = receiver.begin("POST", "", headers, input_terminated=True)
    assert intake.read_to_eof and intake.declared is None


@pytest.mark.parametrize("pieces", [1, 2, 7], ids=["one-chunk", "two-chunks", "seven-chunks"])
@pytest.mark.parametrize("secret", ["new-secret-1", SECRET], ids=["first-secret", "second-secret"])
def test_chunked_and_whole_bodies_verify_under_every_secret(router: WebhookRouter, pieces: int, secret: str) -> None:
    rec = WebhookReceiver(["new-secret-1", SECRET], router)
    body = event_body()
    headers = layer_headers(body, secret, "message.sent")
    size = -(-len(body) // pieces)
    for sig_ok in (True, False):
        h = dict(headers) if sig_ok else {**headers, "layer-webhook-signature": reference_sign(body, "other")}
        intake = rec.begin("POST", "", h)
        for i in range(0, len(body), size):
            intake.feed(body[i : i + size])
        intake.end()
        assert rec.dispatch(intake.result()).status == (204 if sig_ok else 401)
